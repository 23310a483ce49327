"""Reads and writes of the pages plugin's private tables (through ``services.db``)."""

from __future__ import annotations

import json
from dataclasses import dataclass, field
from typing import Any

from portalis.core.codec import encode, utcnow

__all__ = ["FormDef", "PageNode", "PageTree", "Store", "WebFileRow"]


@dataclass
class PageNode:
    id: int
    key: str
    parent_id: int | None
    partial_url: str
    title: str
    content: str
    state: str
    template: str
    sort_order: int
    restrict_read: frozenset[int] = frozenset()
    grant_change: frozenset[int] = frozenset()
    url: str = "/"
    children: list[PageNode] = field(default_factory=list)
    parent: PageNode | None = None

    def lineage(self) -> list[PageNode]:
        """Ancestors from the top, then the page itself."""
        out: list[PageNode] = []
        node: PageNode | None = self
        while node is not None and len(out) < 64:
            out.append(node)
            node = node.parent
        return list(reversed(out))


@dataclass
class PageTree:
    pages: dict[int, PageNode]
    by_url: dict[str, PageNode]
    roots: list[PageNode]

    @property
    def home(self) -> PageNode | None:
        return self.by_url.get("/")

    def by_key(self, key: str) -> PageNode | None:
        return next((p for p in self.pages.values() if p.key == key), None)


@dataclass(frozen=True)
class FormDef:
    id: int
    key: str
    title: str
    table: str
    mode: str
    fields: tuple[str, ...]
    required: tuple[str, ...]
    options: dict[str, list[str]]
    messages: dict[str, str]
    success_message: str
    redirect: str


@dataclass(frozen=True)
class WebFileRow:
    path: str
    content_type: str
    content: bytes
    etag: str
    size: int
    parent_id: int | None = None


def join_url(parent_url: str, partial: str) -> str:
    partial = partial.strip("/")
    if not partial:
        return parent_url
    return (parent_url.rstrip("/") + "/" + partial) if parent_url != "/" else "/" + partial


def _csv(text: str | None) -> tuple[str, ...]:
    return tuple(c.strip() for c in (text or "").split(",") if c.strip())


def _json(text: str | None, default: Any) -> Any:
    try:
        value = json.loads(text or "")
    except ValueError:
        return default
    return value if isinstance(value, type(default)) else default


class Store:
    def __init__(self, db: Any) -> None:
        self.db = db

    # -- pages ----------------------------------------------------------------
    async def tree(self, website_id: int) -> PageTree:
        async with self.db.reader() as conn:
            rows = await conn.fetch(
                'SELECT "id", "key", "parent", "partial_url", "title", "content", "state", '
                '"template", "sort_order" FROM "pages_web_page" WHERE "website" = ? '
                'ORDER BY "sort_order", "id"', website_id)
            rules = await conn.fetch(
                'SELECT "page", "kind", "role" FROM "pages_page_rule" WHERE "website" = ?',
                website_id)
        restrict: dict[int, set[int]] = {}
        grant: dict[int, set[int]] = {}
        for r in rules:
            (restrict if r["kind"] == "restrict_read" else grant).setdefault(
                r["page"], set()).add(r["role"])
        pages = {r["id"]: PageNode(
            id=r["id"], key=r["key"], parent_id=r["parent"], partial_url=r["partial_url"] or "",
            title=r["title"] or "", content=r["content"] or "", state=r["state"] or "published",
            template=r["template"] or "page", sort_order=r["sort_order"] or 0,
            restrict_read=frozenset(restrict.get(r["id"], ())),
            grant_change=frozenset(grant.get(r["id"], ()))) for r in rows}
        roots: list[PageNode] = []
        for page in pages.values():
            parent = pages.get(page.parent_id) if page.parent_id is not None else None
            if parent is None:
                roots.append(page)
            else:
                page.parent = parent
                parent.children.append(page)
        by_url: dict[str, PageNode] = {}
        seen: set[int] = set()
        stack = [(p, "/") for p in reversed(roots)]
        while stack:
            page, base = stack.pop()
            if page.id in seen:
                continue
            seen.add(page.id)
            page.url = join_url(base, page.partial_url)
            by_url.setdefault(page.url, page)
            stack.extend((c, page.url) for c in reversed(page.children))
        return PageTree(pages, by_url, roots)

    async def update_page(self, website_id: int, page_id: int, values: dict[str, Any]) -> None:
        values = {**values, "modified": utcnow()}
        sets = ", ".join(f'"{k}" = ?' for k in values)
        await self.db.execute(
            f'UPDATE "pages_web_page" SET {sets} WHERE "id" = ? AND "website" = ?',
            *[encode(v, self.db.dialect) for v in values.values()], page_id, website_id)

    # -- templates ------------------------------------------------------------
    async def templates(self, website_id: int) -> dict[str, tuple[str, str]]:
        rows = await self.db.fetch(
            'SELECT "key", "source", "good_source" FROM "pages_web_template" '
            'WHERE "website" = ?', website_id)
        return {r["key"]: (r["source"] or "", r["good_source"] or "") for r in rows}

    async def save_template(self, website_id: int, key: str, source: str, good: bool) -> None:
        """Store a template; ``good`` (it parsed) also makes it the last good version."""
        async with self.db.transaction() as conn:
            row = await conn.fetchrow(
                'SELECT "id" FROM "pages_web_template" WHERE "website" = ? AND "key" = ?',
                website_id, key)
            now = encode(utcnow(), self.db.dialect)
            if row is None:
                await conn.execute(
                    'INSERT INTO "pages_web_template" ("website", "key", "source", '
                    '"good_source", "modified") VALUES (?, ?, ?, ?, ?)',
                    website_id, key, source, source if good else "", now)
            elif good:
                await conn.execute(
                    'UPDATE "pages_web_template" SET "source" = ?, "good_source" = ?, '
                    '"modified" = ? WHERE "id" = ?', source, source, now, row["id"])
            else:
                await conn.execute(
                    'UPDATE "pages_web_template" SET "source" = ?, "modified" = ? '
                    'WHERE "id" = ?', source, now, row["id"])

    # -- forms, link sets, files ---------------------------------------------
    async def form(self, website_id: int, key: str) -> FormDef | None:
        r = await self.db.fetchrow(
            'SELECT * FROM "pages_web_form" WHERE "website" = ? AND "key" = ?', website_id, key)
        if r is None:
            return None
        return FormDef(
            id=r["id"], key=r["key"], title=r["title"] or "", table=r["table_name"],
            mode=r["mode"] or "insert", fields=_csv(r["fields"]), required=_csv(r["required"]),
            options=_json(r["options"], {}), messages=_json(r["messages"], {}),
            success_message=r["success_message"] or "", redirect=r["redirect"] or "")

    async def link_sets(self, website_id: int) -> dict[str, dict[str, Any]]:
        rows = await self.db.fetch(
            'SELECT "key", "title", "links" FROM "pages_web_link_set" WHERE "website" = ? '
            'ORDER BY "id"', website_id)
        return {r["key"]: {"title": r["title"] or r["key"], "links": _json(r["links"], [])}
                for r in rows}

    async def web_file(self, website_id: int, path: str) -> WebFileRow | None:
        r = await self.db.fetchrow(
            'SELECT "path", "content_type", "content", "etag", "size", "parent" '
            'FROM "pages_web_file" '
            'WHERE "website" = ? AND "path" = ?', website_id, path)
        if r is None:
            return None
        return WebFileRow(r["path"], r["content_type"], bytes(r["content"] or b""),
                          r["etag"], r["size"], r["parent"])

    async def save_web_file(self, website_id: int, key: str, path: str, content_type: str,
                            content: bytes, etag: str, parent: int | None) -> None:
        async with self.db.transaction() as conn:
            row = await conn.fetchrow(
                'SELECT "id" FROM "pages_web_file" WHERE "website" = ? AND '
                '("path" = ? OR "key" = ?)', website_id, path, key)
            now = encode(utcnow(), self.db.dialect)
            values = {"key": key, "path": path, "content_type": content_type,
                      "content": content, "etag": etag, "size": len(content),
                      "parent": parent, "modified": now}
            if row is None:
                names = ", ".join(f'"{k}"' for k in values)
                await conn.execute(
                    f'INSERT INTO "pages_web_file" ("website", {names}) '
                    f'VALUES (?, {", ".join("?" for _ in values)})',
                    website_id, *values.values())
            else:
                sets = ", ".join(f'"{k}" = ?' for k in values)
                await conn.execute(f'UPDATE "pages_web_file" SET {sets} WHERE "id" = ?',
                                   *values.values(), row["id"])
