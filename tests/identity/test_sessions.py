"""Server-side sessions of the identity plugin, end to end over HTTP."""

from __future__ import annotations

import hashlib
from http.cookies import SimpleCookie

from portalis.core import Principal
from tests.identity.smtp import identity_portal

ALICE = "alice@contoso.example"
ALICE_CASES = ["Printer offline in Building 2"]
COOKIE = "portalis_session"


def set_cookie(response: object, name: str) -> dict[str, str]:
    """The attributes of one Set-Cookie header (lower-case names; flags map to '')."""
    for header in response.headers.get_list("set-cookie"):  # type: ignore[attr-defined]
        if header.split("=", 1)[0] == name:
            parts = [p.strip() for p in header.split(";")]
            attrs = {"value": parts[0].split("=", 1)[1]}
            for part in parts[1:]:
                key, _, value = part.partition("=")
                attrs[key.lower()] = value
            return attrs
    raise AssertionError(f"no Set-Cookie {name}: {response.headers}")  # type: ignore[attr-defined]


async def test_sign_in_sets_an_httponly_lax_cookie_whose_token_is_not_stored(
        database_url: str) -> None:
    async with identity_portal(database_url) as ip:
        assert await ip.cases() == []
        r = await ip.login(ALICE)
        assert r.status_code == 200, r.text
        assert r.json()["signed_in"] is True
        cookie = set_cookie(r, COOKIE)
        assert "httponly" in cookie and cookie["samesite"].lower() == "lax"
        assert cookie["path"] == "/" and "secure" not in cookie and "domain" not in cookie
        token = cookie["value"]
        assert len(token) >= 43  # 256 bits, URL-safe base64
        rows = await ip.fetch('SELECT "id" FROM "identity_session"')
        assert [row["id"] for row in rows] == [hashlib.sha256(token.encode()).hexdigest()]
        assert await ip.cases() == ALICE_CASES
        page = await ip.portal.get("/_auth/login")
        assert ALICE in page.text  # the layout shows who is signed in


async def test_over_https_the_cookie_is_secure_with_the_host_prefix(database_url: str) -> None:
    async with identity_portal(database_url) as ip:
        ip.client.base_url = "https://testserver.local"
        r = await ip.login(ALICE)
        assert r.status_code == 200, r.text
        cookie = set_cookie(r, f"__Host-{COOKIE}")
        assert "secure" in cookie and "httponly" in cookie and cookie["path"] == "/"
        assert "domain" not in cookie and cookie["samesite"].lower() == "lax"
        assert await ip.cases() == ALICE_CASES
        # the plain-HTTP cookie name means nothing over HTTPS
        ip.client.cookies.clear()
        ip.client.cookies.set(COOKIE, cookie["value"], domain="testserver.local")
        assert await ip.cases() == []


async def test_every_sign_in_gets_a_new_session_id_and_ends_the_old_one(
        database_url: str) -> None:
    async with identity_portal(database_url) as ip:
        first = set_cookie(await ip.login(ALICE), COOKIE)["value"]
        second = set_cookie(await ip.login(ALICE), COOKIE)["value"]
        assert first != second
        assert await ip.sessions_of(ALICE) == 1
        assert await ip.cases() == ALICE_CASES
        ip.client.cookies.set(COOKIE, first, domain="testserver.local")
        assert await ip.cases() == []


async def test_a_planted_session_cookie_is_replaced_at_sign_in(database_url: str) -> None:
    async with identity_portal(database_url) as ip:
        ip.client.cookies.set(COOKIE, "chosen-by-the-attacker", domain="testserver.local")
        token = set_cookie(await ip.login(ALICE), COOKIE)["value"]
        assert token != "chosen-by-the-attacker"


async def test_sign_out_deletes_the_session_row(database_url: str) -> None:
    async with identity_portal(database_url) as ip:
        token = set_cookie(await ip.login(ALICE), COOKIE)["value"]
        r = await ip.post("/_auth/logout")
        assert r.status_code == 200 and r.json() == {"signed_out": True}
        cleared = set_cookie(r, COOKIE)
        assert cleared["value"] in ("", '""') and cleared["max-age"] == "0"
        assert await ip.sessions_of(ALICE) == 0
        ip.client.cookies.set(COOKIE, token, domain="testserver.local")
        assert await ip.cases() == []


async def test_sign_out_from_a_form_redirects_home(database_url: str) -> None:
    async with identity_portal(database_url) as ip:
        await ip.login(ALICE)
        r = await ip.post("/_auth/logout", data={})
        assert r.status_code == 303 and r.headers["location"] == "/"
        assert await ip.sessions_of(ALICE) == 0


async def test_idle_timeout_slides_with_use(database_url: str) -> None:
    async with identity_portal(database_url) as ip:
        await ip.login(ALICE)
        for _ in range(3):  # 69 hours of use, never 24 hours idle
            ip.clock.advance(hours=23)
            assert await ip.cases() == ALICE_CASES
        ip.clock.advance(hours=24, seconds=1)
        assert await ip.cases() == []
        assert await ip.sessions_of(ALICE) == 0  # expired rows are deleted on sight


async def test_signing_in_sweeps_the_contacts_expired_sessions(database_url: str) -> None:
    async with identity_portal(database_url) as ip:
        await ip.login(ALICE)
        ip.client.cookies.delete(COOKIE)  # another browser, later
        ip.clock.advance(hours=25)
        await ip.login(ALICE)
        assert await ip.sessions_of(ALICE) == 1
        assert await ip.cases() == ALICE_CASES


async def test_timeouts_come_from_site_settings(database_url: str) -> None:
    async with identity_portal(database_url) as ip:
        await ip.settings(Authentication__Session__IdleTimeoutMinutes="30",
                          Authentication__Session__AbsoluteTimeoutMinutes="90")
        r = await ip.login(ALICE)
        assert set_cookie(r, COOKIE)["max-age"] == str(90 * 60)
        ip.clock.advance(minutes=29)
        assert await ip.cases() == ALICE_CASES
        ip.clock.advance(minutes=31)
        assert await ip.cases() == []  # idle for 31 minutes
        await ip.login(ALICE)
        for _ in range(4):
            ip.clock.advance(minutes=20)
            assert await ip.cases() == ALICE_CASES
        ip.clock.advance(minutes=11)  # active, but 91 minutes after sign-in
        assert await ip.cases() == []


async def test_last_seen_is_written_at_most_once_a_minute(database_url: str) -> None:
    async with identity_portal(database_url) as ip:
        await ip.login(ALICE)
        async def last_seen() -> object:
            return await ip.fetchval('SELECT "last_seen" FROM "identity_session"')

        signed_in = await last_seen()
        ip.clock.advance(seconds=30)
        await ip.cases()
        assert await last_seen() == signed_in
        ip.clock.advance(seconds=31)
        await ip.cases()
        assert await last_seen() != signed_in


async def test_deactivating_a_contact_ends_its_sessions(database_url: str) -> None:
    async with identity_portal(database_url) as ip:
        await ip.login(ALICE)
        assert await ip.sessions_of(ALICE) == 1
        alice = await ip.contact_id(ALICE)
        system = Principal.for_system(1)
        await ip.records("update", system, "contact", alice, {"state": "inactive"})
        count = await ip.fetchval(
            'SELECT COUNT(*) FROM "identity_session" WHERE "contact" = ?', alice)
        assert count == 0
        assert await ip.cases() == []
        await ip.records("update", system, "contact", alice, {"state": "active"})
        assert await ip.cases() == []  # reactivation does not bring the session back


async def test_a_session_is_bound_to_its_website(database_url: str) -> None:
    async with identity_portal(database_url) as ip:
        other = ("website:\n  key: other\n  title: Other\n  hosts: [other.example]\n"
                 "contacts:\n  - key: alice\n    email: alice@contoso.example\n")
        await ip.apply(other)
        await ip.login(ALICE)
        token = ip.client.cookies.get(COOKIE)
        cookie = SimpleCookie()
        cookie[COOKIE] = token
        r = await ip.client.get("/_auth/password", headers={
            "host": "other.example", "cookie": cookie.output(header="", attrs=[]).strip()},
            follow_redirects=False)
        assert r.status_code == 303  # not signed in there: sent to the sign-in page
        assert r.headers["location"].startswith("/_auth/login")


async def test_session_rows_are_cached_for_policy_ttl_and_sign_out_applies_at_once(
        database_url: str) -> None:
    """With ``policy_ttl`` > 0 a process keeps a session row for that long (one statement
    fewer per request); a session ended by another process ends here within the TTL, and
    a sign-out in this process applies to the very next request."""
    async with identity_portal(database_url) as ip:
        services = ip.portal.services
        services.config.policy_ttl = 5.0
        await ip.login(ALICE)
        assert await ip.cases() == ALICE_CASES
        before = services.db.statement_count
        assert await ip.cases() == ALICE_CASES
        cached = services.db.statement_count - before
        services.config.policy_ttl = 0.0
        before = services.db.statement_count
        assert await ip.cases() == ALICE_CASES
        assert services.db.statement_count - before == cached + 1  # the session query
        services.config.policy_ttl = 5.0
        assert await ip.cases() == ALICE_CASES  # cached again
        # another process ends the session: this one trusts its copy for policy_ttl only
        await services.db.execute('DELETE FROM "identity_session"')
        assert await ip.cases() == ALICE_CASES
        ip.clock.advance(seconds=6)
        assert await ip.cases() == []
        # a sign-out here applies to the next request, cache or not
        token = set_cookie(await ip.login(ALICE), COOKIE)["value"]
        assert await ip.cases() == ALICE_CASES
        assert (await ip.post("/_auth/logout")).status_code == 200
        ip.client.cookies.set(COOKIE, token, domain="testserver.local")
        assert await ip.cases() == []


async def test_a_cached_principal_follows_role_changes_and_the_session_timeouts(
        database_url: str) -> None:
    """The principal a session resolves to is kept per process (policy_ttl): a warm
    signed-in list page costs its one statement, yet a role change made in this process
    applies to the next request, and the idle timeout still ends the session."""
    async with identity_portal(database_url) as ip:
        services = ip.portal.services
        services.config.policy_ttl = services.sites.ttl = 60.0
        await ip.login(ALICE)
        assert await ip.cases() == ALICE_CASES
        before = services.db.statement_count
        assert await ip.cases() == ALICE_CASES
        assert services.db.statement_count - before == 1  # the page, nothing else
        alice = await ip.contact_id(ALICE)
        admin = await ip.fetchval(
            'SELECT "id" FROM "portalis_web_role" WHERE "key" = ?', "customer-admin")
        await ip.call(services.grant_roles, alice, [admin])
        contoso = ["Invoice address is wrong", "Printer offline in Building 2"]
        assert await ip.cases() == contoso  # at once, although cached for a minute
        await ip.call(services.revoke_roles, alice, [admin])
        assert await ip.cases() == ALICE_CASES
        ip.clock.advance(minutes=24 * 60 + 1)  # the default idle timeout is 24 hours
        assert await ip.cases() == []
