"""The lockout settings of a website, and the sign-in decisions built on the store.

Settings (site settings; names and defaults as Power Pages documents them, plus the
client-address throttle):

* ``Authentication/UserManager/UserLockoutEnabledByDefault`` - ``true``;
* ``Authentication/UserManager/MaxFailedAccessAttemptsBeforeLockout`` - ``5``;
* ``Authentication/UserManager/DefaultAccountLockoutTimeSpan`` - ``86400`` (seconds; a
  .NET time span such as ``1.00:00:00`` or ``00:30:00`` is read too);
* ``Authentication/LoginThrottling/ClientAddressMaxFailures`` - ``20`` failed (or refused)
  attempts per client address and window, across all accounts; ``0`` turns it off;
* ``Authentication/LoginThrottling/ClientAddressWindow`` - ``900`` seconds (or a span).

Kinds of attempt (from the identity plugin): ``password`` and ``two_factor`` are counted
against the contact and the address, and a success clears the contact's count;
``reset_request`` is refused while the contact is locked and every request counts against
the address (they send mail, so they never give their slot back); ``external`` sign-ins are refused
while the contact is locked, and count nowhere (no secret of ours is guessed).
The refusal is the same text whatever the reason and whether the account exists.
"""

from __future__ import annotations

import datetime as dt
import logging
import re
from collections.abc import Callable
from dataclasses import dataclass
from typing import Any

from portalis.core.codec import utcnow
from portalis.plugins.lockout.store import LockoutStore

__all__ = [
    "REFUSAL",
    "SETTING_DEFAULTS",
    "LockoutSettings",
    "LockoutState",
    "attempt",
    "parse_span",
    "result",
    "state",
    "unlock",
]

log = logging.getLogger("portalis.lockout")

ENABLED = "Authentication/UserManager/UserLockoutEnabledByDefault"
MAX_ATTEMPTS = "Authentication/UserManager/MaxFailedAccessAttemptsBeforeLockout"
SPAN = "Authentication/UserManager/DefaultAccountLockoutTimeSpan"
ADDRESS_MAX = "Authentication/LoginThrottling/ClientAddressMaxFailures"
ADDRESS_WINDOW = "Authentication/LoginThrottling/ClientAddressWindow"

SETTING_DEFAULTS = {
    ENABLED: "true",
    MAX_ATTEMPTS: "5",
    SPAN: "86400",
    ADDRESS_MAX: "20",
    ADDRESS_WINDOW: "900",
}

REFUSAL = "too many sign-in attempts; try again later"

COUNTED = ("password", "two_factor")
LOCK_CHECKED = ("reset_request", "external")

_SPAN = re.compile(r"^(?:(\d+)\.)?(\d{1,2}):(\d{2})(?::(\d{2})(?:\.\d+)?)?$")


def parse_span(text: str, default: dt.timedelta) -> dt.timedelta:
    """Seconds (``86400``) or a .NET time span (``1.00:00:00``, ``24:00:00``, ``00:30``)."""
    value = (text or "").strip()
    if not value:
        return default
    try:
        seconds = float(value)
    except ValueError:
        match = _SPAN.match(value)
        if match is None:
            return default
        days, hours, minutes, secs = (int(g or 0) for g in match.groups())
        return dt.timedelta(days=days, hours=hours, minutes=minutes, seconds=secs)
    return dt.timedelta(seconds=seconds) if seconds > 0 else default


@dataclass(frozen=True)
class LockoutSettings:
    enabled: bool
    max_attempts: int
    span: dt.timedelta
    address_max: int
    address_window: dt.timedelta

    @classmethod
    def of(cls, site: Any) -> LockoutSettings:
        def number(name: str) -> int:
            value = site.number(name, float(SETTING_DEFAULTS[name]))
            return max(0, int(value))

        return cls(
            enabled=site.flag(ENABLED, True),
            max_attempts=max(1, number(MAX_ATTEMPTS)),
            span=parse_span(site.setting(SPAN), dt.timedelta(hours=24)),
            address_max=number(ADDRESS_MAX),
            address_window=parse_span(site.setting(ADDRESS_WINDOW), dt.timedelta(minutes=15)),
        )


@dataclass
class LockoutState:
    """Per-app knobs (``services.extra["lockout"]``): the clock, injectable for tests."""

    clock: Callable[[], dt.datetime] = utcnow

    def now(self) -> dt.datetime:
        return self.clock()


def state(services: Any) -> LockoutState:
    found = services.extra.get("lockout")
    if found is None:
        found = services.extra["lockout"] = LockoutState()
    return found  # type: ignore[no-any-return]


async def attempt(services: Any, site: Any, contact_id: int | None, kind: str,
                  client_ip: str) -> str | None:
    """``portalis_signin_attempt``: claim, or return :data:`REFUSAL`."""
    cfg = LockoutSettings.of(site)
    store = LockoutStore(services.db)
    now = state(services).now()
    if kind in LOCK_CHECKED:
        if cfg.enabled and contact_id is not None:
            until = await store.locked_until(contact_id, now)
            if until is not None:
                log.info("website %s: %s refused for locked contact %s", site.id, kind,
                         contact_id)
                return REFUSAL
        if kind == "external":
            return None
    if cfg.address_max and client_ip and not await store.claim_address(
            site.id, client_ip, max_failures=cfg.address_max, window=cfg.address_window,
            now=now):
        log.warning("website %s: sign-in throttled for client address %s", site.id, client_ip)
        return REFUSAL
    if kind in COUNTED and cfg.enabled and contact_id is not None:
        claim = await store.claim_contact(site.id, contact_id, max_attempts=cfg.max_attempts,
                                          span=cfg.span, now=now)
        if not claim.allowed:
            log.info("website %s: %s refused, contact %s locked until %s", site.id, kind,
                     contact_id, claim.locked_until)
            return REFUSAL
    return None


async def result(services: Any, site: Any, contact_id: int | None, kind: str, success: bool,
                 client_ip: str) -> None:
    """``portalis_signin_result``: a successful password or code clears the contact's count
    and gives the address its slot back; a failure was already counted by the claim.
    Reset requests keep their slot whatever happens (they send mail)."""
    if not success or kind not in COUNTED:
        return
    cfg = LockoutSettings.of(site)
    store = LockoutStore(services.db)
    if cfg.address_max and client_ip:
        await store.address_succeeded(site.id, client_ip)
    if contact_id is not None:
        await store.contact_succeeded(contact_id)


async def unlock(services: Any, contact_id: int) -> bool:
    """Administrator unlock: clears the contact's count and lock. True if it had any."""
    unlocked = await LockoutStore(services.db).unlock(contact_id)
    if unlocked:
        log.info("contact %s unlocked by an administrator", contact_id)
    return unlocked
