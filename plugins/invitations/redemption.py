"""Invitations: creating them (with an optional email) and redeeming them, atomically.

Redemption (``POST /_invitations/redeem`` with the code):

* an unknown, revoked, expired or used-up code is refused with distinct codes and
  messages (``invalid_code`` 404, ``invitation_revoked`` / ``invitation_expired`` /
  ``invitation_redeemed`` 410);
* an invitation to an email (or to a contact, whose email it carries) is redeemed, by
  default, only by someone who PROVES that mailbox: the redemption mails a single-use
  link to the invited address, and following it (``POST /_invitations/redeem/confirm``)
  completes the redemption. A signed-in contact whose email is not the invited one is
  refused (``wrong_user``) before anything is sent. ``Invitations/RequireEmailProof =
  false`` relaxes this to Power Pages' behaviour (the code alone, for a signed-in
  redeemer);
* an invitation without an email (a group code for anyone) needs a signed-in redeemer;
* the redemption itself is ONE transaction: one conditional ``UPDATE ... WHERE
  redemptions < max_redemptions RETURNING`` takes a slot (a group invitation with N
  slots admits exactly N redeemers however many processes race), a unique index on
  (invitation, contact) stops one contact taking two slots, the redeemer gets the
  invitation's account and web roles, and the redemption is logged with the client IP.

Anonymous redeemers who prove the mailbox are linked to the invited contact (or to the
active contact with that email, or to a new one — created through ``records``, so
duplicate detection runs; an inactive duplicate is reactivated where the site allows).
They then choose a password with the identity plugin's reset flow (``/_auth/reset``).
"""

from __future__ import annotations

import datetime as dt
from typing import Any

from portalis.core import (
    Conflict,
    InvalidInput,
    NotFound,
    PermissionDenied,
    PortalisError,
    Principal,
)
from portalis.core.codec import utcnow
from portalis.core.db import IntegrityError
from portalis.core.records import normalise_email
from portalis.plugins.invitations import settings
from portalis.plugins.invitations.duplicates import create_or_reactivate
from portalis.plugins.invitations.store import Store

__all__ = ["Gone", "create_invitation", "finish", "link", "redeem", "redeem_proof",
           "refusal"]

LOOPBACK = ("localhost", "127.0.0.1", "[::1]")


class Gone(PortalisError):
    status = 410
    code = "gone"


class SignInRequired(PortalisError):
    status = 401
    code = "signin_required"


def base_url(site: Any) -> str:
    host = site.primary_host
    return f"{'http' if host in LOOPBACK else 'https'}://{host}"


def link(site: Any, path: str, **query: str) -> str:
    from urllib.parse import urlencode

    return f"{base_url(site)}{path}?{urlencode(query)}"


def refusal(inv: dict[str, Any] | None, now: dt.datetime) -> PortalisError | None:
    """Why an invitation cannot be redeemed now (distinct codes), or ``None``."""
    if inv is None:
        return NotFound("This invitation code is not valid. Check that you copied the whole "
                        "code or link.", code="invalid_code")
    if inv["state"] == "revoked":
        return Gone("This invitation has been revoked. Ask the person who invited you for a "
                    "new one.", code="invitation_revoked")
    if inv["expires"] is not None and inv["expires"] <= now:
        return Gone("This invitation has expired. Ask the person who invited you for a new "
                    "one.", code="invitation_expired")
    if inv["max_redemptions"] and inv["redemptions"] >= inv["max_redemptions"]:
        return Gone("This invitation has already been redeemed.", code="invitation_redeemed")
    return None


def role_ids(site: Any, keys: list[str]) -> list[int]:
    out = []
    for key in keys:
        role = site.roles.get(key)
        if role is None or role.builtin:
            raise InvalidInput(f"no assignable web role {key!r} on this website",
                               code="unknown_role", role=key)
        out.append(role.id)
    return out


async def create_invitation(services: Any, site: Any, *, email: str = "",
                            contact_id: int | None = None, kind: str = "single",
                            max_redemptions: int | None = None, expires_days: float | None = None,
                            account_id: int | None = None, roles: list[str] | None = None,
                            created_by: int | None = None, send: bool = False,
                            note: str = "") -> tuple[dict[str, Any], str]:
    """Create an invitation (the caller has checked who may); returns (row, code).

    The code is returned once and stored only hashed. With ``send`` the invitation is
    mailed to its email with a redemption link.
    """
    if kind not in ("single", "group"):
        raise InvalidInput("type must be 'single' or 'group'", code="invalid_value")
    if max_redemptions is None:
        max_redemptions = 1 if kind == "single" else 0
    if kind == "single" and max_redemptions != 1:
        raise InvalidInput("a single invitation is redeemed once (max redemptions 1)",
                           code="invalid_value")
    if max_redemptions < 0:
        raise InvalidInput("max redemptions must be 0 (unlimited) or more", code="invalid_value")
    email = normalise_email(email or "")
    system = Principal.for_system(site.id)
    if contact_id is not None:
        contact = await services.records.get(system, "contact", contact_id,
                                             columns=["id", "email", "account", "state"])
        if email and contact["email"] and email != contact["email"]:
            raise InvalidInput("the email is not the invited contact's email",
                               code="invalid_value")
        email = contact["email"] or email
        if account_id is None:
            account_id = contact["account"]
    if account_id is not None:
        await services.records.get(system, "account", account_id, columns=["id"])
    keys = list(dict.fromkeys(roles or []))
    role_ids(site, keys)
    days = expires_days if expires_days is not None else site.number(
        "Invitations/DefaultExpiryDays", 30)
    expires = utcnow() + dt.timedelta(days=days) if days and days > 0 else None
    inv, code = await Store(services).create(
        site.id, kind=kind, email=email, contact=contact_id, account=account_id, roles=keys,
        max_redemptions=max_redemptions, expires=expires, created_by=created_by, note=note)
    if send:
        if not email:
            raise InvalidInput("an invitation without an email cannot be mailed",
                               code="invalid_value")
        url = link(site, "/_invitations/redeem", code=code)
        until = f" It expires on {expires:%Y-%m-%d}." if expires else ""
        await services.mailer.send(
            email, f"You are invited to {site.title}",
            f"Hello,\n\nyou are invited to {site.title}. Open this link to accept the "
            f"invitation:\n\n{url}\n\nIf the link does not open, go to "
            f"{base_url(site)}/_invitations/redeem and enter this code:\n\n{code}\n\n"
            f"{until}\n", website_id=site.id)
    return inv, code


async def _contact(services: Any, site: Any, contact_id: int) -> dict[str, Any]:
    return await services.records.get(Principal.for_system(site.id), "contact", contact_id,
                                      columns=["id", "email", "account", "state"])


async def redeem(services: Any, site: Any, principal: Principal, code: str,
                 client_ip: str) -> dict[str, Any]:
    """Start (or, without email proof, complete) a redemption; see the module docstring.

    Returns ``{"status": "check_email", ...}`` or ``{"status": "redeemed", ...}``.
    """
    code = (code or "").strip()
    if not code:
        raise InvalidInput("Enter the invitation code.", code="code_required")
    store = Store(services)
    inv = await store.by_code(site.id, code)
    problem = refusal(inv, utcnow())
    if problem is not None:
        raise problem
    assert inv is not None
    proof = bool(inv["email"]) and settings.require_email_proof(site)
    if principal.contact_id is not None:
        me = await _contact(services, site, principal.contact_id)
        if proof and (me["email"] != inv["email"]
                      or (inv["contact"] is not None and inv["contact"] != me["id"])):
            raise PermissionDenied(
                "This invitation was sent to a different email address. Sign in with that "
                "address (or sign out and follow the link in the invitation email).",
                code="wrong_user")
        if await store.redeemed_by(inv["id"], me["id"]):
            raise Conflict("You have already redeemed this invitation.", code="already_redeemed")
        if not proof:
            row = await finish(services, site, inv["id"], me["id"], "", client_ip)
            return {"status": "redeemed", "contact": row["id"]}
        return await _send_proof(services, site, inv, me["id"], client_ip)
    if not inv["email"]:
        raise SignInRequired("Sign in or register first, then enter the invitation code.",
                             code="signin_required")
    return await _send_proof(services, site, inv, None, client_ip)


async def _send_proof(services: Any, site: Any, inv: dict[str, Any], contact_id: int | None,
                      client_ip: str) -> dict[str, Any]:
    lifetime = dt.timedelta(minutes=max(1.0, site.number("Invitations/ProofLifetimeMinutes",
                                                         1440)))
    token = await Store(services).issue_proof(site.id, inv["id"], inv["email"], contact_id,
                                              client_ip, lifetime)
    url = link(site, "/_invitations/redeem/confirm", token=token)
    await services.mailer.send(
        inv["email"], f"Accept your invitation to {site.title}",
        f"Hello,\n\nto accept your invitation to {site.title}, open this link:\n\n{url}\n\n"
        "The link works once. If you did not ask for it, ignore this message.\n",
        website_id=site.id)
    return {"status": "check_email",
            "message": "We have sent a link to the invited email address. Open it to accept "
                       "the invitation."}


async def redeem_proof(services: Any, site: Any, token: str, client_ip: str) -> dict[str, Any]:
    """Complete a redemption with the mailed proof token (single use, one transaction)."""
    store = Store(services)
    async with services.db.transaction() as conn:
        proof = await store.consume_proof(conn, site.id, (token or "").strip())
        if proof is None:
            raise InvalidInput("This link is invalid, has expired or has been used already.",
                               code="invalid_token")
        inv = await store.get(site.id, proof["invitation"])
        problem = refusal(inv, utcnow())
        if problem is not None:
            raise problem
        assert inv is not None
        contact_id = proof["contact"] or inv["contact"]
        if contact_id is None:
            found = await services.records.list(
                Principal.for_system(site.id), "contact",
                where=_active_email(proof["email"]), columns=["id"], limit=1)
            contact_id = found.rows[0]["id"] if found.rows else None
        row = await finish(services, site, inv["id"], contact_id, proof["email"], client_ip)
    return {"status": "redeemed", "contact": row["id"], "email": row["email"],
            "set_password": "/_auth/reset"}


def _active_email(email: str) -> Any:
    from portalis.core.conditions import And, Cmp

    return And((Cmp("email", "eq", email), Cmp("state", "eq", "active")))


async def finish(services: Any, site: Any, invitation_id: int, contact_id: int | None,
                 email: str, client_ip: str) -> dict[str, Any]:
    """The redemption proper, in one transaction: take a slot, link, grant, log."""
    store = Store(services)
    system = Principal.for_system(site.id)
    async with services.db.transaction() as conn:
        if not await store.claim(conn, invitation_id, utcnow()):
            problem = refusal(await store.get(site.id, invitation_id), utcnow())
            raise problem or Gone("This invitation has already been redeemed.",
                                  code="invitation_redeemed")
        inv = await store.get(site.id, invitation_id)
        assert inv is not None
        if contact_id is None:
            row, _ = await create_or_reactivate(services, site, system,
                                                {"email": email, "account": inv["account"]})
            contact_id = row["id"]
        contact = await _contact(services, site, contact_id)
        if contact["state"] != "active":
            raise Conflict("The invited contact is inactive; ask the person who invited you "
                           "to reactivate it.", code="contact_inactive")
        try:
            await store.log(conn, site.id, invitation_id, contact_id, client_ip)
        except IntegrityError:
            raise Conflict("You have already redeemed this invitation.",
                           code="already_redeemed") from None
        if inv["account"] is not None and contact["account"] != inv["account"]:
            contact = await services.records.update(system, "contact", contact_id,
                                                    {"account": inv["account"]})
        await store.grant_roles(conn, contact_id, role_ids(site, inv["roles"]))
    return contact
