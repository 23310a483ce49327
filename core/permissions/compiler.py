"""Compile (policy, principal, table, privilege) into one SQL predicate.

* Global → true; Contact → ``t.<rel> = :contact``; Account → ``t.<rel> = :account``;
  Self → ``t.id = :contact``; Parent → ``EXISTS`` on the parent row under the parent
  permission's scope, to any depth (a chain rooted in Global reaches every child whose
  parent exists).
* Several grants OR together; no applicable grant compiles to false (default deny).
* The compiled text is cached per (policy version, role set, table, privilege, whether
  the principal has a contact and an account); the contact and account ids are bound
  parameters, never text, so one cached predicate serves every contact with that role set.
"""

from __future__ import annotations

from dataclasses import dataclass
from typing import Any

from portalis.core.codec import encode
from portalis.core.conditions import compile_condition
from portalis.core.permissions.policy import Grant, Policy
from portalis.core.principal import Principal

__all__ = ["FALSE", "TRUE", "Literal", "Predicate", "PredicateCompiler"]


@dataclass(frozen=True)
class Literal:
    """A constant parameter of a predicate (from a grant's row filter)."""

    value: Any

TRUE = "1=1"
FALSE = "1=0"


@dataclass(frozen=True)
class Predicate:
    """SQL text over alias ``alias`` and the names of its parameters, in order.

    A predicate that ORs several grants also keeps them apart in ``branches`` (each a
    predicate of its own), so ``records`` can run one index-friendly query per branch
    and union the results instead of one OR that no single index answers. ``direct``
    says the condition tests columns of the row itself (Contact, Account, Self scope),
    not a parent row through ``EXISTS``.
    """

    sql: str
    params: tuple[str | Literal, ...]
    branches: tuple[Predicate, ...] = ()
    direct: bool = False

    def bind(self, principal: Principal) -> list[Any]:
        values = {"contact": principal.contact_id, "account": principal.account_id}
        return [p.value if isinstance(p, Literal) else values[p] for p in self.params]

    @property
    def is_true(self) -> bool:
        return self.sql == TRUE

    @property
    def is_false(self) -> bool:
        return self.sql == FALSE


class PredicateCompiler:
    """Turns grants into SQL; one instance per process, cache bounded."""

    def __init__(self, quote: Any, dialect: str = "sqlite", max_entries: int = 20_000) -> None:
        self.quote = quote
        self.dialect = dialect
        self.max_entries = max_entries
        self._cache: dict[tuple[Any, ...], Predicate] = {}

    def predicate(self, policy: Policy, principal: Principal, table: str, privilege: str,
                  alias: str = "t0") -> Predicate:
        if principal.system:
            return Predicate(TRUE, ())
        key = (policy.website_id, policy.version, principal.role_ids, table, privilege,
               principal.contact_id is not None, principal.account_id is not None, alias)
        cached = self._cache.get(key)
        if cached is not None:
            return cached
        grants = policy.applicable(principal.role_ids, table, privilege)
        result = self.combine(policy, grants, principal, alias)
        if len(self._cache) >= self.max_entries:
            self._cache.clear()
        self._cache[key] = result
        return result

    def combine(self, policy: Policy, grants: list[Grant], principal: Principal,
                alias: str) -> Predicate:
        branches: list[Predicate] = []
        seen: set[tuple[str, tuple[str | Literal, ...]]] = set()
        for grant in sorted(grants, key=lambda g: g.id):
            compiled = self.scope(policy, grant, principal, alias, 0)
            if compiled is None:
                continue
            if compiled.is_true:
                return Predicate(TRUE, ())
            # two grants whose filters differ only in constants compile to the same text
            if (compiled.sql, compiled.params) not in seen:
                seen.add((compiled.sql, compiled.params))
                branches.append(compiled)
        if not branches:
            return Predicate(FALSE, ())
        if len(branches) == 1:
            return branches[0]
        params = tuple(p for b in branches for p in b.params)
        return Predicate("(" + " OR ".join(f"({b.sql})" for b in branches) + ")", params,
                         branches=tuple(branches), direct=all(b.direct for b in branches))

    def scope(self, policy: Policy, grant: Grant, principal: Principal, alias: str,
              depth: int) -> Predicate | None:
        """The row condition of one grant (scope AND its row filter); None when it can
        match nothing."""
        pred = self._scope(policy, grant, principal, alias, depth)
        cond = policy.conditions.get(grant.id)
        if pred is None or cond is None:
            return pred
        sql, values = compile_condition(cond, policy.registry.get(grant.table), alias,
                                        self.quote, self.dialect)
        literals = tuple(Literal(encode(v, self.dialect)) for v in values)
        if pred.is_true:
            return Predicate(f"({sql})", literals, direct=True)
        return Predicate(f"({pred.sql}) AND ({sql})", (*pred.params, *literals),
                         direct=pred.direct)

    def _scope(self, policy: Policy, grant: Grant, principal: Principal, alias: str,
               depth: int) -> Predicate | None:
        q = self.quote
        if grant.scope == "global":
            return Predicate(TRUE, ())
        if grant.scope == "self":
            if principal.contact_id is None:
                return None
            return Predicate(f'{alias}."id" = ?', ("contact",), direct=True)
        if grant.scope in ("contact", "account"):
            pid = principal.contact_id if grant.scope == "contact" else principal.account_id
            if pid is None:
                return None
            if grant.table == grant.scope and grant.relationship in ("", "self"):
                return Predicate(f'{alias}."id" = ?', (grant.scope,), direct=True)
            column = policy.relationship_column(grant)
            return Predicate(f"{alias}.{q(column)} = ?", (grant.scope,), direct=True)
        # parent scope
        assert grant.parent_id is not None
        parent = policy.grants[grant.parent_id]
        inner_alias = f"p{depth + 1}"
        inner = self.scope(policy, parent, principal, inner_alias, depth + 1)
        if inner is None:
            return None
        parent_table = policy.registry.get(parent.table)
        column = policy.relationship_column(grant)
        cond = f'{inner_alias}."id" = {alias}.{q(column)}'
        if not inner.is_true:
            cond += f" AND {inner.sql}"
        return Predicate(
            f"EXISTS (SELECT 1 FROM {q(parent_table.sql_name)} {inner_alias} WHERE {cond})",
            inner.params,
        )
