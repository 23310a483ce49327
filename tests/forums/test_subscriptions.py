"""Subscriptions to forums and threads: batched email notifications (real SMTP server),
only of posts the subscriber may read at sending time, and the one-click unsubscribe
link (no sign-in; a forged or altered link is refused)."""

from __future__ import annotations

from urllib.parse import parse_qs, urlsplit

from tests.forums.forumsite import ALICE, BOB, CAROL, DAVE, MO, NEWBIE, forum_portal


def path_of(url: str) -> str:
    parts = urlsplit(url)
    assert parts.scheme == "https" and parts.netloc == "testserver.local"
    return f"{parts.path}?{parts.query}"


async def test_notifications_are_batched_and_unsubscribe_works(database_url: str) -> None:
    async with forum_portal(database_url) as fp:
        general = await fp.forum_id("general")
        thread, _ = await fp.thread(ALICE, general, "Roadmap 2027", "What is planned?")
        await fp.post(f"/forums/{general}/subscribe", BOB)
        await fp.post(f"/forums/threads/{thread}/subscribe", BOB)  # same contact: one mail
        await fp.post(f"/forums/threads/{thread}/subscribe", ALICE)
        subs = await fp.json("/forums/subscriptions", BOB)
        assert sorted((s["kind"], s["target"]) for s in subs["subscriptions"]) == [
            ("forum", general), ("thread", thread)]
        await fp.reply(DAVE, thread, "Version **3** ships in March")
        await fp.reply(MO, thread, "And the API in May")
        await fp.reply(ALICE, thread, "Thanks both")  # its author is not notified of it
        assert fp.mail.messages == []
        assert await fp.send_notifications() == 2
        assert await fp.send_notifications() == 0  # nothing sent twice
        bob = fp.mail.to(BOB)
        assert len(bob) == 1
        text = fp.mail.body(bob[0])
        assert str(bob[0]["Subject"]) == "New post in Roadmap 2027"
        assert "Version 3 ships in March" in text and "And the API in May" in text
        assert "Thanks both" in text
        assert f"https://testserver.local/forums/threads/{thread}#post-" in text
        links = fp.mail.unsubscribe_links(bob[0])
        assert len(links) == 1  # the subscription that queued it (the forum's, first made)
        alice = fp.mail.to(ALICE)
        assert len(alice) == 1 and "Thanks both" not in fp.mail.body(alice[0])
        assert "Version 3 ships" in fp.mail.body(alice[0])
        assert fp.mail.to(DAVE) == [] and fp.mail.to(MO) == []
        single = fp.mail.unsubscribe_links(alice[0])
        assert len(single) == 1 and str(alice[0]["List-Unsubscribe"]) == f"<{single[0]}>"
        # forged links: changed subscription, contact or token, or another secret
        good = path_of(single[0])
        query = parse_qs(urlsplit(good).query)
        sub, contact, token = query["s"][0], query["c"][0], query["t"][0]
        flipped = token[:-1] + ("0" if token[-1] != "0" else "1")
        other_sub = parse_qs(urlsplit(path_of(links[0])).query)["s"][0]
        assert other_sub != sub
        forged = [
            f"/forums/unsubscribe?s={other_sub}&c={contact}&t={token}",
            f"/forums/unsubscribe?s={sub}&c={int(contact) + 1}&t={token}",
            f"/forums/unsubscribe?s={sub}&c={contact}&t={flipped}",
            f"/forums/unsubscribe?s={sub}&c={contact}&t=",
            f"/forums/unsubscribe?s={sub}&c={contact}",
            "/forums/unsubscribe?s=x&c=y&t=z",
        ]
        for url in forged:
            r = await fp.get(url)
            assert r.status_code == 403, (url, r.status_code)
            assert "not valid" in r.text
        assert await fp.fetchval('SELECT COUNT(*) FROM "forum_subscription"') == 3
        # the real link works without signing in, once; a second click says so
        r = await fp.get(good)
        assert r.status_code == 200 and "no longer receive" in r.text
        r = await fp.get(good)
        assert r.status_code == 200 and "already been cancelled" in r.text
        assert (await fp.json("/forums/subscriptions", ALICE))["subscriptions"] == []
        await fp.reply(BOB, thread, "One more")
        assert await fp.send_notifications() == 0
        assert len(fp.mail.to(ALICE)) == 1
        # Bob leaves the forum through his link: his thread subscription still counts
        assert "no longer receive" in (await fp.get(path_of(links[0]))).text
        await fp.reply(DAVE, thread, "Still here")
        assert await fp.send_notifications() == 1
        bob = fp.mail.to(BOB)
        assert len(bob) == 2 and "Still here" in fp.mail.body(bob[1])
        (thread_link,) = fp.mail.unsubscribe_links(bob[1])
        assert "no longer receive" in (await fp.get(path_of(thread_link))).text
        await fp.reply(DAVE, thread, "Last one")
        assert await fp.send_notifications() == 0
        assert len(fp.mail.to(BOB)) == 2


async def test_notifications_never_reveal_what_the_subscriber_cannot_read(
        database_url: str) -> None:
    async with forum_portal(database_url) as fp:
        general = await fp.forum_id("general")
        thread, _ = await fp.thread(ALICE, general, "Deal room", "Opening")
        await fp.post(f"/forums/{general}/subscribe", DAVE)
        await fp.post(f"/forums/{general}/subscribe", BOB)
        r = await fp.send("POST", f"/forums/{general}/subscribe", CAROL)
        assert r.status_code == 404
        # Dave loses the partner role: he is still subscribed, but may not read any more
        await fp.apply(dave_partner=False)
        await fp.reply(ALICE, thread, "Secret margin is 40 percent (WOMBAT)")
        hidden = await fp.reply(ALICE, thread, "Hidden remark KOALA")
        await fp.post(f"/forums/posts/{hidden['id']}/hide", MO)
        assert await fp.send_notifications() == 1
        assert fp.mail.to(DAVE) == []
        bob = fp.mail.to(BOB)
        assert len(bob) == 1
        text = fp.mail.body(bob[0])
        assert "WOMBAT" in text and "KOALA" not in text
        dave = await fp.fetchval('SELECT "id" FROM "contact" WHERE "email" = ?', DAVE)
        states = await fp.call(
            fp.portal.services.db.fetch,
            'SELECT "contact", "post", "state" FROM "forum_notification" ORDER BY "id"')
        assert sorted((r["contact"] == dave, r["post"] == hidden["id"], r["state"])
                      for r in states) == [
            (False, False, "sent"), (False, True, "skipped"),
            (True, False, "skipped"), (True, True, "skipped")]
        outbox = await fp.fetchval(
            'SELECT COUNT(*) FROM "portalis_outbox" WHERE "body" LIKE ?', "%WOMBAT%")
        assert outbox == 1


async def test_send_notifications_cli_command_is_contributed() -> None:
    from click.testing import CliRunner

    from portalis.plugins.forums.plugin import portalis_cli_commands

    (group,) = portalis_cli_commands()
    assert group.name == "forums" and "send-notifications" in group.commands
    result = CliRunner().invoke(group, ["send-notifications", "--help"])
    assert result.exit_code == 0 and "--limit" in result.output


async def test_no_notification_from_a_thread_waiting_for_approval(database_url: str) -> None:
    """A moderator's reply in a new contact's pending thread is not mailed to the
    forum's subscribers; the thread's opening post is, once approved."""
    async with forum_portal(database_url,
                            settings={"Forums/ModerateNewContacts": "true"}) as fp:
        general = await fp.forum_id("general")
        await fp.post(f"/forums/{general}/subscribe", BOB)
        thread, first = await fp.thread(NEWBIE, general, "Newcomer", "Hello (GNU)")
        await fp.reply(MO, thread, "Welcome aboard (IBEX)")
        assert await fp.send_notifications() == 0
        assert fp.mail.to(BOB) == []
        await fp.post(f"/forums/posts/{first}/approve", MO)
        assert await fp.send_notifications() == 1
        (mail,) = fp.mail.to(BOB)
        assert "GNU" in fp.mail.body(mail) and "IBEX" not in fp.mail.body(mail)
