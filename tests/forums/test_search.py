"""Full-text search (FTS5 on SQLite, PostgreSQL full text on PostgreSQL): ranked,
highlighted, and only over posts the visitor may read. The index follows every write
(edit, hide, restore, approve, delete) in the writing transaction, holds no hidden or
pending post, and a candidate the visitor may not read never comes back — a partner
forum's posts stay out of the results of outsiders, even when they rank first."""

from __future__ import annotations

from typing import Any

from portalis.core import Principal
from portalis.core.migrate import migrate
from tests.forums.forumsite import ALICE, BOB, CAROL, MO, NEWBIE, ForumPortal, forum_portal
from tests.support.database import TemplateDatabases, engine_name

INDEX_MIGRATION = "2026-12-02T21:30:00:000000"


async def hits(fp: ForumPortal, q: str, who: str | None) -> list[int]:
    data = await fp.json(f"/forums/search?q={q}", who)
    return [h["id"] for h in data["results"]]


async def indexed(fp: ForumPortal) -> set[int]:
    """The post ids in the full-text index itself."""
    if engine_name() == "sqlite":
        rows = await fp.call(fp.portal.services.db.fetch, "SELECT rowid AS id FROM forum_post_fts")
    else:
        rows = await fp.call(fp.portal.services.db.fetch,
                             "SELECT post_id AS id FROM forum_post_search")
    return {int(r["id"]) for r in rows}


async def site_id(fp: ForumPortal) -> int:
    return int(await fp.fetchval('SELECT "id" FROM "portalis_website" WHERE "key" = ?',
                                 "community"))


async def test_the_index_is_the_engines_full_text_index(database_url: str) -> None:
    """An FTS5 table on SQLite; a generated tsvector with a GIN index on PostgreSQL."""
    async with forum_portal(database_url) as fp:
        if engine_name() == "sqlite":
            sql = await fp.fetchval(
                "SELECT sql FROM sqlite_master WHERE name = ?", "forum_post_fts")
            assert "USING fts5" in sql and "porter" in sql
        else:
            kind = await fp.fetchval(
                "SELECT data_type FROM information_schema.columns "
                "WHERE table_name = ? AND column_name = ?", "forum_post_search", "document")
            assert kind == "tsvector"
            index = await fp.fetchval(
                "SELECT indexdef FROM pg_indexes WHERE tablename = ? AND indexname = ?",
                "forum_post_search", "forum_post_search_document")
            assert "USING gin" in index


async def test_words_and_stems_match_not_substrings(database_url: str) -> None:
    """What LIKE '%q%' would get wrong: stems match across word forms, words match
    in any order and far apart, and a word never matches inside another word."""
    async with forum_portal(database_url) as fp:
        lounge = await fp.forum_id("lounge")
        thread, runners = await fp.thread(
            ALICE, lounge, "Words", "The runners kept RUNNING through the connected tunnels.")
        strings = (await fp.reply(BOB, thread, "Concatenate the two strings first, "
                                  "then split them at every comma."))["id"]
        cat = (await fp.reply(BOB, thread, "My cat sat on the mat."))["id"]
        assert await hits(fp, "runs", CAROL) == [runners]  # runs ~ running
        assert await hits(fp, "run", CAROL) == [runners]
        assert await hits(fp, "connections", CAROL) == [runners]  # ~ connected
        assert await hits(fp, "tunnel", CAROL) == [runners]
        assert await hits(fp, "cat", CAROL) == [cat]  # not "Concatenate"
        assert await hits(fp, "CAT", CAROL) == [cat]
        assert await hits(fp, "split+strings", CAROL) == [strings]  # any order, apart
        assert await hits(fp, "comma+cat", CAROL) == []  # all words, in one post
        assert await hits(fp, "conc", CAROL) == []  # no prefix or substring match


async def test_results_are_ranked_and_highlighted(database_url: str) -> None:
    async with forum_portal(database_url) as fp:
        lounge = await fp.forum_id("lounge")
        thread, once = await fp.thread(
            ALICE, lounge, "Animals", "A long story about the savannah where, among many "
            "other animals and plants and rivers, a single zebra was seen by the guides.")
        dense = (await fp.reply(BOB, thread, "Zebra, zebra, zebra: the zebras again."))["id"]
        both = (await fp.reply(BOB, thread, "A zebra next to a giraffe."))["id"]
        other = (await fp.reply(BOB, thread, "Only an okapi here."))["id"]
        data = await fp.json("/forums/search?q=zebra", CAROL)
        ids = [h["id"] for h in data["results"]]
        assert ids[0] == dense and set(ids) == {once, dense, both}
        assert ids.index(once) == 2  # one mention in a long post ranks last
        assert [h["rank"] for h in data["results"]] == [1, 2, 3]
        top = data["results"][0]
        assert "<mark>" in top["snippet_html"] and top["thread_title"] == "Animals"
        assert top["url"] == f"/forums/threads/{thread}#post-{dense}"
        # words are ANDed; "or" makes an OR; stemming finds "zebras" from "zebra"
        assert await hits(fp, "zebra+giraffe", CAROL) == [both]
        assert set(await hits(fp, "giraffe+or+okapi", CAROL)) == {both, other}
        assert dense in await hits(fp, "zebras", CAROL)
        html = await fp.get("/forums/search?q=giraffe", CAROL)
        assert html.status_code == 200 and "<mark>giraffe</mark>" in html.text


async def test_search_never_returns_restricted_hidden_or_pending_posts(
        database_url: str) -> None:
    async with forum_portal(database_url,
                            settings={"Forums/ModerateNewContacts": "true"}) as fp:
        lounge = await fp.forum_id("lounge")
        general = await fp.forum_id("general")
        _, open_post = await fp.thread(MO, lounge, "Open", "kumquat for everyone")
        secret_thread, secret = await fp.thread(MO, general, "Deals", "kumquat kumquat deal")
        spam = (await fp.reply(MO, secret_thread, "kumquat spam"))["id"]
        await fp.post(f"/forums/posts/{spam}/hide", MO)
        waiting = (await fp.reply(NEWBIE, secret_thread, "kumquat from a new partner"))["id"]
        assert (await fp.json(f"/forums/threads/{secret_thread}", NEWBIE))["posts"][-1][
            "pending"] is True
        for who in (CAROL, None):
            assert await hits(fp, "kumquat", who) == [open_post]
            page = await fp.get("/forums/search?q=kumquat", who)
            assert "deal" not in page.text and "Deals" not in page.text
        assert await hits(fp, "kumquat", BOB) == [secret, open_post]
        for who in (BOB, MO, NEWBIE):
            found = await hits(fp, "kumquat", who)
            assert spam not in found and waiting not in found
        assert spam not in await indexed(fp) and waiting not in await indexed(fp)
        # approval puts the post in the index, for those who may read it
        await fp.post(f"/forums/posts/{waiting}/approve", MO)
        assert waiting in await hits(fp, "kumquat", BOB)
        assert waiting not in await hits(fp, "kumquat", CAROL)


async def test_outsiders_find_their_posts_behind_many_restricted_ones(
        database_url: str) -> None:
    """The restricted posts rank first; the outsider's result still comes (the
    candidates are read in batches until the page is full)."""
    async with forum_portal(database_url) as fp:
        lounge = await fp.forum_id("lounge")
        general = await fp.forum_id("general")
        thread, _ = await fp.thread(ALICE, general, "Ferrets", "ferret ferret")
        for i in range(110):
            await fp.reply(BOB, thread, f"ferret ferret {i}")
        _, public = await fp.thread(ALICE, lounge, "Pets", "We talked about many pets "
                                    "today, dogs, cats, birds, and one ferret as well.")
        assert await hits(fp, "ferret", CAROL) == [public]
        first = await fp.json("/forums/search?q=ferret", BOB)
        assert public not in [h["id"] for h in first["results"]] and first["next"]


async def test_the_index_follows_edits_hides_moves_and_deletes(database_url: str) -> None:
    async with forum_portal(database_url) as fp:
        lounge = await fp.forum_id("lounge")
        general = await fp.forum_id("general")
        thread, post = await fp.thread(ALICE, lounge, "Fruit", "an apple a day")
        assert await hits(fp, "apple", CAROL) == [post]
        r = await fp.send("PATCH", f"/forums/posts/{post}", ALICE, {"body": "a banana a day"})
        assert r.status_code == 200, r.text
        assert await hits(fp, "apple", CAROL) == []
        assert await hits(fp, "banana", CAROL) == [post]
        await fp.post(f"/forums/posts/{post}/hide", MO)
        assert await hits(fp, "banana", CAROL) == [] and post not in await indexed(fp)
        await fp.post(f"/forums/posts/{post}/restore", MO)
        assert await hits(fp, "banana", CAROL) == [post]
        # the thread moves to the partners' forum: outsiders no longer find it
        await fp.post(f"/forums/threads/{thread}/move", MO, {"forum": general})
        assert await hits(fp, "banana", CAROL) == []
        assert await hits(fp, "banana", BOB) == [post]
        # deleted (through records, as the site's system): gone from the index
        site_id = await fp.fetchval('SELECT "id" FROM "portalis_website" WHERE "key" = ?',
                                    "community")
        await fp.call(fp.portal.records.delete, Principal.for_system(int(site_id)),
                      "forum_post", post)
        assert post not in await indexed(fp)
        assert await hits(fp, "banana", BOB) == []


async def test_search_text_is_never_an_injection_or_a_500(database_url: str) -> None:
    async with forum_portal(database_url) as fp:
        lounge = await fp.forum_id("lounge")
        thread, post = await fp.thread(ALICE, lounge, "Quotes",
                                       'she said "hello" (loudly)')
        await fp.reply(BOB, thread, "nothing to see")
        for q in ('"hello', "hello*", "NEAR(hello", "hello AND OR NOT", "-hello", "'; --",
                  "^hello", "hello:", "body:hello", "(", "!!", "or", "%25", "%00",
                  "\x00", "hello\x00loudly", "\u202e\ufeff", "hello\\", "[]{}<>",
                  "NEAR", "* OR *", '"" OR ""', "hello NOT", "AND", "a" * 200):
            r = await fp.get("/forums/search", CAROL, params={"q": q},
                             headers={"accept": "application/json"})
            assert r.status_code == 200, (q, r.text)
            assert all(h["id"] == post for h in r.json()["results"]), q
            html = await fp.get("/forums/search", CAROL, params={"q": q})
            assert html.status_code == 200, (q, html.text)
        # operators are plain words or separators, the same on both engines: the
        # words are what is searched for
        for q in ("hello+loudly", '"hello', "hello*", "(hello)+loudly!", "-hello",
                  '"loudly+hello"', "hello:", "^hello", "hello%00loudly", "HELLO+or+zzz"):
            assert await hits(fp, q, CAROL) == [post], q
        too_long = await fp.get("/forums/search", CAROL, params={"q": "x" * 201},
                                headers={"accept": "application/json"})
        assert too_long.status_code == 400
        bad_page = await fp.get("/forums/search", CAROL, params={"q": "hello", "page": "0"},
                                headers={"accept": "application/json"})
        assert bad_page.status_code == 400
        for page in ("abc", "-1", "1.5", ""):
            r = await fp.get("/forums/search", CAROL, params={"q": "hello", "page": page},
                             headers={"accept": "application/json"})
            assert r.status_code == 400, (page, r.status_code, r.text)
        far = await fp.json("/forums/search?q=hello&page=99999999999999999999", CAROL)
        assert far["results"] == [] and far["next"] is None
        empty: Any = await fp.json("/forums/search?q=", CAROL)
        assert empty["results"] == [] and empty["next"] is None


async def test_no_result_from_a_thread_waiting_for_approval(database_url: str) -> None:
    """A moderator's reply in a new contact's pending thread is indexed (the reply is
    not pending), but nobody else finds it until the thread is approved."""
    async with forum_portal(database_url,
                            settings={"Forums/ModerateNewContacts": "true"}) as fp:
        general = await fp.forum_id("general")
        thread, first = await fp.thread(NEWBIE, general, "New here", "hello okapi world")
        reply = (await fp.reply(MO, thread, "welcome, okapi fan"))["id"]
        assert reply in await indexed(fp) and first not in await indexed(fp)
        assert await hits(fp, "okapi", BOB) == []
        # the thread's author finds what its thread page shows it, no more
        shown = {p["id"] for p in await fp.posts(NEWBIE, thread)}
        assert set(await hits(fp, "okapi", NEWBIE)) == shown - {first}
        await fp.post(f"/forums/posts/{first}/approve", MO)
        assert set(await hits(fp, "okapi", BOB)) == {first, reply}
        assert await hits(fp, "okapi", CAROL) == []


async def test_deleting_a_thread_empties_its_index_entries(database_url: str) -> None:
    async with forum_portal(database_url) as fp:
        lounge = await fp.forum_id("lounge")
        thread, first = await fp.thread(ALICE, lounge, "Short-lived", "ephemeral words")
        second = (await fp.reply(BOB, thread, "ephemeral too"))["id"]
        assert {first, second} <= await indexed(fp)
        await fp.call(fp.portal.records.delete, Principal.for_system(await site_id(fp)),
                      "forum_thread", thread)
        assert not {first, second} & await indexed(fp)
        assert await hits(fp, "ephemeral", CAROL) == []


async def test_the_migration_indexes_and_counts_existing_posts(
        database_url: str, databases: TemplateDatabases) -> None:
    """Posts written before the index existed (no triggers, no index table) are indexed
    when the migration runs — the visible ones only — and their threads recounted."""
    async with forum_portal(database_url) as fp:
        db = fp.portal.services.db
        lounge = await fp.forum_id("lounge")
        thread, first = await fp.thread(ALICE, lounge, "Walruses", "a walrus on the ice")
        if engine_name() == "sqlite":
            drop = [f"DROP TRIGGER forum_post_{name}" for name in (
                "counts_insert", "counts_update", "counts_delete", "fts_insert",
                "fts_update", "fts_delete")] + ["DROP TABLE forum_post_fts"]
        else:
            drop = ['DROP TRIGGER forum_post_index ON "forum_post"',
                    'DROP TRIGGER forum_post_counts ON "forum_post"',
                    "DROP TABLE forum_post_search", "DROP FUNCTION forum_post_index()",
                    "DROP FUNCTION forum_post_counts()"]
        for statement in drop:
            await fp.call(db.execute, statement)
        await fp.call(db.execute, 'DELETE FROM "migration" WHERE "name" = ?', INDEX_MIGRATION)
        # written while the database keeps no index and no counter
        older = [(await fp.reply(BOB, thread, f"walrus number {i}"))["id"] for i in range(3)]
        await fp.post(f"/forums/posts/{older[0]}/hide", MO)
        await fp.call(db.execute, 'UPDATE "forum_thread" SET "post_count" = ? WHERE "id" = ?',
                      99, thread)

        await migrate(database_url, databases.plugin_apps, echo=lambda *_: None)

        ran = await fp.fetchval('SELECT COUNT(*) FROM "migration" WHERE "name" = ?',
                                INDEX_MIGRATION)
        assert int(ran) == 1
        assert await indexed(fp) == {first, older[1], older[2]}
        assert set(await hits(fp, "walrus", CAROL)) == {first, older[1], older[2]}
        assert (await fp.json(f"/forums/threads/{thread}", MO))["thread"]["post_count"] == 3
        # and the triggers are back: the next reply is indexed and counted
        newer = (await fp.reply(BOB, thread, "one more walrus"))["id"]
        assert newer in await hits(fp, "walrus", CAROL)
        assert (await fp.json(f"/forums/threads/{thread}", MO))["thread"]["post_count"] == 4
