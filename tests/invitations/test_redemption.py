"""Invitation codes and their redemption: email proof, atomic group slots, distinct refusals."""

from __future__ import annotations

import asyncio
import datetime as dt
from typing import Any

from click.testing import CliRunner

from portalis.core.config import Config
from portalis.plugins.invitations.cli import invitations as invitations_cli
from portalis.plugins.invitations.redemption import create_invitation
from portalis.plugins.invitations.store import digest
from tests.invitations.support import InvPortal, invitations_portal


async def invite(ip: InvPortal, **kw: Any) -> tuple[dict[str, Any], str]:
    site = await ip.site()
    if "account" in kw:
        kw["account_id"] = await ip.db.fetchval(
            'SELECT "id" FROM "account" WHERE "key" = ?', kw.pop("account"))
    return await create_invitation(ip.services, site, **kw)


async def test_invitation_mail_carries_a_high_entropy_code_stored_only_hashed(
        database_url: str) -> None:
    async with invitations_portal(database_url) as ip:
        inv, code = await invite(ip, email="Newcomer@Example.com", account="contoso",
                                 roles=["customer"], send=True)
        assert inv["email"] == "newcomer@example.com"
        assert len(code) >= 43  # 256 random bits, URL-safe
        link = ip.mail.link("newcomer@example.com")
        assert link.startswith("https://testserver.local/_invitations/redeem?code=")
        assert ip.mail.param("newcomer@example.com", "code") == code
        rows = await ip.db.fetch('SELECT * FROM "invitations_invitation"')
        assert len(rows) == 1 and rows[0]["code_hash"] == digest(code)
        assert all(code not in str(v) for v in rows[0].values())
        page = await ip.portal.get("/_invitations/redeem?code=" + code)
        assert page.status_code == 200 and code in page.text  # GET only shows the form
        assert (await ip.db.fetchval(
            'SELECT "redemptions" FROM "invitations_invitation"')) == 0


async def test_anonymous_redemption_proves_the_invited_email(database_url: str) -> None:
    async with invitations_portal(database_url) as ip:
        _, code = await invite(ip, email="newcomer@example.com", account="contoso",
                               roles=["customer", "partner"])
        r = await ip.post("/_invitations/redeem", {"code": code})
        assert r.status_code == 202, r.text
        assert r.json()["status"] == "check_email"
        assert await ip.count("newcomer@example.com") == 0  # nothing before the proof
        token = ip.mail.param("newcomer@example.com", "token")
        assert len(token) >= 43
        r = await ip.post("/_invitations/redeem/confirm", {"token": token})
        assert r.status_code == 200, r.text
        contact_id = r.json()["contact"]
        row = await ip.db.fetchrow('SELECT * FROM "contact" WHERE "id" = ?', contact_id)
        assert row["email"] == "newcomer@example.com" and row["state"] == "active"
        contoso = await ip.db.fetchval('SELECT "id" FROM "account" WHERE "key" = ?', "contoso")
        assert row["account"] == contoso
        assert await ip.role_keys(contact_id) == ["customer", "partner"]
        log = await ip.db.fetch('SELECT "contact", "client_ip" FROM "invitations_redemption"')
        assert log == [{"contact": contact_id, "client_ip": "127.0.0.1"}]
        again = await ip.post("/_invitations/redeem/confirm", {"token": token})
        assert again.status_code == 400 and again.json()["error"]["code"] == "invalid_token"
        used = await ip.post("/_invitations/redeem", {"code": code})
        assert used.status_code == 410
        assert used.json()["error"]["code"] == "invitation_redeemed"


async def test_invitation_to_a_prepared_contact_links_that_contact(database_url: str) -> None:
    async with invitations_portal(database_url) as ip:
        erin = await ip.contact_id("erin@contoso.example")
        inv, code = await invite(ip, contact_id=erin, roles=["partner"], send=True)
        assert inv["email"] == "erin@contoso.example"
        r = await ip.post("/_invitations/redeem", {"code": code}, who="erin@contoso.example")
        assert r.status_code == 202 and r.json()["status"] == "check_email"
        token = ip.mail.param("erin@contoso.example", "token")
        r = await ip.post("/_invitations/redeem/confirm", {"token": token})
        assert r.status_code == 200 and r.json()["contact"] == erin
        assert await ip.role_keys(erin) == ["auditor", "partner"]
        assert await ip.count("erin@contoso.example") == 1


async def test_wrong_user_cannot_redeem_an_invitation_to_another_email(
        database_url: str) -> None:
    async with invitations_portal(database_url) as ip:
        _, code = await invite(ip, email="carol@fabrikam.example", roles=["partner"])
        carol = await ip.contact_id("carol@fabrikam.example")
        r = await ip.post("/_invitations/redeem", {"code": code}, who="alice@contoso.example")
        assert r.status_code == 403, r.text
        assert r.json()["error"]["code"] == "wrong_user"
        assert ip.mail.to("alice@contoso.example") == []
        assert ip.mail.to("carol@fabrikam.example") == []
        alice = await ip.contact_id("alice@contoso.example")
        assert await ip.role_keys(alice) == ["customer"]
        # anonymous: the proof link goes to the invited mailbox only, and binds carol
        r = await ip.post("/_invitations/redeem", {"code": code})
        assert r.status_code == 202
        assert [str(m["To"]) for m in ip.mail.messages] == ["carol@fabrikam.example"]
        r = await ip.post("/_invitations/redeem/confirm",
                          {"token": ip.mail.param("carol@fabrikam.example", "token")})
        assert r.status_code == 200 and r.json()["contact"] == carol
        assert await ip.role_keys(alice) == ["customer"]
        assert await ip.role_keys(carol) == ["customer", "partner"]


async def test_relaxed_setting_lets_the_code_alone_redeem(database_url: str) -> None:
    async with invitations_portal(
            database_url, settings={"Invitations/RequireEmailProof": "false"}) as ip:
        _, code = await invite(ip, email="carol@fabrikam.example", roles=["partner"])
        r = await ip.post("/_invitations/redeem", {"code": code}, who="alice@contoso.example")
        assert r.status_code == 200, r.text
        assert r.json() == {"status": "redeemed",
                            "contact": await ip.contact_id("alice@contoso.example")}
        assert ip.mail.messages == []
        alice = await ip.contact_id("alice@contoso.example")
        assert await ip.role_keys(alice) == ["customer", "partner"]


async def test_refusals_are_distinct(database_url: str) -> None:
    async with invitations_portal(database_url) as ip:
        async def redeem(code: str) -> tuple[int, str, str]:
            r = await ip.post("/_invitations/redeem", {"code": code}, who="alice@contoso.example")
            error = r.json().get("error", {})
            return r.status_code, error.get("code", ""), error.get("message", "")

        status, code_, message = await redeem("not-a-real-code")
        assert (status, code_) == (404, "invalid_code") and "not valid" in message

        revoked, rcode = await invite(ip, kind="group")
        site = await ip.site()
        from portalis.plugins.invitations.store import Store
        assert await Store(ip.services).revoke(site.id, revoked["id"])
        status, code_, message = await redeem(rcode)
        assert (status, code_) == (410, "invitation_revoked") and "revoked" in message

        expired, ecode = await invite(ip, kind="group", expires_days=1)
        from portalis.core.codec import encode
        await ip.db.execute(
            'UPDATE "invitations_invitation" SET "expires" = ? WHERE "id" = ?',
            encode(dt.datetime.now(dt.UTC) - dt.timedelta(seconds=1), ip.db.dialect),
            expired["id"])
        status, code_, message = await redeem(ecode)
        assert (status, code_) == (410, "invitation_expired") and "expired" in message

        _, scode = await invite(ip, kind="single", roles=["partner"])
        assert (await redeem(scode))[0] == 200
        status, code_, message = await redeem(scode)
        assert (status, code_) == (410, "invitation_redeemed") and "already" in message

        _, gcode = await invite(ip, kind="group", max_redemptions=5)
        assert (await redeem(gcode))[0] == 200
        status, code_, _m = await redeem(gcode)
        assert (status, code_) == (409, "already_redeemed")
        assert await ip.db.fetchval(
            'SELECT COUNT(*) FROM "invitations_redemption" r JOIN "invitations_invitation" i '
            'ON i."id" = r."invitation" WHERE i."max_redemptions" = 5') == 1

        r = await ip.post("/_invitations/redeem", {"code": gcode})
        assert r.status_code == 401  # a code without an email needs a signed-in redeemer
        assert r.json()["error"]["code"] == "signin_required"


async def test_parallel_group_redemption_admits_exactly_n(database_url: str) -> None:
    n, extra = 4, 6
    async with invitations_portal(database_url) as ip:
        site = await ip.site()
        from portalis.core import Principal
        emails = [f"member{i}@contoso.example" for i in range(n + extra)]
        for e in emails:
            await ip.services.records.create(Principal.for_system(site.id), "contact",
                                             {"email": e})
        inv, code = await invite(ip, kind="group", max_redemptions=n, roles=["customer"])
        await ip.portal.csrf()
        answers = await asyncio.gather(*(
            ip.post("/_invitations/redeem", {"code": code}, who=e) for e in emails))
        statuses = sorted(a.status_code for a in answers)
        assert statuses == [200] * n + [410] * extra, [a.text for a in answers]
        assert {a.json()["error"]["code"] for a in answers if a.status_code == 410} == {
            "invitation_redeemed"}
        assert await ip.db.fetchval(
            'SELECT "redemptions" FROM "invitations_invitation" WHERE "id" = ?', inv["id"]) == n
        assert await ip.db.fetchval(
            'SELECT COUNT(*) FROM "invitations_redemption" WHERE "invitation" = ?',
            inv["id"]) == n
        winners = [a.json()["contact"] for a in answers if a.status_code == 200]
        for contact_id in winners:
            assert await ip.role_keys(contact_id) == ["customer"]


async def test_cli_creates_an_invitation_that_redeems(database_url: str) -> None:
    async with invitations_portal(database_url) as ip:
        config = Config(database_url=database_url, plugins=["selfservice", "invitations"],
                        smtp_url=ip.services.config.smtp_url)
        result = await asyncio.to_thread(
            CliRunner().invoke, invitations_cli,
            ["create", "--site", "inv", "--email", "cli@example.com", "--account", "contoso",
             "--role", "customer", "--send"], obj={"config": config})
        assert result.exit_code == 0, result.output
        code = next(line.split(": ", 1)[1] for line in result.output.splitlines()
                    if line.startswith("code: "))
        assert ip.mail.param("cli@example.com", "code") == code
        r = await ip.post("/_invitations/redeem", {"code": code})
        assert r.status_code == 202
        r = await ip.post("/_invitations/redeem/confirm",
                          {"token": ip.mail.param("cli@example.com", "token")})
        assert r.status_code == 200
        assert await ip.role_keys(r.json()["contact"]) == ["customer"]
        listed = await asyncio.to_thread(CliRunner().invoke, invitations_cli,
                                         ["list", "--site", "inv"], obj={"config": config})
        assert "cli@example.com" in listed.output and "1/1" in listed.output
        revoked = await asyncio.to_thread(
            CliRunner().invoke, invitations_cli,
            ["revoke", "--site", "inv", str(listed.output.split()[0])], obj={"config": config})
        assert revoked.exit_code == 0, revoked.output
        r = await ip.post("/_invitations/redeem", {"code": code})
        assert r.status_code == 410 and r.json()["error"]["code"] == "invitation_revoked"


async def test_group_redemption_across_processes_admits_exactly_n(database_url: str) -> None:
    """Three app processes redeem one group code at once: the database keeps the count."""
    import multiprocessing

    from portalis.core import Principal
    from tests.invitations.procs import redeem_in_process

    n, processes, per_process = 5, 3, 4
    async with invitations_portal(database_url) as ip:
        site = await ip.site()
        emails = [f"proc{i}@contoso.example" for i in range(processes * per_process)]
        for e in emails:
            await ip.services.records.create(Principal.for_system(site.id), "contact",
                                             {"email": e})
        inv, code = await invite(ip, kind="group", max_redemptions=n)
        jobs = [(database_url, "inv", code, emails[i::processes]) for i in range(processes)]
        ctx = multiprocessing.get_context("spawn")

        def run() -> list[list[str]]:
            with ctx.Pool(processes) as pool:
                return pool.map(redeem_in_process, jobs)

        outcomes = [o for chunk in await asyncio.to_thread(run) for o in chunk]
        assert sorted(outcomes) == sorted(["redeemed"] * n
                                          + ["invitation_redeemed"] * (len(emails) - n))
        assert await ip.db.fetchval(
            'SELECT COUNT(*) FROM "invitations_redemption" WHERE "invitation" = ? '
            'AND "client_ip" = ?', inv["id"], "10.0.0.9") == n
        assert await ip.db.fetchval(
            'SELECT "redemptions" FROM "invitations_invitation" WHERE "id" = ?', inv["id"]) == n


async def test_browser_forms_redeem_without_json(database_url: str) -> None:
    async with invitations_portal(database_url) as ip:
        _, code = await invite(ip, email="browser@example.com", roles=["customer"])
        csrf = await ip.portal.csrf()
        r = await ip.portal.send("POST", "/_invitations/redeem", csrf=False,
                                 data={"_csrf_token": csrf, "code": code})
        assert r.status_code == 200 and "text/html" in r.headers["content-type"]
        assert "sent a link to the invited email address" in r.text
        link = ip.mail.link("browser@example.com")
        token = ip.mail.param("browser@example.com", "token")
        page = await ip.portal.get(link.split("testserver.local", 1)[1])
        assert page.status_code == 200 and f'value="{token}"' in page.text
        assert await ip.count("browser@example.com") == 0  # GET never redeems
        r = await ip.portal.send("POST", "/_invitations/redeem/confirm", csrf=False,
                                 data={"_csrf_token": csrf, "token": token})
        assert r.status_code == 200 and "Your invitation is accepted" in r.text
        assert await ip.count("browser@example.com") == 1
        r = await ip.portal.send("POST", "/_invitations/redeem", csrf=False,
                                 data={"_csrf_token": csrf, "code": code})
        assert r.status_code == 410 and "already been redeemed" in r.text
        r = await ip.portal.send("POST", "/_invitations/redeem", data={"code": code},
                                 csrf=False)
        assert r.status_code == 403  # no CSRF token, no redemption attempt
