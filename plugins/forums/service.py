"""The forums' rules, used by the routes, the record hooks, the CLI and tests.

Portal data (forums, threads, posts, contact names) is read and written only through
``services.records`` with the caller's principal, so table permissions decide what
anyone sees. A *moderator* of a thread is a principal that may ``write`` the thread
row (Power Pages' "Grant Change"). The private tables go through :mod:`.store`.
"""

from __future__ import annotations

from typing import Any

from portalis.core import (
    Conflict,
    InvalidInput,
    NotFound,
    PermissionDenied,
    Principal,
)
from portalis.core.conditions import And, Cmp, Condition, Or
from portalis.plugins.forums.markup import excerpt, quote_post, render_markdown
from portalis.plugins.forums.store import Store
from portalis.plugins.forums.tables import THREAD_TYPES

__all__ = [
    "SETTING_DEFAULTS",
    "author_names",
    "create_thread",
    "edit_post",
    "flag_post",
    "is_moderator",
    "mark_answer",
    "moderate_post",
    "moderate_thread",
    "reply",
    "subscribe",
    "visible_posts",
    "visible_threads",
    "vote",
]

SETTING_DEFAULTS = {
    # Posts of "new" contacts wait in the moderation queue until a moderator approves.
    "Forums/ModerateNewContacts": "false",
    # A contact is new until this many of its posts have been approved.
    "Forums/NewContactPostThreshold": "1",
    "Forums/PageSize": "20",
    "Forums/BodyMaxLength": "20000",
}


def system(principal: Principal) -> Principal:
    return Principal.for_system(principal.website_id)


def require_contact(principal: Principal) -> int:
    if principal.contact_id is None:
        raise PermissionDenied("sign in to do this", code="sign_in_required")
    return principal.contact_id


def ids_in(column: str, ids: list[int]) -> Condition:
    return Or(tuple(Cmp(column, "eq", i) for i in ids))


async def is_moderator(services: Any, principal: Principal, thread_id: int) -> bool:
    """Whether ``principal`` may write the thread (Grant Change = moderator)."""
    if principal.system:
        return True
    try:
        await services.records.get(principal, "forum_thread", thread_id, privilege="write",
                                   columns=["id"])
    except NotFound:
        return False
    return True


def visible_posts(principal: Principal, moderator: bool) -> Condition | None:
    """What readers see of posts: not hidden, not pending (authors see their pending).

    The recommended permissions (README.md) say the same with row filters on the
    readers' post grants, which also covers the kernel's ``/_api`` and ``/_lists``. The
    plugin's pages keep this condition anyway: a site's grants may predate ``filter``.
    """
    if moderator:
        return None
    shown = And((Cmp("hidden", "eq", False), Cmp("pending", "eq", False)))
    if principal.contact_id is None:
        return shown
    own_pending = And((Cmp("hidden", "eq", False), Cmp("author", "eq", principal.contact_id)))
    return Or((shown, own_pending))


def visible_threads(principal: Principal) -> Condition:
    """Threads readers see: not waiting for approval (their authors see theirs).

    Defence in depth, like :func:`visible_posts`: the recommended readers' thread grants
    are filtered ``pending eq false``."""
    shown = Cmp("pending", "eq", False)
    if principal.contact_id is None:
        return shown
    return Or((shown, Cmp("author", "eq", principal.contact_id)))


def clean_body(site: Any, body: Any) -> str:
    if not isinstance(body, str) or not body.strip():
        raise InvalidInput("the post is empty", code="required", column="body")
    limit = int(site.number("Forums/BodyMaxLength", 20000))
    if len(body) > limit:
        raise InvalidInput(f"the post is longer than {limit} characters", code="too_long",
                           column="body")
    return body


async def author_names(services: Any, principal: Principal, ids: set[int | None]
                       ) -> dict[int, str]:
    """Display names of post authors (first and last name only)."""
    wanted = sorted(i for i in ids if i is not None)
    if not wanted:
        return {}
    page = await services.records.list(system(principal), "contact", where=ids_in("id", wanted),
                                       columns=["firstname", "lastname"], limit=len(wanted))
    return {r["id"]: " ".join(p for p in (r.get("firstname"), r.get("lastname")) if p).strip()
            or f"Contact {r['id']}" for r in page.rows}


# -- threads and posts -------------------------------------------------------------


async def create_thread(services: Any, principal: Principal, forum_id: int, *, title: str,
                        body: str, thread_type: str = "discussion", sticky: bool = False,
                        locked: bool = False) -> tuple[dict[str, Any], dict[str, Any]]:
    """A new thread with its first post, in one transaction."""
    require_contact(principal)
    records = services.records
    await records.get(principal, "forum", forum_id, columns=["id"])
    async with services.db.transaction():
        thread = await records.create(principal, "forum_thread", {
            "forum": forum_id, "title": title, "thread_type": thread_type,
            "sticky": sticky, "locked": locked, "author": principal.contact_id})
        post = await records.create(principal, "forum_post", {
            "thread": thread["id"], "body": body, "author": principal.contact_id})
        thread = await records.get(system(principal), "forum_thread", thread["id"])
    return thread, post


async def reply(services: Any, principal: Principal, thread_id: int, body: str, *,
                quote: int | None = None) -> dict[str, Any]:
    """A reply; with ``quote`` the quoted post (which the replier must see) comes first."""
    require_contact(principal)
    records = services.records
    await records.get(principal, "forum_thread", thread_id, columns=["id"])
    if quote is not None:
        body = await quote_text(services, principal, quote) + (body or "")
    return await records.create(principal, "forum_post", {
        "thread": thread_id, "body": body, "author": principal.contact_id})


async def readable_post(services: Any, principal: Principal, post_id: int
                        ) -> tuple[dict[str, Any], bool]:
    """A post the principal may read and see (hidden/pending only for moderators)."""
    post = await services.records.get(principal, "forum_post", post_id)
    moderator = await is_moderator(services, principal, post["thread"])
    if not moderator and (post["hidden"] or (
            post["pending"] and post["author"] != principal.contact_id)):
        raise NotFound(f"no forum_post {post_id} that you may see", code="not_found")
    return post, moderator


async def quote_text(services: Any, principal: Principal, post_id: int) -> str:
    post, _ = await readable_post(services, principal, post_id)
    names = await author_names(services, principal, {post["author"]})
    return quote_post(names.get(post["author"], ""), post["body"])


async def edit_post(services: Any, principal: Principal, post_id: int,
                    body: str) -> dict[str, Any]:
    """Change a post's text (its author, within write scope; or a moderator)."""
    return await services.records.update(principal, "forum_post", post_id, {"body": body})  # type: ignore[no-any-return]


async def mark_answer(services: Any, principal: Principal, post_id: int,
                      answer: bool = True) -> dict[str, Any]:
    """Mark (or unmark) a post as the thread's answer: thread author or moderator only;
    never the first post; never on a locked thread."""
    contact_id = require_contact(principal)
    post, moderator = await readable_post(services, principal, post_id)
    thread = await services.records.get(principal, "forum_thread", post["thread"])
    if not moderator and thread["author"] != contact_id:
        raise PermissionDenied("only the thread's author or a moderator can mark the answer",
                               code="answer_denied")
    check_answer(thread, post, answer)
    if moderator:
        return await services.records.update(principal, "forum_post", post_id,  # type: ignore[no-any-return]
                                             {"answer": answer})
    async with services.db.transaction():
        row = await services.records.update(system(principal), "forum_post", post_id,
                                            {"answer": answer})
        await Store(services).audit(principal.website_id, contact_id,
                                    "answer" if answer else "unanswer", "forum_post", post_id,
                                    "by the thread's author")
    return row  # type: ignore[no-any-return]


def check_answer(thread: dict[str, Any], post: dict[str, Any], answer: bool) -> None:
    if thread["locked"]:
        raise Conflict("the thread is locked: its answer cannot change", code="thread_locked")
    if answer and post.get("first"):
        raise InvalidInput("the first post of a thread cannot be its answer",
                           code="first_post_answer")
    if answer and (post.get("hidden") or post.get("pending")):
        raise InvalidInput("a hidden or unapproved post cannot be the answer",
                           code="invalid_answer")


async def vote(services: Any, principal: Principal, post_id: int) -> int:
    """One helpful vote per contact per post (a second one is a 409)."""
    contact_id = require_contact(principal)
    post, _ = await readable_post(services, principal, post_id)
    if post["author"] == contact_id:
        raise InvalidInput("you cannot vote for your own post", code="own_post")
    store = Store(services)
    await store.vote(principal.website_id, post_id, contact_id)
    return (await store.vote_counts([post_id])).get(post_id, 0)


async def flag_post(services: Any, principal: Principal, post_id: int, reason: str) -> None:
    contact_id = require_contact(principal)
    await readable_post(services, principal, post_id)
    await Store(services).flag(principal.website_id, post_id, contact_id, reason[:500])


MODERATION_ACTIONS = {"hide": {"hidden": True}, "restore": {"hidden": False},
                      "approve": {"pending": False}}
THREAD_ACTIONS = {"lock": {"locked": True}, "unlock": {"locked": False},
                  "stick": {"sticky": True}, "unstick": {"sticky": False}}


async def moderate_post(services: Any, principal: Principal, post_id: int,
                        action: str) -> dict[str, Any]:
    """hide / restore / approve a post (moderators; the record hook audits it)."""
    values = MODERATION_ACTIONS.get(action)
    if values is None:
        raise InvalidInput(f"unknown action {action!r}", code="invalid_action")
    require_contact(principal)
    post = await services.records.get(principal, "forum_post", post_id, columns=["thread"])
    if not await is_moderator(services, principal, post["thread"]):
        raise PermissionDenied("only a moderator can do this", code="moderator_only")
    async with services.db.transaction():
        row = await services.records.update(principal, "forum_post", post_id, values)
        if action in ("hide", "restore"):
            await Store(services).resolve_flags(post_id)
    return row  # type: ignore[no-any-return]


async def moderate_thread(services: Any, principal: Principal, thread_id: int, action: str,
                          forum: int | None = None) -> dict[str, Any]:
    """lock / unlock / stick / unstick / move a thread (moderators)."""
    require_contact(principal)
    if action == "move":
        if forum is None:
            raise InvalidInput("name the forum to move the thread to", code="required",
                               column="forum")
        values: dict[str, Any] = {"forum": forum}
    else:
        found = THREAD_ACTIONS.get(action)
        if found is None:
            raise InvalidInput(f"unknown action {action!r}", code="invalid_action")
        values = dict(found)
    await services.records.get(principal, "forum_thread", thread_id, columns=["id"])
    if not await is_moderator(services, principal, thread_id):
        raise PermissionDenied("only a moderator can do this", code="moderator_only")
    return await services.records.update(principal, "forum_thread", thread_id, values)  # type: ignore[no-any-return]


# -- subscriptions -----------------------------------------------------------------


async def subscribe(services: Any, principal: Principal, kind: str, target: int) -> int:
    contact_id = require_contact(principal)
    if kind not in ("forum", "thread"):
        raise InvalidInput("subscribe to a forum or a thread", code="invalid_value")
    await services.records.get(principal, "forum" if kind == "forum" else "forum_thread",
                               target, columns=["id"])
    return await Store(services).subscribe(principal.website_id, contact_id, kind, target)


# -- the record hooks' rules ---------------------------------------------------------


async def _is_new_contact(services: Any, principal: Principal, site: Any) -> bool:
    threshold = max(0, int(site.number("Forums/NewContactPostThreshold", 1)))
    if threshold == 0:
        return False
    page = await services.records.list(
        system(principal), "forum_post", columns=["id"], limit=threshold,
        where=And((Cmp("author", "eq", principal.contact_id), Cmp("pending", "eq", False),
                   Cmp("hidden", "eq", False))))
    return len(page.rows) < threshold


async def before_post_write(action: str, values: dict[str, Any],
                            existing: dict[str, Any] | None, principal: Principal,
                            services: Any) -> None:
    if action == "delete":
        return
    sysp = system(principal)
    site = await services.sites.get(principal.website_id, refresh=False)
    store = Store(services)
    if action == "create":
        values["body"] = clean_body(site, values.get("body"))
        values["body_html"] = render_markdown(values["body"])
        thread = await services.records.get(sysp, "forum_thread", values["thread"])
        first = await services.records.list(sysp, "forum_post", columns=["id"], limit=1,
                                            where=Cmp("thread", "eq", thread["id"]))
        values["first"] = not first.rows
        if principal.system:
            values.setdefault("pending", False)
            if values.get("answer"):
                check_answer(thread, values, True)
            return
        contact_id = require_contact(principal)
        moderator = await is_moderator(services, principal, thread["id"])
        if thread["pending"] and not moderator and thread["author"] != contact_id:
            raise NotFound(f"no forum_thread {thread['id']} that you may see",
                           code="not_found")
        if thread["locked"] and not moderator:
            raise PermissionDenied("this thread is locked", code="thread_locked")
        if values.get("author") not in (None, contact_id):
            raise PermissionDenied("a post's author is the contact who writes it",
                                   code="author_denied")
        values["author"] = contact_id
        values["answer"] = False
        if not moderator:
            values["hidden"] = False
        values["pending"] = bool(
            not moderator and site.flag("Forums/ModerateNewContacts")
            and await _is_new_contact(services, principal, site))
        if values["first"] and values["pending"]:
            # a thread whose opening post waits for approval waits with it
            await services.records.update(sysp, "forum_thread", thread["id"], {"pending": True})
        return
    assert existing is not None
    for fixed in ("thread", "first", "author"):
        if fixed in values and values[fixed] != existing.get(fixed) and not principal.system:
            raise InvalidInput(f"{fixed} of a post cannot be changed", code="read_only_column",
                               column=fixed)
    values.pop("first", None)
    if "body" in values:
        values["body"] = clean_body(site, values["body"])
    values["body_html"] = render_markdown(values.get("body", existing["body"]))
    changed = {k for k, v in values.items() if k != "body_html" and existing.get(k) != v}
    thread = await services.records.get(sysp, "forum_thread", existing["thread"])
    moderator = await is_moderator(services, principal, existing["thread"])
    if not moderator:
        if changed - {"body"}:
            raise PermissionDenied(
                f"only a moderator can change {', '.join(sorted(changed - {'body'}))}",
                code="moderator_only")
        if thread["locked"]:
            raise PermissionDenied("this thread is locked", code="thread_locked")
        if existing["hidden"]:
            raise PermissionDenied("a moderator hid this post", code="post_hidden")
    if "answer" in changed:
        merged = {**existing, **values}
        check_answer(thread, merged, bool(values["answer"]))
        others = await services.records.list(
            sysp, "forum_post", columns=["id"], limit=1,
            where=And((Cmp("thread", "eq", thread["id"]), Cmp("answer", "eq", True),
                       Cmp("id", "ne", existing["id"]))))
        answered = bool(values["answer"]) or bool(others.rows)
        if answered != thread["answered"]:
            await services.records.update(sysp, "forum_thread", thread["id"],
                                          {"answered": answered})
    if "pending" in changed and not values["pending"]:
        if existing["first"] and thread["pending"]:
            await services.records.update(sysp, "forum_thread", thread["id"], {"pending": False})
            thread = {**thread, "pending": False}
        await _published(services, sysp, thread, existing["id"], existing["author"])
    if not principal.system:
        for column, on, off in (("hidden", "hide", "restore"), ("pending", "unapprove", "approve"),
                                ("answer", "answer", "unanswer")):
            if column in changed:
                await store.audit(principal.website_id, principal.contact_id,
                                  on if values[column] else off, "forum_post", existing["id"])
        if "body" in changed and existing["author"] != principal.contact_id:
            await store.audit(principal.website_id, principal.contact_id, "edit", "forum_post",
                              existing["id"])


async def _published(services: Any, sysp: Principal, thread: dict[str, Any], post_id: int,
                     author: int | None) -> None:
    """A post became visible: count it on its thread and queue notifications."""
    from portalis.core.codec import utcnow

    await services.records.update(sysp, "forum_thread", thread["id"], {
        "post_count": int(thread["post_count"] or 0) + 1, "last_post_at": utcnow()})
    await Store(services).enqueue(sysp.website_id, post_id, thread["id"], thread["forum"],
                                  author)


async def after_post_write(action: str, row: dict[str, Any], principal: Principal,
                           services: Any) -> None:
    if action == "create" and not row["pending"] and not row["hidden"]:
        sysp = system(principal)
        thread = await services.records.get(sysp, "forum_thread", row["thread"])
        await _published(services, sysp, thread, row["id"], row["author"])


THREAD_SYSTEM_COLUMNS = ("answered", "pending", "post_count", "last_post_at")


async def before_thread_write(action: str, values: dict[str, Any],
                              existing: dict[str, Any] | None, principal: Principal,
                              services: Any) -> None:
    if action == "delete":
        return
    if "thread_type" in values and values["thread_type"] not in THREAD_TYPES:
        raise InvalidInput(f"thread_type must be one of {', '.join(THREAD_TYPES)}",
                           code="invalid_value", column="thread_type")
    if "title" in values:
        values["title"] = " ".join((values["title"] or "").split())
    if action == "create":
        if not values.get("title"):
            raise InvalidInput("the thread needs a title", code="required", column="title")
        if principal.system:
            return
        contact_id = require_contact(principal)
        if values.get("author") not in (None, contact_id):
            raise PermissionDenied("a thread's author is the contact who starts it",
                                   code="author_denied")
        values["author"] = contact_id
        for column in THREAD_SYSTEM_COLUMNS:
            values.pop(column, None)
        return
    assert existing is not None
    if principal.system:
        return
    changed = {k for k, v in values.items() if existing.get(k) != v}
    blocked = changed & {*THREAD_SYSTEM_COLUMNS, "author"}
    if blocked:
        raise InvalidInput(f"{', '.join(sorted(blocked))} of a thread is set by the portal",
                           code="read_only_column")
    store = Store(services)
    for column, on, off in (("locked", "lock", "unlock"), ("sticky", "stick", "unstick")):
        if column in changed:
            await store.audit(principal.website_id, principal.contact_id,
                              on if values[column] else off, "forum_thread", existing["id"])
    if "forum" in changed:
        await store.audit(principal.website_id, principal.contact_id, "move", "forum_thread",
                          existing["id"], f"forum {existing['forum']} -> {values['forum']}")
    if changed & {"title", "thread_type"}:
        await store.audit(principal.website_id, principal.contact_id, "edit", "forum_thread",
                          existing["id"])


async def after_thread_write(action: str, row: dict[str, Any], principal: Principal,
                             services: Any) -> None:
    """Sticky, locked and announcement threads are for moderators only."""
    if action != "create" or principal.system:
        return
    special = row["sticky"] or row["locked"] or row["thread_type"] == "announcement"
    if special and not await is_moderator(services, principal, row["id"]):
        raise PermissionDenied("only a moderator can start a sticky, locked or announcement "
                               "thread", code="moderator_only")


def post_excerpt(post: dict[str, Any], length: int = 300) -> str:
    return excerpt(post["body"], length)
