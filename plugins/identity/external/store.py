"""Reads and writes of external sign-in's private tables, through ``services.db``.

Every "once only" step is one statement: a pending login is taken with
``DELETE ... RETURNING`` (exactly one callback gets it), an assertion id is remembered
with ``INSERT ... ON CONFLICT DO NOTHING RETURNING`` on a unique index, and a link is
created under the unique indexes on ``(website, issuer, subject)`` and
``(contact, issuer)``, so N app processes behave as one.
"""

from __future__ import annotations

import datetime as dt
import json
from dataclasses import dataclass
from typing import Any

from portalis.core.codec import encode, utcnow
from portalis.plugins.identity.store import as_time, digest, new_token, state

__all__ = ["ExternalStore", "Pending"]


@dataclass(frozen=True)
class Pending:
    """A pending login, taken from the database (it no longer exists there)."""

    provider: str
    protocol: str
    data: dict[str, Any]
    return_url: str
    expired: bool


class ExternalStore:
    def __init__(self, services: Any) -> None:
        self.s = services
        self.db = services.db

    def _e(self, value: Any) -> Any:
        return encode(value, self.db.dialect)

    @property
    def now(self) -> dt.datetime:
        return state(self.s).now()

    # -- pending logins ------------------------------------------------------------
    async def start_login(self, website_id: int, provider: str, protocol: str,
                          data: dict[str, Any], return_url: str, lifetime: dt.timedelta,
                          *, replacing: str | None = None) -> str:
        """Store a login in progress; returns the token for the browser's cookie.

        ``replacing`` (the digest of the browser's previous login token) is deleted: one
        browser has one login in progress. Expired rows of every browser are purged.
        """
        token = new_token()
        now = self.now
        async with self.db.transaction() as conn:
            await conn.execute('DELETE FROM "identity_external_login" WHERE "expires" < ?',
                               self._e(now))
            if replacing:
                await conn.execute('DELETE FROM "identity_external_login" WHERE "id" = ?',
                                   replacing)
            await conn.execute(
                'INSERT INTO "identity_external_login" ("id", "website", "provider", '
                '"protocol", "data", "return_url", "created", "expires") '
                'VALUES (?, ?, ?, ?, ?, ?, ?, ?)',
                digest(token), website_id, provider, protocol, json.dumps(data),
                return_url[:2000], self._e(now), self._e(now + lifetime))
        return token

    async def take_login(self, website_id: int, token: str | None) -> Pending | None:
        """Delete the browser's pending login and return it (``None``: there is none)."""
        if not token:
            return None
        async with self.db.transaction() as conn:
            row = await conn.fetchrow(
                'DELETE FROM "identity_external_login" WHERE "id" = ? AND "website" = ? '
                'RETURNING "provider", "protocol", "data", "return_url", "expires"',
                digest(token), website_id)
        if row is None:
            return None
        try:
            data = json.loads(row["data"])
        except ValueError:
            data = {}
        expires = as_time(row["expires"])
        return Pending(provider=row["provider"], protocol=row["protocol"],
                       data=data if isinstance(data, dict) else {},
                       return_url=row["return_url"] or "/",
                       expired=expires is None or expires <= self.now)

    # -- SAML replay cache ---------------------------------------------------------
    async def remember_assertion(self, issuer: str, assertion_id: str,
                                 retain_until: dt.datetime) -> bool:
        """True the first time ``(issuer, assertion_id)`` is seen (atomic)."""
        now = utcnow()
        async with self.db.transaction() as conn:
            await conn.execute('DELETE FROM "identity_saml_assertion" WHERE "expires" < ?',
                               self._e(now))
            row = await conn.fetchrow(
                'INSERT INTO "identity_saml_assertion" ("issuer", "assertion_id", "expires") '
                'VALUES (?, ?, ?) ON CONFLICT ("issuer", "assertion_id") DO NOTHING '
                'RETURNING "id"',
                issuer, assertion_id[:256], self._e(max(retain_until, now)))
        return row is not None

    # -- external identities -------------------------------------------------------
    async def linked_contact(self, website_id: int, issuer: str, subject: str) -> int | None:
        value = await self.db.fetchval(
            'SELECT "contact" FROM "identity_external" WHERE "website" = ? AND "issuer" = ? '
            'AND "subject" = ?', website_id, issuer, subject)
        return int(value) if value is not None else None

    async def has_issuer(self, contact_id: int, issuer: str) -> bool:
        value = await self.db.fetchval(
            'SELECT COUNT(*) FROM "identity_external" WHERE "contact" = ? AND "issuer" = ?',
            contact_id, issuer)
        return bool(value)

    async def link(self, website_id: int, contact_id: int, provider: str, protocol: str,
                   issuer: str, subject: str, email: str) -> None:
        """Insert a link (raises the driver's integrity error on a unique index)."""
        now = self._e(self.now)
        await self.db.execute(
            'INSERT INTO "identity_external" ("website", "contact", "provider", "protocol", '
            '"issuer", "subject", "email", "created", "last_signin") '
            'VALUES (?, ?, ?, ?, ?, ?, ?, ?, ?)',
            website_id, contact_id, provider, protocol, issuer, subject, email[:320], now, now)

    async def touch(self, website_id: int, issuer: str, subject: str, email: str) -> None:
        await self.db.execute(
            'UPDATE "identity_external" SET "last_signin" = ?, "email" = ? '
            'WHERE "website" = ? AND "issuer" = ? AND "subject" = ?',
            self._e(self.now), email[:320], website_id, issuer, subject)

    async def identities(self, contact_id: int) -> list[dict[str, Any]]:
        return await self.db.fetch(
            'SELECT "provider", "protocol", "issuer", "subject", "email" '
            'FROM "identity_external" WHERE "contact" = ? ORDER BY "id"', contact_id)
