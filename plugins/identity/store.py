"""The identity plugin's private state: sessions, credentials and single-use tokens.

Everything here goes through ``services.db`` with ``?`` SQL (never Piccolo's query API
on the hot path). Secrets are stored only as digests; every "use once" step is one
conditional ``UPDATE ... RETURNING`` so that N app processes behave as one.

Time and the password hasher are injectable per app (:class:`IdentityState`, kept in
``services.extra["identity"]``) so tests can move the clock and use a cheap hasher.
"""

from __future__ import annotations

import datetime as dt
import hashlib
import hmac
import secrets
from collections.abc import Callable
from dataclasses import dataclass, field
from typing import Any

from portalis.core.codec import encode, utcnow
from portalis.plugins.identity.passwords import PasswordHasher

__all__ = [
    "IdentityState",
    "code_digest",
    "digest",
    "new_token",
    "state",
]

TOUCH_INTERVAL = dt.timedelta(seconds=60)
SESSION_CACHE_SIZE = 10_000  # cached session rows per process (then start over)

#: Default factory of the per-app password hasher (tests may replace it).
DEFAULT_HASHER: Callable[[], PasswordHasher] = PasswordHasher


def use_hasher(factory: Callable[[], PasswordHasher]) -> None:
    """Make apps created from now on hash passwords with ``factory()`` (tests: cheap)."""
    global DEFAULT_HASHER
    DEFAULT_HASHER = factory


@dataclass
class IdentityState:
    """Per-app knobs: the clock and the password hasher (built on first use)."""

    clock: Callable[[], dt.datetime] = utcnow
    hasher_factory: Callable[[], PasswordHasher] | None = None
    _hasher: PasswordHasher | None = field(default=None, repr=False)
    sessions: dict[tuple[int, str], tuple[dt.datetime, dict[str, Any]]] = field(
        default_factory=dict, repr=False)
    """Session rows read in the last ``policy_ttl`` seconds (see :meth:`Store.session`)."""
    principals: dict[tuple[Any, ...], tuple[dt.datetime, Any]] = field(
        default_factory=dict, repr=False)
    """Signed-in principals by session, each valid until the earliest of ``policy_ttl``
    after it was resolved and the session's idle or absolute expiry (see
    ``sessions.resolve_principal``). Emptied with :attr:`sessions`."""

    @property
    def hasher(self) -> PasswordHasher:
        if self._hasher is None:
            self._hasher = (self.hasher_factory or DEFAULT_HASHER)()
        return self._hasher

    @hasher.setter
    def hasher(self, value: PasswordHasher) -> None:
        self._hasher = value

    def now(self) -> dt.datetime:
        return self.clock()


def state(services: Any) -> IdentityState:
    found = services.extra.get("identity")
    if found is None:
        found = services.extra["identity"] = IdentityState()
    return found  # type: ignore[no-any-return]


def new_token() -> str:
    """256 random bits, URL-safe."""
    return secrets.token_urlsafe(32)


def digest(token: str) -> str:
    return hashlib.sha256(token.encode("utf-8")).hexdigest()


def code_digest(secret_key: str, token_hash: str, code: str) -> str:
    """HMAC of a short code, bound to its challenge (a stolen table reveals no code)."""
    key = secret_key.encode("utf-8")
    return hmac.new(key, f"{token_hash}:{code}".encode(), hashlib.sha256).hexdigest()


def as_time(value: Any) -> dt.datetime | None:
    if value is None:
        return None
    if isinstance(value, str):
        value = dt.datetime.fromisoformat(value)
    if value.tzinfo is None:
        value = value.replace(tzinfo=dt.UTC)
    return value  # type: ignore[no-any-return]


class Store:
    """All reads and writes of the plugin's tables for one app."""

    def __init__(self, services: Any) -> None:
        self.s = services
        self.db = services.db

    def _e(self, value: Any) -> Any:
        return encode(value, self.db.dialect)

    @property
    def now(self) -> dt.datetime:
        return state(self.s).now()

    # -- sessions ---------------------------------------------------------------
    async def create_session(self, website_id: int, contact_id: int, email: str,
                             client_ip: str, *, replacing: str | None = None,
                             timeouts: tuple[dt.timedelta, dt.timedelta] | None = None) -> str:
        """A new session (a fresh id every time); returns the cookie's token.

        ``replacing`` (the session the request came with) ends; with ``timeouts``
        (idle, absolute) the contact's expired sessions are swept away too.
        """
        token = new_token()
        current = self.now
        self._forget_sessions()
        now = self._e(current)
        async with self.db.transaction() as conn:
            if replacing:
                await conn.execute('DELETE FROM "identity_session" WHERE "id" = ?', replacing)
            if timeouts:
                idle, absolute = timeouts
                await conn.execute(
                    'DELETE FROM "identity_session" WHERE "contact" = ? '
                    'AND ("last_seen" < ? OR "created" < ?)',
                    contact_id, self._e(current - idle), self._e(current - absolute))
            await conn.execute(
                'INSERT INTO "identity_session" ("id", "website", "contact", "created", '
                '"last_seen", "email", "client_ip") VALUES (?, ?, ?, ?, ?, ?, ?)',
                digest(token), website_id, contact_id, now, now, email or "", client_ip[:64])
        return token

    async def session(self, website_id: int, session_id: str) -> dict[str, Any] | None:
        """The session row, cached per process for ``policy_ttl`` seconds like the site
        configuration and the principals (one statement fewer on nearly every signed-in
        request). A change made in this process (sign-out, new session, password reset,
        ``touch``) empties the cache at once; one made by another process applies there
        within ``policy_ttl`` (default 1 s), as role changes do."""
        ttl = self.s.config.policy_ttl
        cache = state(self.s).sessions
        key = (website_id, session_id)
        now = self.now
        if ttl > 0:
            hit = cache.get(key)
            if hit is not None and hit[0] > now:
                return dict(hit[1])
        row = await self.db.fetchrow(
            'SELECT "contact", "created", "last_seen", "email" FROM "identity_session" '
            'WHERE "id" = ? AND "website" = ?', session_id, website_id)
        if row is None:
            return None
        row["created"] = as_time(row["created"])
        row["last_seen"] = as_time(row["last_seen"])
        if ttl > 0:
            if len(cache) >= SESSION_CACHE_SIZE:
                cache.clear()
            cache[key] = (now + dt.timedelta(seconds=ttl), dict(row))
        return row

    def _forget_sessions(self) -> None:
        """Empty the session caches: called by every write to ``identity_session``."""
        state(self.s).sessions.clear()
        state(self.s).principals.clear()

    async def touch_session(self, session_id: str, now: dt.datetime) -> None:
        """Slide the idle timeout (callers do this at most once a minute)."""
        self._forget_sessions()
        await self.db.execute(
            'UPDATE "identity_session" SET "last_seen" = ? WHERE "id" = ? AND "last_seen" < ?',
            self._e(now), session_id, self._e(now - TOUCH_INTERVAL))

    async def delete_session(self, session_id: str) -> None:
        self._forget_sessions()
        await self.db.execute('DELETE FROM "identity_session" WHERE "id" = ?', session_id)

    async def end_sessions(self, contact_id: int, *, keep: str | None = None) -> int:
        """End every session of a contact (but ``keep``); returns how many ended."""
        self._forget_sessions()
        if keep:
            return await self.db.execute(
                'DELETE FROM "identity_session" WHERE "contact" = ? AND "id" <> ?',
                contact_id, keep)
        return await self.db.execute(
            'DELETE FROM "identity_session" WHERE "contact" = ?', contact_id)

    async def session_count(self, contact_id: int) -> int:
        return int(await self.db.fetchval(
            'SELECT COUNT(*) FROM "identity_session" WHERE "contact" = ?', contact_id))

    # -- credentials ------------------------------------------------------------
    async def credential(self, contact_id: int) -> dict[str, Any] | None:
        row = await self.db.fetchrow(
            'SELECT "password_hash", "email_confirmed", "two_factor" '
            'FROM "identity_credential" WHERE "contact" = ?', contact_id)
        if row is not None:
            row["email_confirmed"] = bool(row["email_confirmed"])
            row["two_factor"] = bool(row["two_factor"])
        return row

    async def _upsert(self, website_id: int, contact_id: int, values: dict[str, Any]) -> None:
        names = list(values)
        cols = ", ".join(f'"{n}"' for n in names)
        marks = ", ".join("?" for _ in names)
        sets = ", ".join(f'"{n}" = excluded."{n}"' for n in names)
        await self.db.execute(
            f'INSERT INTO "identity_credential" ("website", "contact", {cols}) '
            f'VALUES (?, ?, {marks}) ON CONFLICT ("contact") DO UPDATE SET {sets}',
            website_id, contact_id, *[self._e(v) for v in values.values()])

    async def set_password(self, website_id: int, contact_id: int, password_hash: str, *,
                           confirmed: bool | None = None) -> None:
        values: dict[str, Any] = {"password_hash": password_hash,
                                  "password_changed": self.now}
        if confirmed is not None:
            values["email_confirmed"] = confirmed
        await self._upsert(website_id, contact_id, values)

    async def email_changed(self, contact_id: int, email: str) -> None:
        """A contact's email changed: unconfirmed again, its links void, sessions relabelled."""
        self._forget_sessions()
        await self.revoke(contact_id)
        await self.db.execute(
            'UPDATE "identity_credential" SET "email_confirmed" = ? WHERE "contact" = ?',
            self._e(False), contact_id)
        await self.db.execute('UPDATE "identity_session" SET "email" = ? WHERE "contact" = ?',
                              email, contact_id)

    async def set_flag(self, website_id: int, contact_id: int, name: str, value: bool) -> None:
        assert name in ("email_confirmed", "two_factor")
        await self._upsert(website_id, contact_id, {name: value})

    # -- single-use tokens -------------------------------------------------------
    async def issue(self, website_id: int, contact_id: int, kind: str, lifetime: dt.timedelta,
                    *, email: str = "", code: str | None = None) -> str:
        """A new token of ``kind`` (older unused ones of the same kind are revoked)."""
        token = new_token()
        token_hash = digest(token)
        code_hash = code_digest(self.s.config.secret_key, token_hash, code) if code else ""
        now = self.now
        async with self.db.transaction() as conn:
            await conn.execute(
                'DELETE FROM "identity_token" WHERE "contact" = ? AND ("kind" = ? '
                'OR "used" IS NOT NULL OR "expires" < ?)', contact_id, kind, self._e(now))
            await conn.execute(
                'INSERT INTO "identity_token" ("website", "contact", "kind", "token_hash", '
                '"code_hash", "email", "attempts", "created", "expires", "used") '
                'VALUES (?, ?, ?, ?, ?, ?, 0, ?, ?, NULL)',
                website_id, contact_id, kind, token_hash, code_hash, email,
                self._e(now), self._e(now + lifetime))
        return token

    async def peek(self, website_id: int, kind: str, token: str) -> dict[str, Any] | None:
        """The live token row (unused, unexpired) without using it."""
        return await self.db.fetchrow(
            'SELECT "id", "contact", "email", "attempts" FROM "identity_token" '
            'WHERE "token_hash" = ? AND "website" = ? AND "kind" = ? AND "used" IS NULL '
            'AND "expires" > ?', digest(token), website_id, kind, self._e(self.now))

    async def consume(self, website_id: int, kind: str, token: str) -> dict[str, Any] | None:
        """Use a live token, atomically: exactly one caller gets the row."""
        now = self._e(self.now)
        return await self.db.fetchrow(
            'UPDATE "identity_token" SET "used" = ? WHERE "token_hash" = ? AND "website" = ? '
            'AND "kind" = ? AND "used" IS NULL AND "expires" > ? '
            'RETURNING "id", "contact", "email"',
            now, digest(token), website_id, kind, now)

    async def try_code(self, website_id: int, token: str, code: str,
                       max_attempts: int) -> tuple[str, dict[str, Any] | None]:
        """Check a two-factor code against a live challenge.

        Returns ``("ok", row)``, ``("wrong", row)`` or ``("dead", None)`` (unknown,
        expired, used, or out of attempts). Each check spends one attempt atomically.
        """
        now = self._e(self.now)
        token_hash = digest(token)
        async with self.db.transaction() as conn:
            row = await conn.fetchrow(
                'UPDATE "identity_token" SET "attempts" = "attempts" + 1 '
                'WHERE "token_hash" = ? AND "website" = ? AND "kind" = \'two_factor\' '
                'AND "used" IS NULL AND "expires" > ? AND "attempts" < ? '
                'RETURNING "id", "contact", "code_hash", "attempts"',
                token_hash, website_id, now, max_attempts)
            if row is None:
                return "dead", None
            expected = code_digest(self.s.config.secret_key, token_hash, code)
            if not hmac.compare_digest(expected, row["code_hash"]):
                return "wrong", row
            used = await conn.execute(
                'UPDATE "identity_token" SET "used" = ? WHERE "id" = ? AND "used" IS NULL',
                now, row["id"])
            return ("ok", row) if used == 1 else ("dead", None)

    async def revoke(self, contact_id: int, kinds: tuple[str, ...] | None = None) -> None:
        if kinds is None:
            await self.db.execute('DELETE FROM "identity_token" WHERE "contact" = ?', contact_id)
            return
        for kind in kinds:
            await self.db.execute(
                'DELETE FROM "identity_token" WHERE "contact" = ? AND "kind" = ?',
                contact_id, kind)
