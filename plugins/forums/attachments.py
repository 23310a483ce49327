"""Files attached to forum posts.

An attachment is reached only through its post: whoever may read the post (through
``records``, with the plugin's visibility rules: hidden posts only for moderators,
pending posts only for their author and moderators) may download it; nobody else learns
that it exists (404). Only the post's author, while it may post in the thread (Append To
on the thread; not locked unless it moderates), attaches files; the author or a
moderator of the thread deletes them.

Uploads follow the kernel's web-file rules (:mod:`portalis.core.uploads`): the type
sniffed from the content must agree with the file name and the declared type, within
:data:`ATTACHMENT_TYPES`, and the size is limited by ``Forums/Attachments/MaxSize``.
The rows live in the plugin's private table ``forum_attachment`` (``services.db``).
"""

from __future__ import annotations

from dataclasses import dataclass
from typing import Any

from portalis.core import InvalidInput, NotFound, PermissionDenied, Principal
from portalis.core.codec import encode, utcnow
from portalis.core.uploads import check_upload, safe_filename
from portalis.plugins.forums import service
from portalis.plugins.forums.store import Store

__all__ = [
    "ATTACHMENT_TYPES",
    "MAX_PER_POST",
    "MAX_SIZE",
    "SETTING_DEFAULTS",
    "AttachmentStore",
    "Upload",
    "attach",
    "attachment_json",
    "check_file",
    "delete_attachment",
    "may_attach",
    "of_posts",
    "readable_attachment",
]

#: extension -> content type served: images, plain text and PDF.
ATTACHMENT_TYPES = {
    "png": "image/png", "jpg": "image/jpeg", "jpeg": "image/jpeg", "gif": "image/gif",
    "webp": "image/webp", "txt": "text/plain", "pdf": "application/pdf",
}
MAX_SIZE = "Forums/Attachments/MaxSize"
MAX_PER_POST = "Forums/Attachments/MaxPerPost"
SETTING_DEFAULTS = {MAX_SIZE: "2097152", MAX_PER_POST: "5"}
META = ('"id", "website", "post", "author", "filename", "content_type", "size", '
        '"created"')


@dataclass(frozen=True)
class Upload:
    """A checked file, ready to store."""

    filename: str
    content_type: str
    content: bytes


class AttachmentStore:
    """The ``forum_attachment`` rows (never shown without their post's permission)."""

    def __init__(self, db: Any) -> None:
        self.db = db

    async def add(self, website_id: int, post_id: int, author: int | None,
                  upload: Upload) -> dict[str, Any]:
        async with self.db.transaction() as conn:
            row = await conn.fetchrow(
                'INSERT INTO "forum_attachment" ("website", "post", "author", "filename", '
                '"content_type", "size", "content", "created") '
                f"VALUES (?, ?, ?, ?, ?, ?, ?, ?) RETURNING {META}",
                website_id, post_id, author, upload.filename, upload.content_type,
                len(upload.content), upload.content, encode(utcnow(), self.db.dialect))
        assert row is not None
        return row  # type: ignore[no-any-return]

    async def meta(self, website_id: int, attachment_id: int) -> dict[str, Any] | None:
        return await self.db.fetchrow(  # type: ignore[no-any-return]
            f'SELECT {META} FROM "forum_attachment" WHERE "id" = ? AND "website" = ?',
            attachment_id, website_id)

    async def content(self, website_id: int, attachment_id: int) -> bytes:
        value = await self.db.fetchval(
            'SELECT "content" FROM "forum_attachment" WHERE "id" = ? AND "website" = ?',
            attachment_id, website_id)
        return bytes(value or b"")

    async def of_posts(self, website_id: int, post_ids: list[int]) -> list[dict[str, Any]]:
        if not post_ids:
            return []
        marks = ", ".join("?" for _ in post_ids)
        return await self.db.fetch(  # type: ignore[no-any-return]
            f'SELECT {META} FROM "forum_attachment" WHERE "website" = ? '
            f'AND "post" IN ({marks}) ORDER BY "id"', website_id, *post_ids)

    async def count_of(self, website_id: int, post_id: int) -> int:
        return int(await self.db.fetchval(
            'SELECT COUNT(*) FROM "forum_attachment" WHERE "website" = ? AND "post" = ?',
            website_id, post_id) or 0)

    async def delete(self, website_id: int, attachment_id: int) -> bool:
        async with self.db.transaction() as conn:
            n = await conn.execute(
                'DELETE FROM "forum_attachment" WHERE "id" = ? AND "website" = ?',
                attachment_id, website_id)
        return bool(n)


def attachment_json(row: dict[str, Any]) -> dict[str, Any]:
    return {"id": row["id"], "post": row["post"], "filename": row["filename"],
            "content_type": row["content_type"], "size": row["size"],
            "url": f"/forums/attachments/{row['id']}"}


def check_file(site: Any, filename: str, declared: str | None, content: bytes) -> Upload:
    """An upload checked with the kernel's rules (4xx naming the problem otherwise)."""
    name = safe_filename(filename or "")
    limit = int(site.number(MAX_SIZE, 2_097_152))
    served = check_upload(name, declared, content, limit, ATTACHMENT_TYPES)
    return Upload(name, served, content)


def _limit(site: Any) -> int:
    return max(0, int(site.number(MAX_PER_POST, 5)))


async def may_attach(services: Any, principal: Principal, post_id: int,
                     adding: int = 1) -> dict[str, Any]:
    """The post, if ``principal`` may attach ``adding`` more files to it; else 404 (a
    post it may not see) or 403 (not its post, a locked thread, no right to post)."""
    contact_id = service.require_contact(principal)
    post, moderator = await service.readable_post(services, principal, post_id)
    if post["author"] != contact_id:
        raise PermissionDenied("only the post's author can attach files to it",
                               code="attach_denied")
    records = services.records
    try:
        await records.get(principal, "forum_thread", post["thread"], privilege="append_to",
                          columns=["id"])
    except NotFound:
        raise PermissionDenied("you may not post in this thread",
                               code="append_to_denied") from None
    thread = await records.get(service.system(principal), "forum_thread", post["thread"],
                               columns=["locked"])
    if thread["locked"] and not moderator:
        raise PermissionDenied("this thread is locked", code="thread_locked")
    site = await services.sites.get(principal.website_id, refresh=False)
    have = await AttachmentStore(services.db).count_of(principal.website_id, post_id)
    if have + adding > _limit(site):
        raise InvalidInput(f"a post has at most {_limit(site)} attachments",
                           code="too_many_files")
    return post


async def attach(services: Any, principal: Principal, post_id: int,
                 uploads: list[Upload]) -> list[dict[str, Any]]:
    """Store checked uploads on a post (all or none)."""
    if not uploads:
        raise InvalidInput("send the file in the multipart field 'file'", code="no_file")
    store = AttachmentStore(services.db)
    async with services.db.transaction():
        await may_attach(services, principal, post_id, len(uploads))
        return [await store.add(principal.website_id, post_id, principal.contact_id, u)
                for u in uploads]


async def readable_attachment(services: Any, principal: Principal,
                              attachment_id: int) -> tuple[dict[str, Any], bool]:
    """(the attachment's row, whether the principal moderates its thread), if the
    principal may read its post and that post's thread; 404 otherwise."""
    meta = await AttachmentStore(services.db).meta(principal.website_id, attachment_id)
    missing = NotFound(f"no attachment {attachment_id} that you may see", code="not_found")
    if meta is None:
        raise missing
    try:
        post, moderator = await service.readable_post(services, principal, meta["post"])
        thread = await services.records.get(principal, "forum_thread", post["thread"],
                                            columns=["pending", "author"])
    except NotFound:
        raise missing from None
    if thread["pending"] and not moderator and thread["author"] != principal.contact_id:
        raise missing
    return meta, moderator


async def delete_attachment(services: Any, principal: Principal, attachment_id: int) -> None:
    """The post's author (thread not locked) or a moderator of the thread removes it."""
    contact_id = service.require_contact(principal)
    meta, moderator = await readable_attachment(services, principal, attachment_id)
    if not moderator:
        post = await services.records.get(principal, "forum_post", meta["post"],
                                          columns=["author", "thread"])
        if post["author"] != contact_id:
            raise PermissionDenied("only the post's author or a moderator can remove it",
                                   code="moderator_only")
        thread = await services.records.get(service.system(principal), "forum_thread",
                                            post["thread"], columns=["locked"])
        if thread["locked"]:
            raise PermissionDenied("this thread is locked", code="thread_locked")
    async with services.db.transaction():
        await AttachmentStore(services.db).delete(principal.website_id, attachment_id)
        if moderator and meta["author"] != contact_id:
            await Store(services).audit(
                principal.website_id, contact_id, "remove_attachment", "forum_post",
                meta["post"], meta["filename"])


async def of_posts(services: Any, principal: Principal,
                   post_ids: list[int]) -> dict[int, list[dict[str, Any]]]:
    """Attachments of posts the caller has already read through ``records``."""
    out: dict[int, list[dict[str, Any]]] = {}
    for row in await AttachmentStore(services.db).of_posts(principal.website_id, post_ids):
        out.setdefault(row["post"], []).append(attachment_json(row))
    return out
