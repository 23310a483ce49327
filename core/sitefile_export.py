"""``portalis site export``: a website back into the site-file shape (see sitefile.py)."""

from __future__ import annotations

import datetime as dt
from typing import Any

from portalis.core.errors import NotFound
from portalis.core.permissions import PRIVILEGES
from portalis.core.principal import Principal
from portalis.core.services import Services

__all__ = ["export"]


async def _all(services: Services, principal: Principal, table: str) -> list[dict[str, Any]]:
    """Every row of ``table`` (through records, page by page)."""
    rows: list[dict[str, Any]] = []
    cursor = None
    while True:
        page = await services.records.list(principal, table, limit=1000, cursor=cursor,
                                           order_by=[("id", False)])
        rows += page.rows
        if not page.next_cursor:
            return rows
        cursor = page.next_cursor


def _plain(value: Any) -> Any:
    return value.isoformat() if isinstance(value, dt.datetime) else value


async def export(services: Services, website_key: str) -> dict[str, Any]:
    db = services.db
    web = await db.fetchrow('SELECT * FROM "portalis_website" WHERE "key" = ?', website_key)
    if web is None:
        raise NotFound(f"no website {website_key!r}", code="unknown_website")
    wid = web["id"]
    out: dict[str, Any] = {"website": {
        "key": web["key"], "title": web["title"],
        "hosts": [h for h in (web["hosts"] or "").split(",") if h]}}
    out["settings"] = {r["name"]: r["value"] for r in await db.fetch(
        'SELECT "name", "value" FROM "portalis_site_setting" WHERE "website" = ? ORDER BY "name"',
        wid)}
    roles = await db.fetch('SELECT * FROM "portalis_web_role" WHERE "website" = ? ORDER BY "id"',
                           wid)
    role_key = {r["id"]: r["key"] for r in roles}
    out["roles"] = [{"key": r["key"], "name": r["name"],
                     **({"description": r["description"]} if r["description"] else {})}
                    for r in roles if not r["builtin"]]

    async def role_links(table: str, col: str) -> dict[int, list[str]]:
        links: dict[int, list[str]] = {}
        for r in await db.fetch(f'SELECT "{col}", "role" FROM "{table}" ORDER BY "role"'):
            links.setdefault(r[col], []).append(role_key.get(r["role"], "?"))
        return links

    system = Principal.for_system(wid)
    accounts = await _all(services, system, "account")
    acc_key = {a["id"]: a["key"] or f"account-{a['id']}" for a in accounts}
    acc_roles = await role_links("portalis_account_role", "account")
    out["accounts"] = [{"key": acc_key[a["id"]], "name": a["name"],
                        "parent": acc_key.get(a["parent"]) if a["parent"] else None,
                        "roles": acc_roles.get(a["id"], [])} for a in accounts]
    contacts = await _all(services, system, "contact")
    con_key = {c["id"]: c["key"] or f"contact-{c['id']}" for c in contacts}
    con_roles = await role_links("portalis_contact_role", "contact")
    out["contacts"] = [{"key": con_key[c["id"]], "email": c["email"], "firstname": c["firstname"],
                        "lastname": c["lastname"], "phone": c["phone"], "state": c["state"],
                        "account": acc_key.get(c["account"]) if c["account"] else None,
                        "roles": con_roles.get(c["id"], [])} for c in contacts]
    perms = await db.fetch(
        'SELECT * FROM "portalis_table_permission" WHERE "website" = ? ORDER BY "id"', wid)
    perm_key = {p["id"]: p["key"] for p in perms}
    perm_roles = await role_links("portalis_permission_role", "permission")
    out["permissions"] = [{
        "key": p["key"], "table": p["table_name"], "scope": p["scope"],
        **({"relationship": p["relationship"]} if p["relationship"] else {}),
        **({"parent": perm_key[p["parent"]]} if p["parent"] else {}),
        **({"filter": p["filter"]} if p["filter"] else {}),
        "privileges": [x for x in PRIVILEGES if p[x]],
        **({"roles": perm_roles.get(p["id"], [])} if p["scope"] != "parent" else {}),
    } for p in perms]
    out["lists"] = [{
        "key": r["key"], "title": r["title"], "table": r["table_name"],
        "columns": [c for c in r["columns"].split(",") if c], "sort": r["sort"],
        "page_size": r["page_size"], "filter": r["filter"],
        "search": [c for c in r["search_columns"].split(",") if c],
        **({"detail_url": r["detail_url"]} if r["detail_url"] else {}),
    } for r in await db.fetch(
        'SELECT * FROM "portalis_entity_list" WHERE "website" = ? ORDER BY "id"', wid)]
    keys: dict[str, dict[int, str]] = {"contact": con_key, "account": acc_key}
    for r in await db.fetch('SELECT * FROM "portalis_site_key" WHERE "website" = ?', wid):
        keys.setdefault(r["table_name"], {})[r["record_id"]] = r["key"]
    records: dict[str, list[dict[str, Any]]] = {}
    for name, table in services.registry.tables.items():
        if name in ("contact", "account"):
            continue
        rows = await _all(services, system, name)
        if not rows:
            continue
        rel_cols = {r.column: r.target for r in table.relationships.values()}
        items = []
        for row in rows:
            item: dict[str, Any] = {"key": keys.get(name, {}).get(row["id"], f"{name}-{row['id']}")}
            for col, value in row.items():
                if col in ("id", "website", "created", "modified"):
                    continue
                if col in rel_cols and value is not None:
                    value = keys.get(rel_cols[col], {}).get(value, value)
                item[col] = _plain(value)
            items.append(item)
        records[name] = items
    out["records"] = records
    for result in services.pm.hook.portalis_site_file_sections():
        for section, handler in (result or {}).items():
            out[section] = await handler.export(wid, services)
    return out
