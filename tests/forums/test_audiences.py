"""Per-forum access with filtered forum grants (``filter: "audience eq '...'"``): the
partners' forum and the open lounge share the ``forum`` table, and each chain of grants
(forum -> thread -> post) reaches only its own forums. Readers' thread and post grants
are filtered (``pending eq false``; ``hidden eq false and pending eq false``), so hidden
and pending posts and threads stay out of the kernel's own paths (``/_api``,
``/_lists``) too, not only the plugin's pages."""

from __future__ import annotations

from typing import Any

from tests.forums.forumsite import ALICE, BOB, CAROL, DAVE, MO, NEWBIE, ForumPortal, forum_portal

SECRET = "Partner price list: discount code ZEBRA-42"


async def ids(fp: ForumPortal, url: str, who: str | None) -> set[int]:
    return {row["id"] for row in (await fp.json(url, who))["value"]}


async def thread_ids(fp: ForumPortal, url: str, who: str | None) -> set[int]:
    return {t["id"] for t in (await fp.json(url, who))["threads"]}


async def two_forums(fp: ForumPortal) -> dict[str, Any]:
    """A question thread with a reply in each forum."""
    general = await fp.forum_id("general")
    lounge = await fp.forum_id("lounge")
    secret, secret_first = await fp.thread(ALICE, general, "Price list ZEBRA", SECRET,
                                           thread_type="question")
    secret_reply = (await fp.reply(BOB, secret, "ZEBRA reply from Bob"))["id"]
    open_, open_first = await fp.thread(CAROL, lounge, "Lounge question OTTER",
                                        "Where is the OTTER manual?", thread_type="question")
    open_reply = (await fp.reply(ALICE, open_, "OTTER manual: see the docs"))["id"]
    return {"general": general, "lounge": lounge, "secret": secret,
            "secret_posts": {secret_first, secret_reply}, "open": open_,
            "open_posts": {open_first, open_reply}}


async def test_partner_forum_hidden_from_others_while_lounge_stays_open(
        database_url: str) -> None:
    async with forum_portal(database_url) as fp:
        f = await two_forums(fp)
        secret, open_ = f["secret"], f["open"]
        for who in (CAROL, None):
            # forum pages
            index = (await fp.json("/forums", who))["groups"]
            assert [[x["id"] for x in g["forums"]] for g in index] == [[f["lounge"]]]
            await fp.json(f"/forums/{f['general']}", who, status=404)
            assert await thread_ids(fp, f"/forums/{f['lounge']}", who) == {open_}
            r = await fp.get(f"/forums/threads/{secret}", who)
            assert r.status_code == 404 and "ZEBRA" not in r.text
            page = await fp.get(f"/forums/threads/{open_}", who)
            assert page.status_code == 200 and "OTTER manual: see the docs" in page.text
            assert {p["id"] for p in await fp.posts(who, open_)} == f["open_posts"]
            # the plugin's lists, search and feed
            assert await thread_ids(fp, "/forums/latest", who) == {open_}
            assert await thread_ids(fp, "/forums/unanswered", who) == {open_}
            assert (await fp.json("/forums/search?q=ZEBRA", who))["results"] == []
            hits = (await fp.json("/forums/search?q=OTTER", who))["results"]
            assert {h["id"] for h in hits} == f["open_posts"]
            feed = await fp.get("/forums/feed", who)
            assert "ZEBRA" not in feed.text and feed.text.count("<entry>") == 2
            assert "OTTER manual" in feed.text
            # the kernel's Web API and lists, with and without a $filter aiming at them
            assert await ids(fp, "/_api/forum", who) == {f["lounge"]}
            assert await ids(fp, "/_api/forum_thread", who) == {open_}
            assert await ids(fp, "/_api/forum_post", who) == f["open_posts"]
            assert await ids(fp, f"/_api/forum_post?$filter=thread eq {secret}", who) == set()
            assert await ids(fp, "/_api/forum?$filter=audience eq 'partners'", who) == set()
            await fp.json(f"/_api/forum_thread({secret})", who, status=404)
            for post in f["secret_posts"]:
                await fp.json(f"/_api/forum_post({post})", who, status=404)
            assert await ids(fp, "/_lists/forum-posts", who) == f["open_posts"]
            assert await ids(fp, "/_lists/forum-threads", who) == {open_}
            assert await ids(fp, "/_lists/forum-posts?search=ZEBRA", who) == set()
        assert await thread_ids(fp, "/forums/mine", CAROL) == {open_}
        # a signed-in outsider writes in the lounge only, on no path into the partners'
        r = await fp.send("POST", f"/forums/{f['general']}/threads", CAROL,
                          {"title": "t", "body": "b"})
        assert r.status_code == 404
        r = await fp.send("POST", "/_api/forum_thread", CAROL,
                          {"forum": f["general"], "title": "sneaky"})
        assert r.status_code in (403, 404), r.text
        r = await fp.send("POST", "/_api/forum_post", CAROL, {"thread": secret, "body": "hi"})
        assert r.status_code in (403, 404), r.text
        assert await fp.fetchval('SELECT COUNT(*) FROM "forum_thread" WHERE "forum" = ?',
                                 f["general"]) == 1
        assert await fp.fetchval('SELECT COUNT(*) FROM "forum_post" WHERE "thread" = ?',
                                 secret) == 2
        r = await fp.send("POST", f"/forums/{f['lounge']}/threads", None,
                          {"title": "anon", "body": "anon"})
        assert r.status_code in (401, 403), r.text
        # partners and the moderator see both forums on every path
        everything = f["secret_posts"] | f["open_posts"]
        for who in (ALICE, BOB, MO):
            assert await thread_ids(fp, "/forums/latest", who) == {secret, open_}
            assert await thread_ids(fp, "/forums/unanswered", who) == {secret, open_}
            assert await ids(fp, "/_api/forum_post", who) == everything
            assert await ids(fp, "/_api/forum_thread", who) == {secret, open_}
            assert await ids(fp, "/_lists/forum-posts", who) == everything
            hits = (await fp.json("/forums/search?q=ZEBRA", who))["results"]
            assert {h["id"] for h in hits} == f["secret_posts"]
            feed = await fp.get("/forums/feed", who)
            assert "ZEBRA-42" in feed.text and "OTTER manual" in feed.text
        assert await thread_ids(fp, "/forums/mine", ALICE) == {secret}


async def test_losing_the_partner_role_closes_the_partner_forum_only(
        database_url: str) -> None:
    async with forum_portal(database_url) as fp:
        f = await two_forums(fp)
        dave_post = (await fp.reply(DAVE, f["secret"], "Dave's WOMBAT note"))["id"]
        dave_thread, dave_first = await fp.thread(DAVE, f["general"], "Dave's deal KIWI",
                                                  "KIWI terms")
        for target in (f"/forums/{f['general']}", f"/forums/{f['lounge']}"):
            await fp.post(f"{target}/subscribe", DAVE)
        await fp.post(f"/forums/threads/{f['open']}/subscribe", CAROL)
        await fp.apply(dave_partner=False)
        # the partners' threads are gone for Dave, his own included; the lounge stays
        assert await thread_ids(fp, "/forums/latest", DAVE) == {f["open"]}
        assert await thread_ids(fp, "/forums/mine", DAVE) == set()
        await fp.json(f"/forums/threads/{dave_thread}", DAVE, status=404)
        assert await ids(fp, "/_api/forum_thread", DAVE) == {f["open"]}
        assert (await fp.json("/forums/search?q=KIWI", DAVE))["results"] == []
        assert "KIWI" not in (await fp.get("/forums/feed", DAVE)).text
        # own-posts (Contact scope) still reaches the posts he wrote himself, and only
        # those: nobody else's partner content, no thread title (see the README)
        assert await ids(fp, "/_api/forum_post", DAVE) == f["open_posts"] | {dave_post,
                                                                               dave_first}
        # notifications: the lounge's reach Dave; the partners' reach only partners
        await fp.reply(BOB, f["secret"], "New ZEBRA margin")
        await fp.reply(BOB, f["open"], "New OTTER chapter")
        assert await fp.send_notifications() == 2  # Dave (lounge) and Carol (her thread)
        (dave_mail,) = fp.mail.to(DAVE)
        text = fp.mail.body(dave_mail)
        assert "New OTTER chapter" in text and "ZEBRA" not in text
        # a lounge thread moved into the partners' forum stops notifying Carol
        await fp.post(f"/forums/threads/{f['open']}/move", MO, {"forum": f["general"]})
        await fp.reply(ALICE, f["open"], "Now partners only: PANGOLIN")
        assert await fp.send_notifications() == 0
        assert all("PANGOLIN" not in fp.mail.body(m) for m in fp.mail.to(CAROL))
        assert all("PANGOLIN" not in fp.mail.body(m) for m in fp.mail.to(DAVE))
        await fp.json(f"/forums/threads/{f['open']}", CAROL, status=404)
        assert await thread_ids(fp, "/forums/mine", CAROL) == set()


async def test_hidden_and_pending_posts_stay_out_of_the_kernel_paths(
        database_url: str) -> None:
    async with forum_portal(database_url,
                            settings={"Forums/ModerateNewContacts": "true"}) as fp:
        general = await fp.forum_id("general")
        lounge = await fp.forum_id("lounge")
        made: dict[str, dict[str, int]] = {}
        for name, forum in (("general", general), ("lounge", lounge)):
            thread, first = await fp.thread(MO, forum, f"Welcome {name}", "Say hello")
            shown = (await fp.reply(MO, thread, f"Shown {name}"))["id"]
            pending = await fp.reply(NEWBIE, thread, f"Pending QUOKKA {name}")
            assert pending["pending"] is True
            hidden = (await fp.reply(MO, thread, f"Hidden NUMBAT {name}"))["id"]
            await fp.post(f"/forums/posts/{hidden}/hide", MO)
            made[name] = {"thread": thread, "first": first, "shown": shown,
                          "pending": pending["id"], "hidden": hidden}
        # a new contact's thread waits with its first post
        waiting, waiting_first = await fp.thread(NEWBIE, lounge, "Waiting DINGO", "DINGO")
        threads = {m["thread"] for m in made.values()}
        readers: dict[str | None, list[str]] = {ALICE: ["general", "lounge"],
                                                BOB: ["general", "lounge"],
                                                CAROL: ["lounge"], None: ["lounge"]}
        for who, forums in readers.items():
            visible = {made[n][k] for n in forums for k in ("first", "shown")}
            assert await ids(fp, "/_api/forum_post", who) == visible
            assert await ids(fp, "/_lists/forum-posts", who) == visible
            for query in ("hidden eq true", "pending eq true"):
                assert await ids(fp, f"/_api/forum_post?$filter={query}", who) == set()
            for n in ("general", "lounge"):
                for k in ("pending", "hidden"):
                    await fp.json(f"/_api/forum_post({made[n][k]})", who, status=404)
            assert await ids(fp, "/_lists/forum-posts?search=QUOKKA", who) == set()
            assert await ids(fp, "/_lists/forum-posts?search=NUMBAT", who) == set()
            assert (await fp.json("/forums/search?q=NUMBAT", who))["results"] == []
            seen = {made[n]["thread"] for n in forums}
            assert await ids(fp, "/_api/forum_thread", who) == seen
            assert await ids(fp, "/_lists/forum-threads", who) == seen
            await fp.json(f"/_api/forum_thread({waiting})", who, status=404)
            await fp.json(f"/_api/forum_post({waiting_first})", who, status=404)
            assert waiting not in await thread_ids(fp, "/forums/latest", who)
            feed = (await fp.get("/forums/feed", who)).text
            assert "QUOKKA" not in feed and "NUMBAT" not in feed
        # its author sees a pending post (own-posts), never a hidden one
        author_view = await ids(fp, "/_api/forum_post", NEWBIE)
        assert {made[n]["pending"] for n in made} <= author_view
        assert not {made[n]["hidden"] for n in made} & author_view
        assert waiting_first in author_view
        assert await ids(fp, "/_api/forum_thread", NEWBIE) == threads | {waiting}
        assert await thread_ids(fp, "/forums/mine", NEWBIE) == {waiting}
        # the moderator's grants are unfiltered: everything, through the kernel too
        everything = {v for m in made.values() for k, v in m.items() if k != "thread"}
        assert await ids(fp, "/_api/forum_post", MO) == everything | {waiting_first}
        assert await ids(fp, "/_lists/forum-posts", MO) == everything | {waiting_first}
        assert await ids(fp, "/_api/forum_thread", MO) == threads | {waiting}
        await fp.post(f"/forums/posts/{waiting_first}/approve", MO)
        assert await ids(fp, "/_api/forum_thread", CAROL) == {made["lounge"]["thread"], waiting}
        # approving and restoring bring them back for readers
        for n in made:
            await fp.post(f"/forums/posts/{made[n]['pending']}/approve", MO)
            await fp.post(f"/forums/posts/{made[n]['hidden']}/restore", MO)
        assert await ids(fp, "/_api/forum_post", CAROL) == {
            v for k, v in made["lounge"].items() if k != "thread"} | {waiting_first}
        assert await ids(fp, "/_api/forum_post", ALICE) == everything | {waiting_first}


def test_the_readme_recommends_the_permissions_this_site_runs() -> None:
    """The plugin README's permission block is the one these tests prove (same keys,
    scopes, filters, privileges and roles), so the documentation cannot drift."""
    from pathlib import Path

    import yaml

    from portalis.plugins import forums
    from tests.forums.forumsite import site_text

    readme = (Path(forums.__file__).parent / "README.md").read_text()
    block = readme.split("```yaml\n", 1)[1].split("```", 1)[0]
    documented = {p["key"]: p for p in yaml.safe_load(block)["permissions"]}
    tested = {p["key"]: p for p in yaml.safe_load(site_text())["permissions"]}
    assert set(documented) == set(tested) - {"own-contact"}
    for key, grant in documented.items():
        assert grant == tested[key], key
    audiences = {f["key"]: f["audience"] for f in yaml.safe_load(block)["records"]["forum"]}
    assert audiences == {"lounge": "everyone", "deals": "partners"}
