"""External sign-in with OpenID Connect, end to end over HTTP against a real provider.

The portal runs with the identity plugin; the provider is panva/oidc-provider on
127.0.0.1 (tests/identity/oidc_provider/server.js) with the portal's callback URL
``https://testserver.local/_auth/external/<name>/callback`` registered. The test plays the
browser: it asks the portal to start the sign-in, signs in and consents at the provider,
and feeds the provider's redirect back into the portal's own test client (which carries
the portal's cookies).
"""

from __future__ import annotations

import contextlib
import json
import subprocess
import time
from collections.abc import Iterator
from pathlib import Path
from urllib.parse import parse_qsl, urlencode, urljoin, urlsplit, urlunsplit

import httpx
import pytest

from tests.identity import oidc_fixtures
from tests.identity.external_support import (
    JSON,
    ExternalPortal,
    Recorder,
    external_portal,
    session_cookie,
    with_contact,
)
from tests.identity.oidc_fixtures import CLIENT_ID, TEST_ACCOUNT, RunningProvider

oidc_node_modules = oidc_fixtures.oidc_node_modules

#: The portal's public origin. oidc.py accepts plain-http redirect URIs only on loopback
#: hosts, so the provider redirects to https://testserver.local (TLS ends at a proxy, as
#: in a deployment) and the test hands the path to the portal's plain-http test client.
PORTAL = "https://testserver.local"
NAMES = ("op", "other")
ADA = TEST_ACCOUNT["email"]  # ada@example.test, email_verified=true at the provider


def callback_uri(name: str) -> str:
    return f"{PORTAL}/_auth/external/{name}/callback"


@contextlib.contextmanager
def launch(directory: Path, workdir: Path, mode: str,
           secret: str) -> Iterator[RunningProvider]:
    """server.js in ``mode`` with the portal's callback URLs registered (as a deployment
    registers them), until the block ends."""
    ready = workdir / f"{mode}.ready.json"
    log_path = workdir / f"{mode}.log"
    command = ["node", "server.js", "--mode", mode, "--port", "0", "--client-id", CLIENT_ID,
               "--client-secret", secret, "--ready-file", str(ready)]
    for name in NAMES:
        command += ["--redirect-uri", callback_uri(name)]
    with log_path.open("wb") as log:
        process = subprocess.Popen(command, cwd=directory, stdin=subprocess.DEVNULL,
                                   stdout=log, stderr=subprocess.STDOUT)
    try:
        deadline = time.monotonic() + 30
        while not ready.exists():
            assert process.poll() is None, log_path.read_text()
            assert time.monotonic() < deadline, log_path.read_text()
            time.sleep(0.05)
        info = json.loads(ready.read_text())
        while True:
            try:
                if httpx.get(f"{info['issuer']}/.well-known/openid-configuration",
                             timeout=2).status_code == 200:
                    break
            except httpx.HTTPError:
                pass
            assert time.monotonic() < deadline, log_path.read_text()
            time.sleep(0.05)
        yield RunningProvider(name=mode, mode=mode, issuer=info["issuer"],
                              port=int(info["port"]), client_id=CLIENT_ID,
                              client_secret=secret, redirect_uri=callback_uri("op"),
                              log_path=log_path)
    finally:
        process.terminate()
        try:
            process.wait(timeout=10)
        except subprocess.TimeoutExpired:
            process.kill()
            process.wait(timeout=10)


@pytest.fixture(scope="module")
def provider(oidc_node_modules: Path,
             tmp_path_factory: pytest.TempPathFactory) -> Iterator[RunningProvider]:
    """panva/oidc-provider, a real OpenID Provider, on 127.0.0.1."""
    with launch(oidc_node_modules, tmp_path_factory.mktemp("op"), "provider",
                "secret-portal") as op:
        yield op


@pytest.fixture(scope="module")
def rogue(oidc_node_modules: Path,
          tmp_path_factory: pytest.TempPathFactory) -> Iterator[RunningProvider]:
    """A protocol-following provider that signs defective ID tokens on request."""
    with launch(oidc_node_modules, tmp_path_factory.mktemp("op"), "rogue",
                "secret-rogue") as op:
        yield op


def op_settings(op: RunningProvider, name: str = "op", **extra: str) -> dict[str, str]:
    base = f"Authentication/OpenIdConnect/{name}/"
    values = {
        base + "Issuer": op.issuer,
        base + "ClientId": op.client_id,
        base + "ClientSecret": op.client_secret,
        base + "RedirectUri": callback_uri(name),
        base + "Caption": "Test Provider",
    }
    for key, value in extra.items():
        values[key if "/" in key else base + key] = value
    return values


async def browse(authorization_url: str, *, action: str = "sign-in") -> str:
    """Play the user at the provider; returns the redirect URL back to the portal."""
    async with httpx.AsyncClient(timeout=10, follow_redirects=False) as browser:
        response = await browser.get(authorization_url)
        for _ in range(20):
            if response.is_redirect:
                location = urljoin(str(response.url), response.headers["location"])
                if location.startswith(PORTAL):
                    return location
                response = await browser.get(location)
                continue
            assert response.status_code == 200, response.text
            interaction = response.json()
            base = str(response.url.copy_with(query=None))
            if action == "abort":
                response = await browser.post(f"{base}/abort")
            elif interaction["prompt"] == "login":
                response = await browser.post(
                    f"{base}/login",
                    data={"login": TEST_ACCOUNT["login"], "password": TEST_ACCOUNT["password"]})
                assert response.status_code == 303, response.text
            elif interaction["prompt"] == "consent":
                response = await browser.post(f"{base}/confirm")
            else:
                raise AssertionError(f"unexpected interaction {interaction}")
    raise AssertionError("the provider never redirected back to the portal")


def local(url: str) -> str:
    """The path and query of a portal URL (what the test client requests)."""
    parts = urlsplit(url)
    assert f"{parts.scheme}://{parts.netloc}" == PORTAL, url
    return urlunsplit(("", "", parts.path, parts.query, ""))


def with_params(url: str, **params: str) -> str:
    parts = urlsplit(url)
    query = dict(parse_qsl(parts.query, keep_blank_values=True))
    query.update(params)
    return urlunsplit(parts._replace(query=urlencode(query)))


async def start(ip: ExternalPortal, name: str = "op", return_url: str = "/") -> str:
    """Ask the portal to start a sign-in; returns the provider's authorization URL."""
    r = await ip.portal.get(f"/_auth/external/{name}/login?{urlencode({'return_url': return_url})}",
                            follow_redirects=False)
    assert r.status_code == 303, r.text
    assert "portalis_extlogin" in r.headers["set-cookie"]
    assert "httponly" in r.headers["set-cookie"].lower()
    return r.headers["location"]


async def sign_in(ip: ExternalPortal, name: str = "op", *, return_url: str = "/",
                  headers: dict[str, str] | None = None) -> httpx.Response:
    """The whole browser round trip; returns the portal's answer to the callback."""
    back = await browse(await start(ip, name, return_url))
    return await ip.portal.get(local(back), headers=headers or {}, follow_redirects=False)


# ----------------------------------------------------------------------------- sign-in


async def test_first_sign_in_registers_a_contact_and_the_second_reuses_the_link(
        database_url: str, provider: RunningProvider) -> None:
    hooks = Recorder()
    async with external_portal(database_url, extra_plugins=(hooks,)) as ip:
        await ip.configure(op_settings(provider, TrustEmail="true"))
        before = await ip.counts()

        r = await sign_in(ip, return_url="/_lists/cases?page=2")
        assert r.status_code == 303, r.text
        assert r.headers["location"] == "/_lists/cases?page=2"
        assert session_cookie(r)
        assert any(h.startswith("portalis_extlogin=;") or "portalis_extlogin=\"\"" in h
                   for h in r.headers.get_list("set-cookie"))  # login cookie cleared
        contacts, sessions, links = await ip.counts()
        assert (contacts, sessions, links) == (before[0] + 1, before[1] + 1, before[2] + 1)
        link = await ip.fetchrow('SELECT "contact", "provider", "protocol", "issuer", "subject" '
                                 'FROM "identity_external"')
        assert link is not None
        assert (link["provider"], link["protocol"]) == ("op", "oidc")
        assert (link["issuer"], link["subject"]) == (provider.issuer, TEST_ACCOUNT["sub"])
        created = await ip.contact(link["contact"])
        assert created["email"] == ADA  # trusted provider, verified email
        assert (created["firstname"], created["lastname"]) == ("Ada", "Lovelace")
        assert hooks.attempts == [(None, "external")]
        assert hooks.results == [(link["contact"], "external", True)]

        # The session works: the portal knows who is asking.
        me = await ip.portal.get("/_auth/password", follow_redirects=False)
        assert me.status_code == 200, me.text

        r = await sign_in(ip, headers=JSON)
        assert r.status_code == 200, r.text
        body = r.json()
        assert body["signed_in"] is True
        assert body["contact"]["id"] == link["contact"]
        assert body["external"] == {"provider": "op", "outcome": "signed_in"}
        assert (await ip.counts())[0::2] == (contacts, links)  # no new contact, no new link
        assert hooks.attempts[-1] == (link["contact"], "external")
        assert hooks.results[-1] == (link["contact"], "external", True)


async def test_claims_mapping_at_every_sign_in_only_when_configured(
        database_url: str, provider: RunningProvider) -> None:
    async with external_portal(database_url) as ip:
        await ip.configure(op_settings(provider))
        r = await sign_in(ip, headers=JSON)
        assert r.status_code == 200, r.text
        contact_id = r.json()["contact"]["id"]
        await ip.execute('UPDATE "contact" SET "firstname" = ? WHERE "id" = ?', "Augusta",
                      contact_id)

        r = await sign_in(ip, headers=JSON)
        assert r.status_code == 200, r.text
        assert (await ip.contact(contact_id))["firstname"] == "Augusta"  # registration only

        await ip.configure(op_settings(provider, RegistrationClaimsMappingOnLogin="true",
                                        ClaimsMapping="firstname=given_name,lastname=name"))
        r = await sign_in(ip, headers=JSON)
        assert r.status_code == 200, r.text
        row = await ip.contact(contact_id)
        assert (row["firstname"], row["lastname"]) == ("Ada", "Ada Lovelace")


async def test_untrusted_provider_never_links_by_email(
        database_url: str, provider: RunningProvider) -> None:
    """ada@example.test exists; the provider asserts it verified, but is not trusted."""
    async with external_portal(database_url) as ip:
        await ip.apply(with_contact("ada", ADA, "Existing"))
        existing = await ip.contact_id(ADA)
        await ip.configure(op_settings(provider))  # TrustEmail defaults to false
        before = await ip.counts()

        r = await sign_in(ip, headers=JSON)
        assert r.status_code == 200, r.text
        body = r.json()
        assert body["external"]["outcome"] == "registered"
        new_id = body["contact"]["id"]
        assert new_id != existing
        new = await ip.contact(new_id)
        assert new["email"] is None  # an unverified email is never stored
        assert new["firstname"] == "Ada"
        assert await ip.fetchval('SELECT COUNT(*) FROM "identity_external" WHERE "contact" = ?',
                                 existing) == 0
        assert (await ip.counts())[0] == before[0] + 1


async def test_untrusted_provider_with_registration_closed_is_refused(
        database_url: str, provider: RunningProvider) -> None:
    hooks = Recorder()
    async with external_portal(database_url, extra_plugins=(hooks,)) as ip:
        await ip.apply(with_contact("ada", ADA, "Existing"))
        await ip.configure(op_settings(
            provider, **{"Authentication/Registration/OpenRegistrationEnabled": "false"}))
        before = await ip.counts()
        r = await sign_in(ip)
        assert r.status_code == 403, r.text
        assert r.headers["content-type"].startswith("text/html")
        assert "registration is closed" in r.text
        assert not session_cookie(r)
        assert await ip.counts() == before
        assert hooks.results == [(None, "external", False)]


async def test_trusted_verified_email_links_the_existing_contact(
        database_url: str, provider: RunningProvider) -> None:
    async with external_portal(database_url) as ip:
        await ip.apply(with_contact("ada", ADA, "Existing"))
        existing = await ip.contact_id(ADA)
        # Linking needs no registration: it works with registration closed.
        await ip.configure(op_settings(
            provider, TrustEmail="true",
            **{"Authentication/Registration/OpenRegistrationEnabled": "false"}))
        before = await ip.counts()
        r = await sign_in(ip, headers=JSON)
        assert r.status_code == 200, r.text
        assert r.json()["contact"]["id"] == existing
        assert r.json()["external"]["outcome"] == "linked"
        assert (await ip.counts())[0] == before[0]
        assert (await ip.contact(existing))["firstname"] == "Existing"  # not remapped
        assert await ip.fetchval('SELECT "contact" FROM "identity_external" WHERE "subject" = ?',
                                 TEST_ACCOUNT["sub"]) == existing

        r = await sign_in(ip, headers=JSON)  # now through the link
        assert r.json()["external"]["outcome"] == "signed_in"
        assert r.json()["contact"]["id"] == existing


async def test_registration_closed_refuses_an_unknown_identity(
        database_url: str, provider: RunningProvider) -> None:
    async with external_portal(database_url) as ip:
        await ip.configure(op_settings(
            provider, TrustEmail="true",
            **{"Authentication/Registration/OpenRegistrationEnabled": "false"}))
        before = await ip.counts()
        r = await sign_in(ip, headers=JSON)
        assert r.status_code == 403, r.text
        assert r.json()["error"]["code"] == "registration_closed"
        assert await ip.counts() == before

        # A provider may also have registration turned off on its own.
        await ip.configure(op_settings(
            provider, RegistrationEnabled="false",
            **{"Authentication/Registration/OpenRegistrationEnabled": "true"}))
        r = await sign_in(ip, headers=JSON)
        assert r.status_code == 403 and r.json()["error"]["code"] == "registration_closed"
        assert await ip.counts() == before


# ----------------------------------------------------------------------------- refusals


async def test_wrong_state_is_refused_and_the_login_state_is_single_use(
        database_url: str, provider: RunningProvider) -> None:
    async with external_portal(database_url) as ip:
        await ip.configure(op_settings(provider))
        before = await ip.counts()
        back = await browse(await start(ip))

        r = await ip.portal.get(local(with_params(back, state="forged-state")), headers=JSON)
        assert r.status_code == 400, r.text
        assert r.json()["error"]["code"] == "state_mismatch"
        # The pending login was consumed by the refused attempt: the genuine callback,
        # arriving second, finds nothing.
        r = await ip.portal.get(local(back), headers=JSON)
        assert r.status_code == 400
        assert r.json()["error"]["code"] == "login_state_missing"
        assert await ip.counts() == before
        assert await ip.fetchval('SELECT COUNT(*) FROM "identity_external_login"') == 0


async def test_replayed_callback_and_other_browser_are_refused(
        database_url: str, provider: RunningProvider) -> None:
    async with external_portal(database_url) as ip:
        await ip.configure(op_settings(provider))
        back = await browse(await start(ip))
        r = await ip.portal.get(local(back), headers=JSON)
        assert r.status_code == 200, r.text
        after_first = await ip.counts()

        r = await ip.portal.get(local(back), headers=JSON)  # the same callback again
        assert r.status_code == 400 and r.json()["error"]["code"] == "login_state_missing"

        # A callback delivered to a browser that never started the login (login CSRF).
        back = await browse(await start(ip))
        ip.client.cookies.delete("portalis_extlogin")  # as if another browser got it
        r = await ip.portal.get(local(back), headers=JSON)
        assert r.status_code == 400, r.text
        assert r.json()["error"]["code"] == "login_state_missing"
        assert await ip.counts() == after_first


async def test_expired_login_and_cancelled_login_are_refused(
        database_url: str, provider: RunningProvider) -> None:
    async with external_portal(database_url) as ip:
        await ip.configure(op_settings(provider))
        before = await ip.counts()
        back = await browse(await start(ip))
        ip.clock.advance(minutes=11)
        r = await ip.portal.get(local(back), headers=JSON)
        assert r.status_code == 400 and r.json()["error"]["code"] == "login_state_expired"

        back = await browse(await start(ip), action="abort")
        r = await ip.portal.get(local(back))
        assert r.status_code == 400
        assert "could not be completed (provider_error)" in r.text
        assert await ip.counts() == before


async def test_callback_of_another_provider_is_refused(
        database_url: str, provider: RunningProvider) -> None:
    """A login started with "op" whose answer is delivered to "other"'s callback."""
    async with external_portal(database_url) as ip:
        await ip.configure({**op_settings(provider), **op_settings(provider, "other")})
        before = await ip.counts()
        back = await browse(await start(ip, "op"))
        moved = back.replace("/_auth/external/op/", "/_auth/external/other/")
        r = await ip.portal.get(local(moved), headers=JSON)
        assert r.status_code == 400, r.text
        assert r.json()["error"]["code"] == "provider_mismatch"
        assert await ip.counts() == before


async def test_lockout_hook_refuses_external_sign_in(
        database_url: str, provider: RunningProvider) -> None:
    hooks = Recorder()
    async with external_portal(database_url, extra_plugins=(hooks,)) as ip:
        await ip.configure(op_settings(provider))
        r = await sign_in(ip, headers=JSON)
        assert r.status_code == 200
        contact_id = r.json()["contact"]["id"]
        sessions = (await ip.counts())[1]

        hooks.refuse = "locked"
        r = await sign_in(ip, headers=JSON)
        assert r.status_code == 403, r.text
        assert r.json()["error"]["code"] == "signin_refused"
        assert not session_cookie(r)
        assert (await ip.counts())[1] == sessions
        assert hooks.attempts[-1] == (contact_id, "external")
        assert len(hooks.results) == 1  # a refused claim is not reported


async def test_return_url_is_local_only(database_url: str, provider: RunningProvider) -> None:
    async with external_portal(database_url) as ip:
        await ip.configure(op_settings(provider))
        for target in ("https://evil.example/", "//evil.example/x", "/\\evil.example"):
            r = await sign_in(ip, return_url=target)
            assert r.status_code == 303, r.text
            assert r.headers["location"] == "/"


async def test_unknown_and_misconfigured_providers(database_url: str,
                                                   provider: RunningProvider) -> None:
    async with external_portal(database_url) as ip:
        r = await ip.portal.get("/_auth/external/nobody/login", headers=JSON)
        assert r.status_code == 404 and r.json()["error"]["code"] == "unknown_provider"
        r = await ip.portal.get("/_auth/external/nobody/callback?code=x&state=y", headers=JSON)
        assert r.status_code == 404

        await ip.configure(op_settings(provider, ClaimsMapping="email=email"))
        r = await ip.portal.get("/_auth/external/op/login", headers=JSON)
        assert r.status_code == 503 and r.json()["error"]["code"] == "provider_misconfigured"

        await ip.configure(op_settings(provider, Issuer=provider.issuer + "/elsewhere",
                                        ClaimsMapping="firstname=given_name"))
        r = await ip.portal.get("/_auth/external/op/login", headers=JSON)
        assert r.status_code == 502, r.text
        assert r.json()["error"]["code"] in ("discovery_failed", "issuer_mismatch")


async def test_form_post_callback_is_accepted(database_url: str,
                                              provider: RunningProvider) -> None:
    """response_mode=form_post: the provider's answer arrives as a cross-site POST, with no
    CSRF token; the login cookie binds it to this browser."""
    async with external_portal(database_url) as ip:
        await ip.configure(op_settings(provider))
        back = await browse(await start(ip))
        parts = urlsplit(back)
        r = await ip.client.post(parts.path, data=dict(parse_qsl(parts.query)), headers=JSON)
        assert r.status_code == 200, r.text
        assert r.json()["external"]["outcome"] == "registered"


@pytest.mark.parametrize(("scenario", "code"), [
    ("wrong_aud", "invalid_audience"),
    ("alg_none", "alg_not_allowed"),
    ("hs256", "alg_not_allowed"),
    ("expired", "token_expired"),
    ("wrong_nonce", "nonce_mismatch"),
    ("wrong_iss", "id_token_issuer_mismatch"),
    ("bad_signature", "invalid_signature"),
    ("iss_param_foreign", "response_issuer_mismatch"),  # mix-up
])
async def test_defective_tokens_are_refused_end_to_end(
        database_url: str, rogue: RunningProvider, scenario: str, code: str) -> None:
    hooks = Recorder()
    async with external_portal(database_url, extra_plugins=(hooks,)) as ip:
        await ip.configure(op_settings(rogue))
        before = await ip.counts()
        # The browser (the test) asks the rogue provider for a defective answer.
        url = with_params(await start(ip), rogue_scenario=scenario)
        r = await ip.portal.get(local(await browse(url)), headers=JSON)
        assert r.status_code == 400, r.text
        assert r.json()["error"]["code"] == code
        assert not session_cookie(r)
        assert await ip.counts() == before
        assert hooks.results == [(None, "external", False)]

        # The control case: the same provider, a correct token.
        r = await ip.portal.get(local(await browse(await start(ip))), headers=JSON)
        assert r.status_code == 200, r.text
