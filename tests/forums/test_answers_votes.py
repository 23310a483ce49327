"""Answers (thread author or moderator; never the first post; never on a locked thread),
helpful votes (one per contact per post) and quoting."""

from __future__ import annotations

from tests.forums.forumsite import ALICE, BOB, CAROL, DAVE, MO, forum_portal


async def test_answer_rules(database_url: str) -> None:
    async with forum_portal(database_url) as fp:
        general = await fp.forum_id("general")
        thread, first = await fp.thread(ALICE, general, "How to renew?", "Where is the form?",
                                        "question")
        reply = await fp.reply(BOB, thread, "Under Partner > Renewals.")
        other = await fp.reply(DAVE, thread, "Ask your account manager.")
        assert [t["id"] for t in (await fp.json("/forums/unanswered", ALICE))["threads"]] == [
            thread]
        # neither a bystander nor the reply's own author may mark it
        for who in (BOB, DAVE):
            r = await fp.send("POST", f"/forums/posts/{reply['id']}/answer", who)
            assert r.status_code == 403 and r.json()["error"]["code"] == "answer_denied"
        r = await fp.send("POST", f"/forums/posts/{reply['id']}/answer", CAROL)
        assert r.status_code == 404
        # never the first post, not even for a moderator
        for who in (ALICE, MO):
            r = await fp.send("POST", f"/forums/posts/{first}/answer", who)
            assert r.status_code == 400 and r.json()["error"]["code"] == "first_post_answer"
        marked = await fp.post(f"/forums/posts/{reply['id']}/answer", ALICE)
        assert marked["post"]["answer"] is True
        view = await fp.json(f"/forums/threads/{thread}", BOB)
        assert view["thread"]["answered"] is True
        assert [p["answer"] for p in view["posts"]] == [False, True, False]
        assert (await fp.json("/forums/unanswered", ALICE))["threads"] == []
        # the moderator may mark too; unmarking the last answer reopens the question
        await fp.post(f"/forums/posts/{other['id']}/answer", MO)
        await fp.post(f"/forums/posts/{reply['id']}/unanswer", ALICE)
        assert (await fp.json(f"/forums/threads/{thread}", BOB))["thread"]["answered"] is True
        await fp.post(f"/forums/posts/{other['id']}/unanswer", MO)
        assert (await fp.json(f"/forums/threads/{thread}", BOB))["thread"]["answered"] is False
        # not on a locked thread, for anyone
        await fp.post(f"/forums/threads/{thread}/lock", MO)
        for who in (ALICE, MO):
            r = await fp.send("POST", f"/forums/posts/{reply['id']}/answer", who)
            assert r.status_code == 409 and r.json()["error"]["code"] == "thread_locked"
        r = await fp.send("PATCH", f"/_api/forum_post({reply['id']})", MO, {"answer": True})
        assert r.status_code == 409, r.text
        assert (await fp.json(f"/forums/threads/{thread}", BOB))["thread"]["answered"] is False
        audit = (await fp.json("/forums/moderation", MO))["audit"]
        assert [(a["action"], a["actor"] is not None) for a in reversed(audit)] == [
            ("answer", True), ("answer", True), ("unanswer", True), ("unanswer", True),
            ("lock", True)]


async def test_one_vote_per_contact_per_post(database_url: str) -> None:
    async with forum_portal(database_url) as fp:
        general = await fp.forum_id("general")
        thread, first = await fp.thread(ALICE, general, "Tips", "Use the partner API")
        assert (await fp.post(f"/forums/posts/{first}/vote", BOB))["votes"] == 1
        r = await fp.send("POST", f"/forums/posts/{first}/vote", BOB)
        assert r.status_code == 409
        assert r.json()["error"] == {"code": "already_voted",
                                     "message": "you have already voted for this post"}
        assert (await fp.post(f"/forums/posts/{first}/vote", DAVE))["votes"] == 2
        r = await fp.send("POST", f"/forums/posts/{first}/vote", ALICE)
        assert r.status_code == 400 and r.json()["error"]["code"] == "own_post"
        r = await fp.send("POST", f"/forums/posts/{first}/vote", CAROL)
        assert r.status_code == 404
        r = await fp.send("POST", f"/forums/posts/{first}/vote", None)
        assert r.status_code in (403, 404)
        posts = await fp.posts(BOB, thread)
        assert [(p["votes"], p["voted"]) for p in posts] == [(2, True)]
        assert [(p["votes"], p["voted"]) for p in await fp.posts(ALICE, thread)] == [
            (2, False)]
        count = await fp.fetchval('SELECT COUNT(*) FROM "forum_vote" WHERE "post" = ?', first)
        assert count == 2


async def test_quoting(database_url: str) -> None:
    async with forum_portal(database_url) as fp:
        general = await fp.forum_id("general")
        thread, first = await fp.thread(ALICE, general, "Quotes", "Line *one*\n\nLine two")
        quote = (await fp.json(f"/forums/posts/{first}/quote", BOB))["quote"]
        assert quote == "> **Alice Archer** wrote:\n>\n> Line *one*\n>\n> Line two\n\n"
        reply = await fp.reply(BOB, thread, "I agree", quote=first)
        assert reply["body"] == quote + "I agree"
        assert reply["body_html"].startswith("<blockquote>\n<p><strong>Alice Archer</strong>")
        page = await fp.json(f"/forums/threads/{thread}?quote={first}", BOB)
        assert page["draft"] == quote
        await fp.json(f"/forums/posts/{first}/quote", CAROL, status=404)
        hidden = await fp.reply(DAVE, thread, "to be hidden")
        await fp.post(f"/forums/posts/{hidden['id']}/hide", MO)
        await fp.json(f"/forums/posts/{hidden['id']}/quote", BOB, status=404)
        r = await fp.send("POST", f"/forums/threads/{thread}/posts", BOB,
                          {"body": "x", "quote": hidden["id"]})
        assert r.status_code == 404
