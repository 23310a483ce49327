"""Local-account logic shared by the routes: settings, contact lookup, password checks.

Every secret check goes through :func:`check_password` or the two-factor route, which
call the published hooks (:mod:`portalis.plugins.identity.hookspecs`): the attempt is
claimed with ``portalis_signin_attempt`` before the secret is looked at, and reported
with ``portalis_signin_result`` after. Unknown emails cost the same hashing work as
known ones (``dummy_verify``).
"""

from __future__ import annotations

import asyncio
import datetime as dt
import logging
from dataclasses import dataclass
from typing import Any

from portalis.core import Principal
from portalis.core.conditions import And, Cmp
from portalis.core.plugins import call_hook
from portalis.core.records import normalise_email
from portalis.plugins.identity.passwords import PasswordPolicy
from portalis.plugins.identity.store import Store, state

__all__ = ["SETTING_DEFAULTS", "Settings", "check_password", "find_contact", "plausible_email",
           "policy_problems", "send_mail"]

log = logging.getLogger("portalis.identity")

P = "Authentication/"
SETTING_DEFAULTS = {
    # Power Pages names and defaults
    P + "Registration/Enabled": "true",
    P + "Registration/OpenRegistrationEnabled": "true",
    P + "Registration/RequiresConfirmation": "false",
    P + "Registration/RequiresInvitation": "false",
    P + "Registration/LocalLoginEnabled": "true",
    P + "Registration/TwoFactorEnabled": "false",
    P + "Registration/ResetPasswordEnabled": "true",
    # Portalis names
    P + "Session/IdleTimeoutMinutes": "1440",
    P + "Session/AbsoluteTimeoutMinutes": "43200",
    P + "EmailConfirmation/TokenLifetimeMinutes": "1440",
    P + "ResetPassword/TokenLifetimeMinutes": "60",
    P + "TwoFactor/CodeLifetimeMinutes": "10",
    P + "TwoFactor/MaxAttempts": "5",
}


@dataclass(frozen=True)
class Settings:
    """The authentication settings of one website, read once per request."""

    site: Any

    def flag(self, name: str) -> bool:
        return bool(self.site.flag(P + name, SETTING_DEFAULTS[P + name] == "true"))

    def minutes(self, name: str) -> dt.timedelta:
        value = self.site.number(P + name, float(SETTING_DEFAULTS[P + name]))
        return dt.timedelta(minutes=max(1.0, value))

    @property
    def registration(self) -> bool:
        return self.flag("Registration/Enabled")

    @property
    def open_registration(self) -> bool:
        return (self.flag("Registration/OpenRegistrationEnabled")
                and not self.flag("Registration/RequiresInvitation"))

    @property
    def requires_confirmation(self) -> bool:
        return self.flag("Registration/RequiresConfirmation")

    @property
    def local_login(self) -> bool:
        return self.flag("Registration/LocalLoginEnabled")

    @property
    def two_factor(self) -> bool:
        return self.flag("Registration/TwoFactorEnabled")

    @property
    def reset_enabled(self) -> bool:
        return self.flag("Registration/ResetPasswordEnabled")

    @property
    def max_code_attempts(self) -> int:
        return max(1, int(self.site.number(P + "TwoFactor/MaxAttempts", 5)))


def plausible_email(email: str) -> bool:
    local, _, domain = email.rpartition("@")
    return bool(local) and "." in domain.strip(".") and len(email) <= 320 and " " not in email


def policy_problems(site: Any, password: str, email: str) -> list[str]:
    try:
        policy = PasswordPolicy.from_settings(site.settings)
    except ValueError:
        log.warning("website %s: malformed password policy settings; using defaults", site.id)
        policy = PasswordPolicy()
    return policy.check(password, email=email)


async def find_contact(services: Any, site: Any, email: str) -> dict[str, Any] | None:
    """The ACTIVE contact with this email on the website (system lookup through records)."""
    email = normalise_email(email or "")
    if not plausible_email(email):
        return None
    page = await services.records.list(
        Principal.for_system(site.id), "contact",
        where=And((Cmp("email", "eq", email), Cmp("state", "eq", "active"))),
        columns=["id", "email", "firstname", "lastname", "state"], limit=1)
    return page.rows[0] if page.rows else None


async def claim(services: Any, site: Any, contact_id: int | None, kind: str,
                client_ip: str) -> str | None:
    """``portalis_signin_attempt``: the first refusal, or ``None`` to go ahead."""
    refusals = await call_hook(services.pm, "portalis_signin_attempt", site=site,
                               contact_id=contact_id, kind=kind, client_ip=client_ip,
                               services=services)
    return str(refusals[0]) if refusals else None


async def report(services: Any, site: Any, contact_id: int | None, kind: str, success: bool,
                 client_ip: str) -> None:
    await call_hook(services.pm, "portalis_signin_result", site=site, contact_id=contact_id,
                    kind=kind, success=success, client_ip=client_ip, services=services)


@dataclass
class Checked:
    contact: dict[str, Any]
    credential: dict[str, Any]


async def check_password(services: Any, site: Any, contact: dict[str, Any] | None,
                         password: str, client_ip: str) -> Checked | None:
    """Claim, verify, report. ``None`` for every kind of failure (one answer for all)."""
    contact_id = contact["id"] if contact else None
    hasher = state(services).hasher
    if await claim(services, site, contact_id, "password", client_ip) is not None:
        # refused without checking; spend a verify anyway so timing doesn't tell a lock
        await asyncio.to_thread(hasher.dummy_verify, password)
        return None
    store = Store(services)
    credential = await store.credential(contact_id) if contact_id is not None else None
    stored = credential["password_hash"] if credential else None
    if stored:
        ok = await asyncio.to_thread(hasher.verify, stored, password)
    else:
        ok = await asyncio.to_thread(hasher.dummy_verify, password)
    await report(services, site, contact_id, "password", ok, client_ip)
    if not ok or contact is None or credential is None:
        return None
    if hasher.needs_rehash(stored or ""):
        new_hash = await asyncio.to_thread(hasher.hash, password)
        await store.set_password(site.id, contact["id"], new_hash)
    return Checked(contact, credential)


async def hash_password(services: Any, password: str) -> str:
    return await asyncio.to_thread(state(services).hasher.hash, password)


async def send_mail(services: Any, site: Any, to: str, subject: str, body: str) -> None:
    """Send without letting a mail failure change the HTTP answer (logged instead)."""
    try:
        await services.mailer.send(to, subject, body, website_id=site.id)
    except Exception:
        log.exception("website %s: could not send %r", site.id, subject)
