"""Thread counters: ``post_count`` is the number of posts readers see (not hidden, not
waiting for approval), kept by the database in the transaction that writes the post,
so concurrent replies never lose a count; ``last_post_at`` follows the newest post."""

from __future__ import annotations

import asyncio

from tests.forums.forumsite import ALICE, BOB, DAVE, MO, NEWBIE, forum_portal

REPLIES = 24


async def thread_row(fp, thread: int) -> dict:  # type: ignore[no-untyped-def]
    data = await fp.json(f"/forums/threads/{thread}", MO)
    return data["thread"]  # type: ignore[no-any-return]


async def test_concurrent_replies_count_exactly(database_url: str) -> None:
    async with forum_portal(database_url) as fp:
        general = await fp.forum_id("general")
        thread, _ = await fp.thread(ALICE, general, "Busy thread", "first")
        writers = (ALICE, BOB, DAVE, MO)
        answers = await asyncio.gather(*[
            fp.send("POST", f"/forums/threads/{thread}/posts", writers[i % len(writers)],
                    {"body": f"concurrent reply {i}"}) for i in range(REPLIES)])
        assert [a.status_code for a in answers] == [201] * REPLIES, [
            a.text for a in answers if a.status_code != 201]
        row = await thread_row(fp, thread)
        assert row["post_count"] == REPLIES + 1
        stored = await fp.fetchval('SELECT COUNT(*) FROM "forum_post" WHERE "thread" = ?',
                                   thread)
        assert int(stored) == REPLIES + 1
        listing = await fp.json(f"/forums/{general}", BOB)
        assert [t["post_count"] for t in listing["threads"]] == [REPLIES + 1]
        newer = await fp.fetchval(
            'SELECT COUNT(*) FROM "forum_post" p JOIN "forum_thread" t ON p."thread" = t."id" '
            'WHERE t."id" = ? AND p."created" > t."last_post_at"', thread)
        assert int(newer) == 0  # last_post_at is the newest post's time


async def test_concurrent_new_threads_and_replies_in_two_threads(database_url: str) -> None:
    async with forum_portal(database_url) as fp:
        general = await fp.forum_id("general")
        one, _ = await fp.thread(ALICE, general, "One", "first of one")
        two, _ = await fp.thread(BOB, general, "Two", "first of two")
        calls = []
        for i in range(10):
            calls.append(fp.send("POST", f"/forums/threads/{one}/posts", BOB, {"body": f"a{i}"}))
            calls.append(fp.send("POST", f"/forums/threads/{two}/posts", ALICE,
                                 {"body": f"b{i}"}))
            calls.append(fp.send("POST", f"/forums/{general}/threads", DAVE,
                                 {"title": f"New {i}", "body": f"opening {i}"}))
        answers = await asyncio.gather(*calls)
        assert all(a.status_code == 201 for a in answers), [a.text for a in answers]
        assert (await thread_row(fp, one))["post_count"] == 11
        assert (await thread_row(fp, two))["post_count"] == 11
        started = [a.json()["thread"] for a in answers if "thread" in a.json()]
        assert len(started) == 10 and all(t["post_count"] == 1 for t in started)


async def test_post_count_follows_hide_restore_and_approval(database_url: str) -> None:
    async with forum_portal(database_url,
                            settings={"Forums/ModerateNewContacts": "true"}) as fp:
        general = await fp.forum_id("general")
        thread, _ = await fp.thread(MO, general, "Counted", "first")  # moderators wait not
        bob = await fp.reply(BOB, thread, "bob's reply")
        assert bob["pending"] is True  # Bob is new: nothing of his approved yet
        assert (await thread_row(fp, thread))["post_count"] == 1
        before = (await thread_row(fp, thread))["last_post_at"]
        await fp.post(f"/forums/posts/{bob['id']}/approve", MO)
        after = await thread_row(fp, thread)
        assert after["post_count"] == 2 and after["last_post_at"] > before
        await fp.post(f"/forums/posts/{bob['id']}/approve", MO)  # again: no double count
        assert (await thread_row(fp, thread))["post_count"] == 2
        await fp.post(f"/forums/posts/{bob['id']}/hide", MO)
        assert (await thread_row(fp, thread))["post_count"] == 1
        await fp.post(f"/forums/posts/{bob['id']}/hide", MO)
        assert (await thread_row(fp, thread))["post_count"] == 1
        await fp.post(f"/forums/posts/{bob['id']}/restore", MO)
        assert (await thread_row(fp, thread))["post_count"] == 2
        # an edit changes nothing
        r = await fp.send("PATCH", f"/forums/posts/{bob['id']}", BOB, {"body": "edited"})
        assert r.status_code == 200, r.text
        assert (await thread_row(fp, thread))["post_count"] == 2
        # a pending post that is never approved is never counted
        pending = await fp.reply(NEWBIE, thread, "waiting")
        assert pending["pending"] is True
        assert (await thread_row(fp, thread))["post_count"] == 2
