"""Bulk writers for the seeder: one ``sqlite3`` connection or one asyncpg connection."""

from __future__ import annotations

import datetime as dt
import sqlite3
from collections.abc import Sequence
from typing import Any

import asyncpg

__all__ = ["PostgresSink", "Sink", "SqliteSink"]


class Sink:
    """Bulk writes for one dialect; ``ts`` encodes a timestamp the way the kernel does."""

    dialect = ""

    def ts(self, value: dt.datetime) -> Any:
        return value

    async def insert(self, table: str, columns: Sequence[str], rows: list[tuple[Any, ...]]
                     ) -> None:
        raise NotImplementedError

    async def fetchval(self, sql: str, *args: Any) -> Any:
        raise NotImplementedError

    async def execute(self, sql: str, *args: Any) -> None:
        raise NotImplementedError

    async def close(self) -> None:
        raise NotImplementedError


class SqliteSink(Sink):
    dialect = "sqlite"

    def __init__(self, path: str) -> None:
        self.conn = sqlite3.connect(path, isolation_level=None)
        self.conn.execute("PRAGMA journal_mode=WAL")
        self.conn.execute("PRAGMA synchronous=OFF")
        self.conn.execute("PRAGMA cache_size=-200000")

    def ts(self, value: dt.datetime) -> Any:
        return value.strftime("%Y-%m-%d %H:%M:%S.%f+00:00")

    async def insert(self, table: str, columns: Sequence[str], rows: list[tuple[Any, ...]]
                     ) -> None:
        names = ", ".join(f'"{c}"' for c in columns)
        marks = ", ".join("?" for _ in columns)
        self.conn.execute("BEGIN")
        self.conn.executemany(f'INSERT INTO "{table}" ({names}) VALUES ({marks})', rows)
        self.conn.execute("COMMIT")

    async def fetchval(self, sql: str, *args: Any) -> Any:
        row = self.conn.execute(sql, args).fetchone()
        return None if row is None else row[0]

    async def execute(self, sql: str, *args: Any) -> None:
        self.conn.execute(sql, args)

    async def close(self) -> None:
        self.conn.execute("PRAGMA wal_checkpoint(TRUNCATE)")
        self.conn.close()


class PostgresSink(Sink):
    dialect = "postgres"

    def __init__(self, conn: asyncpg.Connection) -> None:
        self.conn = conn

    @staticmethod
    def _sql(sql: str) -> str:
        parts = sql.split("?")
        return "".join(p + (f"${i}" if i < len(parts) else "")
                       for i, p in enumerate(parts, 1))

    async def insert(self, table: str, columns: Sequence[str], rows: list[tuple[Any, ...]]
                     ) -> None:
        await self.conn.copy_records_to_table(table, records=rows, columns=list(columns))

    async def fetchval(self, sql: str, *args: Any) -> Any:
        return await self.conn.fetchval(self._sql(sql), *args)

    async def execute(self, sql: str, *args: Any) -> None:
        await self.conn.execute(self._sql(sql), *args)

    async def close(self) -> None:
        await self.conn.close()
