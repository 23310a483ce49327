"""The forums' actions (threads, replies, edits, answers, votes, flags, moderation,
subscriptions) and the visibility rules, used by the routes, the record hooks
(:mod:`.rules`), the CLI and tests.

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
from portalis.plugins.forums.markup import excerpt, quote_post
from portalis.plugins.forums.store import Store

__all__ = [
    "SETTING_DEFAULTS",
    "author_names",
    "check_answer",
    "clean_body",
    "create_thread",
    "edit_post",
    "flag_post",
    "is_moderator",
    "mark_answer",
    "moderate_post",
    "moderate_thread",
    "quote_text",
    "readable_post",
    "reply",
    "require_contact",
    "subscribe",
    "system",
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


def post_excerpt(post: dict[str, Any], length: int = 300) -> str:
    return excerpt(post["body"], length)
