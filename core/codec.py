"""Python values ↔ database values, per dialect (SQLite stores bools as 0/1, times as text)."""

from __future__ import annotations

import datetime as dt
from typing import Any

from portalis.core.registry import PortalTable

__all__ = ["decode_row", "encode", "utcnow"]

_SQLITE_TIME = "%Y-%m-%d %H:%M:%S.%f+00:00"


def utcnow() -> dt.datetime:
    return dt.datetime.now(dt.UTC)


def encode(value: Any, dialect: str) -> Any:
    """A Python value as the driver wants it (datetimes in UTC; text in SQLite)."""
    if dialect == "sqlite":
        if isinstance(value, bool):
            return int(value)
        if isinstance(value, dt.datetime):
            if value.tzinfo is None:
                value = value.replace(tzinfo=dt.UTC)
            return value.astimezone(dt.UTC).strftime(_SQLITE_TIME)
    return value


def decode_row(table: PortalTable, row: dict[str, Any], dialect: str) -> dict[str, Any]:
    """Turn a raw row into Python values (bools, aware datetimes), in place."""
    if dialect != "sqlite":
        return row
    # only the table's bool and datetime columns need work (precomputed per table)
    for name, kind in table.sqlite_decoders:
        value = row.get(name)
        if value is None:
            continue
        if kind == "bool":
            row[name] = bool(value)
        elif isinstance(value, str):
            parsed = dt.datetime.fromisoformat(value)
            row[name] = parsed if parsed.tzinfo else parsed.replace(tzinfo=dt.UTC)
    return row
