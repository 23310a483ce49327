"""Site-file sections of the pages plugin: ``templates``, ``pages``, ``forms``,
``web_files`` and ``link_sets`` (apply inside the site-apply transaction, and export).

Entries are keyed like the kernel's sections; pages name their parent page and their
rules' roles by key. An error names the entry (and, for Liquid, the line) and nothing
is applied.
"""

from __future__ import annotations

import base64
import binascii
import hashlib
import json
from typing import Any

from portalis.core import InvalidInput, PortalisError
from portalis.core.codec import encode, utcnow
from portalis.core.registry import READONLY
from portalis.core.services import Services
from portalis.plugins.pages.files import check_upload
from portalis.plugins.pages.store import Store
from portalis.plugins.pages.web import RESERVED, state_of

__all__ = ["SECTIONS"]

MODES = ("insert", "edit", "readonly")


def _err(where: str, problem: str) -> InvalidInput:
    return InvalidInput(f"{where}: {problem}", code="invalid_site_file", where=where)


def _items(data: Any, section: str) -> list[dict[str, Any]]:
    if data is None:
        return []
    if not isinstance(data, list):
        raise _err(section, "must be a list")
    keys: list[str] = []
    for i, item in enumerate(data):
        if not isinstance(item, dict) or not isinstance(item.get("key"), str) or not item["key"]:
            raise _err(f"{section}[{i}]", "each entry needs a 'key' (text)")
        keys.append(item["key"])
    dupes = sorted({k for k in keys if keys.count(k) > 1})
    if dupes:
        raise _err(section, f"duplicate keys {dupes}")
    return data


def _names(value: Any, where: str) -> list[str]:
    if value is None:
        return []
    if isinstance(value, str):
        return [v.strip() for v in value.split(",") if v.strip()]
    if not isinstance(value, list) or not all(isinstance(v, str) for v in value):
        raise _err(where, "must be a list of names")
    return value


async def _upsert(services: Services, table: str, website_id: int, key: str,
                  values: dict[str, Any]) -> int:
    db = services.db
    values = {k: encode(v, db.dialect) for k, v in values.items()}
    row = await db.fetchrow(f'SELECT "id" FROM "{table}" WHERE "website" = ? AND "key" = ?',
                            website_id, key)
    if row is not None:
        if values:
            sets = ", ".join(f'"{k}" = ?' for k in values)
            await db.execute(f'UPDATE "{table}" SET {sets} WHERE "id" = ?',
                             *values.values(), row["id"])
        return int(row["id"])
    cols = {"website": website_id, "key": key, **values}
    return int(await db.fetchval(
        f'INSERT INTO "{table}" ({", ".join(f"{chr(34)}{k}{chr(34)}" for k in cols)}) '
        f'VALUES ({", ".join("?" for _ in cols)}) RETURNING "id"', *cols.values()))


async def _role_ids(services: Services, website_id: int) -> dict[str, int]:
    rows = await services.db.fetch(
        'SELECT "id", "key" FROM "portalis_web_role" WHERE "website" = ?', website_id)
    return {r["key"]: r["id"] for r in rows}


class TemplatesSection:
    async def apply(self, website_id: int, data: Any, services: Services, *_: Any) -> None:
        st = state_of(services)
        for item in _items(data, "templates"):
            where = f"templates[{item['key']}]"
            source = item.get("source")
            if not isinstance(source, str):
                raise _err(where, "needs a 'source' (Liquid text)")
            problem = st.env.check(source, item["key"])
            if problem is not None:
                line = f"line {problem.line}: " if problem.line else ""
                raise _err(where, f"{line}{problem.message}")
            await st.store.save_template(website_id, item["key"], source, good=True)

    async def export(self, website_id: int, services: Services) -> list[dict[str, Any]]:
        rows = await services.db.fetch(
            'SELECT "key", "source" FROM "pages_web_template" WHERE "website" = ? '
            'ORDER BY "key"', website_id)
        return [{"key": r["key"], "source": r["source"]} for r in rows]


class PagesSection:
    async def apply(self, website_id: int, data: Any, services: Services, *_: Any) -> None:
        st = state_of(services)
        items = _items(data, "pages")
        roles = await _role_ids(services, website_id)
        templates = set(st.files) | set(await st.store.templates(website_id))
        ids: dict[str, int] = {r["key"]: r["id"] for r in await services.db.fetch(
            'SELECT "id", "key" FROM "pages_web_page" WHERE "website" = ?', website_id)}
        for item in items:
            where = f"pages[{item['key']}]"
            content = item.get("content", "")
            if not isinstance(content, str):
                raise _err(where, "content must be text")
            problem = st.env.check(content, f"page:{item['key']}")
            if problem is not None:
                line = f"line {problem.line}: " if problem.line else ""
                raise _err(where, f"content {line}{problem.message}")
            state = str(item.get("state", "published"))
            if state not in ("draft", "published"):
                raise _err(where, "state must be draft or published")
            template = str(item.get("template", "page"))
            if template not in templates:
                raise _err(where, f"no web template {template!r}")
            partial = str(item.get("partial_url", item["key"] if item.get("parent") else "/"))
            if "?" in partial or "#" in partial or ".." in partial:
                raise _err(where, "partial_url must be a plain path segment")
            order = item.get("sort_order", 0)
            if not isinstance(order, int):
                raise _err(where, "sort_order must be a number")
            ids[item["key"]] = await _upsert(services, "pages_web_page", website_id,
                                             item["key"], {
                "title": str(item.get("title", item["key"]))[:200], "content": content,
                "state": state, "template": template, "partial_url": partial[:100],
                "sort_order": order, "modified": utcnow()})
        for item in items:
            where = f"pages[{item['key']}]"
            parent = item.get("parent")
            if parent is not None and parent not in ids:
                raise _err(where, f"no parent page {parent!r}")
            await services.db.execute(
                'UPDATE "pages_web_page" SET "parent" = ? WHERE "id" = ?',
                ids[parent] if parent is not None else None, ids[item["key"]])
            await services.db.execute('DELETE FROM "pages_page_rule" WHERE "page" = ?',
                                      ids[item["key"]])
            for kind in ("restrict_read", "grant_change"):
                for name in _names(item.get(kind), f"{where}.{kind}"):
                    if name not in roles:
                        raise _err(f"{where}.{kind}", f"no role {name!r}")
                    await services.db.execute(
                        'INSERT INTO "pages_page_rule" ("website", "page", "kind", "role") '
                        "VALUES (?, ?, ?, ?)", website_id, ids[item["key"]], kind, roles[name])
        tree = await Store(services.db).tree(website_id)
        urls: dict[str, str] = {}
        for page in tree.pages.values():
            lineage = page.lineage()
            if lineage[0].parent_id is not None:
                raise _err(f"pages[{page.key}]", "the parent chain loops")
            if page.url.startswith(RESERVED):
                raise _err(f"pages[{page.key}]", f"{page.url} is reserved for the portal")
            if page.url in urls:
                raise _err(f"pages[{page.key}]",
                           f"{page.url} is also the URL of page {urls[page.url]!r}")
            urls[page.url] = page.key

    async def export(self, website_id: int, services: Services) -> list[dict[str, Any]]:
        tree = await Store(services.db).tree(website_id)
        roles = {v: k for k, v in (await _role_ids(services, website_id)).items()}
        out = []
        for page in sorted(tree.pages.values(), key=lambda p: (len(p.lineage()), p.id)):
            entry: dict[str, Any] = {
                "key": page.key, "title": page.title, "partial_url": page.partial_url,
                "content": page.content, "state": page.state, "template": page.template}
            if page.parent is not None:
                entry["parent"] = page.parent.key
            if page.sort_order:
                entry["sort_order"] = page.sort_order
            for kind in ("restrict_read", "grant_change"):
                ids = getattr(page, kind)
                if ids:
                    entry[kind] = sorted(roles[i] for i in ids if i in roles)
            out.append(entry)
        return out


class FormsSection:
    async def apply(self, website_id: int, data: Any, services: Services, *_: Any) -> None:
        for item in _items(data, "forms"):
            where = f"forms[{item['key']}]"
            table = item.get("table")
            if table not in services.registry:
                raise _err(where, f"unknown table {table!r}")
            pt = services.registry.get(table)
            mode = str(item.get("mode", "insert")).lower()
            if mode not in MODES:
                raise _err(where, f"mode must be one of {', '.join(MODES)}")
            fields = _names(item.get("fields"), f"{where}.fields")
            if not fields:
                raise _err(where, "list the fields the form shows")
            for f in fields:
                if f not in pt.columns:
                    raise _err(where, f"table {table!r} has no column {f!r}")
                if mode != "readonly" and f in READONLY:
                    raise _err(where, f"{f} is set by the portal and cannot be a form field")
            required = _names(item.get("required"), f"{where}.required")
            if set(required) - set(fields):
                raise _err(where, f"required fields {sorted(set(required) - set(fields))} "
                                  "are not among the fields")
            options = item.get("options") or {}
            messages = item.get("messages") or {}
            if not isinstance(options, dict) or not all(
                    isinstance(v, list) for v in options.values()):
                raise _err(where, "options must map a field to a list of values")
            if not isinstance(messages, dict):
                raise _err(where, "messages must map a field to a text")
            await _upsert(services, "pages_web_form", website_id, item["key"], {
                "title": str(item.get("title", "")), "table_name": table, "mode": mode,
                "fields": ",".join(fields), "required": ",".join(required),
                "options": json.dumps({str(k): [str(x) for x in v] for k, v in options.items()}),
                "messages": json.dumps({str(k): str(v) for k, v in messages.items()}),
                "success_message": str(item.get("success_message", "")),
                "redirect": str(item.get("redirect", ""))})

    async def export(self, website_id: int, services: Services) -> list[dict[str, Any]]:
        store = Store(services.db)
        rows = await services.db.fetch(
            'SELECT "key" FROM "pages_web_form" WHERE "website" = ? ORDER BY "key"', website_id)
        out = []
        for r in rows:
            fd = await store.form(website_id, r["key"])
            assert fd is not None
            entry: dict[str, Any] = {"key": fd.key, "title": fd.title, "table": fd.table,
                                     "mode": fd.mode, "fields": list(fd.fields)}
            for name, value in (("required", list(fd.required)), ("options", fd.options),
                                ("messages", fd.messages),
                                ("success_message", fd.success_message),
                                ("redirect", fd.redirect)):
                if value:
                    entry[name] = value
            out.append(entry)
        return out


class WebFilesSection:
    async def apply(self, website_id: int, data: Any, services: Services, *_: Any) -> None:
        store = Store(services.db)
        tree = await store.tree(website_id)
        limit_text = await services.db.fetchval(
            'SELECT "value" FROM "portalis_site_setting" WHERE "website" = ? AND "name" = ?',
            website_id, "WebFiles/MaxSize")
        try:
            limit = int(float(limit_text)) if limit_text else 1_048_576
        except ValueError:
            limit = 1_048_576
        for item in _items(data, "web_files"):
            where = f"web_files[{item['key']}]"
            path = "/" + str(item.get("path") or item["key"]).strip("/")
            if "text" in item:
                content = str(item["text"]).encode()
            elif "base64" in item:
                try:
                    content = base64.b64decode(str(item["base64"]), validate=True)
                except (binascii.Error, ValueError):
                    raise _err(where, "base64 is not valid base64") from None
            else:
                raise _err(where, "needs 'text' or 'base64' content")
            try:
                ctype = check_upload(path, item.get("content_type"), content, limit)
            except PortalisError as exc:
                raise _err(where, exc.message) from None
            if path.startswith(RESERVED) or path in tree.by_url:
                raise _err(where, f"{path} is taken by the portal or a page")
            parent = None
            if item.get("parent"):
                node = tree.by_key(str(item["parent"]))
                if node is None:
                    raise _err(where, f"no page {item['parent']!r}")
                parent = node.id
            await store.save_web_file(website_id, item["key"], path, ctype, content,
                                      hashlib.sha256(content).hexdigest()[:32], parent)

    async def export(self, website_id: int, services: Services) -> list[dict[str, Any]]:
        rows = await services.db.fetch(
            'SELECT f."key", f."path", f."content_type", f."content", p."key" AS "page" '
            'FROM "pages_web_file" f LEFT JOIN "pages_web_page" p ON p."id" = f."parent" '
            'WHERE f."website" = ? ORDER BY f."key"', website_id)
        out = []
        for r in rows:
            content = bytes(r["content"] or b"")
            entry: dict[str, Any] = {"key": r["key"], "path": r["path"],
                                     "content_type": r["content_type"].split(";")[0]}
            if r["content_type"].startswith("text/"):
                entry["text"] = content.decode("utf-8")
            else:
                entry["base64"] = base64.b64encode(content).decode()
            if r["page"]:
                entry["parent"] = r["page"]
            out.append(entry)
        return out


class LinkSetsSection:
    async def apply(self, website_id: int, data: Any, services: Services, *_: Any) -> None:
        tree = await Store(services.db).tree(website_id)
        for item in _items(data, "link_sets"):
            where = f"link_sets[{item['key']}]"
            links = item.get("links") or []
            if not isinstance(links, list):
                raise _err(where, "links must be a list")
            clean = []
            for i, link in enumerate(links):
                if not isinstance(link, dict) or not (link.get("page") or link.get("url")):
                    raise _err(f"{where}.links[{i}]", "each link needs a 'page' or a 'url'")
                if link.get("page") and tree.by_key(str(link["page"])) is None:
                    raise _err(f"{where}.links[{i}]", f"no page {link['page']!r}")
                url = str(link.get("url") or "")
                if url and not (url.startswith("/") and not url.startswith("//")) and \
                        not url.startswith(("https://", "http://")):
                    raise _err(f"{where}.links[{i}]", "url must be a path or an http(s) URL")
                clean.append({k: str(link[k]) for k in ("title", "page", "url") if link.get(k)})
            await _upsert(services, "pages_web_link_set", website_id, item["key"], {
                "title": str(item.get("title", item["key"])), "links": json.dumps(clean)})

    async def export(self, website_id: int, services: Services) -> list[dict[str, Any]]:
        sets = await Store(services.db).link_sets(website_id)
        return [{"key": k, "title": v["title"], "links": v["links"]} for k, v in sets.items()]


SECTIONS: dict[str, Any] = {
    "templates": TemplatesSection(),
    "pages": PagesSection(),
    "forms": FormsSection(),
    "web_files": WebFilesSection(),
    "link_sets": LinkSetsSection(),
}
