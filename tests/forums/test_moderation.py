"""Moderation: the queue for new contacts' posts, flags, hide/restore, lock, move, sticky,
editing one's own post, and the audit trail of moderator actions."""

from __future__ import annotations

from tests.forums.forumsite import ALICE, BOB, CAROL, MO, NEWBIE, forum_portal


async def test_new_contacts_posts_wait_for_approval(database_url: str) -> None:
    async with forum_portal(database_url,
                            settings={"Forums/ModerateNewContacts": "true"}) as fp:
        general = await fp.forum_id("general")
        thread, _ = await fp.thread(MO, general, "Welcome", "Say hello")
        post = await fp.reply(NEWBIE, thread, "Hello, I sell QUOKKA widgets")
        assert post["pending"] is True
        # others don't see it anywhere; its author does; the moderator does
        assert [p["id"] for p in await fp.posts(ALICE, thread)] != [] and post["id"] not in [
            p["id"] for p in await fp.posts(ALICE, thread)]
        assert (await fp.json("/forums/search?q=QUOKKA", ALICE))["results"] == []
        feed = await fp.get("/forums/feed", ALICE)
        assert "QUOKKA" not in feed.text
        assert post["id"] in [p["id"] for p in await fp.posts(NEWBIE, thread)]
        assert post["id"] in [p["id"] for p in await fp.posts(MO, thread)]
        queue = await fp.json("/forums/moderation", MO)
        assert [p["id"] for p in queue["pending"]] == [post["id"]]
        await fp.json("/forums/moderation", ALICE, status=403)
        # a partner cannot approve, not even its own post, not via the Web API either
        r = await fp.send("POST", f"/forums/posts/{post['id']}/approve", NEWBIE)
        assert r.status_code == 403, r.text
        r = await fp.send("PATCH", f"/_api/forum_post({post['id']})", NEWBIE,
                          {"pending": False})
        assert r.status_code == 403, r.text
        approved = await fp.post(f"/forums/posts/{post['id']}/approve", MO)
        assert approved["post"]["pending"] is False
        assert post["id"] in [p["id"] for p in await fp.posts(ALICE, thread)]
        assert [h["id"] for h in (await fp.json("/forums/search?q=QUOKKA", ALICE))["results"]
                ] == [post["id"]]
        # with one approved post the contact is no longer new
        second = await fp.reply(NEWBIE, thread, "Second post")
        assert second["pending"] is False
        audit = (await fp.json("/forums/moderation", MO))["audit"]
        assert [(a["action"], a["record_id"]) for a in audit] == [("approve", post["id"])]


async def test_queue_is_off_by_default(database_url: str) -> None:
    async with forum_portal(database_url) as fp:
        general = await fp.forum_id("general")
        thread, _ = await fp.thread(ALICE, general, "Open", "Hi")
        post = await fp.reply(NEWBIE, thread, "Straight in")
        assert post["pending"] is False
        assert post["id"] in [p["id"] for p in await fp.posts(BOB, thread)]


async def test_flag_hide_restore_lock_move_and_audit(database_url: str) -> None:
    async with forum_portal(database_url) as fp:
        general = await fp.forum_id("general")
        support = await fp.forum_id("support")
        thread, _ = await fp.thread(ALICE, general, "Deals", "Any deals?")
        spam = await fp.reply(BOB, thread, "Buy cheap PLATYPUS now")
        # readers flag; a second flag by the same reader is refused
        await fp.post(f"/forums/posts/{spam['id']}/flag", ALICE, {"reason": "spam"})
        r = await fp.send("POST", f"/forums/posts/{spam['id']}/flag", ALICE, {"reason": "x"})
        assert r.status_code == 409 and "already reported" in r.json()["error"]["message"]
        queue = await fp.json("/forums/moderation", MO)
        assert [(p["id"], p["flags"], p["reasons"]) for p in queue["flagged"]] == [
            (spam["id"], 1, ["spam"])]
        # only moderators hide; authors cannot hide or un-hide through any path
        r = await fp.send("POST", f"/forums/posts/{spam['id']}/hide", BOB)
        assert r.status_code == 403, r.text
        r = await fp.send("PATCH", f"/_api/forum_post({spam['id']})", BOB, {"hidden": True})
        assert r.status_code == 403, r.text
        hidden = await fp.post(f"/forums/posts/{spam['id']}/hide", MO)
        assert hidden["post"]["hidden"] is True
        assert spam["id"] not in [p["id"] for p in await fp.posts(ALICE, thread)]
        assert spam["id"] not in [p["id"] for p in await fp.posts(BOB, thread)]
        assert spam["id"] in [p["id"] for p in await fp.posts(MO, thread)]
        assert "PLATYPUS" not in (await fp.get(f"/forums/threads/{thread}", ALICE)).text
        # its author no longer reads it either (own-posts is filtered "hidden eq false")
        r = await fp.send("POST", f"/forums/posts/{spam['id']}/edit", BOB, {"body": "sorry"})
        assert r.status_code == 404 and "PLATYPUS" not in r.text
        assert spam["id"] not in [p["id"] for p in (await fp.json("/_api/forum_post", BOB))[
            "value"]]
        assert (await fp.json("/forums/moderation", MO))["flagged"] == []
        restored = await fp.post(f"/forums/posts/{spam['id']}/restore", MO)
        assert restored["post"]["hidden"] is False
        assert spam["id"] in [p["id"] for p in await fp.posts(ALICE, thread)]
        # lock: no replies, no edits by authors; the moderator still may reply
        r = await fp.send("POST", f"/forums/threads/{thread}/lock", ALICE)
        assert r.status_code == 403
        assert (await fp.post(f"/forums/threads/{thread}/lock", MO))["thread"]["locked"]
        r = await fp.send("POST", f"/forums/threads/{thread}/posts", BOB, {"body": "more"})
        assert r.status_code == 403 and r.json()["error"]["code"] == "thread_locked"
        r = await fp.send("PATCH", f"/forums/posts/{spam['id']}", BOB, {"body": "edit"})
        assert r.status_code == 403
        await fp.reply(MO, thread, "Locked: see the price list.")
        await fp.post(f"/forums/threads/{thread}/unlock", MO)
        # move and sticky
        moved = await fp.post(f"/forums/threads/{thread}/move", MO, {"forum": support})
        assert moved["thread"]["forum"] == support
        assert [t["id"] for t in (await fp.json(f"/forums/{support}", ALICE))["threads"]] == [
            thread]
        assert (await fp.json(f"/forums/{general}", ALICE))["threads"] == []
        other, _ = await fp.thread(BOB, support, "Newer", "newer thread")
        await fp.post(f"/forums/threads/{thread}/stick", MO)
        assert [t["id"] for t in (await fp.json(f"/forums/{support}", ALICE))["threads"]] == [
            thread, other]
        r = await fp.send("POST", f"/forums/threads/{other}/move", BOB, {"forum": general})
        assert r.status_code == 403
        audit = (await fp.json("/forums/moderation", MO))["audit"]
        assert [(a["action"], a["table_name"]) for a in reversed(audit)] == [
            ("hide", "forum_post"), ("restore", "forum_post"), ("lock", "forum_thread"),
            ("unlock", "forum_thread"), ("move", "forum_thread"), ("stick", "forum_thread")]
        assert audit[1]["detail"] == f"forum {general} -> {support}"
        await fp.json("/forums/moderation", CAROL, status=403)


async def test_edit_own_post_only(database_url: str) -> None:
    async with forum_portal(database_url) as fp:
        general = await fp.forum_id("general")
        thread, first = await fp.thread(ALICE, general, "Edits", "first *draft*")
        edited = await fp.send("PATCH", f"/forums/posts/{first}", ALICE,
                               {"body": "final **text**"})
        assert edited.status_code == 200, edited.text
        assert edited.json()["post"]["body_html"] == "<p>final <strong>text</strong></p>\n"
        r = await fp.send("PATCH", f"/forums/posts/{first}", BOB, {"body": "hijack"})
        assert r.status_code == 403 and r.json()["error"]["code"] == "write_denied"
        r = await fp.send("PATCH", f"/forums/posts/{first}", CAROL, {"body": "hijack"})
        assert r.status_code == 404
        # an author may change only the text of its post
        r = await fp.send("PATCH", f"/_api/forum_post({first})", ALICE, {"answer": True})
        assert r.status_code == 403, r.text
        r = await fp.send("PATCH", f"/_api/forum_post({first})", ALICE,
                          {"body_html": "<script>alert(1)</script>"})
        assert r.status_code in (200, 204), r.text
        posts = await fp.posts(BOB, thread)
        assert posts[0]["body_html"] == "<p>final <strong>text</strong></p>\n"
        assert [p["can_edit"] for p in posts] == [False]
        assert [p["can_edit"] for p in await fp.posts(ALICE, thread)] == [True]
        # the moderator may edit anyone's post; that is audited
        r = await fp.send("PATCH", f"/forums/posts/{first}", MO, {"body": "moderated"})
        assert r.status_code == 200
        audit = (await fp.json("/forums/moderation", MO))["audit"]
        assert [(a["action"], a["record_id"]) for a in audit] == [("edit", first)]


async def test_special_threads_are_for_moderators(database_url: str) -> None:
    async with forum_portal(database_url) as fp:
        general = await fp.forum_id("general")
        r = await fp.send("POST", f"/forums/{general}/threads", ALICE,
                          {"title": "News", "body": "x", "thread_type": "announcement"})
        assert r.status_code == 403 and r.json()["error"]["code"] == "moderator_only"
        r = await fp.send("POST", f"/forums/{general}/threads", ALICE,
                          {"title": "Pinned", "body": "x", "sticky": True})
        assert r.status_code == 403
        assert (await fp.json(f"/forums/{general}", ALICE))["threads"] == []
        r = await fp.send("POST", f"/forums/{general}/threads", ALICE,
                          {"title": "Bad", "body": "x", "thread_type": "poll"})
        assert r.status_code == 400
        r = await fp.send("POST", f"/forums/{general}/threads", ALICE,
                          {"title": "Empty", "body": "   "})
        assert r.status_code == 400 and r.json()["error"]["column"] == "body"
        thread, _ = await fp.thread(MO, general, "News", "Release 2.0", "announcement")
        line, _ = await fp.thread(ALICE, general, " Two\r\nlines\tin a title ", "x")
        assert (await fp.json(f"/forums/threads/{line}", BOB))["thread"][
            "title"] == "Two lines in a title"
        assert (await fp.json(f"/forums/threads/{thread}", ALICE))["thread"][
            "thread_type"] == "announcement"


async def test_a_new_contacts_thread_waits_with_its_first_post(database_url: str) -> None:
    async with forum_portal(database_url,
                            settings={"Forums/ModerateNewContacts": "true"}) as fp:
        general = await fp.forum_id("general")
        thread, first = await fp.thread(NEWBIE, general, "CHEAP ECHIDNA PILLS", "spam")
        for url in ("/forums/latest", f"/forums/{general}"):
            assert (await fp.json(url, ALICE))["threads"] == []
            assert [t["id"] for t in (await fp.json(url, NEWBIE))["threads"]] == [thread]
            assert [t["id"] for t in (await fp.json(url, MO))["threads"]] == [thread]
        page = await fp.get(f"/forums/threads/{thread}", ALICE)
        assert page.status_code == 404 and "ECHIDNA" not in page.text
        r = await fp.send("POST", f"/forums/threads/{thread}/posts", ALICE, {"body": "hi"})
        assert r.status_code == 404
        r = await fp.send("PATCH", f"/_api/forum_thread({thread})", NEWBIE, {"pending": False})
        assert r.status_code in (403, 404), r.text
        assert [p["id"] for p in (await fp.json("/forums/moderation", MO))["pending"]] == [first]
        await fp.post(f"/forums/posts/{first}/approve", MO)
        assert [t["id"] for t in (await fp.json("/forums/latest", ALICE))["threads"]] == [
            thread]
        assert (await fp.get(f"/forums/threads/{thread}", ALICE)).status_code == 200
        await fp.reply(ALICE, thread, "Reported.")
