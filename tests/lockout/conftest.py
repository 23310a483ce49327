"""A portal with identity + lockout, a hand-moved clock, and helpers that call the sign-in
hooks exactly as the identity plugin does."""

from __future__ import annotations

import datetime as dt
import json
from collections.abc import AsyncIterator
from dataclasses import dataclass
from typing import Any

import pytest

from portalis.core.codec import utcnow
from portalis.core.plugins import call_hook
from portalis.plugins.lockout.policy import state
from tests.support.portal import HOST, Portal, running_portal

PLUGINS = ["selfservice", "identity", "lockout"]


def site_file(**settings: str | int) -> str:
    lines = "\n".join(f"  {name}: {json.dumps(str(value))}" for name, value in settings.items())
    return f"""
website:
  key: lock
  title: Lockout portal
  hosts: [{HOST}]
settings:
{lines or '  {}'}
contacts:
  - key: alice
    email: alice@example.com
  - key: bob
    email: bob@example.com
  - key: carol
    email: carol@example.com
"""


class Clock:
    """A clock the test moves by hand (no sleeping).

    It starts at the real present (whole seconds): the ``portalis lockout`` commands run
    on services of their own, with the real clock, and must see the locks the hand clock
    set as current. (A fixed start date made them see every lock as long over once the
    real date passed it.)"""

    def __init__(self) -> None:
        self.now = utcnow().replace(microsecond=0)

    def __call__(self) -> dt.datetime:
        return self.now

    def advance(self, **delta: float) -> None:
        self.now += dt.timedelta(**delta)


@dataclass
class LockoutPortal:
    portal: Portal
    clock: Clock
    website_id: int

    @property
    def services(self) -> Any:
        return self.portal.services

    async def settings(self, **settings: str | int) -> None:
        await self.portal.apply(site_file(**settings))

    async def contact(self, key: str) -> int:
        return int(await self.services.db.fetchval(
            'SELECT "id" FROM "contact" WHERE "email" = ?', f"{key}@example.com"))

    async def claim(self, contact: int | None, kind: str = "password",
                    ip: str = "192.0.2.1") -> str | None:
        site = await self.services.sites.get(self.website_id)
        refusals = await call_hook(self.services.pm, "portalis_signin_attempt", site=site,
                                   contact_id=contact, kind=kind, client_ip=ip,
                                   services=self.services)
        return str(refusals[0]) if refusals else None

    async def report(self, contact: int | None, success: bool, kind: str = "password",
                     ip: str = "192.0.2.1") -> None:
        site = await self.services.sites.get(self.website_id)
        await call_hook(self.services.pm, "portalis_signin_result", site=site,
                        contact_id=contact, kind=kind, success=success, client_ip=ip,
                        services=self.services)

    async def attempt(self, contact: int | None, success: bool = False,
                      kind: str = "password", ip: str = "192.0.2.1") -> str | None:
        """Claim; if allowed, report the outcome. Returns the refusal or None (checked)."""
        refusal = await self.claim(contact, kind, ip)
        if refusal is None:
            await self.report(contact, success, kind, ip)
        return refusal


@pytest.fixture
async def lp(database_url: str) -> AsyncIterator[LockoutPortal]:
    async with running_portal(database_url, plugins=PLUGINS) as portal:
        clock = Clock()
        state(portal.services).clock = clock
        website_id = await portal.apply(site_file())
        yield LockoutPortal(portal, clock, website_id)
