"""A real SMTP server (aiosmtpd) on 127.0.0.1 for the identity tests, and a portal wired
to it with the identity plugin, a cheap password hasher and a movable clock."""

from __future__ import annotations

import datetime as dt
import functools
import re
from collections.abc import AsyncIterator, Iterator
from contextlib import asynccontextmanager, contextmanager
from pathlib import Path
from typing import Any

from portalis.plugins.identity.passwords import PasswordHasher
from portalis.plugins.identity.store import state
from tests.support.portal import Portal, running_portal
from tests.support.smtp import Mailbox as SmtpMailbox
from tests.support.smtp import smtp_server as run_smtp

__all__ = ["CASES", "Clock", "IdentityPortal", "Mailbox", "identity_portal", "smtp_server"]

CASES = (Path(__file__).parent.parent / "sites" / "cases.yaml").read_text()
CHEAP = PasswordHasher.cheap()


class Mailbox(SmtpMailbox):
    """Every message the portal sent; ``code`` reads a two-factor code."""

    def code(self, address: str) -> str:
        found = re.search(r"\b(\d{6})\b", self.body(self.last(address)))
        assert found, "the last mail has no 6-digit code"
        return found.group(1)


@contextmanager
def smtp_server() -> Iterator[tuple[Mailbox, int]]:
    with run_smtp(Mailbox()) as running:
        yield running


class Clock:
    """A clock the test moves by hand (no sleeping)."""

    def __init__(self) -> None:
        self.now = dt.datetime.now(dt.UTC)

    def __call__(self) -> dt.datetime:
        return self.now

    def advance(self, **delta: float) -> None:
        self.now += dt.timedelta(**delta)


class IdentityPortal:
    """A running portal with the identity plugin, its mailbox and its clock."""

    def __init__(self, portal: Portal, mailbox: Mailbox, clock: Clock) -> None:
        self.portal = portal
        self.mail = mailbox
        self.clock = clock

    @property
    def client(self) -> Any:
        return self.portal.client

    async def call(self, fn: Any, *args: Any, **kw: Any) -> Any:
        """Run ``fn`` on the app's event loop (asyncpg connections work only on the loop
        that opened them): a test client that runs the app in a thread of its own has a
        ``blocking_portal``; an httpx ASGI client shares the test's loop."""
        portal = getattr(self.client, "blocking_portal", None)
        if portal is None:
            return await fn(*args, **kw)
        return portal.call(functools.partial(fn, *args, **kw))

    async def apply(self, text: str) -> int:
        return int(await self.call(self.portal.apply, text))

    async def fetch(self, sql: str, *args: Any) -> list[dict[str, Any]]:
        return list(await self.call(self.portal.services.db.fetch, sql, *args))

    async def fetchrow(self, sql: str, *args: Any) -> dict[str, Any] | None:
        return await self.call(self.portal.services.db.fetchrow, sql, *args)  # type: ignore[no-any-return]

    async def fetchval(self, sql: str, *args: Any) -> Any:
        return await self.call(self.portal.services.db.fetchval, sql, *args)

    async def records(self, method: str, *args: Any, **kw: Any) -> Any:
        return await self.call(getattr(self.portal.records, method), *args, **kw)

    async def post(self, url: str, json: dict[str, Any] | None = None, *,
                   data: dict[str, str] | None = None, **kw: Any) -> Any:
        kw.setdefault("follow_redirects", False)
        if data is not None:
            form = {"_csrf_token": await self.portal.csrf(), **data}
            return await self.portal.send("POST", url, data=form, csrf=False, **kw)
        return await self.portal.send("POST", url, json=json or {}, **kw)

    async def login(self, email: str, password: str = "Demo-pass-1") -> Any:
        return await self.post("/_auth/login", {"email": email, "password": password})

    async def cases(self) -> list[str]:
        """Titles of the cases list: who am I, as the permissions see it."""
        r = await self.portal.get("/_lists/cases", headers={"accept": "application/json"})
        assert r.status_code == 200, r.text
        return sorted(row["title"] for row in r.json()["value"])

    async def contact_id(self, email: str) -> int:
        return int(await self.fetchval(
            'SELECT "id" FROM "contact" WHERE "email" = ? AND "state" = \'active\'', email))

    async def sessions_of(self, email: str) -> int:
        return int(await self.fetchval(
            'SELECT COUNT(*) FROM "identity_session" WHERE "contact" = ?',
            await self.contact_id(email)))

    async def settings(self, **values: str) -> None:
        """Set site settings on the applied cases site (``a__b`` means ``a/b``)."""
        lines = "\n".join(f"  {k.replace('__', '/')}: {v!r}" for k, v in values.items())
        await self.apply(CASES.replace("settings:\n", f"settings:\n{lines}\n", 1))


@asynccontextmanager
async def identity_portal(database_url: str, *, extra_plugins: tuple[object, ...] = (),
                          apply: bool = True, **config: Any) -> AsyncIterator[IdentityPortal]:
    with smtp_server() as (mailbox, port):
        async with running_portal(database_url, plugins=["selfservice", "identity"],
                                  extra_plugins=extra_plugins,
                                  smtp_url=f"smtp://127.0.0.1:{port}", **config) as portal:
            clock = Clock()
            st = state(portal.services)
            st.hasher = CHEAP
            st.clock = clock
            ip = IdentityPortal(portal, mailbox, clock)
            if apply:
                await ip.apply(CASES)
            yield ip
