"""The forums' rules that permissions cannot say, enforced by the record hooks on every
write path (the plugin's routes, ``/_api``, site apply): sanitised HTML, authorship,
locked threads, the moderation queue, answers, and the moderators' audit trail.

A thread's ``post_count`` and ``last_post_at`` and the search index are not kept here:
database triggers keep them in the writing transaction (see :mod:`.search`).
"""

from __future__ import annotations

from typing import Any

from portalis.core import InvalidInput, NotFound, PermissionDenied, Principal
from portalis.core.conditions import And, Cmp
from portalis.plugins.forums.markup import render_markdown
from portalis.plugins.forums.service import (
    check_answer,
    clean_body,
    is_moderator,
    require_contact,
    system,
)
from portalis.plugins.forums.store import Store
from portalis.plugins.forums.tables import THREAD_TYPES

__all__ = ["after_post_write", "after_thread_write", "before_post_write",
           "before_thread_write"]


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
    """A post became visible: queue notifications. (The database counts it on its
    thread — ``post_count`` and ``last_post_at`` — in the same transaction, by trigger.)"""
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
