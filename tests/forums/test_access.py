"""Access by role: the partners' forums are invisible to everyone else on every path —
forum pages, lists, search, the feed, quoting, votes, subscriptions, kernel lists and
the Web API — while the open lounge next to them is not (see test_audiences)."""

from __future__ import annotations

from tests.forums.forumsite import ALICE, BOB, CAROL, JSON, MO, forum_portal

SECRET = "Partner price list: discount code ZEBRA-42"


async def test_partners_read_and_write_forums(database_url: str) -> None:
    async with forum_portal(database_url) as fp:
        general = await fp.forum_id("general")
        index = await fp.json("/forums", ALICE)
        assert [g["category"] for g in index["groups"]] == ["Community", "Partner network"]
        assert [f["title"] for f in index["groups"][0]["forums"]] == ["Community lounge"]
        assert [f["title"] for f in index["groups"][1]["forums"]] == [
            "Partner general discussion", "Partner technical support"]
        thread, first = await fp.thread(ALICE, general, "Price list", SECRET)
        reply = await fp.reply(BOB, thread, "Thanks **Alice**")
        posts = await fp.posts(ALICE, thread)
        assert [p["id"] for p in posts] == [first, reply["id"]]
        assert posts[1]["body_html"] == "<p>Thanks <strong>Alice</strong></p>\n"
        assert posts[0]["author_name"] == "Alice Archer"
        page = await fp.get(f"/forums/threads/{thread}", ALICE)
        assert page.status_code == 200 and "ZEBRA-42" in page.text
        assert "<strong>Alice</strong>" in page.text
        listing = await fp.json(f"/forums/{general}", BOB)
        assert [t["title"] for t in listing["threads"]] == ["Price list"]
        assert listing["threads"][0]["post_count"] == 2


async def test_restricted_forum_never_leaks(database_url: str) -> None:
    async with forum_portal(database_url) as fp:
        general = await fp.forum_id("general")
        thread, first = await fp.thread(ALICE, general, "Price list ZEBRA", SECRET,
                                        thread_type="question")
        for who in (CAROL, None):
            index = (await fp.json("/forums", who))["groups"]
            assert [[f["title"] for f in g["forums"]] for g in index] == [["Community lounge"]]
            await fp.json(f"/forums/{general}", who, status=404)
            await fp.json(f"/forums/threads/{thread}", who, status=404)
            assert (await fp.json("/forums/latest", who))["threads"] == []
            assert (await fp.json("/forums/unanswered", who))["threads"] == []
            assert (await fp.json("/forums/search?q=ZEBRA", who))["results"] == []
            feed = await fp.get("/forums/feed", who)
            assert feed.status_code == 200 and "ZEBRA" not in feed.text
            assert "<entry>" not in feed.text
            forums = await fp.json("/_api/forum", who)
            assert [f["title"] for f in forums["value"]] == ["Community lounge"]
            for table in ("forum_thread", "forum_post"):
                api = await fp.json(f"/_api/{table}", who)
                assert api["value"] == []
            await fp.json(f"/_api/forum_post({first})", who, status=404)
            kernel_list = await fp.json("/_lists/forum-posts", who)
            assert kernel_list["value"] == []
            html = await fp.get(f"/forums/threads/{thread}", who)
            assert html.status_code == 404 and "ZEBRA" not in html.text
        # signed-in outsider: no quoting, voting, flagging, replying or subscribing
        for url, body in ((f"/forums/posts/{first}/vote", {}),
                          (f"/forums/posts/{first}/flag", {"reason": "x"}),
                          (f"/forums/threads/{thread}/subscribe", {}),
                          (f"/forums/{general}/subscribe", {}),
                          (f"/forums/threads/{thread}/posts", {"body": "hi"}),
                          (f"/forums/{general}/threads", {"title": "t", "body": "b"})):
            r = await fp.send("POST", url, CAROL, body)
            assert r.status_code == 404, (url, r.status_code, r.text)
            assert "ZEBRA" not in r.text
        r = await fp.get(f"/forums/posts/{first}/quote", CAROL)
        assert r.status_code == 404 and "ZEBRA" not in r.text
        # the partners and the moderator see it everywhere
        for who in (BOB, MO):
            assert [t["title"] for t in (await fp.json("/forums/latest", who))["threads"]] == [
                "Price list ZEBRA"]
            hits = (await fp.json("/forums/search?q=zebra", who))["results"]
            assert [h["id"] for h in hits] == [first]
            feed = await fp.get("/forums/feed", who)
            assert "ZEBRA-42" in feed.text
            api = await fp.json("/_api/forum_post", who)
            assert [row["id"] for row in api["value"]] == [first]
        assert (await fp.json("/forums/unanswered", BOB))["threads"][0]["id"] == thread


async def test_search_pages_and_only_reads_visible_posts(database_url: str) -> None:
    async with forum_portal(database_url) as fp:
        general = await fp.forum_id("general")
        thread, _ = await fp.thread(ALICE, general, "Searchable", "needle one")
        ids = [(await fp.reply(BOB, thread, f"needle reply {i}"))["id"] for i in range(12)]
        other = await fp.reply(BOB, thread, "haystack only")
        first_page = await fp.json("/forums/search?q=needle", ALICE)
        assert len(first_page["results"]) == 10 and first_page["next"]
        second = await fp.json(first_page["next"], ALICE)
        found = [h["id"] for h in first_page["results"] + second["results"]]
        assert set(ids) <= set(found) and other["id"] not in found and len(found) == 13
        r = await fp.send("POST", f"/forums/posts/{ids[0]}/hide", MO)
        assert r.status_code == 200, r.text
        hits = [h["id"] for h in (await fp.json("/forums/search?q=reply+0", ALICE))["results"]]
        assert ids[0] not in hits


async def test_lists_latest_unanswered_mine_with_cursor(database_url: str) -> None:
    async with forum_portal(database_url) as fp:
        general = await fp.forum_id("general")
        support = await fp.forum_id("support")
        made = []
        for i in range(13):
            who = ALICE if i % 2 == 0 else BOB
            kind = "question" if i % 3 == 0 else "discussion"
            made.append((await fp.thread(who, support if i % 4 == 0 else general,
                                         f"Thread {i}", f"body {i}", kind))[0])
        first = await fp.json("/forums/latest", ALICE)
        assert len(first["threads"]) == 10 and first["next"] and first["previous"] is None
        second = await fp.json(first["next"], ALICE)
        assert second["next"] is None and second["previous"]
        walked = [t["id"] for t in first["threads"] + second["threads"]]
        assert walked == list(reversed(made))
        back = await fp.json(second["previous"], ALICE)
        assert [t["id"] for t in back["threads"]] == walked[:10]
        mine = await fp.json("/forums/mine", BOB)
        assert sorted(t["id"] for t in mine["threads"]) == sorted(made[1::2])
        questions = {made[i] for i in range(13) if i % 3 == 0}
        unanswered = await fp.json("/forums/unanswered", ALICE)
        assert {t["id"] for t in unanswered["threads"]} == questions
        r = await fp.get("/forums/mine", headers=JSON)
        assert r.status_code == 403
        html = await fp.get("/forums/latest", ALICE)
        assert html.status_code == 200 and "Thread 12" in html.text


async def test_html_forms_post_and_redirect(database_url: str) -> None:
    async with forum_portal(database_url) as fp:
        general = await fp.forum_id("general")
        page = await fp.get(f"/forums/{general}", ALICE)
        assert page.status_code == 200 and 'name="_csrf_token"' in page.text
        token = await fp.portal.csrf()
        r = await fp.portal.send("POST", f"/forums/{general}/threads", who=ALICE, csrf=False,
                                 data={"_csrf_token": token, "title": "From a form",
                                       "body": "Hello *form*", "thread_type": "question"})
        assert r.status_code == 303, r.text
        location = r.headers["location"]
        assert location.startswith("/forums/threads/")
        thread = await fp.get(location, BOB)
        assert thread.status_code == 200 and "Hello <em>form</em>" in thread.text
        first = (await fp.posts(BOB, int(location.rsplit("/", 1)[1])))[0]["id"]
        r = await fp.portal.send("POST", f"/forums/posts/{first}/vote", who=BOB, csrf=False,
                                 data={"_csrf_token": token})
        assert r.status_code == 303 and r.headers["location"] == f"{location}#post-{first}"
        r = await fp.portal.send("POST", f"/forums/posts/{first}/vote", who=BOB, csrf=False,
                                 data={"_csrf_token": "wrong"})
        assert r.status_code == 403
