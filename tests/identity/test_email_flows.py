"""Email flows over a real SMTP server: confirmation, password reset, email two-factor."""

from __future__ import annotations

from typing import Any
from urllib.parse import parse_qs, urlparse

from portalis.core import Principal, hookimpl
from tests.identity.smtp import IdentityPortal, identity_portal

ALICE = "alice@contoso.example"
ALICE_CASES = ["Printer offline in Building 2"]
GOOD = "Quiet-River-42"


def token_of(url: str) -> str:
    return parse_qs(urlparse(url).query)["token"][0]


async def test_confirmation_required_before_sign_in(database_url: str) -> None:
    async with identity_portal(database_url) as ip:
        await ip.settings(Authentication__Registration__RequiresConfirmation="true")
        email = "fresh@example.com"
        r = await ip.post("/_auth/register", {"email": email, "password": GOOD})
        assert r.status_code == 202
        r = await ip.login(email, GOOD)
        assert r.status_code == 403 and r.json()["error"]["code"] == "email_not_confirmed"
        assert "portalis_session" not in r.headers.get("set-cookie", "")
        assert (await ip.login(email, "wrong-Password-1")).json()["error"]["code"] == \
            "signin_failed"  # the unconfirmed state shows only to the password's owner

        link = ip.mail.link(email)
        assert link.startswith("https://testserver.local/_auth/confirm?token=")
        token = token_of(link)
        assert len(token) >= 43
        stored = await ip.fetchval(
            'SELECT "token_hash" FROM "identity_token" WHERE "kind" = \'confirm\'')
        assert token not in stored  # only the digest is kept
        page = await ip.portal.get(urlparse(link).path + "?" + urlparse(link).query)
        assert page.status_code == 200 and f'value="{token}"' in page.text
        assert (await ip.login(email, GOOD)).status_code == 403  # GET does not confirm

        r = await ip.post("/_auth/confirm", {"token": token})
        assert r.status_code == 200 and r.json() == {"email_confirmed": True}
        r = await ip.post("/_auth/confirm", {"token": token})
        assert r.status_code == 400 and r.json()["error"]["code"] == "invalid_token"
        assert (await ip.login(email, GOOD)).status_code == 200


async def test_confirmation_links_expire(database_url: str) -> None:
    async with identity_portal(database_url) as ip:
        email = "late@example.com"
        await ip.post("/_auth/register", {"email": email, "password": GOOD})
        token = token_of(ip.mail.link(email))
        ip.clock.advance(hours=24, seconds=1)
        r = await ip.post("/_auth/confirm", {"token": token}, )
        assert r.status_code == 400 and r.json()["error"]["code"] == "invalid_token"
        r = await ip.post("/_auth/confirm/resend", {"email": email})
        assert r.status_code == 202
        r = await ip.post("/_auth/confirm", {"token": token_of(ip.mail.link(email))})
        assert r.status_code == 200


async def test_links_use_the_configured_host_not_the_request_host(database_url: str) -> None:
    async with identity_portal(database_url, default_website="cases") as ip:
        r = await ip.post("/_auth/reset/request", {"email": ALICE},
                          headers={"host": "evil.example"})
        assert r.status_code == 202
        link = ip.mail.link(ALICE)
        assert urlparse(link).netloc == "testserver.local"
        assert "evil" not in ip.mail.body(ip.mail.last(ALICE))


async def test_password_reset_is_single_use_and_ends_sessions(database_url: str) -> None:
    async with identity_portal(database_url) as ip:
        await ip.login(ALICE)
        signed_in = ip.client.cookies.get("portalis_session")
        r = await ip.post("/_auth/reset/request", {"email": ALICE})
        assert r.status_code == 202
        mail = ip.mail.last(ALICE)
        assert "Reset your password" in ip.mail.subject(mail)
        link = ip.mail.link(ALICE)
        assert link.startswith("https://testserver.local/_auth/reset?token=")
        token = token_of(link)
        form = await ip.portal.get(f"/_auth/reset?token={token}")
        assert form.status_code == 200 and 'name="password"' in form.text

        r = await ip.post("/_auth/reset", {"token": token, "password": "password"})
        assert r.status_code == 400 and r.json()["error"]["code"] == "weak_password"
        r = await ip.post("/_auth/reset", {"token": token, "password": GOOD})
        assert r.status_code == 200 and r.json() == {"password_reset": True}
        r = await ip.post("/_auth/reset", {"token": token, "password": "Another-Pass-77"})
        assert r.status_code == 400 and r.json()["error"]["code"] == "invalid_token"

        assert await ip.sessions_of(ALICE) == 0
        ip.client.cookies.set("portalis_session", signed_in, domain="testserver.local")
        assert await ip.cases() == []
        assert (await ip.login(ALICE, "Demo-pass-1")).status_code == 401
        assert (await ip.login(ALICE, GOOD)).status_code == 200


async def test_password_reset_links_expire_and_only_the_newest_works(database_url: str) -> None:
    async with identity_portal(database_url) as ip:
        await ip.post("/_auth/reset/request", {"email": ALICE})
        first = token_of(ip.mail.link(ALICE))
        await ip.post("/_auth/reset/request", {"email": ALICE})
        second = token_of(ip.mail.link(ALICE))
        r = await ip.post("/_auth/reset", {"token": first, "password": GOOD})
        assert r.status_code == 400 and r.json()["error"]["code"] == "invalid_token"
        ip.clock.advance(minutes=61)
        r = await ip.post("/_auth/reset", {"token": second, "password": GOOD})
        assert r.status_code == 400 and r.json()["error"]["code"] == "invalid_token"
        assert (await ip.login(ALICE, "Demo-pass-1")).status_code == 200


async def test_password_reset_from_forms(database_url: str) -> None:
    async with identity_portal(database_url) as ip:
        r = await ip.post("/_auth/reset/request", data={"email": ALICE})
        assert r.status_code == 303 and r.headers["location"] == "/_auth/reset?sent=1"
        token = token_of(ip.mail.link(ALICE))
        r = await ip.post("/_auth/reset", data={"token": token, "password": "short"})
        assert r.status_code == 400 and "at least 8 characters" in r.text
        r = await ip.post("/_auth/reset", data={"token": token, "password": GOOD})
        assert r.status_code == 303 and r.headers["location"] == "/_auth/login?reset=1"


async def test_password_reset_can_be_switched_off(database_url: str) -> None:
    async with identity_portal(database_url) as ip:
        await ip.settings(Authentication__Registration__ResetPasswordEnabled="false")
        r = await ip.post("/_auth/reset/request", {"email": ALICE},
                          headers={"accept": "application/json"})
        assert r.status_code == 404
        assert ip.mail.to(ALICE) == []


class Gate:
    """Sign-in hooks: records attempts and results; refuses kinds listed in ``refuse``."""

    def __init__(self) -> None:
        self.attempts: list[tuple[int | None, str]] = []
        self.results: list[tuple[int | None, str, bool]] = []
        self.refuse: set[str] = set()

    @hookimpl
    def portalis_signin_attempt(self, site: Any, contact_id: int | None, kind: str,
                                client_ip: str, services: Any) -> str | None:
        self.attempts.append((contact_id, kind))
        return "locked" if kind in self.refuse else None

    @hookimpl
    async def portalis_signin_result(self, site: Any, contact_id: int | None, kind: str,
                                     success: bool, client_ip: str, services: Any) -> None:
        self.results.append((contact_id, kind, success))


async def enable_two_factor(ip: IdentityPortal) -> None:
    await ip.settings(Authentication__Registration__TwoFactorEnabled="true")
    r = await ip.login(ALICE)
    assert r.status_code == 200
    r = await ip.post("/_auth/two-factor/settings", {"enabled": True})
    assert r.status_code == 200 and r.json() == {"two_factor": True}
    await ip.post("/_auth/logout")


async def test_two_factor_sign_in_by_emailed_code(database_url: str) -> None:
    async with identity_portal(database_url) as ip:
        await enable_two_factor(ip)
        r = await ip.login(ALICE)
        assert r.status_code == 202, r.text
        assert "portalis_session" not in r.headers.get("set-cookie", "")
        challenge = r.json()["challenge"]
        assert r.json()["two_factor_required"] is True
        code = ip.mail.code(ALICE)
        assert "sign-in code" in ip.mail.subject(ip.mail.last(ALICE))
        assert await ip.cases() == []
        wrong = "000000" if code != "000000" else "111111"
        r = await ip.post("/_auth/two-factor", {"challenge": challenge, "code": wrong})
        assert r.status_code == 401 and r.json()["error"]["code"] == "code_wrong"
        r = await ip.post("/_auth/two-factor", {"challenge": challenge, "code": code})
        assert r.status_code == 200 and r.json()["signed_in"] is True
        assert await ip.cases() == ALICE_CASES
        r = await ip.post("/_auth/two-factor", {"challenge": challenge, "code": code})
        assert r.status_code == 401 and r.json()["error"]["code"] == "code_expired"


async def test_two_factor_codes_have_limited_attempts(database_url: str) -> None:
    async with identity_portal(database_url) as ip:
        await enable_two_factor(ip)
        challenge = (await ip.login(ALICE)).json()["challenge"]
        code = ip.mail.code(ALICE)
        wrong = "000000" if code != "000000" else "111111"
        for _ in range(5):
            r = await ip.post("/_auth/two-factor", {"challenge": challenge, "code": wrong})
            assert r.json()["error"]["code"] == "code_wrong"
        r = await ip.post("/_auth/two-factor", {"challenge": challenge, "code": code})
        assert r.status_code == 401 and r.json()["error"]["code"] == "code_expired"
        assert await ip.cases() == []


async def test_two_factor_codes_expire(database_url: str) -> None:
    async with identity_portal(database_url) as ip:
        await enable_two_factor(ip)
        challenge = (await ip.login(ALICE)).json()["challenge"]
        code = ip.mail.code(ALICE)
        ip.clock.advance(minutes=10, seconds=1)
        r = await ip.post("/_auth/two-factor", {"challenge": challenge, "code": code})
        assert r.status_code == 401 and r.json()["error"]["code"] == "code_expired"


async def test_two_factor_and_reset_requests_go_through_the_sign_in_hooks(
        database_url: str) -> None:
    gate = Gate()
    async with identity_portal(database_url, extra_plugins=(gate,)) as ip:
        alice = await ip.contact_id(ALICE)
        await enable_two_factor(ip)
        challenge = (await ip.login(ALICE)).json()["challenge"]
        code = ip.mail.code(ALICE)
        gate.refuse = {"two_factor"}
        r = await ip.post("/_auth/two-factor", {"challenge": challenge, "code": code})
        assert r.status_code == 401 and r.json()["error"]["code"] == "code_wrong"
        attempts = await ip.fetchval(
            'SELECT "attempts" FROM "identity_token" WHERE "kind" = \'two_factor\'')
        assert attempts == 0  # refused before the code was looked at
        gate.refuse = set()
        r = await ip.post("/_auth/two-factor", {"challenge": challenge, "code": code})
        assert r.status_code == 200
        assert (alice, "two_factor", True) in gate.results
        assert (alice, "two_factor") in gate.attempts

        mails = len(ip.mail.to(ALICE))
        gate.refuse = {"reset_request"}
        refused = await ip.post("/_auth/reset/request", {"email": ALICE})
        assert len(ip.mail.to(ALICE)) == mails  # no mail while refused
        gate.refuse = set()
        allowed = await ip.post("/_auth/reset/request", {"email": ALICE})
        assert (refused.status_code, refused.content) == (allowed.status_code, allowed.content)
        assert len(ip.mail.to(ALICE)) == mails + 1
        await ip.post("/_auth/reset/request", {"email": "nobody@contoso.example"})
        assert gate.results[-2:] == [(alice, "reset_request", True),
                                     (None, "reset_request", False)]


async def test_two_factor_form_flow(database_url: str) -> None:
    async with identity_portal(database_url) as ip:
        await enable_two_factor(ip)
        r = await ip.post("/_auth/login", data={"email": ALICE, "password": "Demo-pass-1",
                                                "return_url": "/_lists/cases"})
        assert r.status_code == 200 and 'name="challenge"' in r.text
        challenge = r.text.split('name="challenge" value="', 1)[1].split('"', 1)[0]
        r = await ip.post("/_auth/two-factor", data={
            "challenge": challenge, "code": ip.mail.code(ALICE), "return_url": "/_lists/cases"})
        assert r.status_code == 303 and r.headers["location"] == "/_lists/cases"
        assert await ip.cases() == ALICE_CASES


async def test_two_factor_opt_in_needs_the_site_setting(database_url: str) -> None:
    async with identity_portal(database_url) as ip:
        await ip.login(ALICE)
        r = await ip.post("/_auth/two-factor/settings", {"enabled": True},
                          headers={"accept": "application/json"})
        assert r.status_code == 404
        await ip.post("/_auth/logout")
        assert (await ip.login(ALICE)).status_code == 200  # no code asked


async def test_two_factor_opt_in_from_the_account_page(database_url: str) -> None:
    async with identity_portal(database_url) as ip:
        await ip.settings(Authentication__Registration__TwoFactorEnabled="true")
        await ip.login(ALICE)
        page = await ip.portal.get("/_auth/password")
        assert "Turn on two-factor sign-in" in page.text
        r = await ip.post("/_auth/two-factor/settings", data={"enabled": "true"})
        assert r.status_code == 303 and r.headers["location"] == "/_auth/password?twofactor=1"
        page = await ip.portal.get(r.headers["location"])
        assert "Turn off two-factor sign-in" in page.text and "setting is saved" in page.text
        await ip.post("/_auth/logout")
        assert (await ip.login(ALICE)).status_code == 202


async def test_changing_the_email_voids_outstanding_links(database_url: str) -> None:
    async with identity_portal(database_url) as ip:
        await ip.post("/_auth/reset/request", {"email": ALICE})
        token = token_of(ip.mail.link(ALICE))
        alice = await ip.contact_id(ALICE)
        await ip.records("update", Principal.for_system(1), "contact", alice,
                         {"email": "alice.new@contoso.example"})
        r = await ip.post("/_auth/reset", {"token": token, "password": GOOD})
        assert r.status_code == 400 and r.json()["error"]["code"] == "invalid_token"
        confirmed = await ip.fetchval(
            'SELECT "email_confirmed" FROM "identity_credential" WHERE "contact" = ?', alice)
        assert not confirmed
        assert (await ip.login("alice.new@contoso.example")).status_code == 200
