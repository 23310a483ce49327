"""The portal-table registry: which Piccolo tables hold portal data, and their relationships.

A deployment or plugin registers ordinary Piccolo tables (real columns, real indexes)
through the ``portalis_register_tables`` hook. Each registered table must have an
integer ``id`` primary key and a ``website`` foreign key: ``records`` scopes every
statement to the principal's website. Relationships are many-to-one foreign keys;
they are found from the Piccolo ``ForeignKey`` columns and named after the column
(``case.customer`` → ``contact``), and permissions follow them by name.
"""

from __future__ import annotations

import datetime as dt
import functools
from collections.abc import Iterable
from dataclasses import dataclass, field
from typing import Any

from piccolo.columns import (
    BigInt,
    Boolean,
    Column,
    Float,
    ForeignKey,
    Integer,
    Numeric,
    Real,
    Serial,
    SmallInt,
    Text,
    Timestamp,
    Timestamptz,
    Varchar,
)
from piccolo.table import Table

from portalis.core.errors import InvalidInput, NotFound

__all__ = ["ColumnInfo", "PortalTable", "Registry", "Relationship", "TableSpec"]

READONLY = frozenset({"id", "website", "created", "modified"})


@dataclass(frozen=True)
class Relationship:
    """A many-to-one link from ``column`` of one table to the ``id`` of ``target``."""

    name: str
    column: str
    target: str


@dataclass(frozen=True)
class ColumnInfo:
    name: str
    kind: str  # int | float | str | bool | datetime
    nullable: bool
    max_length: int | None
    has_default: bool
    int_bits: int = 32
    """Integer width in the database (PostgreSQL ``integer``/``serial`` are 32-bit)."""


@dataclass
class TableSpec:
    """What a plugin hands to the registry: a Piccolo table and how portals see it.

    ``name`` is the logical table name used in permissions, lists, the Web API and
    site files (defaults to the SQL table name). ``personal_data`` marks tables the
    security linter protects from Global scope. ``search_columns`` are the default
    columns a list search covers. ``title_column`` names a record in UIs.
    """

    table: type[Table]
    name: str | None = None
    personal_data: bool = False
    search_columns: tuple[str, ...] = ()
    title_column: str | None = None
    relationship_names: dict[str, str] = field(default_factory=dict)


@dataclass
class PortalTable:
    name: str
    sql_name: str
    piccolo: type[Table]
    columns: dict[str, ColumnInfo]
    relationships: dict[str, Relationship]
    personal_data: bool
    search_columns: tuple[str, ...]
    title_column: str

    @functools.cached_property
    def sqlite_decoders(self) -> tuple[tuple[str, str], ...]:
        """(column, kind) of the columns SQLite returns in another type (bool, datetime)."""
        return tuple((c.name, c.kind) for c in self.columns.values()
                     if c.kind in ("bool", "datetime"))

    @functools.cached_property
    def nullable_columns(self) -> frozenset[str]:
        """Columns that may hold NULL (keyset pagination orders them apart)."""
        return frozenset(c for c, info in self.columns.items() if info.nullable)

    @property
    def writable_columns(self) -> list[str]:
        return [c for c in self.columns if c not in READONLY]

    def column(self, name: str) -> ColumnInfo:
        info = self.columns.get(name)
        if info is None:
            raise InvalidInput(
                f"table {self.name!r} has no column {name!r}", code="unknown_column",
                column=name,
            )
        return info

    def relationship(self, name: str) -> Relationship:
        rel = self.relationships.get(name)
        if rel is None:
            raise InvalidInput(
                f"table {self.name!r} has no relationship {name!r} "
                f"(known: {', '.join(sorted(self.relationships)) or 'none'})",
                code="unknown_relationship",
            )
        return rel

    def relationships_to(self, target: str) -> list[Relationship]:
        return [r for r in self.relationships.values() if r.target == target]

    def coerce(self, column: str, value: Any) -> Any:
        """Convert a JSON/form value to the column's Python type or raise InvalidInput."""
        info = self.column(column)
        if value is None or (value == "" and info.kind != "str"):
            if not info.nullable and not info.has_default:
                raise InvalidInput(f"{column} is required", code="required", column=column)
            return None
        try:
            if info.kind == "int":
                if isinstance(value, bool):
                    raise ValueError
                if isinstance(value, float) and not value.is_integer():
                    raise ValueError
                result: Any = int(value)
                limit = 2 ** (info.int_bits - 1)
                if not -limit <= result < limit:
                    raise InvalidInput(f"{column} is out of range", code="out_of_range",
                                       column=column)
                return result
            if info.kind == "float":
                return float(value)
            if info.kind == "bool":
                if isinstance(value, bool):
                    return value
                text = str(value).strip().lower()
                if text in ("true", "1", "yes", "on"):
                    return True
                if text in ("false", "0", "no", "off"):
                    return False
                raise ValueError
            if info.kind == "datetime":
                if isinstance(value, dt.datetime):
                    parsed = value
                else:
                    parsed = dt.datetime.fromisoformat(str(value).replace("Z", "+00:00"))
                if parsed.tzinfo is None:
                    parsed = parsed.replace(tzinfo=dt.UTC)
                return parsed.astimezone(dt.UTC)
            if not isinstance(value, str):
                raise ValueError
            text = value
            if "\x00" in text:
                raise InvalidInput(f"{column} contains a NUL character", code="invalid_value",
                                   column=column)
            if info.max_length is not None and len(text) > info.max_length:
                raise InvalidInput(
                    f"{column} is longer than {info.max_length} characters",
                    code="too_long", column=column,
                )
            return text
        except (ValueError, TypeError, OverflowError):
            raise InvalidInput(
                f"{column} must be a {info.kind}, got {str(value)[:40]!r}",
                code="invalid_value", column=column,
            ) from None


def _kind(col: Column) -> str:
    if isinstance(col, Boolean):
        return "bool"
    if isinstance(col, Serial | Integer | BigInt | SmallInt | ForeignKey):
        return "int"
    if isinstance(col, Float | Real | Numeric):
        return "float"
    if isinstance(col, Timestamptz | Timestamp):
        return "datetime"
    if isinstance(col, Varchar | Text):
        return "str"
    return "str"


class Registry:
    """All portal tables of a process (kernel ``contact``/``account`` plus plugins')."""

    def __init__(self) -> None:
        self.tables: dict[str, PortalTable] = {}
        self._by_class: dict[type[Table], str] = {}
        self._pending: list[TableSpec] = []

    def add(self, specs: Iterable[TableSpec]) -> None:
        """Register tables; relationships resolve once every table is known."""
        for spec in specs:
            name = spec.name or spec.table._meta.tablename
            if name in self.tables:
                continue
            self._by_class[spec.table] = name
            self._pending.append(spec)
            self.tables[name] = self._describe(spec, name)
        for spec in self._pending:
            self._link(spec)

    def _describe(self, spec: TableSpec, name: str) -> PortalTable:
        meta = spec.table._meta
        columns: dict[str, ColumnInfo] = {}
        for col in meta.columns:
            cname = col._meta.db_column_name
            max_length = getattr(col, "length", None) if isinstance(col, Varchar) else None
            default = getattr(col, "default", None)
            columns[cname] = ColumnInfo(
                name=cname, kind=_kind(col), nullable=bool(col._meta.null),
                max_length=max_length, has_default=default not in (None, ""),
                int_bits=64 if isinstance(col, BigInt) else 32,
            )
        for required in ("id", "website"):
            if required not in columns:
                raise ValueError(f"portal table {name!r} needs a {required!r} column")
        title = spec.title_column or next(
            (c for c in ("title", "name", "email", "subject") if c in columns), "id"
        )
        return PortalTable(
            name=name, sql_name=meta.tablename, piccolo=spec.table, columns=columns,
            relationships={}, personal_data=spec.personal_data,
            search_columns=spec.search_columns, title_column=title,
        )

    def _link(self, spec: TableSpec) -> None:
        table = self.tables[spec.name or spec.table._meta.tablename]
        for col in spec.table._meta.foreign_key_columns:
            cname = col._meta.db_column_name
            if cname == "website":
                continue
            target_cls = col._foreign_key_meta.resolved_references
            target = self._by_class.get(target_cls)
            if target is None:
                continue
            rel_name = spec.relationship_names.get(cname, cname)
            table.relationships[rel_name] = Relationship(rel_name, cname, target)

    def get(self, name: str) -> PortalTable:
        table = self.tables.get(name)
        if table is None:
            raise NotFound(f"unknown table {name!r}", code="unknown_table", table=name)
        return table

    def __contains__(self, name: object) -> bool:
        return name in self.tables
