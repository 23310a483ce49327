"""The database connection layer under ``records``: long-lived connections, one API.

Piccolo defines the schema and runs migrations; at run time the kernel talks to the
database through :class:`Database`, which keeps connections open (Piccolo's SQLite
engine opens a new connection per query, ~3.5 ms each — too slow for the hot path):

* SQLite: one writer connection (serialised by a lock, ``BEGIN IMMEDIATE``) and a
  few reader connections, WAL mode and a busy timeout, through aiosqlite.
* PostgreSQL: an asyncpg pool.

SQL is written once with ``?`` placeholders; :meth:`Database.sql` rewrites it to
``$n`` for PostgreSQL. Statements executed are counted (``statement_count``) so tests
can show that a list page costs a constant number of statements.
"""

from __future__ import annotations

import asyncio
import contextlib
import contextvars
import itertools
import re
import sqlite3
from collections.abc import AsyncIterator, Sequence
from dataclasses import dataclass
from typing import Any
from urllib.parse import urlparse

import aiosqlite
import asyncpg

from portalis.core.pool import FairPool

__all__ = ["Connection", "Database", "DatabaseURL", "IntegrityError", "quote"]

_current: contextvars.ContextVar[Connection | None] = contextvars.ContextVar(
    "portalis_tx", default=None
)


class IntegrityError(Exception):
    """A unique, foreign-key or check constraint refused a write."""


# A value the database cannot take (an integer beyond the column's range, a NUL in text):
# always the caller's input, so a 400, never a 500.
_BAD_VALUE = (OverflowError, asyncpg.DataError)


def _bad_value(exc: Exception) -> Exception:
    from portalis.core.errors import InvalidInput

    return InvalidInput("a value is out of range or not valid for the database",
                        code="invalid_value")


async def _keep_session(conn: asyncpg.Connection) -> None:
    """The pool's reset on release. asyncpg's default sends ``pg_advisory_unlock_all();
    CLOSE ALL; UNLISTEN *; RESET ALL`` (a round trip per statement here, ~9 % of a
    PostgreSQL list request); the kernel keeps no session state on a connection (no
    ``SET``, ``LISTEN``, cursors or session-level advisory locks; only transaction-scoped
    ones), and asyncpg still rolls back a transaction left open before this runs."""


@dataclass(frozen=True)
class DatabaseURL:
    """``sqlite:///path/to/file.sqlite`` or ``postgresql://user@host:port/db``."""

    url: str

    @property
    def dialect(self) -> str:
        scheme = urlparse(self.url).scheme
        if scheme.startswith("sqlite"):
            return "sqlite"
        if scheme in ("postgres", "postgresql"):
            return "postgres"
        raise ValueError(f"unsupported database URL scheme {scheme!r} (use sqlite or postgresql)")

    @property
    def sqlite_path(self) -> str:
        return self.url.split("sqlite:///", 1)[1]

    def piccolo_config(self) -> dict[str, Any]:
        parsed = urlparse(self.url)
        return {
            "host": parsed.hostname or "127.0.0.1",
            "port": parsed.port or 5432,
            "user": parsed.username or "postgres",
            "password": parsed.password or "",
            "database": parsed.path.lstrip("/") or "postgres",
        }


_QMARK = re.compile(r"\?")
_IDENTIFIER = re.compile(r"[A-Za-z_][A-Za-z0-9_]*")
_QUOTED: dict[str, str] = {}


def quote(name: str) -> str:
    """``name`` as a quoted SQL identifier (the same on both dialects); anything but a
    plain identifier is refused."""
    quoted = _QUOTED.get(name)
    if quoted is None:
        if not _IDENTIFIER.fullmatch(name):
            raise ValueError(f"bad SQL identifier {name!r}")
        quoted = f'"{name}"'
        if len(_QUOTED) < 10_000:
            _QUOTED[name] = quoted
    return quoted


class _Reads:
    """``fetchrow`` and ``fetchval`` on top of a ``fetch``."""

    async def fetch(self, sql: str, *params: Any) -> list[dict[str, Any]]:
        raise NotImplementedError

    async def fetchrow(self, sql: str, *params: Any) -> dict[str, Any] | None:
        rows = await self.fetch(sql, *params)
        return rows[0] if rows else None

    async def fetchval(self, sql: str, *params: Any) -> Any:
        row = await self.fetchrow(sql, *params)
        return None if row is None else next(iter(row.values()))


class Connection(_Reads):
    """One connection (or transaction) with dialect-neutral fetch/execute."""

    def __init__(self, db: Database, raw: Any) -> None:
        self.db = db
        self.raw = raw

    async def fetch(self, sql: str, *params: Any) -> list[dict[str, Any]]:
        self.db.statement_count += 1
        try:
            if self.db.dialect == "sqlite":
                # one trip to the connection's thread per statement (rows are sqlite3.Row)
                return [dict(r) for r in await self.raw.execute_fetchall(sql, params)]
            records = await self.raw.fetch(self.db.sql(sql), *params)
            return [dict(r) for r in records]
        except (sqlite3.IntegrityError, asyncpg.IntegrityConstraintViolationError) as exc:
            raise IntegrityError(str(exc)) from exc
        except _BAD_VALUE as exc:
            raise _bad_value(exc) from exc

    async def execute(self, sql: str, *params: Any) -> int:
        """Run a statement; returns the number of rows changed."""
        self.db.statement_count += 1
        try:
            if self.db.dialect == "sqlite":
                cur = await self.raw.execute(sql, params)
                n = cur.rowcount
                await cur.close()
                return n
            status = await self.raw.execute(self.db.sql(sql), *params)
            tail = status.rsplit(" ", 1)[-1]
            return int(tail) if tail.isdigit() else 0
        except (sqlite3.IntegrityError, asyncpg.IntegrityConstraintViolationError) as exc:
            raise IntegrityError(str(exc)) from exc
        except _BAD_VALUE as exc:
            raise _bad_value(exc) from exc

    async def executemany(self, sql: str, rows: Sequence[Sequence[Any]]) -> None:
        self.db.statement_count += 1
        if self.db.dialect == "sqlite":
            await self.raw.executemany(sql, rows)
        else:
            await self.raw.executemany(self.db.sql(sql), rows)


class Database(_Reads):
    """Long-lived connections to the portal database; see the module docstring."""

    def __init__(self, url: str, *, readers: int = 3) -> None:
        self.url = DatabaseURL(url)
        self.dialect = self.url.dialect
        self.readers = readers
        self.statement_count = 0
        self._sql_cache: dict[str, str] = {}
        self._writer: aiosqlite.Connection | None = None
        self._write_lock = asyncio.Lock()
        self._reader_pool: FairPool[aiosqlite.Connection] | None = None
        self._reader_conns: list[aiosqlite.Connection] = []
        self._pg: asyncpg.Pool | None = None

    # -- lifecycle -------------------------------------------------------
    async def connect(self) -> None:
        if self.dialect == "sqlite":
            self._writer = await self._open_sqlite()
            self._reader_pool = FairPool()
            for _ in range(self.readers):
                conn = await self._open_sqlite()
                self._reader_conns.append(conn)
                self._reader_pool.put(conn)
        else:
            cfg = self.url.piccolo_config()
            self._pg = await asyncpg.create_pool(
                host=cfg["host"], port=cfg["port"], user=cfg["user"],
                password=cfg["password"] or None, database=cfg["database"],
                min_size=1, max_size=10, reset=_keep_session,
            )

    async def _open_sqlite(self) -> aiosqlite.Connection:
        conn = await aiosqlite.connect(self.url.sqlite_path, isolation_level=None)
        conn.row_factory = sqlite3.Row
        await conn.execute("PRAGMA journal_mode=WAL")
        await conn.execute("PRAGMA busy_timeout=10000")
        await conn.execute("PRAGMA foreign_keys=ON")
        await conn.execute("PRAGMA synchronous=NORMAL")
        return conn

    async def close(self) -> None:
        if self._writer is not None:
            await self._writer.close()
            self._writer = None
        for conn in self._reader_conns:
            await conn.close()
        self._reader_conns.clear()
        if self._pg is not None:
            await self._pg.close()
            self._pg = None

    # -- SQL helpers -----------------------------------------------------
    def sql(self, text: str) -> str:
        """Rewrite ``?`` placeholders for the dialect (cached)."""
        if self.dialect == "sqlite":
            return text
        cached = self._sql_cache.get(text)
        if cached is None:
            counter = itertools.count(1)
            cached = _QMARK.sub(lambda _m: f"${next(counter)}", text)
            if len(self._sql_cache) < 10_000:
                self._sql_cache[text] = cached
        return cached

    def quote(self, name: str) -> str:
        return quote(name)

    # -- access ----------------------------------------------------------
    @contextlib.asynccontextmanager
    async def reader(self) -> AsyncIterator[Connection]:
        """A connection for reads: the current transaction's, or a pooled one."""
        tx = _current.get()
        if tx is not None:
            yield tx
            return
        if self.dialect == "sqlite":
            assert self._reader_pool is not None, "Database.connect() was not called"
            conn = await self._reader_pool.get()
            try:
                yield Connection(self, conn)
            finally:
                self._reader_pool.put(conn)
        else:
            assert self._pg is not None, "Database.connect() was not called"
            async with self._pg.acquire() as conn:
                yield Connection(self, conn)

    @contextlib.asynccontextmanager
    async def transaction(self) -> AsyncIterator[Connection]:
        """A write transaction; nested calls join the outer one. Rolls back on error."""
        tx = _current.get()
        if tx is not None:
            yield tx
            return
        if self.dialect == "sqlite":
            assert self._writer is not None, "Database.connect() was not called"
            async with self._write_lock:
                conn = Connection(self, self._writer)
                await self._writer.execute("BEGIN IMMEDIATE")
                token = _current.set(conn)
                try:
                    yield conn
                except BaseException:
                    _current.reset(token)
                    await self._writer.execute("ROLLBACK")
                    raise
                else:
                    _current.reset(token)
                    await self._writer.execute("COMMIT")
        else:
            assert self._pg is not None, "Database.connect() was not called"
            async with self._pg.acquire() as raw, raw.transaction():
                conn = Connection(self, raw)
                token = _current.set(conn)
                try:
                    yield conn
                finally:
                    _current.reset(token)

    async def fetch(self, sql: str, *params: Any) -> list[dict[str, Any]]:
        # every single-statement read (fetchrow, fetchval too) comes here. Outside a
        # transaction: one pooled connection, what reader() does without its
        # asynccontextmanager (~10 µs a statement, measured side by side in process)
        if _current.get() is None:
            if self._pg is not None:
                # asyncpg's Pool.fetch acquires, fetches and releases in one call
                return await Connection(self, self._pg).fetch(sql, *params)
            if self._reader_pool is not None:
                raw = await self._reader_pool.get()
                try:
                    return await Connection(self, raw).fetch(sql, *params)
                finally:
                    self._reader_pool.put(raw)
        async with self.reader() as conn:
            return await conn.fetch(sql, *params)

    async def execute(self, sql: str, *params: Any) -> int:
        async with self.transaction() as conn:
            return await conn.execute(sql, *params)
