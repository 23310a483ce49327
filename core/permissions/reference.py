"""A plain-Python evaluator of the same permission rules, row by row.

It shares nothing with the SQL compiler but the :class:`Policy` (the grants and their
validation), so the two can be tested against each other, and ``perms explain`` can
say which grant admits a row.
"""

from __future__ import annotations

from collections.abc import Mapping
from typing import Any

from portalis.core.conditions import And, Condition, Not, Or
from portalis.core.permissions.policy import Grant, Policy
from portalis.core.principal import Principal
from portalis.core.registry import PortalTable

__all__ = ["ReferenceEvaluator", "evaluate"]

_CMP = {"eq": lambda a, b: a == b, "ne": lambda a, b: a != b, "gt": lambda a, b: a > b,
        "ge": lambda a, b: a >= b, "lt": lambda a, b: a < b, "le": lambda a, b: a <= b}


def evaluate(cond: Condition, row: Mapping[str, Any], table: PortalTable) -> bool | None:
    """A condition on one row with SQL's three-valued logic (``None`` = unknown)."""
    if isinstance(cond, And):
        results = [evaluate(c, row, table) for c in cond.items]
        if False in results:
            return False
        return None if None in results else True
    if isinstance(cond, Or):
        results = [evaluate(c, row, table) for c in cond.items]
        if True in results:
            return True
        return None if None in results else False
    if isinstance(cond, Not):
        inner = evaluate(cond.item, row, table)
        return None if inner is None else not inner
    value = row.get(cond.column)
    if cond.value is None:  # eq null / ne null
        return (value is None) if cond.op == "eq" else (value is not None)
    if value is None:
        return None
    if cond.op in ("contains", "startswith", "endswith"):
        # LIKE on SQLite and ILIKE on PostgreSQL: case-insensitive (ASCII)
        text, needle = str(value).lower(), str(cond.value).lower()
        return {"contains": needle in text, "startswith": text.startswith(needle),
                "endswith": text.endswith(needle)}[cond.op]
    return bool(_CMP[cond.op](value, table.coerce(cond.column, cond.value)))

Rows = Mapping[str, Mapping[int, Mapping[str, Any]]]  # table → id → row


class ReferenceEvaluator:
    def __init__(self, policy: Policy, rows: Rows) -> None:
        self.policy = policy
        self.rows = rows

    def admits(self, grant: Grant, principal: Principal, row: Mapping[str, Any]) -> bool:
        """Whether ``row`` (of ``grant.table``) lies in the grant's scope and filter."""
        cond = self.policy.conditions.get(grant.id)
        if cond is not None:
            table = self.policy.registry.get(grant.table)
            if evaluate(cond, row, table) is not True:
                return False
        return self._in_scope(grant, principal, row)

    def _in_scope(self, grant: Grant, principal: Principal, row: Mapping[str, Any]) -> bool:
        if grant.scope == "global":
            return True
        if grant.scope == "self":
            return principal.contact_id is not None and row["id"] == principal.contact_id
        if grant.scope in ("contact", "account"):
            pid = principal.contact_id if grant.scope == "contact" else principal.account_id
            if pid is None:
                return False
            if grant.table == grant.scope and grant.relationship in ("", "self"):
                return row["id"] == pid
            return row.get(self.policy.relationship_column(grant)) == pid
        parent_grant = self.policy.grants[grant.parent_id or 0]
        parent_id = row.get(self.policy.relationship_column(grant))
        if parent_id is None:
            return False
        parent_row = self.rows.get(parent_grant.table, {}).get(parent_id)
        if parent_row is None:
            return False
        return self.admits(parent_grant, principal, parent_row)

    def granting(self, principal: Principal, table: str, privilege: str,
                 row: Mapping[str, Any]) -> list[Grant]:
        """The grants that admit ``row`` for ``privilege`` (empty: denied)."""
        if principal.system:
            return []
        return [
            g for g in self.policy.applicable(principal.role_ids, table, privilege)
            if self.admits(g, principal, row)
        ]

    def allows(self, principal: Principal, table: str, privilege: str,
               row: Mapping[str, Any]) -> bool:
        if principal.system:
            return True
        if row.get("website") != self.policy.website_id:
            return False
        return bool(self.granting(principal, table, privilege, row))

    def allowed_ids(self, principal: Principal, table: str, privilege: str) -> set[int]:
        return {
            rid for rid, row in self.rows.get(table, {}).items()
            if self.allows(principal, table, privilege, row)
        }
