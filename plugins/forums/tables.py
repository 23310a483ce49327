"""Tables of the forums plugin.

Portal tables (registered, reached only through ``services.records`` under table
permissions): :class:`Forum`, :class:`ForumThread`, :class:`ForumPost`.

Private tables (the plugin's own state, reached only through :mod:`.store` and
:mod:`.attachments` with ``services.db``): votes, flags, subscriptions, the moderation
audit trail, the notification queue and posts' attachments. None of them holds post
content; anything shown from them is first re-read through ``records``, and an
attachment is reached only through the post it belongs to.

``post_count`` and ``last_post_at`` of a thread, and the full-text index of posts
(:mod:`.search`), are kept by database triggers (migration ``2026-12-02T21:30``) in the
transaction that writes the post.
"""

from __future__ import annotations

from piccolo.columns import (
    Boolean,
    Bytea,
    ForeignKey,
    Integer,
    Serial,
    Text,
    Timestamptz,
    Varchar,
)
from piccolo.columns.base import OnDelete
from piccolo.table import Table

from portalis.core.tables import Contact, Website

__all__ = [
    "Forum",
    "ForumAttachment",
    "ForumAudit",
    "ForumFlag",
    "ForumNotification",
    "ForumPost",
    "ForumSubscription",
    "ForumThread",
    "ForumVote",
]

THREAD_TYPES = ("question", "discussion", "announcement")


class Forum(Table, tablename="forum"):
    """A forum of a website; ``category`` groups forums on the index page.

    ``audience`` is a free label (``everyone``, ``partners``, ...) that forum grants
    filter on (``filter: "audience eq 'partners'"``) so one forum can be restricted to
    a role while another stays open. It means nothing by itself: a forum is readable
    exactly where some grant's scope and filter reach it, and a forum whose audience no
    filtered grant names is reached only by unfiltered grants.
    """

    id = Serial(primary_key=True)
    website = ForeignKey(Website, index=True, null=False)
    category = Varchar(length=100, default="")
    audience = Varchar(length=50, default="", index=True)
    title = Varchar(length=200)
    description = Text(default="")
    position = Integer(default=0)
    created = Timestamptz(index=True)
    modified = Timestamptz(index=True)


class ForumThread(Table, tablename="forum_thread"):
    """A thread in a forum (Parent-scope permissions reach it through ``forum``)."""

    id = Serial(primary_key=True)
    website = ForeignKey(Website, index=True, null=False)
    forum = ForeignKey(Forum, index=True, null=False)
    title = Varchar(length=200)
    thread_type = Varchar(length=20, default="discussion")  # question|discussion|announcement
    sticky = Boolean(default=False)
    locked = Boolean(default=False)
    answered = Boolean(default=False, index=True)
    pending = Boolean(default=False, index=True)  # its first post awaits moderation
    author = ForeignKey(Contact, index=True, null=True)
    post_count = Integer(default=0)  # posts readers see; kept by a trigger
    last_post_at = Timestamptz(index=True)
    created = Timestamptz(index=True)
    modified = Timestamptz(index=True)


class ForumPost(Table, tablename="forum_post"):
    """A post in a thread; ``body_html`` is the sanitised rendering of ``body``."""

    id = Serial(primary_key=True)
    website = ForeignKey(Website, index=True, null=False)
    thread = ForeignKey(ForumThread, index=True, null=False)
    author = ForeignKey(Contact, index=True, null=True)
    body = Text(default="")
    body_html = Text(default="")
    first = Boolean(default=False)
    hidden = Boolean(default=False)
    pending = Boolean(default=False, index=True)
    answer = Boolean(default=False)
    created = Timestamptz(index=True)
    modified = Timestamptz(index=True)


# -- private tables ----------------------------------------------------------------


class ForumVote(Table, tablename="forum_vote"):
    """One helpful vote per contact per post (unique index on (post, contact))."""

    id = Serial(primary_key=True)
    website = ForeignKey(Website, index=True, null=False)
    post = ForeignKey(ForumPost, index=True, null=False, on_delete=OnDelete.cascade)
    contact = ForeignKey(Contact, index=True, null=False, on_delete=OnDelete.cascade)
    created = Timestamptz()


class ForumFlag(Table, tablename="forum_flag"):
    """A reader's abuse report on a post (unique index on (post, contact))."""

    id = Serial(primary_key=True)
    website = ForeignKey(Website, index=True, null=False)
    post = ForeignKey(ForumPost, index=True, null=False, on_delete=OnDelete.cascade)
    contact = ForeignKey(Contact, index=True, null=False, on_delete=OnDelete.cascade)
    reason = Varchar(length=500, default="")
    resolved = Boolean(default=False, index=True)
    created = Timestamptz()


class ForumSubscription(Table, tablename="forum_subscription"):
    """A contact's subscription to a forum or a thread (unique (contact, kind, target))."""

    id = Serial(primary_key=True)
    website = ForeignKey(Website, index=True, null=False)
    contact = ForeignKey(Contact, index=True, null=False, on_delete=OnDelete.cascade)
    kind = Varchar(length=10)  # forum | thread
    target = Integer(index=True)
    created = Timestamptz()


class ForumAudit(Table, tablename="forum_audit"):
    """The trail of moderator actions."""

    id = Serial(primary_key=True)
    website = ForeignKey(Website, index=True, null=False)
    actor = Integer(null=True)
    action = Varchar(length=40)
    table_name = Varchar(length=40)
    record_id = Integer(index=True)
    detail = Text(default="")
    created = Timestamptz(index=True)


class ForumNotification(Table, tablename="forum_notification"):
    """A queued notification: ``post`` for ``contact`` (unique), sent in batches."""

    id = Serial(primary_key=True)
    website = ForeignKey(Website, index=True, null=False)
    contact = ForeignKey(Contact, index=True, null=False, on_delete=OnDelete.cascade)
    post = ForeignKey(ForumPost, index=True, null=False, on_delete=OnDelete.cascade)
    subscription = Integer()
    state = Varchar(length=10, default="queued", index=True)  # queued|claimed|sent|skipped
    created = Timestamptz()


class ForumAttachment(Table, tablename="forum_attachment"):
    """A file attached to a post; readable exactly where its post is (see
    :mod:`.attachments`), deleted with it."""

    id = Serial(primary_key=True)
    website = ForeignKey(Website, index=True, null=False)
    post = ForeignKey(ForumPost, index=True, null=False, on_delete=OnDelete.cascade)
    author = ForeignKey(Contact, index=True, null=True, on_delete=OnDelete.set_null)
    filename = Varchar(length=255, default="")
    content_type = Varchar(length=100, default="application/octet-stream")
    size = Integer(default=0)
    content = Bytea(default=b"")
    created = Timestamptz()
