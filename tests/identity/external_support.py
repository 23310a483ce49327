"""Shared helpers of the external sign-in tests (OIDC and SAML): a portal with the
identity plugin and the cases site, a hand-moved clock, the sign-in hook recorder."""

from __future__ import annotations

import json
from collections.abc import AsyncIterator
from contextlib import asynccontextmanager
from typing import Any

import httpx

from portalis.core import hookimpl
from portalis.plugins.identity.store import state
from tests.identity.smtp import CASES, CHEAP, Clock
from tests.support.portal import Portal, running_portal

__all__ = ["JSON", "ExternalPortal", "Recorder", "external_portal", "session_cookie",
           "settings_site", "with_contact"]

JSON = {"accept": "application/json"}


class Recorder:
    """The identity plugin's sign-in hooks, recorded; refuses while ``refuse`` is set."""

    def __init__(self) -> None:
        self.attempts: list[tuple[int | None, str]] = []
        self.results: list[tuple[int | None, str, bool]] = []
        self.refuse: str | None = None

    @hookimpl
    def portalis_signin_attempt(self, site: Any, contact_id: int | None, kind: str,
                                client_ip: str, services: Any) -> str | None:
        self.attempts.append((contact_id, kind))
        return self.refuse

    @hookimpl
    def portalis_signin_result(self, site: Any, contact_id: int | None, kind: str,
                               success: bool, client_ip: str, services: Any) -> None:
        self.results.append((contact_id, kind, success))


def with_contact(key: str, email: str, firstname: str) -> str:
    """The cases site with one more contact."""
    return CASES.replace("contacts:\n", f"contacts:\n  - key: {key}\n    email: {email}\n"
                         f"    firstname: {firstname}\n", 1)


def settings_site(values: dict[str, str], site: str = CASES) -> str:
    """The site file with these settings added."""
    lines = "\n".join(f"  {json.dumps(k)}: {json.dumps(v)}" for k, v in values.items())
    return site.replace("settings:\n", f"settings:\n{lines}\n", 1)


def session_cookie(response: httpx.Response) -> bool:
    """Did the response start a session?"""
    return any(h.startswith("portalis_session=") and "Max-Age=0" not in h
               for h in response.headers.get_list("set-cookie"))


class ExternalPortal:
    def __init__(self, portal: Portal, clock: Clock) -> None:
        self.portal = portal
        self.clock = clock

    @property
    def client(self) -> httpx.AsyncClient:
        return self.portal.client  # type: ignore[no-any-return]

    async def apply(self, text: str) -> int:
        return await self.portal.apply(text)

    async def configure(self, values: dict[str, str]) -> None:
        """Apply the cases site with these settings (settings applied before stay)."""
        await self.apply(settings_site(values))

    async def fetchval(self, sql: str, *args: Any) -> Any:
        return await self.portal.services.db.fetchval(sql, *args)

    async def fetchrow(self, sql: str, *args: Any) -> dict[str, Any] | None:
        return await self.portal.services.db.fetchrow(sql, *args)

    async def execute(self, sql: str, *args: Any) -> int:
        return await self.portal.services.db.execute(sql, *args)

    async def contact_id(self, email: str) -> int:
        return int(await self.fetchval(
            'SELECT "id" FROM "contact" WHERE "email" = ? AND "state" = \'active\'', email))

    async def contact(self, contact_id: int) -> dict[str, Any]:
        row = await self.fetchrow('SELECT "id", "email", "firstname", "lastname" '
                                  'FROM "contact" WHERE "id" = ?', contact_id)
        assert row is not None
        return row

    async def counts(self) -> tuple[int, int, int]:
        """(contacts, sessions, external identities)."""
        return (int(await self.fetchval('SELECT COUNT(*) FROM "contact"')),
                int(await self.fetchval('SELECT COUNT(*) FROM "identity_session"')),
                int(await self.fetchval('SELECT COUNT(*) FROM "identity_external"')))


@asynccontextmanager
async def external_portal(database_url: str, *, extra_plugins: tuple[object, ...] = (),
                          plugins: tuple[str, ...] = ()) -> AsyncIterator[ExternalPortal]:
    async with running_portal(database_url, plugins=["selfservice", "identity", *plugins],
                              extra_plugins=extra_plugins) as portal:
        clock = Clock()
        st = state(portal.services)
        st.hasher = CHEAP
        st.clock = clock
        await portal.apply(CASES)
        yield ExternalPortal(portal, clock)
