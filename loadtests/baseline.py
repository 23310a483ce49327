"""The practical limit: a bare Litestar app running the same indexed page query.

No framework around the query: no site resolution, no sign-in, no permission
compiler, no templates. The contact and account ids arrive in headers
(``x-bench-contact-id``, ``x-bench-account-id``); the handler runs, on long-lived
connections (3 aiosqlite readers in WAL mode, or an asyncpg pool of 10, as the
kernel does; one trip to the SQLite thread per query, ``execute_fetchall``), exactly
the SQL statement Portalis executes for the same page of the
same contact (captured from ``records.list``, see ``docs/benchmarks.md``), and answers
JSON with a cursor link of the same shape, so the same Locust users drive both apps.

``uvicorn --factory portalis.loadtests.baseline:create`` with ``PORTALIS_DATABASE_URL``.
"""

from __future__ import annotations

import base64
import datetime as dt
import json
import os
import sqlite3
from typing import Any
from urllib.parse import urlencode

import aiosqlite
import asyncpg
from litestar import Litestar, Request, get

from portalis.core.db import DatabaseURL
from portalis.core.pool import FairPool

__all__ = ["API_NEXT_SQL", "API_SQL", "LIST_NEXT_SQL", "LIST_SQL", "api_params", "create",
           "list_params", "union_sql"]

_PRED = '((t0."customer" = ?) OR (t0."account" = ?))'
_COLS = 't0."id", t0."title", t0."status", t0."priority"'
LIST_COLS = (f'{_COLS}, t0."modified", CASE WHEN {_PRED} THEN 1 ELSE 0 END AS "_can_write", '
             'CASE WHEN 1=0 THEN 1 ELSE 0 END AS "_can_delete"')
API_COLS = f'{_COLS}, t0."customer", t0."account", t0."modified"'
LIST_ORDER = 'ORDER BY t0."modified" DESC, t0."id" DESC LIMIT 21'
API_ORDER = 'ORDER BY t0."id" ASC LIMIT 21'
LIST_KEYSET = ' AND (t0."modified", t0."id") < (?, ?)'
API_KEYSET = ' AND (t0."id") > (?)'


def union_sql(columns: str, order: str, keyset: str) -> str:
    """The page statement ``records.list`` runs for a contact holding Contact and
    Account scope: one branch per scope in page order, cut to a page, their ids united
    (``tests/loadtests/test_baseline_sql.py`` checks it is the kernel's, byte for byte)."""
    branches = " UNION ".join(
        f'SELECT "id" FROM (SELECT t0."id" FROM "case" t0 WHERE t0."website" = ? AND '
        f'(t0."{column}" = ?){keyset} {order}) b{i}'
        for i, column in enumerate(("customer", "account")))
    return f'SELECT {columns} FROM "case" t0 JOIN ({branches}) k ON t0."id" = k."id" {order}'


LIST_SQL = union_sql(LIST_COLS, LIST_ORDER, "")
LIST_NEXT_SQL = union_sql(LIST_COLS, LIST_ORDER, LIST_KEYSET)
API_SQL = union_sql(API_COLS, API_ORDER, "")
API_NEXT_SQL = union_sql(API_COLS, API_ORDER, API_KEYSET)


def list_params(website: int, contact: int, account: int, keyset: list[Any]) -> list[Any]:
    """Parameters of LIST_SQL / LIST_NEXT_SQL, in the kernel's order."""
    return [contact, account, website, contact, *keyset, website, account, *keyset]


def api_params(website: int, contact: int, account: int, keyset: list[Any]) -> list[Any]:
    """Parameters of API_SQL / API_NEXT_SQL, in the kernel's order."""
    return [website, contact, *keyset, website, account, *keyset]


PAGE = 20


class Bare:
    """Long-lived connections and one ``fetch``."""

    def __init__(self, url: str) -> None:
        self.url = DatabaseURL(url)
        self.sqlite = self.url.dialect == "sqlite"
        self.readers: FairPool[aiosqlite.Connection] = FairPool()  # the kernel's pool
        self.conns: list[aiosqlite.Connection] = []
        self.pool: asyncpg.Pool | None = None
        self.website = 0
        self._pg_sql: dict[str, str] = {}

    async def start(self) -> None:
        if self.sqlite:
            for _ in range(3):
                conn = await aiosqlite.connect(self.url.sqlite_path, isolation_level=None)
                conn.row_factory = sqlite3.Row
                await conn.execute("PRAGMA journal_mode=WAL")
                await conn.execute("PRAGMA busy_timeout=10000")
                self.conns.append(conn)
                self.readers.put(conn)
        else:
            self.pool = await asyncpg.create_pool(self.url.url, min_size=1, max_size=10)
        rows = await self.fetch('SELECT "id" FROM "portalis_website" WHERE "key" = ?', "bench")
        self.website = rows[0]["id"]

    async def stop(self) -> None:
        for conn in self.conns:
            await conn.close()
        if self.pool is not None:
            await self.pool.close()

    async def fetch(self, sql: str, *params: Any) -> list[dict[str, Any]]:
        if self.sqlite:
            conn = await self.readers.get()
            try:  # one trip to the connection's thread (execute + fetch + close)
                rows = await conn.execute_fetchall(sql, params)
            finally:
                self.readers.put(conn)
            return [dict(r) for r in rows]
        text = self._pg_sql.get(sql)
        if text is None:
            parts = sql.split("?")
            text = "".join(p + (f"${i}" if i < len(parts) else "")
                           for i, p in enumerate(parts, 1))
            self._pg_sql[sql] = text
        assert self.pool is not None
        return [dict(r) for r in await self.pool.fetch(text, *params)]


def _cursor(values: list[Any]) -> str:
    payload = [v.isoformat() if isinstance(v, dt.datetime) else v for v in values]
    raw = json.dumps({"k": payload, "d": "n"}, separators=(",", ":"))
    return base64.urlsafe_b64encode(raw.encode()).decode().rstrip("=")


def _uncursor(token: str) -> list[Any]:
    return list(json.loads(base64.urlsafe_b64decode(token + "=" * (-len(token) % 4)))["k"])


def _ids(request: Request[Any, Any, Any]) -> tuple[int, int]:
    return (int(request.headers["x-bench-contact-id"]),
            int(request.headers["x-bench-account-id"]))


def create() -> Litestar:
    bare = Bare(os.environ["PORTALIS_DATABASE_URL"])

    def when(value: str) -> Any:
        moment = dt.datetime.fromisoformat(value)
        if bare.sqlite:  # the kernel's text encoding of a UTC timestamp
            return moment.strftime("%Y-%m-%d %H:%M:%S.%f+00:00")
        return moment

    @get("/_lists/cases")
    async def list_cases(request: Request[Any, Any, Any]) -> dict[str, Any]:
        contact, account = _ids(request)
        cursor = request.query_params.get("cursor")
        keyset: list[Any] = []
        if cursor:
            modified, rid = _uncursor(cursor)
            keyset = [when(modified), rid]
        rows = await bare.fetch(LIST_NEXT_SQL if cursor else LIST_SQL,
                                *list_params(bare.website, contact, account, keyset))
        nxt = None
        if len(rows) > PAGE:
            rows = rows[:PAGE]
            token = _cursor([rows[-1]["modified"], rows[-1]["id"]])
            nxt = f"/_lists/cases?{urlencode({'cursor': token})}"
        return {"list": "cases", "value": rows, "next": nxt}

    @get("/_api/case")
    async def api_cases(request: Request[Any, Any, Any]) -> dict[str, Any]:
        contact, account = _ids(request)
        top = request.query_params.get("$top")
        skiptoken = request.query_params.get("$skiptoken")
        keyset = _uncursor(skiptoken) if skiptoken else []
        rows = await bare.fetch(API_NEXT_SQL if skiptoken else API_SQL,
                                *api_params(bare.website, contact, account, keyset))
        body: dict[str, Any] = {"value": rows[:PAGE]}
        if len(rows) > PAGE:
            token = _cursor([rows[PAGE - 1]["id"]])
            query = urlencode({"$top": top or PAGE, "$skiptoken": token})
            body["@odata.nextLink"] = f"/_api/case?{query}"
        return body

    @get("/_health")
    async def health() -> dict[str, str]:
        return {"status": "ok"}

    async def start(app: Litestar) -> None:
        await bare.start()

    async def stop(app: Litestar) -> None:
        await bare.stop()

    return Litestar([list_cases, api_cases, health], on_startup=[start], on_shutdown=[stop],
                    logging_config=None, openapi_config=None)
