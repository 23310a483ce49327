"""The plugin's private tables: case attachments and knowledge-base interactions.

Read and written through ``services.db`` (long-lived connections), never through
Piccolo's query API. Who may see an attachment is NOT decided here: callers check the
attachment's case (and note) through ``records`` first.
"""

from __future__ import annotations

from typing import Any

from portalis.core.codec import encode, utcnow

__all__ = ["AttachmentStore", "InteractionStore", "normalise_query"]

META = ('"id", "website", "case", "note", "filename", "content_type", "size", "author", '
        '"created"')


def normalise_query(text: str) -> str:
    return " ".join(text.casefold().split())[:200]


class AttachmentStore:
    def __init__(self, db: Any) -> None:
        self.db = db

    async def add(self, *, website_id: int, case_id: int, note_id: int | None, filename: str,
                  content_type: str, content: bytes, author: int | None) -> dict[str, Any]:
        async with self.db.transaction() as conn:
            row = await conn.fetchrow(
                'INSERT INTO "selfservice_attachment" ("website", "case", "note", "filename", '
                '"content_type", "size", "content", "author", "created") '
                f"VALUES (?, ?, ?, ?, ?, ?, ?, ?, ?) RETURNING {META}",
                website_id, case_id, note_id, filename, content_type, len(content), content,
                author, encode(utcnow(), self.db.dialect))
        assert row is not None
        return row

    async def meta(self, website_id: int, attachment_id: int) -> dict[str, Any] | None:
        return await self.db.fetchrow(
            f'SELECT {META} FROM "selfservice_attachment" WHERE "id" = ? AND "website" = ?',
            attachment_id, website_id)

    async def content(self, website_id: int, attachment_id: int) -> bytes:
        value = await self.db.fetchval(
            'SELECT "content" FROM "selfservice_attachment" WHERE "id" = ? AND "website" = ?',
            attachment_id, website_id)
        return bytes(value or b"")

    async def of_case(self, website_id: int, case_id: int) -> list[dict[str, Any]]:
        return await self.db.fetch(
            f'SELECT {META} FROM "selfservice_attachment" WHERE "website" = ? AND "case" = ? '
            'ORDER BY "id"', website_id, case_id)


class InteractionStore:
    def __init__(self, db: Any) -> None:
        self.db = db

    async def record(self, *, website_id: int, contact_id: int | None, kind: str,
                     article_id: int | None = None, query: str = "", results: int = 0) -> None:
        await self.db.execute(
            'INSERT INTO "selfservice_interaction" ("website", "contact", "kind", "article", '
            '"query", "results", "created") VALUES (?, ?, ?, ?, ?, ?, ?)',
            website_id, contact_id, kind, article_id, normalise_query(query), results,
            encode(utcnow(), self.db.dialect))

    async def of_contact(self, website_id: int, contact_id: int) -> list[dict[str, Any]]:
        return await self.db.fetch(
            'SELECT "kind", "article", "query", "results" FROM "selfservice_interaction" '
            'WHERE "website" = ? AND "contact" = ? ORDER BY "id"', website_id, contact_id)

    async def top_searches(self, website_id: int, limit: int = 20) -> list[dict[str, Any]]:
        rows = await self.db.fetch(
            'SELECT "query", COUNT(*) AS "searches", '
            'SUM(CASE WHEN "results" = 0 THEN 1 ELSE 0 END) AS "without_results", '
            'COUNT(DISTINCT "contact") AS "contacts" '
            'FROM "selfservice_interaction" WHERE "website" = ? AND "kind" = \'search\' '
            'GROUP BY "query" ORDER BY COUNT(*) DESC, "query" LIMIT ?', website_id, limit)
        return [{k: (int(v) if k != "query" else v) for k, v in r.items()} for r in rows]

    async def top_articles(self, website_id: int, limit: int = 20) -> list[dict[str, Any]]:
        rows = await self.db.fetch(
            'SELECT "article", COUNT(*) AS "views", COUNT(DISTINCT "contact") AS "contacts" '
            'FROM "selfservice_interaction" WHERE "website" = ? AND "kind" = \'view\' '
            'GROUP BY "article" ORDER BY COUNT(*) DESC, "article" LIMIT ?', website_id, limit)
        return [{k: int(v) for k, v in r.items()} for r in rows]
