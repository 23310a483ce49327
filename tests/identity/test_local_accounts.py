"""Local accounts: registration, sign-in, password change, sign-in hooks, site files."""

from __future__ import annotations

from typing import Any

import pytest

from portalis.core import InvalidInput, Principal, hookimpl
from portalis.core.sitefile import load_site_file
from tests.identity.smtp import CASES, identity_portal

ALICE = "alice@contoso.example"
ALICE_CASES = ["Printer offline in Building 2"]
GOOD = "Quiet-River-42"


class Recorder:
    """Implements the identity plugin's sign-in hooks; refuses while ``refuse`` is set."""

    def __init__(self) -> None:
        self.attempts: list[tuple[int | None, str, str]] = []
        self.results: list[tuple[int | None, str, bool]] = []
        self.refuse: str | None = None

    @hookimpl
    async def portalis_signin_attempt(self, site: Any, contact_id: int | None, kind: str,
                                      client_ip: str, services: Any) -> str | None:
        self.attempts.append((contact_id, kind, client_ip))
        return self.refuse

    @hookimpl
    def portalis_signin_result(self, site: Any, contact_id: int | None, kind: str,
                               success: bool, client_ip: str, services: Any) -> None:
        self.results.append((contact_id, kind, success))


class CountingHasher:
    def __init__(self, inner: Any) -> None:
        self.inner = inner
        self.verified = 0
        self.checked: list[str] = []  # "real" against a stored hash, or "dummy"

    def __getattr__(self, name: str) -> Any:
        return getattr(self.inner, name)

    def verify(self, password_hash: str, password: str) -> bool:
        self.verified += 1
        self.checked.append("real")
        return bool(self.inner.verify(password_hash, password))

    def dummy_verify(self, password: str = "") -> bool:
        self.verified += 1
        self.checked.append("dummy")
        return bool(self.inner.dummy_verify(password))


async def test_registration_creates_a_contact_that_can_sign_in(database_url: str) -> None:
    async with identity_portal(database_url) as ip:
        r = await ip.post("/_auth/register", {"email": " New.User@Example.COM ",
                                              "password": GOOD, "firstname": "New"})
        assert r.status_code == 202, r.text
        assert r.json()["status"] == "check_email"
        assert "set-cookie" not in r.headers  # registering does not sign in
        system = Principal.for_system(1)
        page = await ip.records("list", system, "contact", columns=["email", "firstname"])
        assert {"email": "new.user@example.com", "firstname": "New"} in [
            {k: row[k] for k in ("email", "firstname")} for row in page.rows]
        mail = ip.mail.last("new.user@example.com")
        assert "Confirm your email" in ip.mail.subject(mail)
        credential = await ip.fetchrow(
            'SELECT "password_hash", "email_confirmed" FROM "identity_credential" '
            'WHERE "contact" = ?', await ip.contact_id("new.user@example.com"))
        assert credential["password_hash"].startswith("$argon2id$")
        assert not credential["email_confirmed"]
        r = await ip.login("NEW.user@example.com", GOOD)
        assert r.status_code == 200, r.text  # RequiresConfirmation is false by default


async def test_registration_form_redirects_to_sign_in(database_url: str) -> None:
    async with identity_portal(database_url) as ip:
        form = await ip.portal.get("/_auth/register")
        assert form.status_code == 200 and 'name="_csrf_token"' in form.text
        r = await ip.post("/_auth/register", data={"email": "form@example.com",
                                                   "password": GOOD})
        assert r.status_code == 303
        assert r.headers["location"] == "/_auth/login?registered=1"
        page = await ip.portal.get(r.headers["location"])
        assert "Check your email" in page.text


@pytest.mark.parametrize(("password", "problem"), [
    ("Sh0rt!", "at least 8 characters"),
    ("alllowercase", "at least 3 of these kinds"),
    ("Password1", "too common"),
    ("Weak.Person-9", "email address"),
])
async def test_registration_refuses_weak_passwords(database_url: str, password: str,
                                                   problem: str) -> None:
    async with identity_portal(database_url) as ip:
        r = await ip.post("/_auth/register", {"email": "weak.person@example.com",
                                              "password": password})
        assert r.status_code == 400, r.text
        error = r.json()["error"]
        assert error["code"] == "weak_password" and problem in error["message"]
        count = await ip.fetchval(
            'SELECT COUNT(*) FROM "contact" WHERE "email" = ?', "weak.person@example.com")
        assert count == 0
        assert ip.mail.to("weak.person@example.com") == []


async def test_registration_settings(database_url: str) -> None:
    async with identity_portal(database_url) as ip:
        body = {"email": "someone@example.com", "password": GOOD}
        await ip.settings(Authentication__Registration__OpenRegistrationEnabled="false")
        r = await ip.post("/_auth/register", body)
        assert r.status_code == 403 and r.json()["error"]["code"] == "registration_closed"
        await ip.settings(Authentication__Registration__RequiresInvitation="true")
        r = await ip.post("/_auth/register", body)
        assert r.status_code == 403 and r.json()["error"]["code"] == "registration_closed"
        await ip.settings(Authentication__Registration__Enabled="false")
        r = await ip.post("/_auth/register", body)
        assert r.status_code == 404 and r.json()["error"]["code"] == "registration_disabled"
        assert await ip.fetchval(
            'SELECT COUNT(*) FROM "contact" WHERE "email" = ?', body["email"]) == 0


async def test_sign_in_needs_the_csrf_token(database_url: str) -> None:
    async with identity_portal(database_url) as ip:
        r = await ip.portal.send("POST", "/_auth/login", csrf=False,
                                 json={"email": ALICE, "password": "Demo-pass-1"})
        assert r.status_code == 403
        assert "set-cookie" not in r.headers or "portalis_session" not in r.headers["set-cookie"]


async def test_form_sign_in_redirects_only_to_local_paths(database_url: str) -> None:
    async with identity_portal(database_url) as ip:
        r = await ip.post("/_auth/login", data={"email": ALICE, "password": "Demo-pass-1",
                                                "return_url": "/_lists/cases"})
        assert r.status_code == 303 and r.headers["location"] == "/_lists/cases"
        assert "portalis_session=" in r.headers["set-cookie"]
        r = await ip.post("/_auth/login", data={"email": ALICE, "password": "Demo-pass-1",
                                                "return_url": "//evil.example/"})
        assert r.status_code == 303 and r.headers["location"] == "/"
        r = await ip.post("/_auth/login", data={"email": ALICE, "password": "nope"})
        assert r.status_code == 401 and "Invalid sign-in attempt." in r.text


async def test_every_sign_in_failure_answers_alike(database_url: str) -> None:
    async with identity_portal(database_url) as ip:
        await ip.apply(CASES.replace(
            "contacts:\n", "contacts:\n  - key: dave\n    email: dave@contoso.example\n", 1))
        carol = await ip.contact_id("carol@fabrikam.example")
        await ip.records("update", Principal.for_system(1), "contact", carol,
                                       {"state": "inactive"})
        attempts = [
            (ALICE, "wrong-Password-1"),  # wrong password
            ("nobody@contoso.example", "Demo-pass-1"),  # unknown email
            ("carol@fabrikam.example", "Demo-pass-1"),  # inactive contact
            ("dave@contoso.example", "Demo-pass-1"),  # contact without a password
            ("not an email", "Demo-pass-1"),
        ]
        answers = set()
        for email, password in attempts:
            r = await ip.login(email, password)
            assert "portalis_session" not in r.headers.get("set-cookie", "")
            answers.add((r.status_code, r.content))
        assert answers == {(401, b'{"error":{"code":"signin_failed",'
                                 b'"message":"Invalid sign-in attempt."}}')}
        assert await ip.cases() == []


async def test_unknown_and_known_emails_get_byte_identical_answers(database_url: str) -> None:
    async with identity_portal(database_url) as ip:
        await ip.portal.csrf()

        async def exchange(url: str, body: dict[str, str], *, form: bool) -> tuple[Any, ...]:
            r = await (ip.post(url, data=body) if form else ip.post(url, body))
            return r.status_code, r.content, r.headers.get_list("set-cookie"), \
                r.headers.get("location")

        known = ALICE
        unknown = iter(f"nobody{i}@contoso.example" for i in range(10))
        for url, extra in (("/_auth/login", {"password": "wrong-Password-1"}),
                           ("/_auth/register", {"password": GOOD}),
                           ("/_auth/reset/request", {})):
            for form in (False, True):
                a = await exchange(url, {"email": known, **extra}, form=form)
                b = await exchange(url, {"email": next(unknown), **extra}, form=form)
                assert a == b, (url, form, a, b)
        # the known address was told by mail; an unknown one gets no reset mail
        subjects = [ip.mail.subject(m) for m in ip.mail.to(known)]
        assert sum("Registration attempt" in s for s in subjects) == 2
        assert sum("Reset your password" in s for s in subjects) == 2
        for address in ("nobody4@contoso.example", "nobody5@contoso.example"):
            assert ip.mail.to(address) == []
        # an unknown address at sign-up became a new contact with a confirmation mail
        assert "Confirm your email" in ip.mail.subject(ip.mail.last("nobody2@contoso.example"))


async def test_password_change_ends_other_sessions_and_renews_this_one(
        database_url: str) -> None:
    async with identity_portal(database_url) as ip:
        await ip.login(ALICE)
        other_browser = ip.client.cookies.get("portalis_session")
        ip.client.cookies.delete("portalis_session")  # a second browser signs in
        await ip.login(ALICE)
        this_browser = ip.client.cookies.get("portalis_session")
        assert await ip.sessions_of(ALICE) == 2

        r = await ip.post("/_auth/password", {"current_password": "wrong-Password-1",
                                              "new_password": GOOD})
        assert r.status_code == 400 and r.json()["error"]["code"] == "wrong_password"
        r = await ip.post("/_auth/password", {"current_password": "Demo-pass-1",
                                              "new_password": "short"})
        assert r.status_code == 400 and r.json()["error"]["code"] == "weak_password"
        r = await ip.post("/_auth/password", {"current_password": "Demo-pass-1",
                                              "new_password": GOOD})
        assert r.status_code == 200 and r.json()["password_changed"] is True
        renewed = ip.client.cookies.get("portalis_session")
        assert renewed not in (this_browser, other_browser)
        assert await ip.sessions_of(ALICE) == 1
        assert await ip.cases() == ALICE_CASES
        for old in (this_browser, other_browser):
            ip.client.cookies.set("portalis_session", old, domain="testserver.local")
            assert await ip.cases() == []
        assert (await ip.login(ALICE, "Demo-pass-1")).status_code == 401
        assert (await ip.login(ALICE, GOOD)).status_code == 200


async def test_password_change_needs_a_signed_in_contact(database_url: str) -> None:
    async with identity_portal(database_url) as ip:
        r = await ip.post("/_auth/password", {"current_password": "Demo-pass-1",
                                              "new_password": GOOD})
        assert r.status_code == 401 and r.json()["error"]["code"] == "signin_required"
        r = await ip.portal.get("/_auth/password", follow_redirects=False)
        assert r.status_code == 303 and r.headers["location"].startswith("/_auth/login")


async def test_sign_in_hooks_see_every_attempt_and_a_refusal_skips_the_check(
        database_url: str) -> None:
    recorder = Recorder()
    async with identity_portal(database_url, extra_plugins=(recorder,)) as ip:
        from portalis.plugins.identity.store import state

        hasher = CountingHasher(state(ip.portal.services).hasher)
        state(ip.portal.services).hasher = hasher  # type: ignore[assignment]
        alice = await ip.contact_id(ALICE)
        assert (await ip.login(ALICE)).status_code == 200
        assert (await ip.login("nobody@contoso.example")).status_code == 401
        client = "127.0.0.1"  # the address tests/support/portal.py connects from
        assert recorder.attempts == [(alice, "password", client), (None, "password", client)]
        assert recorder.results == [(alice, "password", True), (None, "password", False)]
        assert hasher.verified == 2

        recorder.refuse = "locked"
        r = await ip.login(ALICE)  # the right password, refused unchecked
        assert r.status_code == 401 and r.json()["error"]["code"] == "signin_failed"
        # the stored hash is never consulted; a dummy verify keeps the timing the same
        assert hasher.checked == ["real", "dummy", "dummy"] and len(recorder.results) == 2
        r = await ip.post("/_auth/password", {"current_password": "Demo-pass-1",
                                              "new_password": GOOD})
        assert r.status_code == 400 and "real" not in hasher.checked[2:]


async def test_site_file_passwords_are_hashed_and_checked(database_url: str) -> None:
    async with identity_portal(database_url) as ip:
        alice = await ip.contact_id(ALICE)
        stored = await ip.fetchval(
            'SELECT "password_hash" FROM "identity_credential" WHERE "contact" = ?', alice)
        assert stored.startswith("$argon2id$") and "Demo-pass-1" not in stored
        await ip.apply(CASES)  # the same password again: nothing changes
        assert await ip.fetchval(
            'SELECT "password_hash" FROM "identity_credential" WHERE "contact" = ?',
            alice) == stored
        bad = CASES.replace("password: Demo-pass-1", "password: password", 1)
        with pytest.raises(InvalidInput) as info:
            await ip.apply(bad)
        assert "contacts[alice]" in info.value.message
        with pytest.raises(InvalidInput) as info:
            await ip.apply(CASES.replace("password: Demo-pass-1", "password: 12", 2))
        assert "contacts[alice]" in info.value.message
        assert (await ip.login(ALICE)).status_code == 200  # nothing was applied


async def test_the_demo_site_applies_with_identity(database_url: str) -> None:
    from pathlib import Path

    import portalis.core.demo as demo

    text = (Path(demo.__file__).parent / "demo-site.yaml").read_text()
    async with identity_portal(database_url, apply=False) as ip:
        website = await ip.apply(text)
        assert website and load_site_file(text)["contacts"][0]["password"] == "Demo-pass-1"
        count = await ip.fetchval(
            'SELECT COUNT(*) FROM "identity_credential" WHERE "password_hash" IS NOT NULL')
        assert count == 3
