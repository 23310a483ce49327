"""Email notifications of new posts to subscribers, batched, with signed unsubscribe links.

New visible posts are queued (one row per subscriber and post) by the record hooks;
:func:`send_notifications` sends one email per subscriber with everything queued for
it. Each post is re-read through ``records`` with the *subscriber's* principal right
before sending, so a notification never reveals a post its recipient may not read now
(a role removed, a thread moved to a forum of another audience, a post hidden). The
hidden/pending check after that read stays even though the recommended readers' grants
filter those posts out: it also protects sites whose grants have no filter.
"""

from __future__ import annotations

import hashlib
import hmac
import logging
from collections import defaultdict
from typing import Any

from portalis.core import NotFound, Principal
from portalis.plugins.forums.links import link as portal_link
from portalis.plugins.forums.markup import excerpt
from portalis.plugins.forums.store import Store

__all__ = ["send_notifications", "unsubscribe_token", "unsubscribe_url", "verify_unsubscribe"]

log = logging.getLogger("portalis.forums")


def unsubscribe_token(secret: str, website_id: int, subscription_id: int,
                      contact_id: int) -> str:
    message = f"forums-unsubscribe:{website_id}:{subscription_id}:{contact_id}".encode()
    return hmac.new(secret.encode(), message, hashlib.sha256).hexdigest()


def verify_unsubscribe(secret: str, website_id: int, subscription_id: int, contact_id: int,
                       token: str) -> bool:
    """Constant-time check of a link's token."""
    expected = unsubscribe_token(secret, website_id, subscription_id, contact_id)
    return hmac.compare_digest(expected.encode(), token.encode("utf-8", "replace"))


def unsubscribe_url(site: Any, secret: str, subscription: dict[str, Any]) -> str:
    token = unsubscribe_token(secret, site.id, subscription["id"], subscription["contact"])
    return portal_link(site, "/forums/unsubscribe", s=subscription["id"],
                       c=subscription["contact"], t=token)


async def send_notifications(services: Any, *, website_id: int | None = None,
                             limit: int = 500) -> int:
    """Send what is queued (one email per subscriber per website); returns emails sent."""
    store = Store(services)
    websites = [website_id] if website_id is not None else await store.websites_with_queue()
    sent = 0
    for wid in websites:
        site = await services.sites.get(wid, refresh=False)
        claimed = await store.claim(wid, limit)
        per_contact: dict[int, list[dict[str, Any]]] = defaultdict(list)
        for row in claimed:
            per_contact[row["contact"]].append(row)
        for contact_id, items in per_contact.items():
            ids = [n["id"] for n in items]
            try:
                included = await _send_one(services, store, site, contact_id, items)
            except Exception:
                log.exception("forum notification to contact %s failed", contact_id)
                await store.finish(ids, "queued")
                continue
            await store.finish(included, "sent")
            await store.finish([i for i in ids if i not in included], "skipped")
            sent += int(bool(included))
    return sent


async def _send_one(services: Any, store: Store, site: Any, contact_id: int,
                    items: list[dict[str, Any]]) -> list[int]:
    """Send one email with the queued posts the contact may read; returns their ids."""
    records = services.records
    principal = await services.principal_for_contact(site, contact_id)
    if principal is None:
        return []
    contact = await records.get(Principal.for_system(site.id), "contact", contact_id,
                                columns=["email"])
    if not contact.get("email"):
        return []
    entries: list[str] = []
    included: list[int] = []
    subscriptions: dict[int, dict[str, Any]] = {}
    titles: set[str] = set()
    for item in items:
        subscription = await store.subscription(site.id, item["subscription"])
        if subscription is None or subscription["contact"] != contact_id:
            continue
        try:
            post = await records.get(principal, "forum_post", item["post"])
            thread = await records.get(principal, "forum_thread", post["thread"])
        except NotFound:
            continue
        if post["hidden"] or post["pending"] or thread["pending"]:
            continue
        subscriptions[subscription["id"]] = subscription
        included.append(item["id"])
        titles.add(thread["title"])
        link = portal_link(site, f"/forums/threads/{thread['id']}", f"post-{post['id']}")
        entries.append(f"{thread['title']}\n{excerpt(post['body'], 300)}\n{link}\n")
    if not entries:
        return []
    secret = services.config.secret_key
    links = [unsubscribe_url(site, secret, s) for s in subscriptions.values()]
    subject = (f"New post in {' '.join(next(iter(titles)).split())}" if len(titles) == 1
               else f"{len(entries)} new posts in forums you follow")
    body = (f"New posts on {site.title}:\n\n" + "\n".join(entries)
            + "\nStop these emails (no sign-in needed):\n" + "\n".join(links) + "\n")
    headers = {"List-Unsubscribe": f"<{links[0]}>"} if len(links) == 1 else {}
    await services.mailer.send(contact["email"], subject, body, website_id=site.id,
                               headers=headers)
    return included
