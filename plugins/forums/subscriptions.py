"""Subscriptions to forums and threads, and the one-click unsubscribe link of the
notification emails."""

from __future__ import annotations

from typing import Any

from litestar import MediaType, Response, delete, get, post

from portalis.core import InvalidInput, NotFound, PermissionDenied, Principal
from portalis.core.services import Services
from portalis.core.sites import Site
from portalis.plugins.forums import service
from portalis.plugins.forums.notify import verify_unsubscribe
from portalis.plugins.forums.store import Store
from portalis.plugins.forums.web import Req, body_of, done, integer, respond

__all__ = ["ROUTES", "subscription_action"]


@post("/forums/{forum_id:int}/{action:str}", name="forums_forum_action", status_code=200)
async def forum_action(request: Req, forum_id: int, action: str, services: Services,
                       principal: Principal) -> Response[Any]:
    if action not in ("subscribe", "unsubscribe"):
        raise NotFound(f"no forum action {action!r}", code="not_found")
    return await subscription_action(request, services, principal, "forum", forum_id, action,
                                      f"/forums/{forum_id}")


async def subscription_action(request: Req, services: Services, principal: Principal,
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
    target = integer(data, kind)
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


ROUTES = [forum_action, subscriptions, subscribe_route, delete_subscription,
          unsubscribe_link]
