"""Crash safety of the plugins' writes: a server process is SIGKILLed in the middle of
concurrent invitation redemptions and forum posts (SQLite file and PostgreSQL), then
restarted on the same database.

Invitations: signed-in contacts race for the slots of group invitations while
anonymous visitors complete emailed proofs of single invitations (which creates their
contact). After the restart every acknowledged redemption has its contact, its account,
its role grant and its log row with the client IP; every invitation's count equals its
logged redemptions and never passes its maximum; no contact, grant or account change
exists without the redemption that made it.

Forums: contacts reply to a few shared threads and start new ones. After the restart
every acknowledged post is stored intact and readable on its thread's pages, no post
lacks its thread, no thread lacks its first post, and each thread's ``post_count`` and
``last_post_at`` agree with the posts actually stored.
"""

from __future__ import annotations

import datetime as dt
import random
import re
from collections import Counter
from typing import Any

from portalis.core.services import Services
from portalis.core.sitefile import load_site_file
from portalis.plugins.invitations.redemption import create_invitation
from tests.forums.forumsite import site_text as forum_site
from tests.hardening.crash import (
    Ledger,
    client,
    csrf,
    kill_mid_flight,
    prepare,
    report,
    rows,
    served,
    serving,
    started,
    with_services,
)
from tests.invitations.support import site_with as invitations_site
from tests.support.server import PortalServer

JSON = {"accept": "application/json"}

# -- invitations ---------------------------------------------------------------------

INV_PLUGINS = ["selfservice", "invitations"]
GROUPS, SLOTS, REDEEMERS = 16, 3, 12  # 48 group slots, 192 attempts at them
NEWCOMERS, CONFIRMERS = 48, 4  # single invitations to new addresses, completed by proof
INV_KILL_AT = 50


def member(i: int) -> str:
    return f"member{i}@contoso.example"


def newcomer(i: int) -> str:
    return f"new{i}@example.org"


def invitations_site_data() -> dict[str, Any]:
    data = load_site_file(served(invitations_site()))
    data["roles"] += [{"key": f"club{i}", "name": f"Club {i}"} for i in range(GROUPS)]
    data["roles"].append({"key": "newcomer", "name": "Newcomers"})
    data["contacts"] += [{"key": f"member{i}", "email": member(i)} for i in range(REDEEMERS)]
    return data


async def create_invitations(url: str) -> tuple[list[tuple[int, str]], list[tuple[int, str]]]:
    """Group invitations (each gives its own role ``club<i>`` and the Contoso account) and
    single invitations to new addresses (role ``newcomer``); returns (id, code) lists."""

    async def make(services: Services) -> tuple[list[tuple[int, str]], list[tuple[int, str]]]:
        website_id = await services.sites.website_for_key("inv")
        assert website_id is not None
        site = await services.sites.get(website_id)
        contoso = await services.db.fetchval('SELECT "id" FROM "account" WHERE "key" = ?',
                                             "contoso")
        groups, singles = [], []
        for i in range(GROUPS):
            inv, code = await create_invitation(services, site, kind="group",
                                                max_redemptions=SLOTS, account_id=contoso,
                                                roles=[f"club{i}"])
            groups.append((inv["id"], code))
        for i in range(NEWCOMERS):
            inv, code = await create_invitation(services, site, email=newcomer(i),
                                                account_id=contoso, roles=["newcomer"])
            singles.append((inv["id"], code))
        return groups, singles

    return await with_services(url, INV_PLUGINS, make)  # type: ignore[no-any-return]


async def mailed_proofs(server: PortalServer, url: str,
                        singles: list[tuple[int, str]]) -> list[tuple[int, str, str]]:
    """Anonymous visitors enter their codes; the proof links land in the outbox (no SMTP
    server is configured). Returns (invitation id, email, proof token)."""
    async with client(server) as http:
        token = await csrf(http)
        for _, code in singles:
            res = await http.post("/_invitations/redeem", json={"code": code},
                                  headers={**JSON, "x-csrftoken": token})
            assert res.status_code == 202, res.text
    mails = await rows(url, 'SELECT "recipient", "body" FROM "portalis_outbox"')
    tokens = {m["recipient"]: re.search(r"/_invitations/redeem/confirm\?token=([\w-]+)",
                                        m["body"]) for m in mails}
    out = []
    for i, (inv_id, _) in enumerate(singles):
        found = tokens.get(newcomer(i))
        assert found is not None, f"no proof mail to {newcomer(i)}"
        out.append((inv_id, newcomer(i), found.group(1)))
    return out


async def redeem_groups(server: PortalServer, ledger: Ledger, n: int,
                        groups: list[tuple[int, str]], acked: list[tuple[int, int]],
                        refused: Counter[str]) -> None:
    """One signed-in contact tries every group invitation once, in its own order."""
    order = list(groups)
    random.Random(n).shuffle(order)
    async with client(server) as http:
        token = await csrf(http)
        for inv_id, code in order:
            if ledger.enough:
                return
            res = await ledger.send(http, "POST", "/_invitations/redeem", json={"code": code},
                                    headers={**JSON, "x-csrftoken": token,
                                             "x-test-contact": member(n)})
            if res is None:
                return
            if res.status_code == 200:
                assert res.json()["status"] == "redeemed", res.text
                acked.append((inv_id, res.json()["contact"]))
                ledger.ack()
            else:  # every slot taken: the only refusal a first try can get
                assert res.status_code == 410, res.text
                assert res.json()["error"]["code"] == "invitation_redeemed", res.text
                refused[res.json()["error"]["code"]] += 1


async def confirm_proofs(server: PortalServer, ledger: Ledger,
                         proofs: list[tuple[int, str, str]],
                         acked: list[tuple[int, str, int]]) -> None:
    """Anonymous visitors follow their proof links: each creates a contact."""
    async with client(server) as http:
        token = await csrf(http)
        for inv_id, email, proof in proofs:
            if ledger.enough:
                return
            res = await ledger.send(http, "POST", "/_invitations/redeem/confirm",
                                    json={"token": proof},
                                    headers={**JSON, "x-csrftoken": token})
            if res is None:
                return
            assert res.status_code == 200, res.text
            assert res.json()["email"] == email
            acked.append((inv_id, email, res.json()["contact"]))
            ledger.ack()


async def invitation_state(url: str) -> dict[str, Any]:
    return {
        "invitations": {r["id"]: r for r in await rows(
            url, 'SELECT "id", "kind", "max_redemptions", "redemptions", "roles", "account" '
                 'FROM "invitations_invitation"')},
        "redemptions": await rows(
            url, 'SELECT "invitation", "contact", "client_ip" FROM "invitations_redemption"'),
        "contacts": {r["id"]: r for r in await rows(
            url, 'SELECT "id", "email", "account", "state" FROM "contact"')},
        "grants": await rows(
            url, 'SELECT cr."contact", r."key" FROM "portalis_contact_role" cr '
                 'JOIN "portalis_web_role" r ON r."id" = cr."role"'),
        "proofs": {r["invitation"]: r for r in await rows(
            url, 'SELECT "invitation", "used" FROM "invitations_proof"')},
        "contoso": (await rows(url, 'SELECT "id" FROM "account" WHERE "key" = ?',
                               "contoso"))[0]["id"],
    }


async def test_acknowledged_redemptions_survive_sigkill(database_url: str,
                                                        record_property: Any) -> None:
    await prepare(database_url, invitations_site_data(), INV_PLUGINS)
    groups, singles = await create_invitations(database_url)
    server, proofs = await started(database_url, ",".join(INV_PLUGINS),
                                   lambda srv: mailed_proofs(srv, database_url, singles))
    ledger = Ledger(cap=INV_KILL_AT * 10)
    group_acks: list[tuple[int, int]] = []
    new_acks: list[tuple[int, str, int]] = []
    refused: Counter[str] = Counter()
    writers = [redeem_groups(server, ledger, n, groups, group_acks, refused)
               for n in range(REDEEMERS)]
    writers += [confirm_proofs(server, ledger, proofs[k::CONFIRMERS], new_acks)
                for k in range(CONFIRMERS)]
    await kill_mid_flight(server, writers, ledger, INV_KILL_AT)

    with serving(database_url, ",".join(INV_PLUGINS)) as restarted:
        async with client(restarted) as http:  # the new contacts are there and sign in
            for _, email, contact_id in new_acks:
                res = await http.get("/_api/contact", headers={**JSON, "x-test-contact": email})
                assert res.status_code == 200, res.text
                assert [(r["id"], r["email"]) for r in res.json()["value"]] == [
                    (contact_id, email)]
    s = await invitation_state(database_url)
    logged = {(r["invitation"], r["contact"]): r for r in s["redemptions"]}
    grants = {(g["contact"], g["key"]) for g in s["grants"]}
    report(record_property, "invitation redemption", ledger,
           group_redemptions_acknowledged=len(group_acks),
           proof_redemptions_acknowledged=len(new_acks),
           refused_full=refused["invitation_redeemed"], redemptions_stored=len(logged))

    # every acknowledged redemption: its contact, account, grant and log row with the IP
    for inv_id, contact_id in group_acks:
        row = logged.get((inv_id, contact_id))
        assert row is not None, f"acknowledged redemption of {inv_id} by {contact_id} lost"
        assert row["client_ip"] == "127.0.0.1"
        assert (contact_id, s["invitations"][inv_id]["roles"]) in grants
        assert s["contacts"][contact_id]["account"] == s["contoso"]
    for inv_id, email, contact_id in new_acks:
        contact = s["contacts"].get(contact_id)
        assert contact is not None, f"the contact of acknowledged redemption {email} lost"
        assert (contact["email"], contact["state"], contact["account"]) == (
            email, "active", s["contoso"])
        assert (contact_id, "newcomer") in grants
        assert logged[(inv_id, contact_id)]["client_ip"] == "127.0.0.1"
        assert s["proofs"][inv_id]["used"] is not None
    # every invitation's count is its logged redemptions, never past its maximum
    per_invitation = Counter(r["invitation"] for r in s["redemptions"])
    for inv in s["invitations"].values():
        assert inv["redemptions"] == per_invitation[inv["id"]], inv
        assert inv["redemptions"] <= inv["max_redemptions"], inv
    # nothing without its redemption: no grant, no new contact, no account change
    for inv_id, contact_id in logged:
        assert (contact_id, s["invitations"][inv_id]["roles"]) in grants
        assert s["contacts"][contact_id]["account"] == s["contoso"]
    given = {(contact_id, s["invitations"][inv_id]["roles"]) for inv_id, contact_id in logged}
    assert {g for g in grants if g[1].startswith(("club", "newcomer"))} == given
    redeemers = {contact_id for _, contact_id in logged}
    for contact in s["contacts"].values():
        if contact["email"].endswith("@example.org"):
            assert contact["id"] in redeemers, f"contact {contact['email']} without redemption"
        if contact["email"].startswith("member") and contact["id"] not in redeemers:
            assert contact["account"] is None, contact
    for inv_id, proof in s["proofs"].items():  # a used proof is a completed redemption
        if proof["used"] is not None:
            assert per_invitation[inv_id] == 1
    # a stored redemption nobody acknowledged was a request cut off by the kill
    assert len(logged) - len(group_acks) - len(new_acks) <= ledger.in_flight


# -- forums ---------------------------------------------------------------------------

FORUM_PLUGINS = ["selfservice", "forums"]
POSTERS = ["alice@partner.example", "bob@partner.example", "dave@partner.example",
           "newbie@partner.example", "carol@customer.example", "mo@portal.example"]
SHARED_THREADS = 3
FORUM_KILL_AT = 60


def as_time(value: Any) -> dt.datetime:
    if isinstance(value, str):
        value = dt.datetime.fromisoformat(value)
    return value if value.tzinfo else value.replace(tzinfo=dt.UTC)  # type: ignore[no-any-return]


async def lounge_id(url: str) -> int:
    found = await rows(url, 'SELECT "record_id" FROM "portalis_site_key" '
                            'WHERE "table_name" = ? AND "key" = ?', "forum", "lounge")
    return int(found[0]["record_id"])


async def start_threads(server: PortalServer, forum: int, n: int) -> list[int]:
    async with client(server) as http:
        token = await csrf(http)
        ids = []
        for i in range(n):
            res = await http.post(f"/forums/{forum}/threads",
                                  json={"title": f"shared thread {i}", "body": f"opening {i}"},
                                  headers={**JSON, "x-csrftoken": token,
                                           "x-test-contact": POSTERS[0]})
            assert res.status_code == 201, res.text
            ids.append(res.json()["thread"]["id"])
        return ids


async def post_to_forum(server: PortalServer, ledger: Ledger, n: int, forum: int,
                        shared: list[int], posts: dict[int, tuple[int, str, bool]],
                        threads: dict[int, str]) -> None:
    """One contact replies to the shared threads and, every fifth post, starts a thread.
    ``posts``: post id → (thread id, body, first); ``threads``: thread id → title."""
    who = POSTERS[n % len(POSTERS)]
    async with client(server) as http:
        token = await csrf(http)
        headers = {**JSON, "x-csrftoken": token, "x-test-contact": who}
        i = 0
        while not ledger.enough:
            body = f"crash post {n}-{i}: " + "words " * 20
            if i % 5 == 4:
                title = f"crash thread {n}-{i}"
                res = await ledger.send(http, "POST", f"/forums/{forum}/threads",
                                        json={"title": title, "body": body}, headers=headers)
                if res is None:
                    return
                assert res.status_code == 201, res.text
                thread_id, post_id = res.json()["thread"]["id"], res.json()["post"]["id"]
                threads[thread_id] = title
                posts[post_id] = (thread_id, body, True)
            else:
                thread_id = shared[(n + i) % len(shared)]
                res = await ledger.send(http, "POST", f"/forums/threads/{thread_id}/posts",
                                        json={"body": body}, headers=headers)
                if res is None:
                    return
                assert res.status_code == 201, res.text
                posts[res.json()["post"]["id"]] = (thread_id, body, False)
            ledger.ack()
            i += 1


async def readable_posts(server: PortalServer, thread_id: int) -> list[int]:
    """The post ids a reader sees on the thread's pages (following ``next``)."""
    ids: list[int] = []
    url: str | None = f"/forums/threads/{thread_id}"
    async with client(server) as http:
        while url is not None:
            res = await http.get(url, headers={**JSON, "x-test-contact": POSTERS[1]})
            assert res.status_code == 200, res.text
            ids += [p["id"] for p in res.json()["posts"]]
            url = res.json()["next"]
    return ids


async def test_acknowledged_forum_posts_survive_sigkill(database_url: str,
                                                        record_property: Any) -> None:
    await prepare(database_url, served(forum_site()), FORUM_PLUGINS)
    forum = await lounge_id(database_url)
    server, shared = await started(database_url, ",".join(FORUM_PLUGINS),
                                   lambda srv: start_threads(srv, forum, SHARED_THREADS))
    ledger = Ledger(cap=FORUM_KILL_AT * 10)
    posts: dict[int, tuple[int, str, bool]] = {}
    threads: dict[int, str] = {}
    await kill_mid_flight(server, [post_to_forum(server, ledger, n, forum, shared, posts,
                                                 threads) for n in range(8)],
                          ledger, FORUM_KILL_AT)

    stored_threads = {r["id"]: r for r in await rows(
        database_url, 'SELECT "id", "title", "post_count", "last_post_at" FROM "forum_thread"')}
    stored = {r["id"]: r for r in await rows(
        database_url, 'SELECT "id", "thread", "body", "body_html", "first", "hidden", '
                      '"pending", "created" FROM "forum_post"')}
    with serving(database_url, ",".join(FORUM_PLUGINS)) as restarted:
        readable = {t: set(await readable_posts(restarted, t)) for t in stored_threads}
    report(record_property, "forum posting", ledger,
           posts_acknowledged=len(posts), threads_started=len(threads),
           posts_stored=len(stored), threads_stored=len(stored_threads),
           posts_stored_not_acknowledged=sum(
               r["body"].startswith("crash post") and i not in posts
               for i, r in stored.items()))

    # every acknowledged post (and thread) is stored intact and readable on its thread
    for post_id, (thread_id, body, first) in posts.items():
        row = stored.get(post_id)
        assert row is not None, f"acknowledged post {post_id} lost"
        assert (row["thread"], row["body"], bool(row["first"])) == (thread_id, body, first)
        assert "crash post" in row["body_html"]
        assert post_id in readable[thread_id], f"post {post_id} not on thread {thread_id}"
    for thread_id, title in threads.items():
        assert stored_threads[thread_id]["title"] == title
    # no post without its thread, no thread without exactly one first post
    assert {r["thread"] for r in stored.values()} <= set(stored_threads)
    firsts = Counter(r["thread"] for r in stored.values() if r["first"])
    assert all(firsts[t] == 1 for t in stored_threads), firsts
    for row in stored.values():  # nothing half-written
        assert row["body"] and row["body_html"] and not row["hidden"] and not row["pending"]
    # a stored post nobody acknowledged was a request cut off by the kill
    crash_posts = [r for r in stored.values() if r["body"].startswith("crash post")]
    assert len(crash_posts) - len(posts) <= ledger.in_flight
    # the thread counters agree with the posts actually stored (a lost update of the
    # read-then-write post_count under concurrent replies shows here)
    for thread_id, thread in stored_threads.items():
        mine = [r for r in stored.values() if r["thread"] == thread_id]
        assert thread["post_count"] == len(mine), (
            f"thread {thread_id}: post_count {thread['post_count']} but {len(mine)} posts "
            "stored")
        newest = max(as_time(r["created"]) for r in mine)
        assert as_time(thread["last_post_at"]) >= newest, (
            f"thread {thread_id}: last_post_at {thread['last_post_at']} is older than its "
            f"newest post ({newest})")

