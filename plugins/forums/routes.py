"""HTTP routes of the forums plugin, under ``/forums``: HTML (Liquid) or JSON.

Every handler reaches forums, threads and posts through ``records`` with the request's
principal; JSON is answered when the request asks for ``application/json``. State
changes take JSON, form or multipart bodies (with the CSRF token) and answer JSON, or
redirect (303) back to the page for HTML forms. This module holds forums, threads,
posts and attachments; :mod:`.lists` the lists, search and feed; :mod:`.moderation`
the moderation queue; :mod:`.subscriptions` subscriptions and the unsubscribe link.
"""

from __future__ import annotations

from typing import Any
from urllib.parse import urlencode

from litestar import MediaType, Response, delete, get, patch, post
from markupsafe import Markup

from portalis.core import NotFound, Principal
from portalis.core.conditions import And, Cmp, Condition
from portalis.core.services import Services
from portalis.core.sites import Site
from portalis.core.uploads import download_headers
from portalis.plugins.forums import attachments, service
from portalis.plugins.forums.markup import sanitize_html
from portalis.plugins.forums.store import Store
from portalis.plugins.forums.web import (
    Req,
    body_of,
    done,
    flag,
    integer,
    page_size,
    parts_of,
    respond,
    text,
    thread_view,
    threads_page,
    uploads_of,
)

__all__ = ["all_routes"]


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
    data = await threads_page(services, principal, site, where=Cmp("forum", "eq", forum_id),
                              cursor=cursor, base=f"/forums/{forum_id}", sticky_first=True)
    can_post = principal.contact_id is not None and await services.records.can(
        principal, "forum_thread", "create")
    return respond(request, "forums/forum.liquid", forum["title"],
                   {"forum": forum, "can_post": can_post, **data})


@post("/forums/{forum_id:int}/threads", name="forums_new_thread", status_code=201)
async def new_thread(request: Req, forum_id: int, services: Services, principal: Principal,
                     site: Site) -> Response[Any]:
    """A thread and its first post; files sent with it (multipart ``file``) are attached
    to the first post in the same transaction."""
    data, files = await parts_of(request)
    uploads = await uploads_of(site, files)
    async with services.db.transaction():
        thread, first = await service.create_thread(
            services, principal, forum_id, title=text(data, "title", 200),
            body=text(data, "body"), thread_type=text(data, "thread_type") or "discussion",
            sticky=flag(data, "sticky"), locked=flag(data, "locked"))
        attached = await attachments.attach(services, principal, first["id"], uploads) \
            if uploads else []
    return done(request, {"thread": thread, "post": first,
                          "attachments": [attachments.attachment_json(a) for a in attached]},
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
    is_author = principal.contact_id is not None and thread["author"] == principal.contact_id
    if thread["pending"] and not moderator and not is_author:
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
    files = await attachments.of_posts(services, principal, ids)
    names = await service.author_names(services, principal,
                                       {r["author"] for r in page.rows} | {thread["author"]})
    can_reply = (principal.contact_id is not None and (moderator or not thread["locked"])
                 and await records.can(principal, "forum_post", "create"))
    posts = []
    for r in page.rows:
        own = principal.contact_id is not None and r["author"] == principal.contact_id
        posts.append({
            **r, "body_html": Markup(sanitize_html(r["body_html"])),
            "author_name": names.get(r["author"] or -1, ""), "votes": votes.get(r["id"], 0),
            "voted": r["id"] in mine, "can_edit": r["_can_write"] and not thread["locked"],
            "can_answer": (moderator or is_author) and not r["first"]
            and not thread["locked"] and not r["hidden"] and not r["pending"],
            "attachments": files.get(r["id"], []),
            "can_attach": own and can_reply and not r["hidden"],
            "can_remove_files": moderator or (own and not thread["locked"]),
        })
    draft = ""
    if quote is not None and principal.contact_id is not None:
        draft = await service.quote_text(services, principal, quote)
    base = f"/forums/threads/{thread_id}"

    def link(cur: str | None) -> str | None:
        return None if cur is None else f"{base}?{urlencode({'cursor': cur})}"

    return respond(request, "forums/thread.liquid", thread["title"], {
        "thread": thread_view(thread, names), "forum": {**forum, "url": f"/forums/{forum['id']}"},
        "posts": posts, "moderator": moderator, "can_reply": can_reply, "draft": draft,
        "next": link(page.next_cursor), "previous": link(page.prev_cursor)})


@post("/forums/threads/{thread_id:int}/posts", name="forums_reply", status_code=201)
async def reply_route(request: Req, thread_id: int, services: Services, principal: Principal,
                      site: Site) -> Response[Any]:
    """A reply; files sent with it (multipart ``file``) are attached in the same
    transaction — a refused file stores nothing."""
    data, files = await parts_of(request)
    uploads = await uploads_of(site, files)
    async with services.db.transaction():
        row = await service.reply(services, principal, thread_id, text(data, "body"),
                                  quote=integer(data, "quote"))
        attached = await attachments.attach(services, principal, row["id"], uploads) \
            if uploads else []
    return done(request, {"post": row,
                          "attachments": [attachments.attachment_json(a) for a in attached]},
                f"/forums/threads/{thread_id}#post-{row['id']}", 201)


@post("/forums/threads/{thread_id:int}/{action:str}", name="forums_thread_action",
      status_code=200)
async def thread_action(request: Req, thread_id: int, action: str, services: Services,
                        principal: Principal) -> Response[Any]:
    data = await body_of(request)
    if action in ("subscribe", "unsubscribe"):
        from portalis.plugins.forums.subscriptions import subscription_action

        return await subscription_action(request, services, principal, "thread", thread_id,
                                         action, f"/forums/threads/{thread_id}")
    row = await service.moderate_thread(services, principal, thread_id, action,
                                        forum=integer(data, "forum"))
    return done(request, {"thread": row}, f"/forums/threads/{thread_id}")


# -- posts ---------------------------------------------------------------------------


@get("/forums/posts/{post_id:int}/quote", name="forums_quote")
async def quote_route(post_id: int, services: Services, principal: Principal) -> Response[Any]:
    service.require_contact(principal)
    quoted = await service.quote_text(services, principal, post_id)
    return Response({"quote": quoted}, media_type=MediaType.JSON)


@patch("/forums/posts/{post_id:int}", name="forums_edit")
async def edit_route(request: Req, post_id: int, services: Services,
                     principal: Principal) -> Response[Any]:
    data = await body_of(request)
    row = await service.edit_post(services, principal, post_id, text(data, "body"))
    return done(request, {"post": row}, f"/forums/threads/{row['thread']}#post-{post_id}")


@post("/forums/posts/{post_id:int}/{action:str}", name="forums_post_action", status_code=200)
async def post_action(request: Req, post_id: int, action: str, services: Services,
                      principal: Principal) -> Response[Any]:
    data = await body_of(request)
    result: dict[str, Any]
    if action == "edit":
        row = await service.edit_post(services, principal, post_id, text(data, "body"))
        result = {"post": row}
    elif action in ("answer", "unanswer"):
        row = await service.mark_answer(services, principal, post_id, action == "answer")
        result = {"post": row}
    elif action == "vote":
        result = {"post": post_id, "votes": await service.vote(services, principal, post_id)}
    elif action == "flag":
        await service.flag_post(services, principal, post_id, text(data, "reason", 500))
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


# -- attachments ---------------------------------------------------------------------


@post("/forums/posts/{post_id:int}/attachments", name="forums_attach", status_code=201)
async def attach_route(request: Req, post_id: int, services: Services, principal: Principal,
                       site: Site) -> Response[Any]:
    """Attach files (multipart ``file``, several allowed) to one's own post."""
    service.require_contact(principal)
    _, files = await parts_of(request)
    uploads = await uploads_of(site, files)
    rows = await attachments.attach(services, principal, post_id, uploads)
    post = await services.records.get(principal, "forum_post", post_id, columns=["thread"])
    return done(request, {"attachments": [attachments.attachment_json(r) for r in rows]},
                f"/forums/threads/{post['thread']}#post-{post_id}", 201)


@get("/forums/attachments/{attachment_id:int}", name="forums_attachment")
async def download_route(attachment_id: int, services: Services,
                         principal: Principal) -> Response[Any]:
    """The file, as a download, to whoever may read its post (404 for anyone else)."""
    meta, _ = await attachments.readable_attachment(services, principal, attachment_id)
    content = await attachments.AttachmentStore(services.db).content(principal.website_id,
                                                                     attachment_id)
    return Response(content, media_type=meta["content_type"],
                    headers=download_headers(meta["filename"]))


@delete("/forums/attachments/{attachment_id:int}", name="forums_attachment_delete",
        status_code=200)
async def delete_attachment_route(request: Req, attachment_id: int, services: Services,
                                  principal: Principal) -> Response[Any]:
    await attachments.delete_attachment(services, principal, attachment_id)
    return Response({"removed": attachment_id}, media_type=MediaType.JSON)


@post("/forums/attachments/{attachment_id:int}/delete", name="forums_attachment_remove",
      status_code=200)
async def remove_attachment_form(request: Req, attachment_id: int, services: Services,
                                 principal: Principal) -> Response[Any]:
    """The HTML form's way to remove an attachment (forms cannot send DELETE)."""
    meta, _ = await attachments.readable_attachment(services, principal, attachment_id)
    await attachments.delete_attachment(services, principal, attachment_id)
    post = await services.records.get(principal, "forum_post", meta["post"], columns=["thread"])
    return done(request, {"removed": attachment_id},
                f"/forums/threads/{post['thread']}#post-{meta['post']}")


def all_routes() -> list[Any]:
    from portalis.plugins.forums.lists import ROUTES as LIST_ROUTES
    from portalis.plugins.forums.moderation import ROUTES as MODERATION_ROUTES
    from portalis.plugins.forums.subscriptions import ROUTES as SUBSCRIPTION_ROUTES

    return [forums_index, forum_page, new_thread, thread_page, reply_route, thread_action,
            quote_route, edit_route, post_action, attach_route, download_route,
            delete_attachment_route, remove_attachment_form, *LIST_ROUTES,
            *MODERATION_ROUTES, *SUBSCRIPTION_ROUTES]
