"""Lockout counters in the database, claimed atomically (N processes behave as one).

Every claim is one ``INSERT ... ON CONFLICT DO NOTHING`` (the unique ``key`` makes the row
exist exactly once) followed by one conditional ``UPDATE ... WHERE ... RETURNING`` in the
same transaction: the database decides whether the attempt may go ahead, so concurrent
claims from any number of processes cannot both take the last slot.

**Contacts.** A claim counts the attempt *before* the secret is checked. It succeeds
while fewer than ``max_attempts`` attempts were counted and no lock is active (or the
lock has ended, which starts a fresh count). The claim that reaches ``max_attempts`` also
sets ``locked_until = now + span``: if that last attempt fails, the account is locked;
if it succeeds, :meth:`LockoutStore.contact_succeeded` clears count and lock. So exactly
``max_attempts`` attempts are ever checked before a lock, and a process that dies
between claim and result can never leave an account refused forever.

**Client addresses.** A fixed window per address: a claim succeeds while fewer than
``max_failures`` claims were counted in the current window (a window older than
``window`` starts over); a successful attempt gives its slot back, so the throttle counts
failures (and refused attempts), not a shared office's good sign-ins.

Times are passed in (``now``), never read here, so tests move the clock instead of sleeping.
"""

from __future__ import annotations

import datetime as dt
from dataclasses import dataclass
from typing import Any

from portalis.core.codec import encode

__all__ = ["ContactClaim", "LockoutStore", "address_key", "as_time", "contact_key"]


def contact_key(contact_id: int) -> str:
    return f"c:{int(contact_id)}"


def address_key(website_id: int, address: str) -> str:
    return f"a:{int(website_id)}:{address.strip().lower()[:64]}"


def as_time(value: Any) -> dt.datetime | None:
    if value is None:
        return None
    if isinstance(value, str):
        value = dt.datetime.fromisoformat(value)
    if value.tzinfo is None:
        value = value.replace(tzinfo=dt.UTC)
    return value  # type: ignore[no-any-return]


@dataclass(frozen=True)
class ContactClaim:
    """Outcome of a contact claim: ``allowed``; the count after it; the lock end if set."""

    allowed: bool
    attempts: int
    locked_until: dt.datetime | None


class LockoutStore:
    """Reads and writes of ``lockout_counter`` through a :class:`portalis.core.db.Database`."""

    def __init__(self, db: Any) -> None:
        self.db = db

    def _e(self, value: Any) -> Any:
        return encode(value, self.db.dialect)

    @property
    def _ts(self) -> str:
        """A time placeholder inside CASE (PostgreSQL cannot infer its type there)."""
        return "CAST(? AS timestamptz)" if self.db.dialect == "postgres" else "?"

    async def _ensure(self, conn: Any, key: str, website_id: int, contact_id: int | None,
                      address: str) -> None:
        await conn.execute(
            'INSERT INTO "lockout_counter" ("key", "website", "contact", "address", "attempts") '
            'VALUES (?, ?, ?, ?, 0) ON CONFLICT ("key") DO NOTHING',
            key, website_id, contact_id, address[:64])

    # -- contacts ---------------------------------------------------------------------
    async def claim_contact(self, website_id: int, contact_id: int, *, max_attempts: int,
                            span: dt.timedelta, now: dt.datetime) -> ContactClaim:
        """Count one attempt for ``contact_id`` if it may be checked; see the module doc."""
        key = contact_key(contact_id)
        max_attempts = max(1, int(max_attempts))
        e_now = self._e(now)
        async with self.db.transaction() as conn:
            await self._ensure(conn, key, website_id, contact_id, "")
            row = await conn.fetchrow(
                'UPDATE "lockout_counter" SET '
                '"attempts" = CASE WHEN "locked_until" IS NOT NULL THEN 1 '
                'ELSE "attempts" + 1 END, '
                '"locked_until" = CASE WHEN (CASE WHEN "locked_until" IS NOT NULL THEN 1 '
                f'ELSE "attempts" + 1 END) >= ? THEN {self._ts} ELSE NULL END, '
                '"last_attempt" = ? '
                'WHERE "key" = ? AND (("locked_until" IS NOT NULL AND "locked_until" <= ?) '
                'OR ("locked_until" IS NULL AND "attempts" < ?)) '
                'RETURNING "attempts", "locked_until"',
                max_attempts, self._e(now + span), e_now, key, e_now, max_attempts)
            if row is not None:
                return ContactClaim(True, int(row["attempts"]), as_time(row["locked_until"]))
            # Refused. A count at the limit without a lock (the limit was lowered since)
            # gets a lock now, so it ends by itself like any other.
            await conn.execute(
                'UPDATE "lockout_counter" SET "locked_until" = ? '
                'WHERE "key" = ? AND "locked_until" IS NULL AND "attempts" >= ?',
                self._e(now + span), key, max_attempts)
            row = await conn.fetchrow(
                'SELECT "attempts", "locked_until" FROM "lockout_counter" WHERE "key" = ?', key)
        assert row is not None
        return ContactClaim(False, int(row["attempts"]), as_time(row["locked_until"]))

    async def contact_succeeded(self, contact_id: int) -> None:
        """A checked attempt succeeded: the count and any lock are cleared."""
        await self.db.execute(
            'UPDATE "lockout_counter" SET "attempts" = 0, "locked_until" = NULL '
            'WHERE "key" = ? AND ("attempts" <> 0 OR "locked_until" IS NOT NULL)',
            contact_key(contact_id))

    async def locked_until(self, contact_id: int, now: dt.datetime) -> dt.datetime | None:
        """The end of the contact's active lock, or ``None`` (read only, nothing counted).

        A count that reached the limit is a lock even while its last attempt is being
        checked."""
        row = await self.db.fetchrow(
            'SELECT "locked_until" FROM "lockout_counter" WHERE "key" = ? '
            'AND "locked_until" IS NOT NULL AND "locked_until" > ?',
            contact_key(contact_id), self._e(now))
        return as_time(row["locked_until"]) if row else None

    async def contact_status(self, contact_id: int) -> dict[str, Any] | None:
        row = await self.db.fetchrow(
            'SELECT "attempts", "locked_until", "last_attempt" FROM "lockout_counter" '
            'WHERE "key" = ?', contact_key(contact_id))
        if row is not None:
            row["locked_until"] = as_time(row["locked_until"])
            row["last_attempt"] = as_time(row["last_attempt"])
        return row

    async def unlock(self, contact_id: int) -> bool:
        """Clear a contact's count and lock (administrator). True if there was anything."""
        return bool(await self.db.execute(
            'DELETE FROM "lockout_counter" WHERE "key" = ?', contact_key(contact_id)))

    # -- client addresses ---------------------------------------------------------------
    async def claim_address(self, website_id: int, address: str, *, max_failures: int,
                            window: dt.timedelta, now: dt.datetime) -> bool:
        """Count one attempt from ``address`` if it is under the throttle."""
        key = address_key(website_id, address)
        cutoff = self._e(now - window)
        e_now = self._e(now)
        async with self.db.transaction() as conn:
            await self._ensure(conn, key, website_id, None, address)
            row = await conn.fetchrow(
                'UPDATE "lockout_counter" SET '
                '"attempts" = CASE WHEN "window_start" IS NULL OR "window_start" <= ? THEN 1 '
                'ELSE "attempts" + 1 END, '
                '"window_start" = CASE WHEN "window_start" IS NULL OR "window_start" <= ? '
                f'THEN {self._ts} ELSE "window_start" END, '
                '"last_attempt" = ? '
                'WHERE "key" = ? AND ("window_start" IS NULL OR "window_start" <= ? '
                'OR "attempts" < ?) RETURNING "attempts"',
                cutoff, cutoff, e_now, e_now, key, cutoff, max(1, int(max_failures)))
        return row is not None

    async def address_succeeded(self, website_id: int, address: str) -> None:
        """A checked attempt from ``address`` succeeded: it gives its slot back."""
        await self.db.execute(
            'UPDATE "lockout_counter" SET "attempts" = "attempts" - 1 '
            'WHERE "key" = ? AND "attempts" > 0', address_key(website_id, address))

    async def unlock_address(self, website_id: int, address: str) -> bool:
        return bool(await self.db.execute(
            'DELETE FROM "lockout_counter" WHERE "key" = ?', address_key(website_id, address)))

    async def purge(self, now: dt.datetime, *, idle: dt.timedelta) -> int:
        """Delete rows that hold nothing: address windows and contact counts last touched
        more than ``idle`` ago with no active lock. Returns how many were deleted."""
        return int(await self.db.execute(
            'DELETE FROM "lockout_counter" WHERE ("locked_until" IS NULL OR "locked_until" <= ?) '
            'AND ("last_attempt" IS NULL OR "last_attempt" <= ?)',
            self._e(now), self._e(now - idle)))

    async def locked_contacts(self, website_id: int, now: dt.datetime) -> list[dict[str, Any]]:
        """Contacts of a website under an active lock (for the CLI)."""
        rows = await self.db.fetch(
            'SELECT "contact", "attempts", "locked_until" FROM "lockout_counter" '
            'WHERE "website" = ? AND "contact" IS NOT NULL AND "locked_until" > ? '
            'ORDER BY "locked_until"', website_id, self._e(now))
        for row in rows:
            row["locked_until"] = as_time(row["locked_until"])
        return rows
