"""External identity → contact.

A verified external sign-in (``issuer`` + ``subject``) finds its contact in this order:

1. an existing link ``(website, issuer, subject)`` signs that contact in;
2. else, ONLY when the provider is configured as trusted to verify email
   (``TrustEmail``) and asserted a verified email, the active contact with that email is
   linked (once: a contact holds one identity per provider) and signed in;
3. else, when registration is open (site ``Registration/Enabled`` and
   ``OpenRegistrationEnabled``, no ``RequiresInvitation``, provider
   ``RegistrationEnabled``), a new contact is created through ``records`` as the system
   (validation, website scoping and the duplicate-contact hook all run), with the mapped
   claims and the email only if it is verified — an unverified email on a new contact
   could later receive that address's password reset, so it is never stored;
4. else the sign-in is refused (``registration_closed``).

An email alone never links: an untrusted provider's email that matches a contact makes
a separate contact (or, when registration is closed, a refusal).
"""

from __future__ import annotations

import logging
from dataclasses import dataclass
from typing import Any

from portalis.core import Conflict, NotFound, PortalisError, Principal
from portalis.core.db import IntegrityError
from portalis.core.records import normalise_email
from portalis.plugins.identity.accounts import Settings, find_contact, plausible_email
from portalis.plugins.identity.external.providers import MAPPABLE, ExternalProvider
from portalis.plugins.identity.external.store import ExternalStore

__all__ = ["ExternalSignIn", "Match", "Refused", "clean_attributes", "find_existing", "settle"]

log = logging.getLogger("portalis.identity.external")

CONTACT_COLUMNS = ["id", "email", "firstname", "lastname", "phone", "state"]


class Refused(PortalisError):
    """A refused external sign-in (status per instance)."""

    def __init__(self, status: int, code: str, message: str) -> None:
        super().__init__(message, code=code)
        self.status = status


@dataclass(frozen=True)
class ExternalSignIn:
    """What a provider vouched for, after every protocol check passed."""

    provider: ExternalProvider
    issuer: str
    subject: str
    email: str | None
    email_verified: bool  # the provider asserted it AND the configuration trusts it
    attributes: dict[str, str]  # mapped contact columns (see MAPPABLE)


@dataclass(frozen=True)
class Match:
    contact: dict[str, Any]
    how: str  # "link" (existing identity) | "email" (to be linked by verified email)


def clean_attributes(values: dict[str, Any]) -> dict[str, str]:
    """Mapped values that fit the contact columns (text, trimmed, cut to length)."""
    clean: dict[str, str] = {}
    for name, value in values.items():
        if name not in MAPPABLE or isinstance(value, bool):
            continue
        if isinstance(value, int | float):
            value = str(value)
        if not isinstance(value, str):
            continue
        value = " ".join(value.split())[: MAPPABLE[name]]
        if value:
            clean[name] = value
    return clean


def verified_email(sign_in: ExternalSignIn) -> str | None:
    if not (sign_in.email_verified and sign_in.provider.trust_email and sign_in.email):
        return None
    email = normalise_email(sign_in.email)
    return email if plausible_email(email) else None


async def _contact(services: Any, site: Any, contact_id: int) -> dict[str, Any] | None:
    try:
        return await services.records.get(Principal.for_system(site.id), "contact", contact_id,
                                          columns=CONTACT_COLUMNS)
    except NotFound:
        return None


async def find_existing(services: Any, site: Any, sign_in: ExternalSignIn) -> Match | None:
    """The contact this sign-in already belongs to (by link, or by trusted verified email)."""
    store = ExternalStore(services)
    caption = sign_in.provider.caption
    contact_id = await store.linked_contact(site.id, sign_in.issuer, sign_in.subject)
    if contact_id is not None:
        contact = await _contact(services, site, contact_id)
        if contact is None or contact.get("state") != "active":
            raise Refused(403, "contact_inactive",
                          "The account linked to this sign-in is deactivated.")
        return Match(contact, "link")
    email = verified_email(sign_in)
    if email is None:
        return None
    contact = await find_contact(services, site, email)
    if contact is None:
        return None
    if await store.has_issuer(contact["id"], sign_in.issuer):
        raise Refused(409, "identity_conflict",
                      f"The account with this email is already linked to another {caption} "
                      f"identity.")
    return Match(contact, "email")


def registration_open(site: Any, provider: ExternalProvider) -> bool:
    cfg = Settings(site)
    return cfg.registration and cfg.open_registration and provider.registration_enabled


async def settle(services: Any, site: Any, sign_in: ExternalSignIn,
                 match: Match | None) -> tuple[dict[str, Any], str]:
    """Link or register as needed; returns ``(contact, outcome)`` where outcome is
    ``signed_in``, ``linked`` or ``registered``. Raises :class:`Refused`."""
    store = ExternalStore(services)
    provider = sign_in.provider
    system = Principal.for_system(site.id)
    email_seen = sign_in.email or ""
    if match is not None:
        contact = match.contact
        if match.how == "email":
            try:
                await store.link(site.id, contact["id"], provider.name, provider.protocol,
                                 sign_in.issuer, sign_in.subject, email_seen)
            except IntegrityError:
                raise Refused(409, "identity_conflict",
                              "This sign-in was linked to an account meanwhile; try again."
                              ) from None
            outcome = "linked"
        else:
            await store.touch(site.id, sign_in.issuer, sign_in.subject, email_seen)
            outcome = "signed_in"
        if provider.mapping_on_login:
            changed = {k: v for k, v in sign_in.attributes.items() if contact.get(k) != v}
            if changed:
                try:
                    contact = await services.records.update(system, "contact",
                                                            contact["id"], changed)
                except PortalisError as exc:  # stale names do not block a sign-in
                    log.warning("website %s: claims mapping of contact %s not applied: %s",
                                site.id, contact["id"], exc.message)
        return contact, outcome

    if not registration_open(site, provider):
        raise Refused(403, "registration_closed",
                      f"No account on this portal is linked to this {provider.caption} "
                      f"sign-in, and registration is closed. Ask for an invitation.")
    values: dict[str, Any] = dict(sign_in.attributes)
    email = verified_email(sign_in)
    if email is not None:
        values["email"] = email
    try:
        async with services.db.transaction():
            contact = await services.records.create(system, "contact", values)
            await store.link(site.id, contact["id"], provider.name, provider.protocol,
                             sign_in.issuer, sign_in.subject, email_seen)
    except Conflict as exc:  # a duplicate-contact rule (or a race) refused it
        raise Refused(409, exc.code, exc.message) from None
    except PortalisError as exc:  # validation of the mapped values
        raise Refused(exc.status if 400 <= exc.status < 500 else 409, exc.code,
                      exc.message) from None
    except IntegrityError:
        raise Refused(409, "identity_conflict",
                      "This sign-in was linked to an account meanwhile; try again.") from None
    return contact, "registered"
