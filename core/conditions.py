"""A small condition language for filters, compiled to SQL against a registered table.

Lists, the Web API's ``$filter`` and plugins describe row filters as these nodes;
:func:`compile_condition` checks every column against the table and coerces every
value to the column's type, so a filter can never inject SQL or compare a text column
with a number by accident.
"""

from __future__ import annotations

from dataclasses import dataclass
from typing import Any

from portalis.core.errors import InvalidInput
from portalis.core.registry import PortalTable

__all__ = ["And", "Cmp", "Condition", "Not", "Or", "compile_condition", "like_escape"]

OPS = {"eq": "=", "ne": "<>", "gt": ">", "ge": ">=", "lt": "<", "le": "<="}
TEXT_FUNCS = ("contains", "startswith", "endswith")


@dataclass(frozen=True)
class Cmp:
    """``column op value``; op is eq/ne/gt/ge/lt/le or contains/startswith/endswith."""

    column: str
    op: str
    value: Any


@dataclass(frozen=True)
class And:
    items: tuple[Condition, ...]


@dataclass(frozen=True)
class Or:
    items: tuple[Condition, ...]


@dataclass(frozen=True)
class Not:
    item: Condition


Condition = Cmp | And | Or | Not


def like_escape(text: str) -> str:
    return text.replace("\\", "\\\\").replace("%", "\\%").replace("_", "\\_")


def compile_condition(cond: Condition, table: PortalTable, alias: str, quote: Any,
                      dialect: str) -> tuple[str, list[Any]]:
    """SQL text (over ``alias``) and its parameters; raises InvalidInput on bad input."""
    if isinstance(cond, And | Or):
        if not cond.items:
            return ("1=1" if isinstance(cond, And) else "1=0"), []
        parts, params = [], []
        for item in cond.items:
            sql, p = compile_condition(item, table, alias, quote, dialect)
            parts.append(f"({sql})")
            params.extend(p)
        joiner = " AND " if isinstance(cond, And) else " OR "
        return joiner.join(parts), params
    if isinstance(cond, Not):
        sql, params = compile_condition(cond.item, table, alias, quote, dialect)
        return f"NOT ({sql})", params
    info = table.column(cond.column)
    col = f"{alias}.{quote(info.name)}"
    if cond.op in TEXT_FUNCS:
        if info.kind != "str":
            raise InvalidInput(f"{cond.op}() needs a text column; {info.name} is {info.kind}",
                               code="invalid_filter")
        if not isinstance(cond.value, str):
            raise InvalidInput(f"{cond.op}() needs a text value", code="invalid_filter")
        pattern = like_escape(cond.value)
        pattern = {"contains": f"%{pattern}%", "startswith": f"{pattern}%",
                   "endswith": f"%{pattern}"}[cond.op]
        like = "ILIKE" if dialect == "postgres" else "LIKE"
        return f"{col} {like} ? ESCAPE '\\'", [pattern]
    if cond.op not in OPS:
        raise InvalidInput(f"unknown operator {cond.op!r}", code="invalid_filter")
    if cond.value is None:
        if cond.op == "eq":
            return f"{col} IS NULL", []
        if cond.op == "ne":
            return f"{col} IS NOT NULL", []
        raise InvalidInput(f"{cond.op} null is not meaningful", code="invalid_filter")
    value = table.coerce(info.name, cond.value)
    return f"{col} {OPS[cond.op]} ?", [value]
