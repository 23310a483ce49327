"""A plain-Python evaluator of the same permission rules, row by row.

It shares nothing with the SQL compiler but the :class:`Policy` (the grants and their
validation), so the two can be tested against each other, and ``perms explain`` can
say which grant admits a row.
"""

from __future__ import annotations

from collections.abc import Mapping
from typing import Any

from portalis.core.permissions.policy import Grant, Policy
from portalis.core.principal import Principal

__all__ = ["ReferenceEvaluator"]

Rows = Mapping[str, Mapping[int, Mapping[str, Any]]]  # table → id → row


class ReferenceEvaluator:
    def __init__(self, policy: Policy, rows: Rows) -> None:
        self.policy = policy
        self.rows = rows

    def admits(self, grant: Grant, principal: Principal, row: Mapping[str, Any]) -> bool:
        """Whether ``row`` (of ``grant.table``) lies in the grant's scope."""
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
