"""``records``: the one data-access path for portal data.

Every read and write of a registered table — lists, forms, the Web API, templates,
plugins — goes through :class:`Records`. Each statement carries the website scope and
the compiled permission predicate, so the database returns exactly the rows the
principal's web roles allow; there is no switch to turn that off. Default deny.

Rules (Power Pages semantics, see DESIGN.md):

* read/write/delete are row-level: the row must lie in the scope of a grant with the
  privilege. A row the principal cannot read answers 404; one it can read but not
  change answers 403.
* create is table-wide. Creating or re-pointing a relationship also needs Append on
  the table and Append To on the target row — except that pointing a contact or
  account relationship at the principal's own contact or account is implied (that is
  how a contact files its own case). Empty contact/account relationships that the
  principal's create grants scope by are filled with its own ids.
* an update must leave the row inside the principal's write scope.
"""

from __future__ import annotations

import unicodedata
from dataclasses import dataclass
from typing import TYPE_CHECKING, Any

from portalis.core.codec import decode_rows, encode, utcnow
from portalis.core.conditions import Condition, compile_condition, like_escape
from portalis.core.cursor import decode_cursor, encode_cursor, keyset_condition
from portalis.core.db import IntegrityError
from portalis.core.errors import Conflict, InvalidInput, NotFound, PermissionDenied
from portalis.core.permissions import Predicate
from portalis.core.plugins import call_hook
from portalis.core.principal import Principal
from portalis.core.registry import READONLY, PortalTable

if TYPE_CHECKING:
    from portalis.core.services import Services
    from portalis.core.sites import Site

__all__ = ["MAX_PAGE", "Page", "Records", "normalise_email"]

MAX_PAGE = 5000


def _union_worthy(read: Predicate) -> bool:
    """Whether a read predicate is better run as a union of its grants: several
    branches, at most one of them through a parent row (``EXISTS``), which no index on
    the table itself serves (two or more would each scan)."""
    return len(read.branches) > 1 and sum(not b.direct for b in read.branches) <= 1


def normalise_email(email: str) -> str:
    """Unicode NFKC, surrounding whitespace removed, case-folded."""
    return unicodedata.normalize("NFKC", email).strip().casefold()


@dataclass
class Page:
    rows: list[dict[str, Any]]
    next_cursor: str | None
    prev_cursor: str | None
    order: list[tuple[str, bool]]


class Records:
    """See the module docstring. One instance per app; stateless per request."""

    def __init__(self, services: Services) -> None:
        self.s = services
        self._texts: dict[tuple[Any, ...], str] = {}
        """Page statements of :meth:`list` by shape (see there)."""
        self.derived: dict[tuple[Any, ...], Any] = {}
        """For routes: values derived from one site version's configuration alone (the
        Web API's exposed fields), keyed by what, site id and version."""

    # -- helpers ------------------------------------------------------------------
    @property
    def _db(self) -> Any:
        return self.s.db

    def _q(self, name: str) -> str:
        return self._db.quote(name)

    async def site(self, principal: Principal) -> Site:
        return await self.s.sites.get(principal.website_id, refresh=False)

    async def predicate(self, principal: Principal, table: str, privilege: str,
                        alias: str = "t0") -> Predicate:
        site = await self.site(principal)
        return self.s.compiler.predicate(site.policy, principal, table, privilege, alias)

    async def can(self, principal: Principal, table: str, privilege: str) -> bool:
        """Whether any grant gives ``privilege`` on ``table`` at all (table level)."""
        if principal.system:
            return True
        site = await self.site(principal)
        return bool(site.policy.applicable(principal.role_ids, table, privilege))

    def _columns(self, table: PortalTable, columns: list[str] | None) -> list[str]:
        if not columns:
            return list(table.columns)
        out = [table.column(c).name for c in columns]
        if "id" not in out:
            out.insert(0, "id")
        return out

    # -- reads --------------------------------------------------------------------
    async def list(
        self, principal: Principal, table_name: str, *, where: Condition | None = None,
        search: str | None = None, search_columns: tuple[str, ...] | list[str] = (),
        order_by: list[tuple[str, bool]] | None = None, limit: int = 10,
        cursor: str | None = None, columns: list[str] | None = None,
        row_privileges: tuple[str, ...] = (), iso_times: bool = False,
    ) -> Page:
        """One page of the rows ``principal`` may read: predicate AND where AND search.

        Costs one SQL statement whatever the table size and page depth. With
        ``row_privileges`` (e.g. ``("write", "delete")``) each row also carries
        ``_can_write`` / ``_can_delete`` booleans for record-level actions. With
        ``iso_times`` timestamps come as ISO 8601 text (``isoformat()``'s), as JSON and
        HTML show them, instead of datetimes.
        """
        table = self.s.registry.get(table_name)
        if not 1 <= limit <= MAX_PAGE:
            raise InvalidInput(f"page size must be between 1 and {MAX_PAGE}", code="invalid_top")
        q, dialect = self._q, self._db.dialect
        order = [(table.column(c).name, desc) for c, desc in (order_by or [])]
        if not any(c == "id" for c, _ in order):
            order.append(("id", order[0][1] if order else False))
        direction = "n"
        keyset: list[Any] | None = None
        if cursor:
            keyset, direction = decode_cursor(cursor, table, order)
        policy = (await self.site(principal)).policy  # one site lookup for every predicate
        compiled = self.s.compiler.predicate
        read = compiled(policy, principal, table.name, "read", "t0")
        if read.is_false:
            return Page([], None, None, order)
        cols = self._columns(table, columns)
        privileged = [compiled(policy, principal, table.name, privilege, "t0")
                      for privilege in row_privileges]
        params: list[Any] = []
        for pred in privileged:
            params.extend(pred.bind(principal))
        # the conditions every row of the page meets besides the permission predicate
        extra: list[str] = []
        extra_params: list[Any] = []
        if where is not None:
            sql, p = compile_condition(where, table, "t0", q, dialect)
            extra.append(f"({sql})")
            extra_params.extend(encode(v, dialect) for v in p)
        if search and search.strip():
            sql, p = self._search(table, search, search_columns or table.search_columns)
            extra.append(sql)
            extra_params.extend(p)
        walk = order if direction == "n" else [(c, not d) for c, d in order]
        if keyset is not None:
            sql, p = keyset_condition(walk, keyset, "t0", dialect, table.nullable_columns)
            extra.append(sql)
            extra_params.extend(p)
        union = _union_worthy(read)
        if union:
            for branch in read.branches:
                params.extend([principal.website_id, *branch.bind(principal), *extra_params])
        else:
            params.append(principal.website_id)
            if not read.is_true:
                params.extend(read.bind(principal))
            params.extend(extra_params)
        # The text is made of these alone (their SQL, not their bound values): built once
        # per shape, then looked up (~10 µs of string building per page otherwise).
        shape = (table.name, tuple(cols), row_privileges, tuple(p.sql for p in privileged),
                 tuple(b.sql for b in read.branches) if union else read.sql, read.is_true,
                 tuple(extra), tuple(walk), int(limit))
        text = self._texts.get(shape)
        if text is None:
            text = self._page_text(table, cols, row_privileges, privileged, read, union,
                                   extra, walk, limit)
            if len(self._texts) >= 10_000:
                self._texts.clear()
            self._texts[shape] = text
        raw = await self._db.fetch(text, *params)
        more = len(raw) > limit
        raw = raw[:limit]
        if direction == "p":
            raw.reverse()
        rows = decode_rows(table, raw, self._db.dialect,
                           tuple("_can_" + privilege for privilege in row_privileges),
                           iso_times=iso_times)

        def key(row: dict[str, Any]) -> list[Any]:
            return [row[c] for c, _ in order]

        next_cursor = prev_cursor = None
        if rows:
            if direction == "n":
                next_cursor = encode_cursor(key(rows[-1]), "n") if more else None
                prev_cursor = encode_cursor(key(rows[0]), "p") if keyset is not None else None
            else:
                next_cursor = encode_cursor(key(rows[-1]), "n")
                prev_cursor = encode_cursor(key(rows[0]), "p") if more else None
        return Page(rows, next_cursor, prev_cursor, order)

    def _page_text(self, table: PortalTable, cols: list[str], row_privileges: tuple[str, ...],
                   privileged: list[Predicate], read: Predicate, union: bool, extra: list[str],
                   walk: list[tuple[str, bool]], limit: int) -> str:
        """The page statement of :meth:`list` (its parameters are bound there, in order:
        the row privileges', then per UNION branch or once the website, the read
        predicate's and the extra conditions')."""
        q = self._q
        select = [f"t0.{q(c)}" for c in cols]
        for privilege, pred in zip(row_privileges, privileged, strict=True):
            select.append(f"CASE WHEN {pred.sql} THEN 1 ELSE 0 END AS {q('_can_' + privilege)}")
        order_sql = ", ".join(f"t0.{q(c)} {'DESC' if d else 'ASC'}" for c, d in walk)
        page_sql = f"ORDER BY {order_sql} LIMIT {int(limit) + 1}"
        source = q(table.sql_name)
        if union:
            # One branch per grant, each answered by its own index in page order and
            # cut to one page; their ids united, the page taken from the union.
            # Same rows as the OR below (tests/kernel/test_permissions_differential.py).
            parts = []
            for i, branch in enumerate(read.branches):
                conds = ' AND '.join(['t0."website" = ?', f"({branch.sql})", *extra])
                parts.append(f'SELECT "id" FROM (SELECT t0."id" FROM {source} t0 '
                             f"WHERE {conds} {page_sql}) b{i}")
            return (f"SELECT {', '.join(select)} FROM {source} t0 "
                    f"JOIN ({' UNION '.join(parts)}) k ON t0.\"id\" = k.\"id\" {page_sql}")
        wheres = ['t0."website" = ?']
        if not read.is_true:
            wheres.append(read.sql)
        wheres.extend(extra)
        return (f"SELECT {', '.join(select)} FROM {source} t0 "
                f"WHERE {' AND '.join(wheres)} {page_sql}")

    def _search(self, table: PortalTable, term: str, columns: tuple[str, ...] | list[str]
                ) -> tuple[str, list[Any]]:
        cols = [table.column(c) for c in columns]
        cols = [c for c in cols if c.kind == "str"]
        if not cols:
            raise InvalidInput(f"table {table.name!r} has no searchable columns",
                               code="invalid_search")
        if len(term) > 200:
            raise InvalidInput("search text is longer than 200 characters", code="invalid_search")
        # Power Pages: '*' is a wildcard; without one, match anywhere in the column.
        pattern = "%".join(like_escape(p) for p in term.strip().split("*"))
        if "*" not in term:
            pattern = f"%{pattern}%"
        like = "ILIKE" if self._db.dialect == "postgres" else "LIKE"
        parts = [f"t0.{self._q(c.name)} {like} ? ESCAPE '\\'" for c in cols]
        return "(" + " OR ".join(parts) + ")", [pattern] * len(cols)

    def _finish(self, table: PortalTable, row: dict[str, Any],
                row_privileges: tuple[str, ...] = ()) -> dict[str, Any]:
        return decode_rows(table, [row], self._db.dialect,
                           tuple("_can_" + privilege for privilege in row_privileges))[0]

    async def _fetch_one(self, principal: Principal, table: PortalTable, record_id: Any,
                         privilege: str, columns: list[str] | None = None,
                         conn: Any = None) -> dict[str, Any] | None:
        pred = await self.predicate(principal, table.name, privilege)
        if pred.is_false:
            return None
        rid = table.coerce("id", record_id)
        cols = ", ".join(f"t0.{self._q(c)}" for c in self._columns(table, columns))
        text = (f"SELECT {cols} FROM {self._q(table.sql_name)} t0 "
                f'WHERE t0."id" = ? AND t0."website" = ?')
        params: list[Any] = [rid, principal.website_id]
        if not pred.is_true:
            text += f" AND {pred.sql}"
            params.extend(pred.bind(principal))
        row = await (conn or self._db).fetchrow(text, *params)
        return None if row is None else self._finish(table, row)

    async def get(self, principal: Principal, table_name: str, record_id: Any, *,
                  privilege: str = "read", columns: list[str] | None = None) -> dict[str, Any]:
        """One row, if ``principal`` holds ``privilege`` on it; NotFound otherwise."""
        table = self.s.registry.get(table_name)
        row = await self._fetch_one(principal, table, record_id, privilege, columns)
        if row is None:
            raise NotFound(f"no {table.name} {record_id} that you may see", code="not_found")
        return row

    # -- writes -------------------------------------------------------------------
    def _clean(self, table: PortalTable, values: dict[str, Any], *, creating: bool,
               principal: Principal) -> dict[str, Any]:
        if not isinstance(values, dict):
            raise InvalidInput("the record must be an object of column values", code="invalid_body")
        clean: dict[str, Any] = {}
        for name, value in values.items():
            info = table.column(name)
            if name in READONLY:
                raise InvalidInput(f"{name} is set by the portal and cannot be written",
                                   code="read_only_column", column=name)
            clean[info.name] = table.coerce(info.name, value)
        if table.name == "contact" and clean.get("email"):
            clean["email"] = normalise_email(clean["email"])
        if table.name == "contact" and "state" in clean and clean["state"] not in (
                "active", "inactive"):
            raise InvalidInput("state must be 'active' or 'inactive'", code="invalid_value",
                               column="state")
        if creating:
            for info in table.columns.values():
                if (info.name not in READONLY and not info.nullable and not info.has_default
                        and info.kind != "str" and clean.get(info.name) is None):
                    raise InvalidInput(f"{info.name} is required", code="required",
                                       column=info.name)
        return clean

    async def _check_links(self, principal: Principal, table: PortalTable,
                           values: dict[str, Any], conn: Any) -> None:
        """Append on ``table`` and Append To on every row a relationship points at."""
        for rel in table.relationships.values():
            target_id = values.get(rel.column)
            if target_id is None:
                continue
            target = self.s.registry.get(rel.target)
            own = ((rel.target == "contact" and target_id == principal.contact_id)
                   or (rel.target == "account" and target_id == principal.account_id))
            if principal.system or own:
                exists = await conn.fetchval(
                    f'SELECT 1 FROM {self._q(target.sql_name)} WHERE "id" = ? AND "website" = ?',
                    target_id, principal.website_id)
                if not exists:
                    raise InvalidInput(f"{rel.name}: no {target.name} {target_id}",
                                       code="unknown_reference", column=rel.column)
                continue
            if not await self.can(principal, table.name, "append"):
                raise PermissionDenied(
                    f"table permission missing for Append on {table.name}",
                    code="append_denied", table=table.name)
            if await self._fetch_one(principal, target, target_id, "append_to",
                                     ["id"], conn) is None:
                raise PermissionDenied(
                    f"table permission missing for AppendTo on {target.name} {target_id}",
                    code="append_to_denied", table=target.name)

    async def create(self, principal: Principal, table_name: str,
                     values: dict[str, Any]) -> dict[str, Any]:
        """Insert a row the principal may create; returns it. See module rules."""
        table = self.s.registry.get(table_name)
        site = await self.site(principal)
        clean = self._clean(table, values, creating=True, principal=principal)
        if not principal.system:
            grants = site.policy.applicable(principal.role_ids, table.name, "create")
            if not grants:
                raise PermissionDenied(f"table permission missing for Create on {table.name}",
                                       code="create_denied", table=table.name)
            if not any(g.scope == "global" for g in grants):
                for g in grants:
                    if g.scope in ("contact", "account") and g.table != g.scope:
                        column = site.policy.relationship_column(g)
                        own = principal.contact_id if g.scope == "contact" else principal.account_id
                        if clean.get(column) is None and own is not None:
                            clean[column] = own
        now = utcnow()
        for stamp in ("created", "modified"):
            if stamp in table.columns:
                clean[stamp] = now
        clean["website"] = principal.website_id
        async with self._db.transaction() as conn:
            await self._check_links(principal, table, clean, conn)
            if table.name == "contact":
                await call_hook(self.s.pm, "portalis_contact_before_create", site=site,
                                values=clean, principal=principal, services=self.s)
            await call_hook(self.s.pm, "portalis_record_before_write", action="create",
                            table=table.name, values=clean, existing=None,
                            principal=principal, services=self.s)
            names = list(clean)
            text = (f"INSERT INTO {self._q(table.sql_name)} "
                    f"({', '.join(self._q(n) for n in names)}) "
                    f"VALUES ({', '.join('?' for _ in names)}) RETURNING *")
            row = await self._write(conn, table, text,
                                    [encode(clean[n], self._db.dialect) for n in names])
            assert row is not None
            await call_hook(self.s.pm, "portalis_record_after_write", action="create",
                            table=table.name, row=row, principal=principal, services=self.s)
        return row

    async def _write(self, conn: Any, table: PortalTable, text: str,
                     params: list[Any]) -> dict[str, Any] | None:
        try:
            row = await conn.fetchrow(text, *params)
        except IntegrityError as exc:
            raise self._conflict(table, exc) from None
        return None if row is None else self._finish(table, row)

    def _conflict(self, table: PortalTable, exc: IntegrityError) -> Conflict:
        text = str(exc).lower()
        if table.name == "contact" and "email" in text:
            return Conflict("an active contact with this email already exists on this website",
                            code="duplicate_contact")
        if "unique" in text or "duplicate" in text:
            return Conflict(f"a {table.name} with these values already exists",
                            code="duplicate")
        return Conflict(f"the {table.name} refers to a record that does not exist or is in use",
                        code="integrity")

    async def update(self, principal: Principal, table_name: str, record_id: Any,
                     values: dict[str, Any]) -> dict[str, Any]:
        """Change a row the principal may write; it must stay within write scope."""
        table = self.s.registry.get(table_name)
        clean = self._clean(table, values, creating=False, principal=principal)
        rid = table.coerce("id", record_id)
        async with self._db.transaction() as conn:
            existing = await self._fetch_one(principal, table, rid, "write", conn=conn)
            if existing is None:
                await self._deny(principal, table, rid, "Write", conn)
            assert existing is not None
            changed = {k: v for k, v in clean.items() if existing.get(k) != v}
            links = {r.column: changed[r.column] for r in table.relationships.values()
                     if r.column in changed}
            await self._check_links(principal, table, links, conn)
            await call_hook(self.s.pm, "portalis_record_before_write", action="update",
                            table=table.name, values=clean, existing=existing,
                            principal=principal, services=self.s)
            if "modified" in table.columns:
                clean["modified"] = utcnow()
            if not clean:
                return existing
            sets = ", ".join(f"{self._q(n)} = ?" for n in clean)
            text = (f"UPDATE {self._q(table.sql_name)} SET {sets} "
                    f'WHERE "id" = ? AND "website" = ? RETURNING *')
            params = [encode(v, self._db.dialect) for v in clean.values()]
            row = await self._write(conn, table, text, [*params, rid, principal.website_id])
            assert row is not None
            still = principal.system or await self._fetch_one(
                principal, table, rid, "write", ["id"], conn) is not None
            if not still:
                raise PermissionDenied(
                    f"this change would move the {table.name} outside what you may write",
                    code="write_scope", table=table.name)
            if table.name == "contact":
                self.s.forget_contact(rid)
            await call_hook(self.s.pm, "portalis_record_after_write", action="update",
                            table=table.name, row=row, principal=principal, services=self.s)
        return row

    async def delete(self, principal: Principal, table_name: str, record_id: Any) -> None:
        """Delete a row the principal may delete."""
        table = self.s.registry.get(table_name)
        rid = table.coerce("id", record_id)
        async with self._db.transaction() as conn:
            existing = await self._fetch_one(principal, table, rid, "delete", conn=conn)
            if existing is None:
                await self._deny(principal, table, rid, "Delete", conn)
            assert existing is not None
            await call_hook(self.s.pm, "portalis_record_before_write", action="delete",
                            table=table.name, values={}, existing=existing,
                            principal=principal, services=self.s)
            try:
                await conn.execute(
                    f'DELETE FROM {self._q(table.sql_name)} WHERE "id" = ? AND "website" = ?',
                    rid, principal.website_id)
            except IntegrityError as exc:
                raise self._conflict(table, exc) from None
            if table.name == "contact":
                self.s.forget_contact(rid)
            await call_hook(self.s.pm, "portalis_record_after_write", action="delete",
                            table=table.name, row=existing, principal=principal, services=self.s)

    async def _deny(self, principal: Principal, table: PortalTable, rid: int, what: str,
                    conn: Any) -> None:
        if await self._fetch_one(principal, table, rid, "read", ["id"], conn) is not None:
            raise PermissionDenied(f"table permission missing for {what} on {table.name}",
                                   code=f"{what.lower()}_denied", table=table.name)
        raise NotFound(f"no {table.name} {rid} that you may see", code="not_found")
