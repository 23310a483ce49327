"""HTTP routes of the forums plugin, under ``/forums``: HTML (Liquid) or JSON.

Every handler reaches forums, threads and posts through ``records`` with the request's
principal; JSON is answered when the request asks for ``application/json``. State
changes take JSON or form bodies (with the CSRF token) and answer JSON, or redirect
(303) back to the page for HTML forms.
"""

from __future__ import annotations

import datetime as dt
from typing import Any
from urllib.parse import urlencode
from xml.sax.saxutils import escape

from litestar import MediaType, Request, Response, delete, get, patch, post
from litestar.utils.scope.state import ScopeState
from markupsafe import Markup

from portalis.core import InvalidInput, NotFound, PermissionDenied, Principal
from portalis.core.conditions import And, Cmp, Condition
from portalis.core.records import Records
from portalis.core.services import Services
from portalis.core.sites import Site
from portalis.core.web.errors import wants_json
from portalis.core.web.pages import render_page
from portalis.plugins.forums import service
from portalis.plugins.forums.markup import excerpt, sanitize_html
from portalis.plugins.forums.notify import verify_unsubscribe
from portalis.plugins.forums.store import Store

__all__ = ["all_routes"]

Req = Request[Any, Any, Any]


# -- helpers -----------------------------------------------------------------------


def _plain(value: Any) -> Any:
    if isinstance(value, dt.datetime | dt.date):
        return value.isoformat()
    if isinstance(value, Markup):
        return str(value)
    if isinstance(value, dict):
        return {k: _plain(v) for k, v in value.items() if not k.startswith("_")}
    if isinstance(value, list | tuple):
        return [_plain(v) for v in value]
    return value


def _csrf(request: Req) -> str:
    token = ScopeState.from_scope(request.scope).csrf_token
    return token if isinstance(token, str) else ""


def respond(request: Req, template: str, title: str, data: dict[str, Any],
            status: int = 200) -> Response[Any]:
    if wants_json(request):
        return Response(_plain(data), status_code=status, media_type=MediaType.JSON)
    html = render_page(request, template, title=title, csrf_token=_csrf(request), **data)
    return Response(html, status_code=status, media_type=MediaType.HTML)


def done(request: Req, data: dict[str, Any], back: str, status: int = 200) -> Response[Any]:
    """After a change: JSON, or a redirect for an HTML form."""
    if "json" in request.headers.get("content-type", "") or wants_json(request):
        return Response(_plain(data), status_code=status, media_type=MediaType.JSON)
    return Response(b"", status_code=303, headers={"location": back})


async def body_of(request: Req) -> dict[str, Any]:
    if "json" in request.headers.get("content-type", ""):
        try:
            data = await request.json()
        except Exception:
            raise InvalidInput("the body is not valid JSON", code="invalid_body") from None
        if not isinstance(data, dict):
            raise InvalidInput("the body must be a JSON object", code="invalid_body")
        return data
    form = await request.form()
    return {k: v for k, v in form.items() if isinstance(v, str) and k != "_csrf_token"}


def _text(data: dict[str, Any], name: str, limit: int = 100_000) -> str:
    value = data.get(name)
    return value[:limit] if isinstance(value, str) else ""


def _flag(data: dict[str, Any], name: str) -> bool:
    value = data.get(name)
    if isinstance(value, bool):
        return value
    return isinstance(value, str) and value.strip().lower() in ("true", "1", "on", "yes")


def _int(data: dict[str, Any], name: str) -> int | None:
    value = data.get(name)
    if value in (None, ""):
        return None
    try:
        return int(value)  # type: ignore[arg-type]
    except (TypeError, ValueError):
        raise InvalidInput(f"{name} must be a number", code="invalid_value",
                           column=name) from None


def page_size(site: Site) -> int:
    return max(1, min(100, int(site.number("Forums/PageSize", 20))))


def thread_view(row: dict[str, Any], names: dict[int, str]) -> dict[str, Any]:
    return {**row, "url": f"/forums/threads/{row['id']}",
            "author_name": names.get(row.get("author") or -1, "")}


async def _threads(services: Services, principal: Principal, site: Site, request: Req, *,
                   where: Condition | None, cursor: str | None, base: str,
                   sticky_first: bool = False) -> dict[str, Any]:
    order = [("sticky", True)] if sticky_first else []
    order.append(("last_post_at", True))
    # Threads waiting for approval: for their authors and the moderators of their forum
    # (row-level Write), nobody else.
    may_moderate = await services.records.can(principal, "forum_thread", "write")
    conds = [c for c in (where, None if may_moderate else service.visible_threads(principal))
             if c is not None]
    page = await services.records.list(principal, "forum_thread",
                                       where=And(tuple(conds)) if conds else None,
                                       order_by=order, limit=page_size(site), cursor=cursor,
                                       row_privileges=("write",))
    rows = [r for r in page.rows if not r["pending"] or r["_can_write"]
            or (principal.contact_id is not None and r["author"] == principal.contact_id)]
    names = await service.author_names(services, principal, {r["author"] for r in rows})
    sep = "&" if "?" in base else "?"

    def link(cur: str | None) -> str | None:
        return None if cur is None else f"{base}{sep}{urlencode({'cursor': cur})}"

    return {"threads": [thread_view(r, names) for r in rows],
            "next": link(page.next_cursor), "previous": link(page.prev_cursor)}


# -- forums and threads --------------------------------------------------------------


@get("/forums", name="forums_index")
async def forums_index(request: Req, services: Services, principal: Principal) -> Response[Any]:
    page = await services.records.list(principal, "forum", limit=500,
                                       order_by=[("category", False), ("position", False),
                                                 ("title", False)])
    groups: list[dict[str, Any]] = []
    for row in page.rows:
        if not groups or groups[-1]["category"] != row["category"]:
            groups.append({"category": row["category"], "forums": []})
        groups[-1]["forums"].append({**row, "url": f"/forums/{row['id']}"})
    return respond(request, "forums/index.liquid", "Forums", {"groups": groups})


@get("/forums/{forum_id:int}", name="forums_forum")
async def forum_page(request: Req, forum_id: int, services: Services, principal: Principal,
                     site: Site, cursor: str | None = None) -> Response[Any]:
    forum = await services.records.get(principal, "forum", forum_id)
    data = await _threads(services, principal, site, request,
                          where=Cmp("forum", "eq", forum_id), cursor=cursor,
                          base=f"/forums/{forum_id}", sticky_first=True)
    can_post = principal.contact_id is not None and await services.records.can(
        principal, "forum_thread", "create")
    return respond(request, "forums/forum.liquid", forum["title"],
                   {"forum": forum, "can_post": can_post, **data})


@post("/forums/{forum_id:int}/threads", name="forums_new_thread", status_code=201)
async def new_thread(request: Req, forum_id: int, services: Services,
                     principal: Principal) -> Response[Any]:
    data = await body_of(request)
    thread, first = await service.create_thread(
        services, principal, forum_id, title=_text(data, "title", 200),
        body=_text(data, "body"), thread_type=_text(data, "thread_type") or "discussion",
        sticky=_flag(data, "sticky"), locked=_flag(data, "locked"))
    return done(request, {"thread": thread, "post": first},
                f"/forums/threads/{thread['id']}", 201)


@get("/forums/threads/{thread_id:int}", name="forums_thread")
async def thread_page(request: Req, thread_id: int, services: Services, principal: Principal,
                      site: Site, cursor: str | None = None,
                      quote: int | None = None) -> Response[Any]:
    records = services.records
    thread = await records.get(principal, "forum_thread", thread_id)
    forum = await records.get(principal, "forum", thread["forum"],
                              columns=["title", "category"])
    moderator = await service.is_moderator(services, principal, thread_id)
    if thread["pending"] and not moderator and (
            principal.contact_id is None or thread["author"] != principal.contact_id):
        raise NotFound(f"no forum_thread {thread_id} that you may see", code="not_found")
    cond: list[Condition] = [Cmp("thread", "eq", thread_id)]
    shown = service.visible_posts(principal, moderator)
    if shown is not None:
        cond.append(shown)
    page = await records.list(principal, "forum_post", where=And(tuple(cond)),
                              order_by=[("created", False)], limit=page_size(site),
                              cursor=cursor, row_privileges=("write",))
    ids = [r["id"] for r in page.rows]
    store = Store(services)
    votes = await store.vote_counts(ids)
    mine = await store.voted(ids, principal.contact_id)
    names = await service.author_names(services, principal,
                                       {r["author"] for r in page.rows} | {thread["author"]})
    is_author = principal.contact_id is not None and thread["author"] == principal.contact_id
    posts = []
    for r in page.rows:
        posts.append({
            **r, "body_html": Markup(sanitize_html(r["body_html"])),
            "author_name": names.get(r["author"] or -1, ""), "votes": votes.get(r["id"], 0),
            "voted": r["id"] in mine, "can_edit": r["_can_write"] and not thread["locked"],
            "can_answer": (moderator or is_author) and not r["first"]
            and not thread["locked"] and not r["hidden"] and not r["pending"],
        })
    draft = ""
    if quote is not None and principal.contact_id is not None:
        draft = await service.quote_text(services, principal, quote)
    base = f"/forums/threads/{thread_id}"

    def link(cur: str | None) -> str | None:
        return None if cur is None else f"{base}?{urlencode({'cursor': cur})}"

    can_reply = (principal.contact_id is not None and (moderator or not thread["locked"])
                 and await records.can(principal, "forum_post", "create"))
    return respond(request, "forums/thread.liquid", thread["title"], {
        "thread": thread_view(thread, names), "forum": {**forum, "url": f"/forums/{forum['id']}"},
        "posts": posts, "moderator": moderator, "can_reply": can_reply, "draft": draft,
        "next": link(page.next_cursor), "previous": link(page.prev_cursor)})


@post("/forums/threads/{thread_id:int}/posts", name="forums_reply", status_code=201)
async def reply_route(request: Req, thread_id: int, services: Services,
                      principal: Principal) -> Response[Any]:
    data = await body_of(request)
    row = await service.reply(services, principal, thread_id, _text(data, "body"),
                              quote=_int(data, "quote"))
    return done(request, {"post": row},
                f"/forums/threads/{thread_id}#post-{row['id']}", 201)


@post("/forums/threads/{thread_id:int}/{action:str}", name="forums_thread_action",
      status_code=200)
async def thread_action(request: Req, thread_id: int, action: str, services: Services,
                        principal: Principal) -> Response[Any]:
    data = await body_of(request)
    if action in ("subscribe", "unsubscribe"):
        return await _subscription_action(request, services, principal, "thread", thread_id,
                                          action, f"/forums/threads/{thread_id}")
    row = await service.moderate_thread(services, principal, thread_id, action,
                                        forum=_int(data, "forum"))
    return done(request, {"thread": row}, f"/forums/threads/{thread_id}")


@post("/forums/{forum_id:int}/{action:str}", name="forums_forum_action", status_code=200)
async def forum_action(request: Req, forum_id: int, action: str, services: Services,
                       principal: Principal) -> Response[Any]:
    if action not in ("subscribe", "unsubscribe"):
        raise NotFound(f"no forum action {action!r}", code="not_found")
    return await _subscription_action(request, services, principal, "forum", forum_id, action,
                                      f"/forums/{forum_id}")


async def _subscription_action(request: Req, services: Services, principal: Principal,
                               kind: str, target: int, action: str,
                               back: str) -> Response[Any]:
    if action == "subscribe":
        sub_id = await service.subscribe(services, principal, kind, target)
        return done(request, {"subscription": {"id": sub_id, "kind": kind, "target": target}},
                    back)
    contact_id = service.require_contact(principal)
    store = Store(services)
    found = await store.subscription_for(contact_id, kind, target)
    if found is not None:
        await store.unsubscribe(principal.website_id, found["id"])
    return done(request, {"unsubscribed": found is not None}, back)


# -- posts ---------------------------------------------------------------------------


@get("/forums/posts/{post_id:int}/quote", name="forums_quote")
async def quote_route(post_id: int, services: Services, principal: Principal) -> Response[Any]:
    service.require_contact(principal)
    text = await service.quote_text(services, principal, post_id)
    return Response({"quote": text}, media_type=MediaType.JSON)


@patch("/forums/posts/{post_id:int}", name="forums_edit")
async def edit_route(request: Req, post_id: int, services: Services,
                     principal: Principal) -> Response[Any]:
    data = await body_of(request)
    row = await service.edit_post(services, principal, post_id, _text(data, "body"))
    return done(request, {"post": row}, f"/forums/threads/{row['thread']}#post-{post_id}")


@post("/forums/posts/{post_id:int}/{action:str}", name="forums_post_action", status_code=200)
async def post_action(request: Req, post_id: int, action: str, services: Services,
                      principal: Principal) -> Response[Any]:
    data = await body_of(request)
    result: dict[str, Any]
    if action == "edit":
        row = await service.edit_post(services, principal, post_id, _text(data, "body"))
        result = {"post": row}
    elif action in ("answer", "unanswer"):
        row = await service.mark_answer(services, principal, post_id, action == "answer")
        result = {"post": row}
    elif action == "vote":
        result = {"post": post_id, "votes": await service.vote(services, principal, post_id)}
    elif action == "flag":
        await service.flag_post(services, principal, post_id, _text(data, "reason", 500))
        result = {"post": post_id, "flagged": True}
    elif action in service.MODERATION_ACTIONS:
        row = await service.moderate_post(services, principal, post_id, action)
        result = {"post": row}
    else:
        raise NotFound(f"no post action {action!r}", code="not_found")
    if isinstance(result["post"], dict):
        thread_id = result["post"]["thread"]
    else:
        found = await services.records.get(principal, "forum_post", post_id, columns=["thread"])
        thread_id = found["thread"]
    return done(request, result, f"/forums/threads/{thread_id}#post-{post_id}")


# -- lists, search, feed ---------------------------------------------------------------


@get("/forums/latest", name="forums_latest")
async def latest(request: Req, services: Services, principal: Principal, site: Site,
                 cursor: str | None = None) -> Response[Any]:
    data = await _threads(services, principal, site, request, where=None, cursor=cursor,
                          base="/forums/latest")
    return respond(request, "forums/threads.liquid", "Latest threads", data)


@get("/forums/unanswered", name="forums_unanswered")
async def unanswered(request: Req, services: Services, principal: Principal, site: Site,
                     cursor: str | None = None) -> Response[Any]:
    where = And((Cmp("thread_type", "eq", "question"), Cmp("answered", "eq", False)))
    data = await _threads(services, principal, site, request, where=where, cursor=cursor,
                          base="/forums/unanswered")
    return respond(request, "forums/threads.liquid", "Unanswered questions", data)


@get("/forums/mine", name="forums_mine")
async def mine(request: Req, services: Services, principal: Principal, site: Site,
               cursor: str | None = None) -> Response[Any]:
    contact_id = service.require_contact(principal)
    data = await _threads(services, principal, site, request,
                          where=Cmp("author", "eq", contact_id), cursor=cursor,
                          base="/forums/mine")
    return respond(request, "forums/threads.liquid", "My threads", data)


@get("/forums/search", name="forums_search")
async def search(request: Req, services: Services, principal: Principal, site: Site,
                 q: str = "", cursor: str | None = None) -> Response[Any]:
    """Posts the visitor may read (records' predicate AND visible AND the text)."""
    results: list[dict[str, Any]] = []
    nxt = None
    if q.strip():
        page = await services.records.list(
            principal, "forum_post", search=q, search_columns=("body",),
            where=service.visible_posts(principal, False), order_by=[("created", True)],
            limit=page_size(site), cursor=cursor)
        thread_ids = sorted({r["thread"] for r in page.rows})
        threads = {}
        if thread_ids:
            found = await services.records.list(
                principal, "forum_thread", where=service.ids_in("id", thread_ids),
                columns=["title"], limit=len(thread_ids))
            threads = {t["id"]: t["title"] for t in found.rows}
        results = [{"id": r["id"], "thread": r["thread"],
                    "thread_title": threads.get(r["thread"], ""),
                    "excerpt": excerpt(r["body"], 200), "created": r["created"],
                    "url": f"/forums/threads/{r['thread']}#post-{r['id']}"}
                   for r in page.rows if r["thread"] in threads]
        if page.next_cursor:
            nxt = f"/forums/search?{urlencode({'q': q, 'cursor': page.next_cursor})}"
    return respond(request, "forums/search.liquid", "Search the forums",
                   {"q": q, "results": results, "next": nxt})


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
        found = await services.records.list(principal, "forum_thread",
                                            where=service.ids_in("id", thread_ids),
                                            columns=["title"], limit=len(thread_ids))
        titles = {t["id"]: t["title"] for t in found.rows}
    base = f"https://{site.primary_host}"
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


# -- moderation ------------------------------------------------------------------------


@get("/forums/moderation", name="forums_moderation")
async def moderation(request: Req, services: Services, principal: Principal) -> Response[Any]:
    """Pending and flagged posts, and the audit trail, of threads the visitor moderates."""
    service.require_contact(principal)
    records: Records = services.records
    if not await records.can(principal, "forum_thread", "write"):
        raise PermissionDenied("only moderators see the moderation queue",
                               code="moderator_only")
    store = Store(services)
    pending = await records.list(principal, "forum_post", where=Cmp("pending", "eq", True),
                                 order_by=[("created", False)], limit=200)
    flags = await store.open_flags(principal.website_id)
    flagged_rows: list[dict[str, Any]] = []
    if flags:
        found = await records.list(principal, "forum_post",
                                   where=service.ids_in("id", [f["post"] for f in flags]),
                                   limit=len(flags))
        flagged_rows = found.rows
    candidates = {r["id"]: r for r in [*pending.rows, *flagged_rows]}
    moderated = {}
    for post_id, row in candidates.items():
        if await service.is_moderator(services, principal, row["thread"]):
            moderated[post_id] = row
    reasons = await store.flag_reasons(list(moderated))
    counts = {f["post"]: int(f["n"]) for f in flags}

    def item(row: dict[str, Any]) -> dict[str, Any]:
        return {"id": row["id"], "thread": row["thread"], "author": row["author"],
                "excerpt": excerpt(row["body"], 200), "hidden": row["hidden"],
                "pending": row["pending"], "flags": counts.get(row["id"], 0),
                "reasons": reasons.get(row["id"], []),
                "url": f"/forums/threads/{row['thread']}#post-{row['id']}"}

    audit = []
    for entry in await store.audit_entries(principal.website_id):
        table = entry["table_name"]
        try:
            await records.get(principal, table, entry["record_id"], privilege="write",
                              columns=["id"])
        except NotFound:
            continue
        audit.append({k: entry[k] for k in ("actor", "action", "table_name", "record_id",
                                              "detail", "created")})
    return respond(request, "forums/moderation.liquid", "Moderation", {
        "pending": [item(r) for r in pending.rows if r["id"] in moderated],
        "flagged": [item(r) for r in flagged_rows if r["id"] in moderated],
        "audit": audit})


# -- subscriptions ----------------------------------------------------------------------


@get("/forums/subscriptions", name="forums_subscriptions")
async def subscriptions(request: Req, services: Services, principal: Principal) -> Response[Any]:
    contact_id = service.require_contact(principal)
    rows = await Store(services).subscriptions_of(principal.website_id, contact_id)
    return respond(request, "forums/subscriptions.liquid", "Subscriptions", {
        "subscriptions": [{"id": r["id"], "kind": r["kind"], "target": r["target"]}
                          for r in rows]})


@post("/forums/subscriptions", name="forums_subscribe", status_code=201)
async def subscribe_route(request: Req, services: Services,
                          principal: Principal) -> Response[Any]:
    data = await body_of(request)
    kind = "thread" if data.get("thread") not in (None, "") else "forum"
    target = _int(data, kind)
    if target is None:
        raise InvalidInput("name a forum or a thread", code="required")
    sub_id = await service.subscribe(services, principal, kind, target)
    return done(request, {"id": sub_id, "kind": kind, "target": target},
                "/forums/subscriptions", 201)


@delete("/forums/subscriptions/{sub_id:int}", name="forums_subscription_delete",
        status_code=200)
async def delete_subscription(sub_id: int, services: Services,
                              principal: Principal) -> Response[Any]:
    contact_id = service.require_contact(principal)
    store = Store(services)
    row = await store.subscription(principal.website_id, sub_id)
    if row is None or row["contact"] != contact_id:
        raise NotFound(f"no subscription {sub_id}", code="not_found")
    await store.unsubscribe(principal.website_id, sub_id)
    return Response({"unsubscribed": True}, media_type=MediaType.JSON)


@get("/forums/unsubscribe", name="forums_unsubscribe_link")
async def unsubscribe_link(request: Req, services: Services, site: Site, s: str = "",
                           c: str = "", t: str = "") -> Response[Any]:
    """The one-click link of notification emails: no sign-in, HMAC-signed (subscription,
    contact, website); a link used twice says so instead of failing."""
    try:
        sub_id, contact_id = int(s), int(c)
    except ValueError:
        sub_id = contact_id = -1
    if not verify_unsubscribe(services.config.secret_key, site.id, sub_id, contact_id, t):
        raise PermissionDenied("this unsubscribe link is not valid", code="invalid_link")
    store = Store(services)
    row = await store.subscription(site.id, sub_id)
    removed = False
    if row is not None and row["contact"] == contact_id:
        removed = await store.unsubscribe(site.id, sub_id)
    return respond(request, "forums/unsubscribed.liquid", "Unsubscribed",
                   {"unsubscribed": True, "removed": removed})


def all_routes() -> list[Any]:
    return [forums_index, forum_page, new_thread, thread_page, reply_route, thread_action,
            forum_action, quote_route, edit_route, post_action, latest, unanswered, mine,
            search, feed, moderation, subscriptions, subscribe_route, delete_subscription,
            unsubscribe_link]
