"""Parsing of the Web API's OData-style query options: ``$filter``, ``$orderby``, ``$select``.

The ``$filter`` subset (documented in docs/webapi.md):

* comparisons ``col eq|ne|gt|ge|lt|le literal``;
* ``and``, ``or``, ``not``, parentheses;
* ``contains(col,'text')``, ``startswith(col,'text')``, ``endswith(col,'text')``;
* literals: ``'text'`` (``''`` escapes a quote), integers, decimals, ``true``,
  ``false``, ``null``, and ISO date-times (``2024-01-31T10:00:00Z``).

Anything else is refused with a message that says where parsing stopped.
"""

from __future__ import annotations

import re
from typing import Any

from portalis.core.conditions import OPS, TEXT_FUNCS, And, Cmp, Condition, Not, Or
from portalis.core.errors import InvalidInput

__all__ = ["parse_filter", "parse_orderby", "parse_select"]

_TOKEN = re.compile(
    r"""\s*(?:
      (?P<str>'(?:[^']|'')*')
    | (?P<dt>\d{4}-\d{2}-\d{2}T\d{2}:\d{2}(?::\d{2}(?:\.\d+)?)?(?:Z|[+-]\d{2}:\d{2})?)
    | (?P<num>-?\d+(?:\.\d+)?)
    | (?P<name>[A-Za-z_][A-Za-z0-9_]*)
    | (?P<punct>[(),])
    )""",
    re.VERBOSE,
)
MAX_FILTER_LENGTH = 2000
MAX_DEPTH = 20


def _tokens(text: str) -> list[tuple[str, str, int]]:
    out: list[tuple[str, str, int]] = []
    pos = 0
    text = text.rstrip()
    while pos < len(text):
        m = _TOKEN.match(text, pos)
        if not m or m.end() == pos:
            raise InvalidInput(f"$filter: unexpected text at position {pos}: {text[pos:pos+20]!r}",
                               code="invalid_filter")
        kind = m.lastgroup or ""
        out.append((kind, m.group(kind), m.start(kind)))
        pos = m.end()
    return out


class _Parser:
    def __init__(self, text: str) -> None:
        if len(text) > MAX_FILTER_LENGTH:
            raise InvalidInput(f"$filter is longer than {MAX_FILTER_LENGTH} characters",
                               code="invalid_filter")
        self.toks = _tokens(text)
        self.i = 0
        self.depth = 0

    def peek(self) -> tuple[str, str, int] | None:
        return self.toks[self.i] if self.i < len(self.toks) else None

    def take(self) -> tuple[str, str, int]:
        tok = self.peek()
        if tok is None:
            raise InvalidInput("$filter ends too early", code="invalid_filter")
        self.i += 1
        return tok

    def expect(self, value: str) -> None:
        _, text, pos = self.take()
        if text != value:
            raise InvalidInput(f"$filter: expected {value!r} at position {pos}, got {text!r}",
                               code="invalid_filter")

    def parse(self) -> Condition:
        cond = self.or_expr()
        if self.peek() is not None:
            _, text, pos = self.peek()  # type: ignore[misc]
            raise InvalidInput(f"$filter: unexpected {text!r} at position {pos}",
                               code="invalid_filter")
        return cond

    def or_expr(self) -> Condition:
        items = [self.and_expr()]
        while (tok := self.peek()) and tok[0] == "name" and tok[1] == "or":
            self.take()
            items.append(self.and_expr())
        return items[0] if len(items) == 1 else Or(tuple(items))

    def and_expr(self) -> Condition:
        items = [self.unary()]
        while (tok := self.peek()) and tok[0] == "name" and tok[1] == "and":
            self.take()
            items.append(self.unary())
        return items[0] if len(items) == 1 else And(tuple(items))

    def unary(self) -> Condition:
        self.depth += 1
        if self.depth > MAX_DEPTH:
            raise InvalidInput("$filter is nested too deeply", code="invalid_filter")
        try:
            tok = self.peek()
            if tok and tok[0] == "name" and tok[1] == "not":
                self.take()
                return Not(self.unary())
            if tok and tok[1] == "(":
                self.take()
                inner = self.or_expr()
                self.expect(")")
                return inner
            return self.comparison()
        finally:
            self.depth -= 1

    def comparison(self) -> Condition:
        kind, text, pos = self.take()
        if kind != "name":
            raise InvalidInput(f"$filter: expected a column name at position {pos}, got {text!r}",
                               code="invalid_filter")
        if text in TEXT_FUNCS and (nxt := self.peek()) and nxt[1] == "(":
            self.take()
            _, column, cpos = self.take()
            if not re.fullmatch(r"[A-Za-z_][A-Za-z0-9_]*", column):
                raise InvalidInput(f"$filter: expected a column at position {cpos}",
                                   code="invalid_filter")
            self.expect(",")
            value = self.literal()
            self.expect(")")
            return Cmp(column, text, value)
        _, op, opos = self.take()
        if op not in OPS:
            raise InvalidInput(
                f"$filter: unknown operator {op!r} at position {opos} "
                f"(use {', '.join(OPS)})", code="invalid_filter")
        return Cmp(text, op, self.literal())

    def literal(self) -> Any:
        kind, text, pos = self.take()
        if kind == "str":
            return text[1:-1].replace("''", "'")
        if kind == "num":
            return float(text) if "." in text else int(text)
        if kind == "dt":
            return text
        if kind == "name" and text in ("true", "false"):
            return text == "true"
        if kind == "name" and text == "null":
            return None
        raise InvalidInput(f"$filter: expected a value at position {pos}, got {text!r}",
                           code="invalid_filter")


def parse_filter(text: str) -> Condition:
    """Parse an OData ``$filter`` expression (the subset above) into a Condition."""
    if not text.strip():
        return And(())
    return _Parser(text).parse()


def parse_orderby(text: str) -> list[tuple[str, bool]]:
    """``"modified desc, title"`` → ``[("modified", True), ("title", False)]``."""
    out: list[tuple[str, bool]] = []
    for part in text.split(","):
        bits = part.split()
        if not bits:
            continue
        if len(bits) > 2 or (len(bits) == 2 and bits[1].lower() not in ("asc", "desc")):
            raise InvalidInput(f"$orderby: cannot read {part.strip()!r}", code="invalid_orderby")
        out.append((bits[0], len(bits) == 2 and bits[1].lower() == "desc"))
    return out


def parse_select(text: str) -> list[str]:
    return [c.strip() for c in text.split(",") if c.strip()]
