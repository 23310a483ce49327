"""All reads and writes of the invitations plugin's private tables (``services.db``, ``?`` SQL).

Codes and proof tokens are 256-bit random values; only their SHA-256 digests are kept.
Every "use once / use N times" step is one conditional ``UPDATE ... RETURNING``.
"""

from __future__ import annotations

import datetime as dt
import hashlib
import secrets
from typing import Any

from portalis.core.codec import encode, utcnow

__all__ = ["Store", "digest", "new_code"]


def new_code() -> str:
    """256 random bits, URL-safe (43 characters)."""
    return secrets.token_urlsafe(32)


def digest(code: str) -> str:
    return hashlib.sha256(code.strip().encode("utf-8")).hexdigest()


def as_time(value: Any) -> dt.datetime | None:
    if value is None:
        return None
    if isinstance(value, str):
        value = dt.datetime.fromisoformat(value)
    if value.tzinfo is None:
        value = value.replace(tzinfo=dt.UTC)
    return value  # type: ignore[no-any-return]


COLUMNS = ('"id", "website", "kind", "email", "contact", "account", "roles", '
           '"max_redemptions", "redemptions", "expires", "state", "created", "created_by", "note"')


class Store:
    def __init__(self, services: Any) -> None:
        self.s = services
        self.db = services.db

    def _e(self, value: Any) -> Any:
        return encode(value, self.db.dialect)

    def _row(self, row: dict[str, Any] | None) -> dict[str, Any] | None:
        if row is None:
            return None
        row = dict(row)
        for name in ("expires", "created", "used"):
            if name in row:
                row[name] = as_time(row[name])
        if "roles" in row:
            row["roles"] = [r for r in (row["roles"] or "").split(",") if r]
        return row

    async def create(self, website_id: int, *, kind: str, email: str, contact: int | None,
                     account: int | None, roles: list[str], max_redemptions: int,
                     expires: dt.datetime | None, created_by: int | None,
                     note: str = "") -> tuple[dict[str, Any], str]:
        code = new_code()
        row = await self.db.fetchrow(
            'INSERT INTO "invitations_invitation" ("website", "code_hash", "kind", "email", '
            '"contact", "account", "roles", "max_redemptions", "redemptions", "expires", '
            f'"state", "created", "created_by", "note") VALUES (?, ?, ?, ?, ?, ?, ?, ?, 0, ?, '
            f"'active', ?, ?, ?) RETURNING {COLUMNS}",
            website_id, digest(code), kind, email, contact, account, ",".join(roles),
            max_redemptions, self._e(expires), self._e(utcnow()), created_by, note)
        assert row is not None
        return self._row(row), code  # type: ignore[return-value]

    async def by_code(self, website_id: int, code: str) -> dict[str, Any] | None:
        return self._row(await self.db.fetchrow(
            f'SELECT {COLUMNS} FROM "invitations_invitation" WHERE "code_hash" = ? '
            'AND "website" = ?', digest(code), website_id))

    async def get(self, website_id: int, invitation_id: int) -> dict[str, Any] | None:
        return self._row(await self.db.fetchrow(
            f'SELECT {COLUMNS} FROM "invitations_invitation" WHERE "id" = ? AND "website" = ?',
            invitation_id, website_id))

    async def list(self, website_id: int, *, account: int | None = None,
                   created_by: int | None = None, limit: int = 100) -> list[dict[str, Any]]:
        sql = f'SELECT {COLUMNS} FROM "invitations_invitation" WHERE "website" = ?'
        params: list[Any] = [website_id]
        if account is not None:
            sql += ' AND "account" = ?'
            params.append(account)
        sql += f' ORDER BY "id" DESC LIMIT {int(limit)}'
        return [self._row(r) for r in await self.db.fetch(sql, *params)]  # type: ignore[misc]

    async def revoke(self, website_id: int, invitation_id: int) -> bool:
        return await self.db.execute(
            'UPDATE "invitations_invitation" SET "state" = \'revoked\' WHERE "id" = ? '
            'AND "website" = ?', invitation_id, website_id) > 0

    async def claim(self, conn: Any, invitation_id: int, now: dt.datetime) -> bool:
        """Take one redemption: one conditional UPDATE (N processes behave as one)."""
        row = await conn.fetchrow(
            'UPDATE "invitations_invitation" SET "redemptions" = "redemptions" + 1 '
            'WHERE "id" = ? AND "state" = \'active\' '
            'AND ("max_redemptions" = 0 OR "redemptions" < "max_redemptions") '
            'AND ("expires" IS NULL OR "expires" > ?) RETURNING "id"',
            invitation_id, self._e(now))
        return row is not None

    async def log(self, conn: Any, website_id: int, invitation_id: int, contact_id: int,
                  client_ip: str) -> None:
        await conn.execute(
            'INSERT INTO "invitations_redemption" ("website", "invitation", "contact", '
            '"client_ip", "created") VALUES (?, ?, ?, ?, ?)',
            website_id, invitation_id, contact_id, client_ip[:64], self._e(utcnow()))

    async def redemptions(self, invitation_id: int) -> list[dict[str, Any]]:
        return [self._row(r) for r in await self.db.fetch(  # type: ignore[misc]
            'SELECT "contact", "client_ip", "created" FROM "invitations_redemption" '
            'WHERE "invitation" = ? ORDER BY "id"', invitation_id)]

    async def redeemed_by(self, invitation_id: int, contact_id: int) -> bool:
        return bool(await self.db.fetchval(
            'SELECT 1 FROM "invitations_redemption" WHERE "invitation" = ? AND "contact" = ?',
            invitation_id, contact_id))

    # -- email proofs ------------------------------------------------------------
    async def issue_proof(self, website_id: int, invitation_id: int, email: str,
                          contact: int | None, client_ip: str, lifetime: dt.timedelta) -> str:
        token = new_code()
        await self.db.execute(
            'INSERT INTO "invitations_proof" ("website", "invitation", "token_hash", "email", '
            '"contact", "client_ip", "expires") VALUES (?, ?, ?, ?, ?, ?, ?)',
            website_id, invitation_id, digest(token), email, contact, client_ip[:64],
            self._e(utcnow() + lifetime))
        return token

    async def consume_proof(self, conn: Any, website_id: int, token: str) -> dict[str, Any] | None:
        now = utcnow()
        return self._row(await conn.fetchrow(
            'UPDATE "invitations_proof" SET "used" = ? WHERE "token_hash" = ? AND "website" = ? '
            'AND "used" IS NULL AND "expires" > ? '
            'RETURNING "invitation", "email", "contact", "client_ip"',
            self._e(now), digest(token), website_id, self._e(now)))

    async def peek_proof(self, website_id: int, token: str) -> dict[str, Any] | None:
        return self._row(await self.db.fetchrow(
            'SELECT "invitation", "email", "contact", "expires", "used" FROM "invitations_proof" '
            'WHERE "token_hash" = ? AND "website" = ?', digest(token), website_id))

    # -- web roles: the kernel's role-link service (joins the current transaction) -------
    async def grant_roles(self, conn: Any, contact_id: int, role_ids: list[int]) -> None:
        await self.s.grant_roles(contact_id, role_ids)

    async def revoke_roles(self, conn: Any, contact_id: int, role_ids: list[int]) -> None:
        await self.s.revoke_roles(contact_id, role_ids)

    async def role_ids_of(self, contact_id: int) -> set[int]:
        return await self.s.contact_role_ids(contact_id)
