"""Site as code: apply a whole site from YAML, idempotently and in one transaction; export it.

The schema is documented in docs/site-file.md. Things refer to each other by keys
(``account: contoso``, ``roles: [customer]``, ``parent: case-of-my-account``); a
relationship column of a record names the key of the target record. An error names
the entry and the problem, and nothing is applied.
"""

from __future__ import annotations

from typing import Any

import yaml

from portalis.core.codec import encode, utcnow
from portalis.core.errors import InvalidInput, PortalisError
from portalis.core.permissions import PRIVILEGES, SCOPES, Grant, Policy
from portalis.core.plugins import call_hook
from portalis.core.principal import Principal
from portalis.core.services import Services
from portalis.core.sites import bump_version

__all__ = ["SECTIONS", "apply_site", "export_site", "load_site_file"]

SECTIONS = ("website", "settings", "roles", "accounts", "contacts", "permissions", "lists",
            "records")
BUILTIN_ROLES = {"authenticated": "Authenticated Users", "anonymous": "Anonymous Users"}


def load_site_file(text: str) -> dict[str, Any]:
    try:
        data = yaml.safe_load(text)
    except yaml.YAMLError as exc:
        mark = getattr(exc, "problem_mark", None)
        where = f" at line {mark.line + 1}, column {mark.column + 1}" if mark else ""
        raise InvalidInput(f"site file is not valid YAML{where}: "
                           f"{getattr(exc, 'problem', exc)}", code="invalid_site_file") from None
    if not isinstance(data, dict):
        raise InvalidInput("site file must be a mapping with a 'website' section",
                           code="invalid_site_file")
    return data


def _err(where: str, problem: str) -> InvalidInput:
    return InvalidInput(f"{where}: {problem}", code="invalid_site_file", where=where)


def _items(data: dict[str, Any], section: str) -> list[dict[str, Any]]:
    items = data.get(section) or []
    if not isinstance(items, list):
        raise _err(section, "must be a list")
    for i, item in enumerate(items):
        if not isinstance(item, dict) or not isinstance(item.get("key"), str) or not item["key"]:
            raise _err(f"{section}[{i}]", "each entry needs a 'key' (text)")
    keys = [item["key"] for item in items]
    dupes = sorted({k for k in keys if keys.count(k) > 1})
    if dupes:
        raise _err(section, f"duplicate keys {dupes}")
    return items


def _strlist(value: Any, where: str) -> list[str]:
    if value is None:
        return []
    if isinstance(value, str):
        return [v.strip() for v in value.split(",") if v.strip()]
    if not isinstance(value, list) or not all(isinstance(v, str) for v in value):
        raise _err(where, "must be a list of names")
    return value


class _Applier:
    def __init__(self, services: Services, conn: Any, data: dict[str, Any]) -> None:
        self.s = services
        self.conn = conn
        self.data = data
        self.d = services.db.dialect
        self.website_id = 0
        self.roles: dict[str, int] = {}
        self.ids: dict[str, dict[str, int]] = {}

    async def upsert(self, table: str, match: dict[str, Any], values: dict[str, Any]) -> int:
        where = " AND ".join(f'"{k}" = ?' for k in match)
        row = await self.conn.fetchrow(f'SELECT "id" FROM "{table}" WHERE {where}',
                                       *match.values())
        if row is not None:
            if values:
                sets = ", ".join(f'"{k}" = ?' for k in values)
                await self.conn.execute(f'UPDATE "{table}" SET {sets} WHERE "id" = ?',
                                        *[encode(v, self.d) for v in values.values()], row["id"])
            return int(row["id"])
        cols = {**match, **values}
        names = ", ".join(f'"{k}"' for k in cols)
        marks = ", ".join("?" for _ in cols)
        return int(await self.conn.fetchval(
            f'INSERT INTO "{table}" ({names}) VALUES ({marks}) RETURNING "id"',
            *[encode(v, self.d) for v in cols.values()]))

    async def website(self) -> None:
        web = self.data.get("website")
        if not isinstance(web, dict) or not isinstance(web.get("key"), str):
            raise _err("website", "needs a 'key'")
        hosts = _strlist(web.get("hosts"), "website.hosts")
        self.website_id = await self.upsert(
            "portalis_website", {"key": web["key"]},
            {"title": str(web.get("title", web["key"])), "hosts": ",".join(hosts)})
        row = await self.conn.fetchrow('SELECT "created" FROM "portalis_website" WHERE "id" = ?',
                                       self.website_id)
        if row and row["created"] is None:
            await self.conn.execute('UPDATE "portalis_website" SET "created" = ? WHERE "id" = ?',
                                    encode(utcnow(), self.d), self.website_id)

    async def settings(self) -> None:
        settings = self.data.get("settings") or {}
        if not isinstance(settings, dict):
            raise _err("settings", "must be a mapping of name: value")
        for name, value in settings.items():
            text = "true" if value is True else "false" if value is False else str(value)
            await self.upsert("portalis_site_setting",
                              {"website": self.website_id, "name": str(name)}, {"value": text})

    async def roles_(self) -> None:
        for key, name in BUILTIN_ROLES.items():
            self.roles[key] = await self.upsert(
                "portalis_web_role", {"website": self.website_id, "key": key},
                {"name": name, "builtin": key})
        for role in _items(self.data, "roles"):
            if role["key"] in BUILTIN_ROLES:
                raise _err(f"roles[{role['key']}]", "this key is reserved for a built-in role")
            self.roles[role["key"]] = await self.upsert(
                "portalis_web_role", {"website": self.website_id, "key": role["key"]},
                {"name": str(role.get("name", role["key"])), "builtin": "",
                 "description": str(role.get("description", ""))})

    def role_ids(self, names: list[str], where: str, *, assignable: bool = True) -> list[int]:
        out = []
        for name in names:
            if name not in self.roles:
                raise _err(where, f"no role {name!r}")
            if assignable and name == "anonymous":
                raise _err(where, "the Anonymous Users role cannot be assigned")
            out.append(self.roles[name])
        return out

    async def links(self, table: str, owner_col: str, owner_id: int, role_ids: list[int]) -> None:
        """Make the owner's role links exactly ``role_ids`` (unchanged links stay as they are)."""
        current = {r["role"] for r in await self.conn.fetch(
            f'SELECT "role" FROM "{table}" WHERE "{owner_col}" = ?', owner_id)}
        for rid in current - set(role_ids):
            await self.conn.execute(
                f'DELETE FROM "{table}" WHERE "{owner_col}" = ? AND "role" = ?', owner_id, rid)
        for rid in dict.fromkeys(role_ids):
            if rid not in current:
                await self.conn.execute(
                    f'INSERT INTO "{table}" ("{owner_col}", "role") VALUES (?, ?)', owner_id, rid)

    async def people(self, section: str, table: str) -> None:
        items = _items(self.data, section)
        known = {r["key"]: r["id"] for r in await self.conn.fetch(
            f'SELECT "id", "key" FROM "{table}" WHERE "website" = ? AND "key" IS NOT NULL',
            self.website_id)}
        known.update(self.ids.get(table, {}))
        # accounts may name parents defined later in the file: insert first, link after
        pending: list[tuple[dict[str, Any], dict[str, Any]]] = []
        for item in items:
            where = f"{section}[{item['key']}]"
            values = {k: v for k, v in item.items()
                      if k not in ("key", "roles", "parent", "account", "password",
                                   "identities")}
            pending.append((item, values))
            try:
                if item["key"] in known:
                    if values:
                        await self.s.records.update(self.system, table, known[item["key"]], values)
                else:
                    row = await self.s.records.create(self.system, table,
                                                      {**values, "key": item["key"]})
                    known[item["key"]] = row["id"]
            except PortalisError as exc:
                raise _err(where, exc.message) from None
        self.ids[table] = known
        for item, _ in pending:
            where = f"{section}[{item['key']}]"
            link_col = "parent" if table == "account" else "account"
            if link_col in item:
                target = item[link_col]
                accounts = self.ids.get("account", {})
                if target is not None and target not in accounts:
                    raise _err(where, f"no account {target!r}")
                await self.s.records.update(self.system, table, known[item["key"]], {
                    link_col: accounts[target] if target is not None else None})
            role_table = "portalis_account_role" if table == "account" else "portalis_contact_role"
            await self.links(role_table, table, known[item["key"]],
                             self.role_ids(_strlist(item.get("roles"), where), where))

    @property
    def system(self) -> Principal:
        return Principal.for_system(self.website_id)

    async def permissions(self) -> None:
        items = _items(self.data, "permissions")
        ids: dict[str, int] = {}
        grants: list[Grant] = []
        for item in items:
            where = f"permissions[{item['key']}]"
            scope = str(item.get("scope", "")).lower()
            if scope not in SCOPES:
                raise _err(where, f"scope must be one of {', '.join(SCOPES)}")
            privileges = [p.replace("-", "_").lower() for p in
                          _strlist(item.get("privileges"), where)]
            bad = [p for p in privileges if p not in PRIVILEGES]
            if bad:
                raise _err(where, f"unknown privileges {bad} (use {', '.join(PRIVILEGES)})")
            table = item.get("table")
            if table not in self.s.registry:
                raise _err(where, f"unknown table {table!r}")
            role_names = _strlist(item.get("roles"), where)
            if scope == "parent" and role_names:
                raise _err(where, "a Parent-scope permission takes its roles from the root "
                                  "of its chain; give roles to the root")
            values = {"table_name": table, "scope": scope,
                      "relationship": str(item.get("relationship") or ""), "parent": None,
                      "filter": str(item.get("filter") or ""),
                      **{p: p in privileges for p in PRIVILEGES}}
            pid = await self.upsert("portalis_table_permission",
                                    {"website": self.website_id, "key": item["key"]}, values)
            ids[item["key"]] = pid
            await self.links("portalis_permission_role", "permission", pid,
                             self.role_ids(role_names, where, assignable=False))
        for item in items:
            parent = item.get("parent")
            where = f"permissions[{item['key']}]"
            if parent is not None:
                if parent not in ids:
                    existing = await self.conn.fetchval(
                        'SELECT "id" FROM "portalis_table_permission" WHERE "website" = ? '
                        'AND "key" = ?', self.website_id, parent)
                    if existing is None:
                        raise _err(where, f"no parent permission {parent!r}")
                    ids[parent] = existing
                await self.conn.execute(
                    'UPDATE "portalis_table_permission" SET "parent" = ? WHERE "id" = ?',
                    ids[parent], ids[item["key"]])
        # validate the whole resulting policy before anything commits
        rows = await self.conn.fetch(
            'SELECT * FROM "portalis_table_permission" WHERE "website" = ?', self.website_id)
        key_of = {r["id"]: r["key"] for r in rows}
        for r in rows:
            grants.append(Grant(r["id"], r["key"], r["table_name"], r["scope"],
                                r["relationship"] or "", r["parent"],
                                frozenset(p for p in PRIVILEGES if r[p]), frozenset(),
                                r["filter"] or ""))
        try:
            Policy(self.website_id, grants, self.s.registry)
        except PortalisError as exc:
            bad_key = next((key_of[g.id] for g in grants
                            if exc.message.startswith(f"permission {g.key!r}: ")), "")
            message = exc.message.split(": ", 1)[1] if bad_key else exc.message
            raise _err(f"permissions[{bad_key}]" if bad_key else "permissions",
                       message) from None

    async def lists(self) -> None:
        for item in _items(self.data, "lists"):
            where = f"lists[{item['key']}]"
            table = item.get("table")
            if table not in self.s.registry:
                raise _err(where, f"unknown table {table!r}")
            pt = self.s.registry.get(table)
            columns = _strlist(item.get("columns"), where)
            search = _strlist(item.get("search"), where)
            for c in columns + search:
                if c not in pt.columns:
                    raise _err(where, f"table {table!r} has no column {c!r}")
            size = item.get("page_size", 10)
            if not isinstance(size, int) or not 1 <= size <= 500:
                raise _err(where, "page_size must be a number from 1 to 500")
            if item.get("filter"):
                from portalis.core.conditions import compile_condition
                from portalis.core.odata import parse_filter
                try:
                    compile_condition(parse_filter(str(item["filter"])), pt, "t0",
                                      self.s.db.quote, self.d)
                except PortalisError as exc:
                    raise _err(where, exc.message) from None
            await self.upsert("portalis_entity_list",
                              {"website": self.website_id, "key": item["key"]},
                              {"title": str(item.get("title", item["key"])), "table_name": table,
                               "columns": ",".join(columns), "sort": str(item.get("sort", "")),
                               "page_size": size, "filter": str(item.get("filter", "")),
                               "search_columns": ",".join(search),
                               "detail_url": str(item.get("detail_url", ""))})

    async def _adopt(self, table: str, key: str, known: dict[str, int]) -> None:
        """``portalis site export`` names records without a site key ``<table>-<id>``;
        applying that file to the same database adopts the record instead of copying it."""
        prefix = f"{table}-"
        if key in known or not key.startswith(prefix) or not key[len(prefix):].isdigit():
            return
        rid = int(key[len(prefix):])
        pt = self.s.registry.get(table)
        exists = await self.conn.fetchval(
            f'SELECT 1 FROM "{pt.sql_name}" WHERE "id" = ? AND "website" = ?', rid,
            self.website_id)
        if exists and rid not in known.values():
            await self.conn.execute(
                'INSERT INTO "portalis_site_key" ("website", "table_name", "key", "record_id") '
                "VALUES (?, ?, ?, ?)", self.website_id, table, key, rid)
            known[key] = rid

    async def records(self) -> None:
        records = self.data.get("records") or {}
        if not isinstance(records, dict):
            raise _err("records", "must be a mapping of table: [records]")
        for table in records:
            if table in ("contact", "account") or table not in self.s.registry:
                raise _err(f"records.{table}", "unknown table (contacts and accounts have "
                                               "their own sections)")
        for table in records:
            pt = self.s.registry.get(table)
            known = {r["key"]: r["record_id"] for r in await self.conn.fetch(
                'SELECT "key", "record_id" FROM "portalis_site_key" WHERE "website" = ? '
                'AND "table_name" = ?', self.website_id, table)}
            self.ids[table] = known
            for item in _items(records, table):
                await self._adopt(table, item["key"], known)
                where = f"records.{table}[{item['key']}]"
                values: dict[str, Any] = {}
                for name, value in item.items():
                    if name == "key":
                        continue
                    rel = next((r for r in pt.relationships.values() if r.column == name), None)
                    if rel is not None and value is not None:
                        target_ids = self.ids.get(rel.target, {})
                        if value not in target_ids:
                            raise _err(where, f"{name}: no {rel.target} {value!r}")
                        value = target_ids[value]
                    values[name] = value
                try:
                    if item["key"] in known:
                        await self.s.records.update(self.system, table, known[item["key"]], values)
                    else:
                        row = await self.s.records.create(self.system, table, values)
                        known[item["key"]] = row["id"]
                        await self.conn.execute(
                            'INSERT INTO "portalis_site_key" ("website", "table_name", "key", '
                            '"record_id") VALUES (?, ?, ?, ?)',
                            self.website_id, table, item["key"], row["id"])
                except PortalisError as exc:
                    raise _err(where, exc.message) from None


async def apply_site(services: Services, data: dict[str, Any]) -> int:
    """Create or update the site described by ``data``; returns the website id.

    All or nothing: one transaction. Raises InvalidInput naming the bad entry.
    """
    unknown = sorted(set(data) - set(SECTIONS) - set(_plugin_sections(services)))
    if unknown:
        raise _err("site file", f"unknown sections {unknown} (known: {', '.join(SECTIONS)})")
    try:
        return await _apply(services, data)
    finally:
        services.sites.invalidate()


async def _apply(services: Services, data: dict[str, Any]) -> int:
    async with services.db.transaction() as conn:
        ap = _Applier(services, conn, data)
        await ap.website()
        await ap.settings()
        await ap.roles_()
        await bump_version(conn, ap.website_id)
        services.sites.invalidate()
        await ap.people("accounts", "account")
        await ap.people("contacts", "contact")
        await ap.permissions()
        await ap.lists()
        await bump_version(conn, ap.website_id)
        for section, handler in _plugin_sections(services).items():
            if section in data:
                await handler.apply(ap.website_id, data[section], services, ap)
        await call_hook(services.pm, "portalis_site_applied", website_id=ap.website_id,
                        data=data, ids=ap.ids, services=services)
        await ap.records()
    return ap.website_id


def _plugin_sections(services: Services) -> dict[str, Any]:
    out: dict[str, Any] = {}
    for result in services.pm.hook.portalis_site_file_sections():
        if result:
            out.update(result)
    return out


async def export_site(services: Services, website_key: str) -> dict[str, Any]:
    """The site as a site-file mapping (records of registered tables by their keys)."""
    from portalis.core.sitefile_export import export

    return await export(services, website_key)
