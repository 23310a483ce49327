"""Knowledge-base full-text search: SQLite FTS5 on the embedded default, PostgreSQL
full-text search on PostgreSQL.

The index is the plugin's own table (``selfservice_article_fts`` on SQLite, an FTS5
table whose rowid is the article id; ``selfservice_article_search`` on PostgreSQL, with
a generated, weighted ``tsvector`` and a GIN index). It is kept in step with ``article``
by the ``portalis_record_after_write`` hook (inside the writing transaction) and can be
rebuilt with ``portalis selfservice reindex``.

Searching is two steps so that nothing unreadable is ever shown: the index yields at
most :data:`MAX_CANDIDATES` candidate ids with their rank and highlighted snippets;
the rows themselves are then read through ``records.list`` under the principal's
permission predicate AND ``published eq true``. Candidates the principal may not read
simply do not come back.
"""

from __future__ import annotations

import html
import re
from dataclasses import dataclass
from typing import Any

from portalis.core.conditions import And, Cmp, Or
from portalis.core.principal import Principal

__all__ = [
    "DDL",
    "MAX_CANDIDATES",
    "Hit",
    "candidates",
    "ensure_index",
    "index_article",
    "rebuild",
    "search_articles",
    "to_fts5_query",
    "unindex_article",
]

MAX_CANDIDATES = 50
START, STOP = "\x02", "\x03"  # highlight sentinels, replaced after HTML-escaping

DDL: dict[str, list[str]] = {
    "sqlite": [
        "CREATE VIRTUAL TABLE IF NOT EXISTS selfservice_article_fts USING fts5("
        "title, body, website UNINDEXED, published UNINDEXED, "
        "tokenize = 'porter unicode61')",
    ],
    "postgres": [
        "CREATE TABLE IF NOT EXISTS selfservice_article_search ("
        ' article_id integer PRIMARY KEY REFERENCES "article"("id") ON DELETE CASCADE,'
        " website integer NOT NULL,"
        " published boolean NOT NULL DEFAULT false,"
        " title text NOT NULL DEFAULT '',"
        " body text NOT NULL DEFAULT '',"
        " document tsvector GENERATED ALWAYS AS ("
        "  setweight(to_tsvector('english'::regconfig, coalesce(title, '')), 'A') ||"
        "  setweight(to_tsvector('english'::regconfig, coalesce(body, '')), 'B')) STORED)",
        "CREATE INDEX IF NOT EXISTS selfservice_article_search_document "
        "ON selfservice_article_search USING GIN (document)",
        "CREATE INDEX IF NOT EXISTS selfservice_article_search_website "
        "ON selfservice_article_search (website)",
    ],
}


@dataclass
class Hit:
    id: int
    rank: float
    title_html: str
    snippet_html: str


def mark(text: str) -> str:
    """HTML-escape ``text`` and turn the highlight sentinels into ``<mark>`` tags."""
    escaped = html.escape(text)
    return escaped.replace(START, "<mark>").replace(STOP, "</mark>")


_WORD = re.compile(r"\w+", re.UNICODE)


def to_fts5_query(text: str) -> str:
    """Visitor text → an FTS5 query: every word quoted (no operators can be injected),
    words ANDed, the word ``or`` between two words makes an OR (as websearch does)."""
    words = _WORD.findall(text)
    parts: list[str] = []
    for word in words:
        if word.lower() == "or":
            if parts and parts[-1] != "OR":
                parts.append("OR")
            continue
        parts.append('"' + word.replace('"', "") + '"')
    while parts and parts[-1] == "OR":
        parts.pop()
    return " ".join(parts)


async def ensure_index(db: Any) -> None:
    """Create the index objects if missing (the migration does this; idempotent)."""
    async with db.transaction() as conn:
        for statement in DDL[db.dialect]:
            await conn.execute(statement)


async def index_article(conn: Any, dialect: str, row: dict[str, Any]) -> None:
    """(Re)index one article row (inside the writing transaction)."""
    await unindex_article(conn, dialect, row["id"])
    title, body = row.get("title") or "", row.get("body") or ""
    published = bool(row.get("published"))
    if dialect == "sqlite":
        await conn.execute(
            "INSERT INTO selfservice_article_fts (rowid, title, body, website, published) "
            "VALUES (?, ?, ?, ?, ?)", row["id"], title, body, row["website"], int(published))
    else:
        await conn.execute(
            "INSERT INTO selfservice_article_search (article_id, website, published, title, "
            "body) VALUES (?, ?, ?, ?, ?)", row["id"], row["website"], published, title, body)


async def unindex_article(conn: Any, dialect: str, article_id: int) -> None:
    if dialect == "sqlite":
        await conn.execute("DELETE FROM selfservice_article_fts WHERE rowid = ?", article_id)
    else:
        await conn.execute("DELETE FROM selfservice_article_search WHERE article_id = ?",
                           article_id)


async def rebuild(services: Any) -> int:
    """Rebuild the whole index from the article table of every website; returns the count.

    Articles are read through ``records`` with each website's system principal.
    """
    db = services.db
    await ensure_index(db)
    count = 0
    async with db.transaction() as conn:
        if db.dialect == "sqlite":
            await conn.execute("DELETE FROM selfservice_article_fts")
        else:
            await conn.execute("DELETE FROM selfservice_article_search")
        for website_id in await services.sites.all_ids():
            system = Principal.for_system(website_id)
            cursor = None
            while True:
                page = await services.records.list(
                    system, "article", limit=500, cursor=cursor,
                    columns=["title", "body", "published", "website"])
                for row in page.rows:
                    await index_article(conn, db.dialect, row)
                    count += 1
                cursor = page.next_cursor
                if cursor is None:
                    break
    return count


async def candidates(db: Any, website_id: int, text: str) -> list[Hit]:
    """Step one: the best :data:`MAX_CANDIDATES` published matches from the index."""
    if db.dialect == "sqlite":
        query = to_fts5_query(text)
        if not query:
            return []
        rows = await db.fetch(
            "SELECT rowid AS id, bm25(selfservice_article_fts, 10.0, 1.0) AS score, "
            "highlight(selfservice_article_fts, 0, ?, ?) AS title_hl, "
            "snippet(selfservice_article_fts, 1, ?, ?, '…', 24) AS snippet "
            "FROM selfservice_article_fts WHERE selfservice_article_fts MATCH ? "
            "AND website = ? AND published = 1 ORDER BY score, rowid LIMIT ?",
            START, STOP, START, STOP, query, website_id, MAX_CANDIDATES)
        return [Hit(r["id"], -float(r["score"]), mark(r["title_hl"]), mark(r["snippet"]))
                for r in rows]
    if not _WORD.search(text):
        return []
    options = (f"StartSel={START}, StopSel={STOP}, MaxWords=30, MinWords=12, "
               "MaxFragments=2, FragmentDelimiter=\" … \"")
    rows = await db.fetch(
        "SELECT s.article_id AS id, ts_rank(s.document, q) AS score, "
        "ts_headline('english'::regconfig, s.title, q, ?) AS title_hl, "
        "ts_headline('english'::regconfig, s.body, q, ?) AS snippet "
        "FROM selfservice_article_search s, websearch_to_tsquery('english'::regconfig, ?) q "
        "WHERE s.website = ? AND s.published AND s.document @@ q "
        "ORDER BY score DESC, s.article_id LIMIT ?",
        f"HighlightAll=true, StartSel={START}, StopSel={STOP}", options, text, website_id,
        MAX_CANDIDATES)
    return [Hit(r["id"], float(r["score"]), mark(r["title_hl"]), mark(r["snippet"]))
            for r in rows]


async def search_articles(services: Any, principal: Principal, text: str,
                          limit: int = 10) -> list[dict[str, Any]]:
    """Ranked, highlighted results the principal may read (see the module docstring)."""
    hits = await candidates(services.db, principal.website_id, text)
    if not hits:
        return []
    ids = Or(tuple(Cmp("id", "eq", h.id) for h in hits))
    page = await services.records.list(
        principal, "article", where=And((ids, Cmp("published", "eq", True))),
        limit=MAX_CANDIDATES, columns=["title", "modified"])
    readable = {r["id"]: r for r in page.rows}
    out = []
    for hit in hits:
        row = readable.get(hit.id)
        if row is None:
            continue
        out.append({"id": hit.id, "title": row["title"], "rank": round(hit.rank, 6),
                    "title_html": hit.title_html, "snippet_html": hit.snippet_html,
                    "url": f"/_kb/articles/{hit.id}",
                    "modified": row["modified"].isoformat() if row.get("modified") else None})
        if len(out) >= limit:
            break
    return out
