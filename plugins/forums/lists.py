"""The forums' lists (latest threads, unanswered questions, my threads), ranked
full-text search over posts, and the Atom feed — each only what the visitor may read."""

from __future__ import annotations

import datetime as dt
from typing import Any
from urllib.parse import urlencode
from xml.sax.saxutils import escape

from litestar import Response, get
from markupsafe import Markup

from portalis.core import Principal
from portalis.core.conditions import And, Cmp
from portalis.core.services import Services
from portalis.core.sites import Site
from portalis.plugins.forums import service
from portalis.plugins.forums.links import base_url
from portalis.plugins.forums.markup import excerpt
from portalis.plugins.forums.search import search_posts
from portalis.plugins.forums.web import Req, page_size, respond, threads_page

__all__ = ["ROUTES"]


@get("/forums/latest", name="forums_latest")
async def latest(request: Req, services: Services, principal: Principal, site: Site,
                 cursor: str | None = None) -> Response[Any]:
    data = await threads_page(services, principal, site, where=None, cursor=cursor,
                              base="/forums/latest")
    return respond(request, "forums/threads.liquid", "Latest threads", data)


@get("/forums/unanswered", name="forums_unanswered")
async def unanswered(request: Req, services: Services, principal: Principal, site: Site,
                     cursor: str | None = None) -> Response[Any]:
    where = And((Cmp("thread_type", "eq", "question"), Cmp("answered", "eq", False)))
    data = await threads_page(services, principal, site, where=where, cursor=cursor,
                              base="/forums/unanswered")
    return respond(request, "forums/threads.liquid", "Unanswered questions", data)


@get("/forums/mine", name="forums_mine")
async def mine(request: Req, services: Services, principal: Principal, site: Site,
               cursor: str | None = None) -> Response[Any]:
    contact_id = service.require_contact(principal)
    data = await threads_page(services, principal, site,
                              where=Cmp("author", "eq", contact_id), cursor=cursor,
                              base="/forums/mine")
    return respond(request, "forums/threads.liquid", "My threads", data)


@get("/forums/search", name="forums_search")
async def search(request: Req, services: Services, principal: Principal, site: Site,
                 q: str = "", page: int = 1) -> Response[Any]:
    """Ranked full-text search over the posts the visitor may read (see
    :mod:`.search`: the index proposes, ``records`` decides)."""
    found = await search_posts(services, principal, q,
                               posts_shown=service.visible_posts(principal, False),
                               threads_shown=service.visible_threads(principal),
                               page=page, size=page_size(site))
    results = [{**r, "snippet_html": Markup(r["snippet_html"])} for r in found.results]

    def link(n: int) -> str:
        return f"/forums/search?{urlencode({'q': q, 'page': n})}"

    return respond(request, "forums/search.liquid", "Search the forums", {
        "q": q, "results": results, "page": page,
        "next": link(page + 1) if found.more else None,
        "previous": link(page - 1) if page > 1 and q.strip() else None})


@get("/forums/feed", name="forums_feed")
async def feed(request: Req, services: Services, principal: Principal,
               site: Site) -> Response[Any]:
    """An Atom feed of the latest posts the visitor may read."""
    page = await services.records.list(
        principal, "forum_post", where=service.visible_posts(principal, False),
        order_by=[("created", True)], limit=20)
    thread_ids = sorted({r["thread"] for r in page.rows})
    titles: dict[int, str] = {}
    if thread_ids:
        found = await services.records.list(
            principal, "forum_thread",
            where=And((service.ids_in("id", thread_ids), service.visible_threads(principal))),
            columns=["title"], limit=len(thread_ids))
        titles = {t["id"]: t["title"] for t in found.rows}
    base = base_url(site)
    entries = []
    for r in page.rows:
        if r["thread"] not in titles:
            continue
        url = f"{base}/forums/threads/{r['thread']}#post-{r['id']}"
        entries.append(
            f"<entry><id>{escape(url)}</id><title>{escape(titles[r['thread']])}</title>"
            f"<link href=\"{escape(url)}\"/><updated>{r['modified'].isoformat()}</updated>"
            f"<summary>{escape(excerpt(r['body'], 300))}</summary></entry>")
    updated = page.rows[0]["modified"].isoformat() if page.rows else dt.datetime.now(
        dt.UTC).isoformat()
    xml = ('<?xml version="1.0" encoding="utf-8"?>\n'
           '<feed xmlns="http://www.w3.org/2005/Atom">'
           f"<id>{escape(base)}/forums/feed</id><title>{escape(site.title)} forums</title>"
           f"<updated>{updated}</updated>" + "".join(entries) + "</feed>")
    return Response(xml, media_type="application/atom+xml")


ROUTES = [latest, unanswered, mine, search, feed]
