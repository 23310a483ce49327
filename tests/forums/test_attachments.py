"""Attachments of posts: the author attaches files (multipart, checked with the kernel's
upload rules), whoever may read the post downloads them as attachments (nosniff,
sandboxed), nobody else learns they exist (404) — not outsiders of a partner forum, not
anonymous visitors, not readers of a hidden or pending post; the author or a moderator
removes them. Bad uploads get a 4xx and store nothing."""

from __future__ import annotations

import base64
from typing import Any

import pytest

from tests.forums.forumsite import ALICE, BOB, CAROL, JSON, MO, NEWBIE, ForumPortal, forum_portal

PNG = base64.b64decode(
    "iVBORw0KGgoAAAANSUhEUgAAAAEAAAABCAYAAAAfFcSJAAAADUlEQVR42mP8z8BQDwAEhQGAhKmMIQAAAABJRU5ErkJggg==")
GIF = b"GIF89a\x01\x00\x01\x00\x80\x00\x00\xff\xff\xff\x00\x00\x00!\xf9\x04\x01\x00\x00\x00\x00,"
PDF = b"%PDF-1.4\n1 0 obj << /Type /Catalog >> endobj\ntrailer << /Root 1 0 R >>\n%%EOF\n"
TEXT = "Renewal steps: 1. sign in 2. open Renewals — ünïcode ok\n".encode()

File = tuple[str, bytes, str]


async def upload(fp: ForumPortal, who: str | None, post: int, *files: File) -> Any:
    return await fp.portal.send("POST", f"/forums/posts/{post}/attachments", who=who,
                                files=[("file", f) for f in files], headers=JSON)


async def stored(fp: ForumPortal) -> int:
    return int(await fp.fetchval('SELECT COUNT(*) FROM "forum_attachment"'))


async def partner_post(fp: ForumPortal) -> tuple[int, int]:
    general = await fp.forum_id("general")
    return await fp.thread(ALICE, general, "Licence renewal", "See the attached files")


async def test_the_author_attaches_and_readers_download(database_url: str) -> None:
    async with forum_portal(database_url) as fp:
        thread, post = await partner_post(fp)
        r = await upload(fp, ALICE, post, ("logo.png", PNG, "image/png"),
                         ("terms.pdf", PDF, "application/pdf"),
                         ("steps.txt", TEXT, "text/plain"))
        assert r.status_code == 201, r.text
        made = r.json()["attachments"]
        assert [(a["filename"], a["content_type"], a["size"]) for a in made] == [
            ("logo.png", "image/png", len(PNG)), ("terms.pdf", "application/pdf", len(PDF)),
            ("steps.txt", "text/plain", len(TEXT))]
        listed = (await fp.posts(BOB, thread))[0]["attachments"]
        assert [a["id"] for a in listed] == [a["id"] for a in made]
        for item, content in zip(made, (PNG, PDF, TEXT), strict=True):
            for who in (ALICE, BOB, MO):
                got = await fp.get(item["url"], who)
                assert got.status_code == 200, (who, got.text)
                assert got.content == content
                assert got.headers["content-type"].split(";")[0] == item["content_type"]
                assert got.headers["content-disposition"] == \
                    f"attachment; filename*=UTF-8''{item['filename']}"
                assert got.headers["x-content-type-options"] == "nosniff"
                assert "sandbox" in got.headers["content-security-policy"]
                assert "no-store" in got.headers["cache-control"]
        html = await fp.get(f"/forums/threads/{thread}", BOB)
        assert f'href="/forums/attachments/{made[0]["id"]}"' in html.text
        assert 'enctype="multipart/form-data"' in html.text


async def test_partner_attachments_are_invisible_to_everyone_else(database_url: str) -> None:
    async with forum_portal(database_url) as fp:
        thread, post = await partner_post(fp)
        r = await upload(fp, ALICE, post, ("secret.txt", b"ZEBRA-42 price list", "text/plain"))
        url = r.json()["attachments"][0]["url"]
        for who in (CAROL, None):
            got = await fp.get(url, who, headers=JSON)
            assert got.status_code == 404 and "ZEBRA" not in got.text
            assert got.json()["error"]["code"] == "not_found"
            await fp.json(f"/forums/threads/{thread}", who, status=404)
            # nor can they attach to, or remove from, the partners' post
            assert (await upload(fp, who, post, ("x.png", PNG, "image/png"))).status_code in (
                403, 404)
            gone = await fp.send("DELETE", url, who)
            assert gone.status_code in (403, 404) and "ZEBRA" not in gone.text
        assert (await fp.get("/_api/forum_attachment", CAROL)).status_code == 404
        assert await stored(fp) == 1
        # an id that names nothing is the same 404
        missing = await fp.get("/forums/attachments/999999", BOB, headers=JSON)
        assert missing.status_code == 404


async def test_hidden_and_pending_posts_attachments_are_not_downloadable(
        database_url: str) -> None:
    async with forum_portal(database_url,
                            settings={"Forums/ModerateNewContacts": "true"}) as fp:
        general = await fp.forum_id("general")
        thread, _ = await fp.thread(MO, general, "Moderated", "open")
        # Nora is new: her reply, sent with a file (multipart), waits for approval
        r = await fp.portal.send("POST", f"/forums/threads/{thread}/posts", who=NEWBIE,
                                 data={"body": "my screenshot"}, headers=JSON,
                                 files=[("file", ("shot.png", PNG, "image/png"))])
        assert r.status_code == 201, r.text
        assert r.json()["post"]["pending"] is True
        url = r.json()["attachments"][0]["url"]
        post = r.json()["post"]["id"]
        assert (await fp.get(url, NEWBIE)).status_code == 200  # her own pending post
        assert (await fp.get(url, MO)).status_code == 200
        for who in (BOB, CAROL, None):
            assert (await fp.get(url, who)).status_code == 404
        await fp.post(f"/forums/posts/{post}/approve", MO)
        assert (await fp.get(url, BOB)).status_code == 200
        # hidden: nobody but moderators, not even the author
        await fp.post(f"/forums/posts/{post}/hide", MO)
        for who in (BOB, NEWBIE, CAROL, None):
            assert (await fp.get(url, who)).status_code == 404
        assert (await fp.get(url, MO)).status_code == 200
        await fp.post(f"/forums/posts/{post}/restore", MO)
        assert (await fp.get(url, BOB)).status_code == 200


async def test_only_the_author_attaches_and_author_or_moderator_removes(
        database_url: str) -> None:
    async with forum_portal(database_url) as fp:
        thread, post = await partner_post(fp)
        denied = await upload(fp, BOB, post, ("b.png", PNG, "image/png"))
        assert denied.status_code == 403 and denied.json()["error"]["code"] == "attach_denied"
        made = [(await upload(fp, ALICE, post, (f"{n}.png", PNG, "image/png"))).json()
                ["attachments"][0] for n in ("one", "two")]
        r = await fp.send("DELETE", made[0]["url"], BOB)
        assert r.status_code == 403
        assert (await fp.send("DELETE", made[0]["url"], ALICE)).status_code == 200
        assert (await fp.get(made[0]["url"], ALICE)).status_code == 404
        assert (await fp.send("DELETE", made[1]["url"], MO)).status_code == 200
        audit = (await fp.json("/forums/moderation", MO))["audit"]
        assert ("remove_attachment", post) in [(a["action"], a["record_id"]) for a in audit]
        assert await stored(fp) == 0
        # a locked thread takes no new files from its author (a moderator may still)
        await fp.post(f"/forums/threads/{thread}/lock", MO)
        locked = await upload(fp, ALICE, post, ("late.png", PNG, "image/png"))
        assert locked.status_code == 403 and locked.json()["error"]["code"] == "thread_locked"
        await fp.post(f"/forums/threads/{thread}/unlock", MO)
        # at most Forums/Attachments/MaxPerPost files per post, all or none
        too_many = await upload(fp, ALICE, post, *[(f"{i}.png", PNG, "image/png")
                                                    for i in range(6)])
        assert too_many.status_code == 400
        assert too_many.json()["error"]["code"] == "too_many_files"
        assert await stored(fp) == 0


BAD = [
    ("logo.png", GIF, "image/png", 415, "it looks like image/gif"),
    ("logo.png", PNG, "application/pdf", 415, "does not match the file name"),
    ("logo.png", b"<svg xmlns='http://www.w3.org/2000/svg' onload='alert(1)'/>", "image/png",
     415, "not a image/png image"),
    ("logo.gif", b"<html><script>alert(1)</script></html>", "image/gif", 415,
     "not a image/gif image"),
    ("notes.txt", b"<!DOCTYPE html><script>alert(1)</script>", "text/plain", 415, "not UTF-8"),
    ("notes.txt", b"\xff\xfe\x00binary", "text/plain", 415, "not UTF-8"),
    ("doc.pdf", b"just text, not a PDF", "application/pdf", 415, "not a PDF document"),
    ("evil.svg", b"<svg onload='alert(1)'/>", "image/svg+xml", 415, "must end in one of"),
    ("page.html", b"<p>hi</p>", "text/html", 415, "must end in one of"),
    ("run.exe", b"MZ\x90\x00", "application/octet-stream", 415, "must end in one of"),
    ("empty.txt", b"", "text/plain", 400, "empty"),
]


@pytest.mark.parametrize("name, content, declared, status, problem", BAD)
async def test_bad_uploads_are_refused_and_store_nothing(
        database_url: str, name: str, content: bytes, declared: str, status: int,
        problem: str) -> None:
    async with forum_portal(database_url) as fp:
        thread, post = await partner_post(fp)
        r = await upload(fp, ALICE, post, (name, content, declared))
        assert r.status_code == status, r.text
        assert problem in r.json()["error"]["message"]
        # the same file sent with a reply: neither the reply nor the file is stored
        before = len(await fp.posts(BOB, thread))
        r = await fp.portal.send("POST", f"/forums/threads/{thread}/posts", who=BOB,
                                 data={"body": "with a bad file"}, headers=JSON,
                                 files=[("file", (name, content, declared))])
        assert r.status_code == status, r.text
        assert len(await fp.posts(BOB, thread)) == before
        assert await stored(fp) == 0


async def test_the_size_limit_is_a_site_setting(database_url: str) -> None:
    async with forum_portal(database_url, settings={"Forums/Attachments/MaxSize": "100"}) as fp:
        general = await fp.forum_id("general")
        big = b"x" * 101
        r = await fp.portal.send("POST", f"/forums/{general}/threads", who=ALICE, headers=JSON,
                                 data={"title": "Big", "body": "file"},
                                 files=[("file", ("big.txt", big, "text/plain"))])
        assert r.status_code == 413, r.text
        assert r.json()["error"]["message"] == "the file is larger than the limit of 100 bytes"
        assert (await fp.json(f"/forums/{general}", ALICE))["threads"] == []
        ok = await fp.portal.send("POST", f"/forums/{general}/threads", who=ALICE,
                                  headers=JSON, data={"title": "Small", "body": "file"},
                                  files=[("file", ("small.txt", b"x" * 100, "text/plain"))])
        assert ok.status_code == 201, ok.text
        assert ok.json()["attachments"][0]["size"] == 100
        assert (await fp.get(ok.json()["attachments"][0]["url"], BOB)).content == b"x" * 100


async def test_html_forms_attach_with_a_reply_and_remove(database_url: str) -> None:
    async with forum_portal(database_url) as fp:
        thread, _ = await partner_post(fp)
        token = await fp.portal.csrf()
        r = await fp.portal.send(
            "POST", f"/forums/threads/{thread}/posts", who=BOB, csrf=False,
            data={"_csrf_token": token, "body": "picture attached"},
            files=[("file", ("pic.png", PNG, "image/png")), ("file", ("", b"", ""))])
        assert r.status_code == 303, r.text
        (reply,) = [p for p in await fp.posts(BOB, thread) if p["body"] == "picture attached"]
        (item,) = reply["attachments"]
        r = await fp.portal.send("POST", f"{item['url']}/delete", who=BOB, csrf=False,
                                 data={"_csrf_token": token})
        assert r.status_code == 303
        assert r.headers["location"] == f"/forums/threads/{thread}#post-{reply['id']}"
        assert await stored(fp) == 0
        no_csrf = await fp.portal.send("POST", f"/forums/posts/{reply['id']}/attachments",
                                       who=BOB, csrf=False,
                                       files=[("file", ("pic.png", PNG, "image/png"))])
        assert no_csrf.status_code == 403 and await stored(fp) == 0
