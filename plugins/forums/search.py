"""Ranked full-text search over the forum posts a visitor may read: SQLite FTS5 on the
embedded default, PostgreSQL full-text search on PostgreSQL.

The index holds the visible posts (not hidden, not pending) of every website: FTS5
table ``forum_post_fts`` (rowid = post id) on SQLite, ``forum_post_search`` (generated
``tsvector``, GIN index) on PostgreSQL. Database triggers keep it in step with
``forum_post`` in the writing transaction — create, edit, hide, restore, approve and
delete, on every write path (migration ``2026-12-02T21:30``).

Searching is two steps, so that nothing a visitor may not read is ever shown: the index
yields candidate post ids in rank order (best first, in batches of :data:`BATCH`, at
most :data:`MAX_SCAN`); the posts are then re-read through ``records.list`` with the
visitor's principal, its permission predicate AND "not hidden, not pending", and their
threads too (readable, not waiting for approval). Candidates that do not come back are
dropped. Snippets are made only for the posts that are shown.
"""

from __future__ import annotations

import html
import re
from dataclasses import dataclass
from typing import Any

from portalis.core import InvalidInput, Principal
from portalis.core.conditions import And, Cmp, Condition, Or
from portalis.plugins.forums.markup import excerpt

__all__ = ["BATCH", "MAX_QUERY", "MAX_SCAN", "SearchPage", "mark", "ranked_ids",
           "search_posts", "snippets", "terms", "to_fts5_query", "to_websearch"]

BATCH = 100
MAX_SCAN = 1000  # candidates looked at for one page, whatever the visitor may read
MAX_QUERY = 200
START, STOP = "\x02", "\x03"  # highlight sentinels, replaced after HTML-escaping
_WORD = re.compile(r"\w+", re.UNICODE)


@dataclass
class SearchPage:
    results: list[dict[str, Any]]
    more: bool


def mark(text: str) -> str:
    """HTML-escape ``text`` and turn the highlight sentinels into ``<mark>`` tags."""
    return html.escape(text).replace(START, "<mark>").replace(STOP, "</mark>")


def terms(text: str) -> list[str]:
    """The words of visitor text, with ``OR`` between two words where the visitor wrote
    ``or``; every other character (quotes, ``*``, ``-``, ``^``, ``:``, parentheses, NUL,
    ...) only separates words. Both engines get the same terms, so a query means the
    same on SQLite and on PostgreSQL: all the words (stemmed), or either side of an
    ``or``."""
    parts: list[str] = []
    for word in _WORD.findall(text):
        if word.lower() == "or":
            if parts and parts[-1] != "OR":
                parts.append("OR")
            continue
        parts.append(word)
    while parts and parts[-1] == "OR":
        parts.pop()
    return parts


def to_fts5_query(text: str) -> str:
    """Visitor text -> an FTS5 query: every word quoted (no operator can be injected:
    ``NEAR``, ``AND``, ``NOT`` are plain words), words ANDed, ``OR`` from :func:`terms`."""
    return " ".join(p if p == "OR" else f'"{p}"' for p in terms(text))


def to_websearch(text: str) -> str:
    """Visitor text -> the text given to PostgreSQL's ``websearch_to_tsquery``: only
    words and ``or`` (no quotes for phrases, no ``-`` for NOT), like :func:`to_fts5_query`."""
    return " ".join(p.lower() if p == "OR" else p for p in terms(text))


def _ids_in(column: str, ids: list[int]) -> Condition:
    return Or(tuple(Cmp(column, "eq", i) for i in ids))


async def ranked_ids(db: Any, website_id: int, text: str, offset: int,
                     limit: int) -> list[int]:
    """Ids of the website's visible posts matching ``text``, best first."""
    if db.dialect == "sqlite":
        query = to_fts5_query(text)
        if not query:
            return []
        rows = await db.fetch(
            "SELECT rowid AS id FROM forum_post_fts WHERE forum_post_fts MATCH ? "
            "AND website = ? ORDER BY bm25(forum_post_fts), rowid DESC LIMIT ? OFFSET ?",
            query, website_id, limit, offset)
    else:
        query = to_websearch(text)
        if not query:
            return []
        rows = await db.fetch(
            "SELECT s.post_id AS id FROM forum_post_search s, "
            "websearch_to_tsquery('english'::regconfig, ?) q "
            "WHERE s.website = ? AND s.document @@ q "
            "ORDER BY ts_rank(s.document, q) DESC, s.post_id DESC LIMIT ? OFFSET ?",
            query, website_id, limit, offset)
    return [int(r["id"]) for r in rows]


async def snippets(db: Any, website_id: int, text: str, ids: list[int]) -> dict[int, str]:
    """Highlighted HTML snippets (escaped, ``<mark>`` around matches) of these posts."""
    if not ids:
        return {}
    marks = ", ".join("?" for _ in ids)
    if db.dialect == "sqlite":
        rows = await db.fetch(
            "SELECT rowid AS id, snippet(forum_post_fts, 0, ?, ?, '…', 24) AS snippet "
            "FROM forum_post_fts WHERE forum_post_fts MATCH ? AND website = ? "
            f"AND rowid IN ({marks})", START, STOP, to_fts5_query(text), website_id, *ids)
    else:
        options = (f"StartSel={START}, StopSel={STOP}, MaxWords=30, MinWords=12, "
                   'MaxFragments=2, FragmentDelimiter=" … "')
        rows = await db.fetch(
            "SELECT post_id AS id, ts_headline('english'::regconfig, body, "
            "websearch_to_tsquery('english'::regconfig, ?), ?) AS snippet "
            f"FROM forum_post_search WHERE website = ? AND post_id IN ({marks})",
            to_websearch(text), options, website_id, *ids)
    return {int(r["id"]): mark(r["snippet"] or "") for r in rows}


async def _readable(services: Any, principal: Principal, ids: list[int],
                    posts_shown: Condition | None, threads_shown: Condition
                    ) -> tuple[dict[int, dict[str, Any]], dict[int, str]]:
    """The candidates the principal may read, and the titles of their threads."""
    where: Condition = _ids_in("id", ids)
    if posts_shown is not None:
        where = And((where, posts_shown))
    page = await services.records.list(principal, "forum_post", where=where,
                                       columns=["thread", "body", "created"], limit=len(ids))
    posts = {r["id"]: r for r in page.rows}
    thread_ids = sorted({r["thread"] for r in page.rows})
    titles: dict[int, str] = {}
    if thread_ids:
        found = await services.records.list(
            principal, "forum_thread", where=And((_ids_in("id", thread_ids), threads_shown)),
            columns=["title"], limit=len(thread_ids))
        titles = {t["id"]: t["title"] for t in found.rows}
    return posts, titles


async def search_posts(services: Any, principal: Principal, text: str, *,
                       posts_shown: Condition | None, threads_shown: Condition,
                       page: int = 1, size: int = 20) -> SearchPage:
    """One page (1-based) of ranked results the principal may read (module docstring).

    ``posts_shown`` / ``threads_shown`` are the plugin's visibility conditions, ANDed
    to the permission predicate when the candidates are re-read.
    """
    text = text.strip()
    if len(text) > MAX_QUERY:
        raise InvalidInput(f"search text is longer than {MAX_QUERY} characters",
                           code="invalid_search")
    if page < 1:
        raise InvalidInput("page must be 1 or more", code="invalid_value", column="page")
    if not text:
        return SearchPage([], False)
    db = services.db
    wanted = (page - 1) * size + size + 1
    found: list[tuple[dict[str, Any], str]] = []
    scanned = 0
    while len(found) < wanted and scanned < MAX_SCAN:
        batch = await ranked_ids(db, principal.website_id, text, scanned, BATCH)
        scanned += BATCH
        if not batch:
            break
        posts, titles = await _readable(services, principal, batch, posts_shown,
                                        threads_shown)
        found += [(posts[i], titles[posts[i]["thread"]]) for i in batch
                  if i in posts and posts[i]["thread"] in titles]
        if len(batch) < BATCH:
            break
    shown = found[(page - 1) * size:(page - 1) * size + size]
    marked = await snippets(db, principal.website_id, text, [p["id"] for p, _ in shown])
    results = [{"id": p["id"], "thread": p["thread"], "thread_title": title,
                "rank": (page - 1) * size + n + 1, "snippet_html": marked.get(p["id"], ""),
                "excerpt": excerpt(p["body"], 200), "created": p["created"],
                "url": f"/forums/threads/{p['thread']}#post-{p['id']}"}
               for n, (p, title) in enumerate(shown)]
    return SearchPage(results, len(found) > (page - 1) * size + size)
