"""The Piccolo engine the admin runs on (Piccolo Admin uses Piccolo's query API).

The kernel talks to the database through its own long-lived connections; Piccolo Admin
needs Piccolo's engine. :func:`bind` makes one for the deployment's database URL and
binds every table the admin shows (and its user and session tables) to it. Admin
traffic is rare, so Piccolo's connection-per-query on SQLite does not matter here.
"""

from __future__ import annotations

import os
from collections.abc import Iterable

from piccolo.engine.postgres import PostgresEngine
from piccolo.engine.sqlite import SQLiteEngine
from piccolo.table import Table

from portalis.core.db import DatabaseURL

__all__ = ["bind", "make_engine"]


def make_engine(database_url: str) -> SQLiteEngine | PostgresEngine:
    url = DatabaseURL(database_url)
    if url.dialect == "sqlite":
        return SQLiteEngine(path=url.sqlite_path)
    return PostgresEngine(config=url.piccolo_config())


def bind(database_url: str, tables: Iterable[type[Table]]) -> SQLiteEngine | PostgresEngine:
    """Point Piccolo (and ``tables``) at ``database_url``; returns the engine."""
    os.environ.setdefault("PICCOLO_CONF", "portalis.core.piccolo_conf")
    engine = make_engine(database_url)
    for table in tables:
        table._meta._db = engine
    return engine
