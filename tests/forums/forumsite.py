"""A forums site for the tests, a real SMTP server (aiosmtpd) and a driver for the portal.

Who may do what is said only with table permissions (the plugin README's recommended
set, DESIGN.md, Forums):

* ``lounge`` (``audience: everyone``): every visitor reads it; signed-in contacts start
  threads and reply (chain ``forums-everyone`` -> threads -> posts).
* ``general`` and ``support`` (``audience: partners``): only the ``partner`` role reads
  and posts (chain ``forums-partners``); the forum grants' ``filter`` keeps the two
  chains apart on the one ``forum`` table.
* readers' thread grants are filtered ``pending eq false`` and their post grants
  ``hidden eq false and pending eq false``; authors read their own pending threads
  (``own-pending-threads``) and read and edit their own posts (``own-posts``, filtered
  ``hidden eq false``).
* ``moderator`` role: an unfiltered chain with Write on threads and posts.
* Carol (no role) and anonymous visitors: the lounge only.
"""

from __future__ import annotations

import functools
import re
from collections.abc import AsyncIterator, Iterator
from contextlib import asynccontextmanager, contextmanager
from email.message import EmailMessage
from typing import Any

from tests.support.portal import Portal, running_portal
from tests.support.smtp import Mailbox as SmtpMailbox
from tests.support.smtp import smtp_server as run_smtp

__all__ = ["ALICE", "BOB", "CAROL", "DAVE", "JSON", "MO", "NEWBIE", "SITE", "ForumPortal",
           "forum_portal"]

ALICE = "alice@partner.example"
BOB = "bob@partner.example"
CAROL = "carol@customer.example"
DAVE = "dave@partner.example"
MO = "mo@portal.example"
NEWBIE = "newbie@partner.example"

SITE = """
website:
  key: community
  title: Contoso Community
  hosts: [testserver.local]

settings:
  Webapi/forum_post/enabled: true
  Webapi/forum_post/fields: thread,author,body,body_html,hidden,pending,answer
  Webapi/forum_thread/enabled: true
  Webapi/forum_thread/fields: forum,title,author,locked,sticky
  Webapi/forum/enabled: true
  Webapi/forum/fields: title,description,category,audience
  Forums/PageSize: 10
#SETTINGS#

roles:
  - key: partner
    name: Partners
  - key: moderator
    name: Forum moderators

contacts:
  - key: alice
    email: alice@partner.example
    firstname: Alice
    lastname: Archer
    roles: [partner]
  - key: bob
    email: bob@partner.example
    firstname: Bob
    lastname: Baker
    roles: [partner]
  - key: dave
    email: dave@partner.example
    firstname: Dave
    lastname: Dunn
    roles: [#DAVE#]
  - key: newbie
    email: newbie@partner.example
    firstname: Nora
    lastname: New
    roles: [partner]
  - key: carol
    email: carol@customer.example
    firstname: Carol
    lastname: Chen
  - key: mo
    email: mo@portal.example
    firstname: Mo
    lastname: Moderator
    roles: [moderator]

permissions:
  # The open forum(s): every visitor reads, signed-in contacts post (the record hooks
  # refuse writes without a contact). Readers never reach hidden or pending posts.
  - key: forums-everyone
    table: forum
    scope: global
    filter: "audience eq 'everyone'"
    privileges: [read, append_to]
    roles: [anonymous, authenticated]
  - key: threads-everyone
    table: forum_thread
    scope: parent
    parent: forums-everyone
    relationship: forum
    filter: "pending eq false"
    privileges: [read, create, append, append_to]
  - key: posts-everyone
    table: forum_post
    scope: parent
    parent: threads-everyone
    relationship: thread
    filter: "hidden eq false and pending eq false"
    privileges: [read, create, append]
  # The partners' forums: the same chain, for the partner role, on their audience only.
  - key: forums-partners
    table: forum
    scope: global
    filter: "audience eq 'partners'"
    privileges: [read, append_to]
    roles: [partner]
  - key: threads-partners
    table: forum_thread
    scope: parent
    parent: forums-partners
    relationship: forum
    filter: "pending eq false"
    privileges: [read, create, append, append_to]
  - key: posts-partners
    table: forum_post
    scope: parent
    parent: threads-partners
    relationship: thread
    filter: "hidden eq false and pending eq false"
    privileges: [read, create, append]
  # Authors see their own threads and posts while they wait for approval, and edit
  # their own posts; never a hidden one.
  - key: own-pending-threads
    table: forum_thread
    scope: contact
    relationship: author
    filter: "pending eq true"
    privileges: [read]
    roles: [authenticated]
  - key: own-posts
    table: forum_post
    scope: contact
    relationship: author
    filter: "hidden eq false"
    privileges: [read, write]
    roles: [authenticated]
  # Moderators: every forum, no filter ("Grant Change" = Write on threads and posts).
  - key: forums-moderators
    table: forum
    scope: global
    privileges: [read, append_to]
    roles: [moderator]
  - key: threads-moderators
    table: forum_thread
    scope: parent
    parent: forums-moderators
    relationship: forum
    privileges: [read, write, create, append, append_to]
  - key: posts-moderators
    table: forum_post
    scope: parent
    parent: threads-moderators
    relationship: thread
    privileges: [read, write, create, append]
  - key: own-contact
    table: contact
    scope: self
    privileges: [read]
    roles: [authenticated]

lists:
  - key: forum-posts
    title: All forum posts
    table: forum_post
    columns: [body, created]
    sort: created desc
    search: [body]
  - key: forum-threads
    title: All forum threads
    table: forum_thread
    columns: [title, created]
    sort: created desc
    search: [title]

records:
  forum:
    - key: general
      category: Partner network
      audience: partners
      title: Partner general discussion
      description: Pricing, roadmaps and deals for partners.
      position: 1
    - key: support
      category: Partner network
      audience: partners
      title: Partner technical support
      position: 2
    - key: lounge
      category: Community
      audience: everyone
      title: Community lounge
      description: Open to every visitor.
      position: 1
"""

JSON = {"accept": "application/json"}


class Mailbox(SmtpMailbox):
    """Every message the portal sent; ``unsubscribe_links`` reads a notification."""

    @staticmethod
    def unsubscribe_links(msg: EmailMessage) -> list[str]:
        return re.findall(r"https://\S+/forums/unsubscribe\?\S+", Mailbox.body(msg))


@contextmanager
def smtp_server() -> Iterator[tuple[Mailbox, int]]:
    with run_smtp(Mailbox()) as running:
        yield running


def site_text(*, settings: dict[str, str] | None = None, dave_partner: bool = True) -> str:
    lines = "\n".join(f"  {k}: {v!r}" for k, v in (settings or {}).items())
    return SITE.replace("#SETTINGS#", lines).replace("#DAVE#",
                                                      "partner" if dave_partner else "")


class ForumPortal:
    """The running portal, its mailbox, and short-hands for the forum routes."""

    def __init__(self, portal: Portal, mailbox: Mailbox) -> None:
        self.portal = portal
        self.mail = mailbox

    async def call(self, fn: Any, *args: Any, **kw: Any) -> Any:
        """Run ``fn`` on the app's event loop (asyncpg connections belong to it)."""
        blocking = getattr(self.portal.client, "blocking_portal", None)
        if blocking is not None:
            return blocking.call(functools.partial(fn, *args, **kw))
        return await fn(*args, **kw)

    async def apply(self, **kw: Any) -> int:
        return int(await self.call(self.portal.apply, site_text(**kw)))

    async def fetchval(self, sql: str, *args: Any) -> Any:
        return await self.call(self.portal.services.db.fetchval, sql, *args)

    async def forum_id(self, key: str) -> int:
        return int(await self.fetchval(
            'SELECT "record_id" FROM "portalis_site_key" WHERE "table_name" = ? AND "key" = ?',
            "forum", key))

    async def get(self, url: str, who: str | None = None, **kw: Any) -> Any:
        return await self.portal.get(url, who=who, **kw)

    async def json(self, url: str, who: str | None = None, status: int = 200) -> Any:
        r = await self.portal.get(url, who=who, headers=JSON)
        assert r.status_code == status, (url, r.status_code, r.text)
        return r.json()

    async def send(self, method: str, url: str, who: str | None, body: dict[str, Any] | None
                   = None) -> Any:
        return await self.portal.send(method, url, who=who, json=body or {}, headers=JSON)

    async def post(self, url: str, who: str | None, body: dict[str, Any] | None = None,
                   status: int = 200) -> Any:
        r = await self.send("POST", url, who, body)
        assert r.status_code == status, (url, r.status_code, r.text)
        return r.json()

    async def thread(self, who: str, forum: int, title: str, body: str,
                     thread_type: str = "discussion") -> tuple[int, int]:
        data = await self.post(f"/forums/{forum}/threads", who,
                               {"title": title, "body": body, "thread_type": thread_type},
                               status=201)
        return data["thread"]["id"], data["post"]["id"]

    async def reply(self, who: str, thread: int, body: str, **extra: Any) -> dict[str, Any]:
        data = await self.post(f"/forums/threads/{thread}/posts", who,
                               {"body": body, **extra}, status=201)
        return data["post"]  # type: ignore[no-any-return]

    async def posts(self, who: str | None, thread: int) -> list[dict[str, Any]]:
        return (await self.json(f"/forums/threads/{thread}", who))["posts"]  # type: ignore[no-any-return]

    async def send_notifications(self) -> int:
        from portalis.plugins.forums.notify import send_notifications

        return int(await self.call(send_notifications, self.portal.services))


@asynccontextmanager
async def forum_portal(database_url: str, **site: Any) -> AsyncIterator[ForumPortal]:
    with smtp_server() as (mailbox, port):
        async with running_portal(database_url, plugins=["selfservice", "forums"],
                                  smtp_url=f"smtp://127.0.0.1:{port}") as portal:
            fp = ForumPortal(portal, mailbox)
            await fp.apply(**site)
            yield fp
