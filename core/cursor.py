"""Keyset (cursor) pagination: page 1,000 costs what page 1 costs.

A cursor carries the sort values of the row it points after (or before), and the
direction. It is not a secret: every page is still filtered by the permission
predicate, so a forged cursor only moves the window. A malformed one is a 400.
"""

from __future__ import annotations

import base64
import binascii
import datetime as dt
import functools
from typing import Any

import msgspec

from portalis.core.codec import encode
from portalis.core.db import quote
from portalis.core.errors import InvalidInput
from portalis.core.registry import PortalTable

__all__ = ["decode_cursor", "encode_cursor", "keyset_condition"]


_json = msgspec.json.Encoder()
_unjson = msgspec.json.Decoder()


def encode_cursor(values: list[Any], direction: str) -> str:
    """``{"k": [sort values], "d": "n"|"p"}`` as compact JSON, base64url without padding."""
    payload = [v.isoformat() if isinstance(v, dt.datetime) else v for v in values]
    raw = _json.encode({"k": payload, "d": direction})
    return base64.urlsafe_b64encode(raw).decode().rstrip("=")


def decode_cursor(token: str, table: PortalTable, order: list[tuple[str, bool]]
                  ) -> tuple[list[Any], str]:
    try:
        raw = base64.urlsafe_b64decode(token + "=" * (-len(token) % 4))
        data = _unjson.decode(raw)
        values, direction = data["k"], data["d"]
        if direction not in ("n", "p") or not isinstance(values, list):
            raise ValueError
        if len(values) != len(order):
            raise ValueError
    except (ValueError, KeyError, TypeError, binascii.Error, UnicodeDecodeError,
            msgspec.DecodeError):
        raise InvalidInput("the page cursor is malformed or belongs to another sort order",
                           code="invalid_cursor") from None
    coerced = []
    for (column, _desc), value in zip(order, values, strict=True):
        if value is None:
            coerced.append(None)
            continue
        if isinstance(value, dict | list):
            raise InvalidInput("the page cursor is malformed", code="invalid_cursor")
        coerced.append(table.coerce(column, value))
    return coerced, direction


def keyset_condition(order: list[tuple[str, bool]], values: list[Any], alias: str,
                     dialect: str, nullable: frozenset[str] = frozenset()
                     ) -> tuple[str, list[Any]]:
    """Rows strictly after ``values`` in ``order`` (which ends with a unique column).

    When every sort column is NOT NULL and sorted the same way, this is one row-value
    comparison ``(a, id) > (?, ?)``, which both databases answer with one index seek.
    Otherwise it expands to ``a > ? OR (a = ? AND id > ?)``, with NULL placement
    following each database's default (SQLite: NULLs lowest; PostgreSQL: highest), so
    the ORDER BY stays index-friendly on both.

    The text depends on the order and on which values are NULL alone: it is built once
    per such shape, with the values it binds (by position), and the values bound here.
    """
    sql, picks = _keyset_text(tuple(order), tuple(v is None for v in values), alias,
                              dialect, nullable)
    return sql, [encode(values[i], dialect) for i in picks]


@functools.lru_cache(maxsize=1024)
def _keyset_text(order: tuple[tuple[str, bool], ...], nulls: tuple[bool, ...], alias: str,
                 dialect: str, nullable: frozenset[str]) -> tuple[str, tuple[int, ...]]:
    """:func:`keyset_condition`'s text and the positions of the values its ``?`` bind."""
    same_way = len({desc for _, desc in order}) == 1
    if same_way and True not in nulls and not any(c in nullable for c, _ in order):
        cols = ", ".join(f"{alias}.{quote(c)}" for c, _ in order)
        marks = ", ".join("?" for _ in order)
        op = "<" if order[0][1] else ">"
        return f"({cols}) {op} ({marks})", tuple(range(len(order)))
    null_high = dialect == "postgres"
    ors: list[str] = []
    picks: list[int] = []
    for i, (column, desc) in enumerate(order):
        parts: list[str] = []
        part_picks: list[int] = []
        for j in range(i):
            col = f"{alias}.{quote(order[j][0])}"
            if nulls[j]:
                parts.append(f"{col} IS NULL")
            else:
                parts.append(f"{col} = ?")
                part_picks.append(j)
        col = f"{alias}.{quote(column)}"
        nulls_after = (not desc and null_high) or (desc and not null_high)
        if nulls[i]:
            if nulls_after:
                continue  # nothing sorts after NULL in this column
            parts.append(f"{col} IS NOT NULL")
        else:
            op = "<" if desc else ">"
            cmp = f"{col} {op} ?"
            part_picks.append(i)
            parts.append(f"({cmp} OR {col} IS NULL)" if nulls_after else cmp)
        ors.append("(" + " AND ".join(parts) + ")")
        picks.extend(part_picks)
    if not ors:
        return "1=0", ()
    return "(" + " OR ".join(ors) + ")", tuple(picks)
