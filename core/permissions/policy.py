"""The table permissions of one website, as immutable grants with resolved chains."""

from __future__ import annotations

from collections.abc import Iterable
from dataclasses import dataclass

from portalis.core.conditions import Condition, compile_condition
from portalis.core.errors import InvalidInput, PortalisError
from portalis.core.odata import parse_filter
from portalis.core.registry import Registry

__all__ = ["PRIVILEGES", "SCOPES", "Grant", "Policy"]

PRIVILEGES = ("read", "write", "create", "delete", "append", "append_to")
SCOPES = ("global", "contact", "account", "self", "parent")


@dataclass(frozen=True)
class Grant:
    """One table permission. ``role_ids`` are its own roles (children use their root's)."""

    id: int
    key: str
    table: str
    scope: str
    relationship: str
    parent_id: int | None
    privileges: frozenset[str]
    role_ids: frozenset[int]
    filter: str = ""
    """Optional row condition in the Web API ``$filter`` language, ANDed with the scope
    (e.g. ``audience eq 'partners'``): narrows a grant to some rows of its scope."""


class Policy:
    """All grants of a website, validated against the registry.

    Power Pages semantics: grants are cumulative (OR), there is no deny, no grant means
    no access; a Parent-scope grant takes its web roles from the root of its chain.
    """

    def __init__(self, website_id: int, grants: Iterable[Grant], registry: Registry,
                 version: int = 0) -> None:
        self.website_id = website_id
        self.version = version
        self.registry = registry
        self.grants: dict[int, Grant] = {g.id: g for g in grants}
        self.by_table: dict[str, list[Grant]] = {}
        for grant in self.grants.values():
            self.by_table.setdefault(grant.table, []).append(grant)
        self._roots: dict[int, Grant] = {}
        self.conditions: dict[int, Condition] = {}
        for grant in self.grants.values():
            self.validate(grant)
            if grant.filter.strip():
                self.conditions[grant.id] = self._condition(grant)
            self._roots[grant.id] = self._find_root(grant)

    def _find_root(self, grant: Grant) -> Grant:
        seen: set[int] = set()
        while grant.scope == "parent":
            if grant.id in seen:
                raise InvalidInput(f"permission {grant.key!r} is part of a parent cycle",
                                   code="permission_cycle")
            seen.add(grant.id)
            assert grant.parent_id is not None
            grant = self.grants[grant.parent_id]
        return grant

    def _condition(self, grant: Grant) -> Condition:
        try:
            cond = parse_filter(grant.filter)
            # compiling checks every column and coerces every value to its column's type
            compile_condition(cond, self.registry.get(grant.table), "t", lambda n: n, "sqlite")
        except PortalisError as exc:
            raise InvalidInput(f"permission {grant.key!r}: filter: {exc.message}",
                               code="invalid_permission") from None
        return cond

    def validate(self, grant: Grant) -> None:
        """Raise InvalidInput if the grant cannot be evaluated (names the problem)."""
        where = f"permission {grant.key!r}"
        if grant.scope not in SCOPES:
            raise InvalidInput(f"{where}: scope must be one of {', '.join(SCOPES)}",
                               code="invalid_permission")
        bad = grant.privileges - set(PRIVILEGES)
        if bad:
            raise InvalidInput(f"{where}: unknown privileges {sorted(bad)}",
                               code="invalid_permission")
        if grant.table not in self.registry:
            raise InvalidInput(f"{where}: unknown table {grant.table!r}",
                               code="invalid_permission")
        table = self.registry.get(grant.table)
        if grant.scope == "self" and grant.table != "contact":
            raise InvalidInput(f"{where}: Self scope applies only to the contact table",
                               code="invalid_permission")
        if grant.scope in ("contact", "account"):
            if grant.table == grant.scope and grant.relationship in ("", "self"):
                return  # account table, Account scope: the contact's own account
            if grant.scope == "contact" and grant.table == "contact":
                raise InvalidInput(f"{where}: use Self scope on the contact table",
                                   code="invalid_permission")
            rel = table.relationship(grant.relationship) if grant.relationship else None
            if rel is None:
                choices = table.relationships_to(grant.scope)
                if len(choices) != 1:
                    raise InvalidInput(
                        f"{where}: {grant.scope} scope needs a relationship from "
                        f"{grant.table!r} to {grant.scope!r} "
                        f"(candidates: {', '.join(r.name for r in choices) or 'none'})",
                        code="invalid_permission")
            elif rel.target != grant.scope:
                raise InvalidInput(
                    f"{where}: relationship {rel.name!r} leads to {rel.target!r}, "
                    f"not {grant.scope!r}", code="invalid_permission")
        if grant.scope == "parent":
            if grant.parent_id is None or grant.parent_id not in self.grants:
                raise InvalidInput(f"{where}: Parent scope needs a parent permission",
                                   code="invalid_permission")
            parent = self.grants[grant.parent_id]
            rel = table.relationship(grant.relationship) if grant.relationship else None
            if rel is None:
                choices = table.relationships_to(parent.table)
                if len(choices) != 1:
                    raise InvalidInput(
                        f"{where}: name the relationship from {grant.table!r} to "
                        f"{parent.table!r}", code="invalid_permission")
            elif rel.target != parent.table:
                raise InvalidInput(
                    f"{where}: relationship {rel.name!r} leads to {rel.target!r}, but the "
                    f"parent permission is on {parent.table!r}", code="invalid_permission")

    def relationship_column(self, grant: Grant) -> str:
        """The column of ``grant.table`` that the grant's scope follows."""
        table = self.registry.get(grant.table)
        if grant.relationship:
            return table.relationship(grant.relationship).column
        target = grant.scope if grant.scope != "parent" else self.grants[grant.parent_id or 0].table
        return table.relationships_to(target)[0].column

    def root(self, grant: Grant) -> Grant:
        return self._roots[grant.id]

    def effective_roles(self, grant: Grant) -> frozenset[int]:
        return self._roots[grant.id].role_ids

    def applicable(self, role_ids: frozenset[int], table: str, privilege: str) -> list[Grant]:
        """Grants on ``table`` carrying ``privilege`` whose (root's) roles meet ``role_ids``."""
        return [
            g for g in self.by_table.get(table, ())
            if privilege in g.privileges and self.effective_roles(g) & role_ids
        ]
