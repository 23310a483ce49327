"""End-to-end tests of the OpenID Connect relying party against real providers on 127.0.0.1.

``oidc_provider_a``/``oidc_provider_b`` are panva/oidc-provider instances; the tests play the
browser over HTTP (login and consent forms of server.js).  ``rogue_provider`` follows the
protocol but signs the defective ID tokens a well-behaved provider never issues; the
defect is chosen with the ``rogue_scenario`` authorization parameter.
"""

from __future__ import annotations

import dataclasses
import json
import time
from collections.abc import AsyncIterator
from typing import Any
from urllib.parse import parse_qs, parse_qsl, urlencode, urljoin, urlsplit, urlunsplit

import httpx
import pytest
from authlib.oauth2.rfc7636 import create_s256_code_challenge

from portalis.plugins.identity.oidc import (
    DEFAULT_ALLOWED_ALGS,
    LoginState,
    OidcError,
    OidcIdentity,
    OidcProviderConfig,
    ProviderMetadata,
    begin_login,
    complete_login,
    discover,
    parse_claims_mapping,
    refresh_jwks,
)

from . import oidc_fixtures
from .oidc_fixtures import REDIRECT_URI, TEST_ACCOUNT, RunningProvider

# The provider fixtures live in oidc_fixtures.py; bind them here so pytest finds them.
oidc_node_modules = oidc_fixtures.oidc_node_modules
oidc_provider_a = oidc_fixtures.oidc_provider_a
oidc_provider_b = oidc_fixtures.oidc_provider_b
rogue_provider = oidc_fixtures.rogue_provider

# ----------------------------------------------------------------------------- helpers


def make_config(op: RunningProvider, **overrides: Any) -> OidcProviderConfig:
    values: dict[str, Any] = {
        "name": op.name,
        "issuer": op.issuer,
        "client_id": op.client_id,
        "client_secret": op.client_secret,
        "redirect_uri": op.redirect_uri,
        "trust_email": True,
    }
    values.update(overrides)
    return OidcProviderConfig(**values)


def with_params(url: str, **params: str) -> str:
    """``url`` with query parameters replaced or added (an attacker editing a URL)."""
    parts = urlsplit(url)
    query = dict(parse_qsl(parts.query, keep_blank_values=True))
    query.update(params)
    return urlunsplit(parts._replace(query=urlencode(query)))


async def browse(
    authorization_url: str,
    *,
    action: str = "sign-in",
    password: str = TEST_ACCOUNT["password"],
) -> dict[str, str]:
    """Play the browser: follow redirects, sign in and consent, return the callback params.

    ``action="abort"`` cancels at the first interaction instead.
    """
    async with httpx.AsyncClient(timeout=10, follow_redirects=False) as browser:
        response = await browser.get(authorization_url)
        for _ in range(20):
            if response.is_redirect:
                location = urljoin(str(response.url), response.headers["location"])
                if location.startswith(REDIRECT_URI):
                    return dict(parse_qsl(urlsplit(location).query, keep_blank_values=True))
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
                    data={"login": TEST_ACCOUNT["login"], "password": password},
                )
                assert response.status_code == 303, response.text
            elif interaction["prompt"] == "consent":
                response = await browser.post(f"{base}/confirm")
            else:
                raise AssertionError(f"unexpected interaction {interaction}")
    raise AssertionError("the provider never redirected back to the portal")


@pytest.fixture
async def http() -> AsyncIterator[httpx.AsyncClient]:
    """The relying party's own HTTP client (no cookies shared with the 'browser')."""
    async with httpx.AsyncClient(timeout=10) as client:
        yield client


async def refused(coro: Any) -> OidcError:
    with pytest.raises(OidcError) as info:
        await coro
    return info.value


async def rogue_login(
    op: RunningProvider,
    http: httpx.AsyncClient,
    scenario: str,
    **config_overrides: Any,
) -> OidcIdentity:
    config = make_config(op, **config_overrides)
    metadata = await discover(config, http)
    url, state = begin_login(config, metadata, extra_params={"rogue_scenario": scenario})
    params = await browse(url)
    return await complete_login(config, metadata, state, params, http)


# ----------------------------------------------------------------------------- happy path


async def test_sign_in_returns_identity(
    oidc_provider_a: RunningProvider, http: httpx.AsyncClient
) -> None:
    config = make_config(oidc_provider_a)
    metadata = await discover(config, http)
    assert metadata.issuer == oidc_provider_a.issuer
    assert metadata.iss_parameter_supported is True
    assert metadata.userinfo_endpoint
    assert any(key.get("kty") == "RSA" for key in metadata.jwks["keys"])

    url, login_state = begin_login(config, metadata)
    query = parse_qs(urlsplit(url).query)
    assert url.startswith(metadata.authorization_endpoint + "?")
    assert query["response_type"] == ["code"]
    assert query["client_id"] == [config.client_id]
    assert query["redirect_uri"] == [REDIRECT_URI]
    assert query["scope"] == ["openid email profile"]
    assert query["state"] == [login_state.state]
    assert query["nonce"] == [login_state.nonce]
    assert query["code_challenge_method"] == ["S256"]
    assert query["code_challenge"] == [create_s256_code_challenge(login_state.code_verifier)]
    assert "code_verifier" not in query
    assert login_state.provider == config.name
    assert abs(login_state.created_at - time.time()) < 5

    params = await browse(url)
    assert params["iss"] == oidc_provider_a.issuer
    identity = await complete_login(config, metadata, login_state, params, http)

    assert identity.provider == config.name
    assert identity.issuer == oidc_provider_a.issuer
    assert identity.subject == TEST_ACCOUNT["sub"]
    assert identity.key == (oidc_provider_a.issuer, TEST_ACCOUNT["sub"])
    assert identity.email == TEST_ACCOUNT["email"]
    assert identity.email_verified is True
    assert identity.claims == {"firstname": "Ada", "lastname": "Lovelace"}
    assert identity.raw_claims["name"] == "Ada Lovelace"
    assert identity.id_token.count(".") == 2


async def test_untrusted_email_is_not_reported_verified(
    oidc_provider_a: RunningProvider, http: httpx.AsyncClient
) -> None:
    config = make_config(
        oidc_provider_a,
        trust_email=False,
        claims_mapping="fullname=name, first=given_name",
        scopes="openid profile email",
    )
    metadata = await discover(config, http)
    url, login_state = begin_login(config, metadata)
    identity = await complete_login(config, metadata, login_state, await browse(url), http)
    assert identity.email == TEST_ACCOUNT["email"]
    assert identity.raw_claims["email_verified"] is True
    assert identity.email_verified is False
    assert identity.claims == {"fullname": "Ada Lovelace", "first": "Ada"}


async def test_metadata_and_login_state_survive_json(
    oidc_provider_a: RunningProvider, http: httpx.AsyncClient
) -> None:
    """Both are stored outside the process (cache, session): they must round-trip."""
    config = make_config(oidc_provider_a)
    metadata = ProviderMetadata.from_dict(
        json.loads(json.dumps((await discover(config, http)).to_dict()))
    )
    url, login_state = begin_login(config, metadata)
    stored = json.dumps(login_state.to_dict())
    params = await browse(url)
    restored = LoginState.from_dict(json.loads(stored))
    assert restored == login_state
    identity = await complete_login(config, metadata, restored, params, http)
    assert identity.subject == TEST_ACCOUNT["sub"]


async def test_each_login_has_fresh_high_entropy_secrets(
    oidc_provider_a: RunningProvider, http: httpx.AsyncClient
) -> None:
    config = make_config(oidc_provider_a)
    metadata = await discover(config, http)
    states = [begin_login(config, metadata)[1] for _ in range(20)]
    for field in ("state", "nonce", "code_verifier"):
        values = [getattr(s, field) for s in states]
        assert len(set(values)) == len(values)
        # base64url without padding: 43 characters carry 256 bits, far above 128.
        assert min(len(v) for v in values) >= 43
    assert all(43 <= len(s.code_verifier) <= 128 for s in states)  # RFC 7636 bounds


# ----------------------------------------------------------------------------- state


async def test_wrong_state_is_refused(
    oidc_provider_a: RunningProvider, http: httpx.AsyncClient
) -> None:
    config = make_config(oidc_provider_a)
    metadata = await discover(config, http)
    url, login_state = begin_login(config, metadata)
    params = await browse(url)
    params["state"] = login_state.state[:-2] + ("AA" if login_state.state[-2:] != "AA" else "BB")
    error = await refused(complete_login(config, metadata, login_state, params, http))
    assert error.code == "state_mismatch"


async def test_callback_of_another_login_is_refused(
    oidc_provider_a: RunningProvider, http: httpx.AsyncClient
) -> None:
    """A response to login 2 (e.g. forced by an attacker, CSRF) arriving at login 1."""
    config = make_config(oidc_provider_a)
    metadata = await discover(config, http)
    _, state_1 = begin_login(config, metadata)
    url_2, _ = begin_login(config, metadata)
    params = await browse(url_2)
    error = await refused(complete_login(config, metadata, state_1, params, http))
    assert error.code == "state_mismatch"


async def test_missing_state_is_refused(
    oidc_provider_a: RunningProvider, http: httpx.AsyncClient
) -> None:
    config = make_config(oidc_provider_a)
    metadata = await discover(config, http)
    url, login_state = begin_login(config, metadata)
    params = await browse(url)
    del params["state"]
    error = await refused(complete_login(config, metadata, login_state, params, http))
    assert error.code == "state_missing"
    params["state"] = ""
    error = await refused(complete_login(config, metadata, login_state, params, http))
    assert error.code == "state_missing"


async def test_replayed_login_state_is_refused(
    oidc_provider_a: RunningProvider, http: httpx.AsyncClient
) -> None:
    """The caller's session store is single-use: the second callback finds nothing."""
    config = make_config(oidc_provider_a)
    metadata = await discover(config, http)
    session: dict[str, dict[str, Any]] = {}

    url, login_state = begin_login(config, metadata)
    session["oidc_login"] = login_state.to_dict()
    params = await browse(url)

    async def callback(query: dict[str, str]) -> OidcIdentity:
        stored = session.pop("oidc_login", None)  # delete before completing
        state = LoginState.from_dict(stored) if stored is not None else None
        return await complete_login(config, metadata, state, query, http)

    identity = await callback(params)
    assert identity.subject == TEST_ACCOUNT["sub"]

    error = await refused(callback(params))
    assert error.code == "login_state_missing"

    # A careless caller that kept the state is still saved by the provider: codes are
    # single-use too, and the provider refuses the second exchange.
    error = await refused(complete_login(config, metadata, login_state, params, http))
    assert error.code == "token_error"
    assert "invalid_grant" in error.message


async def test_expired_login_state_is_refused(
    oidc_provider_a: RunningProvider, http: httpx.AsyncClient
) -> None:
    config = make_config(oidc_provider_a, login_timeout=300)
    metadata = await discover(config, http)
    url, login_state = begin_login(config, metadata)
    params = await browse(url)
    stale = dataclasses.replace(login_state, created_at=login_state.created_at - 301)
    error = await refused(complete_login(config, metadata, stale, params, http))
    assert error.code == "login_state_expired"
    # the same callback with the fresh state is accepted (the refusal was the age)
    identity = await complete_login(config, metadata, login_state, params, http)
    assert identity.subject == TEST_ACCOUNT["sub"]


def test_malformed_stored_login_state_is_refused() -> None:
    good = LoginState(
        state="s" * 43, nonce="n" * 43, code_verifier="v" * 86, provider="p", created_at=1
    ).to_dict()
    assert LoginState.from_dict(good).to_dict() == good
    for broken in (
        {k: v for k, v in good.items() if k != "nonce"},
        {**good, "created_at": "1"},
        {**good, "state": ""},
        {**good, "code_verifier": None},
    ):
        with pytest.raises(OidcError) as info:
            LoginState.from_dict(broken)
        assert info.value.code == "login_state_invalid"


async def test_tampered_code_verifier_is_refused_by_the_provider(
    oidc_provider_a: RunningProvider, http: httpx.AsyncClient
) -> None:
    """PKCE: the code is only redeemable with the verifier of the login that started it."""
    config = make_config(oidc_provider_a)
    metadata = await discover(config, http)
    url, login_state = begin_login(config, metadata)
    params = await browse(url)
    _, other = begin_login(config, metadata)
    forged = dataclasses.replace(login_state, code_verifier=other.code_verifier)
    error = await refused(complete_login(config, metadata, forged, params, http))
    assert error.code == "token_error"
    assert "invalid_grant" in error.message


async def test_wrong_client_secret_is_refused_by_the_provider(
    oidc_provider_a: RunningProvider, http: httpx.AsyncClient
) -> None:
    config = make_config(oidc_provider_a, client_secret="not-the-secret")
    metadata = await discover(config, http)
    url, login_state = begin_login(config, metadata)
    error = await refused(complete_login(config, metadata, login_state, await browse(url), http))
    assert error.code == "token_error"
    assert "invalid_client" in error.message


async def test_duplicated_callback_parameters_are_refused(
    oidc_provider_a: RunningProvider, http: httpx.AsyncClient
) -> None:
    config = make_config(oidc_provider_a)
    metadata = await discover(config, http)
    url, login_state = begin_login(config, metadata)
    params: dict[str, Any] = dict(await browse(url))
    params["code"] = [params["code"], "another-code"]
    error = await refused(complete_login(config, metadata, login_state, params, http))
    assert error.code == "invalid_response"
    params["code"] = [params["code"][0]]  # a one-element list (multi-dict style) is fine
    identity = await complete_login(config, metadata, login_state, params, http)
    assert identity.subject == TEST_ACCOUNT["sub"]


# ----------------------------------------------------------------------------- provider errors


async def test_provider_error_response_is_refused(
    oidc_provider_a: RunningProvider, http: httpx.AsyncClient
) -> None:
    config = make_config(oidc_provider_a)
    metadata = await discover(config, http)
    url, login_state = begin_login(config, metadata)
    params = await browse(url, action="abort")
    assert params["error"] == "access_denied"
    error = await refused(complete_login(config, metadata, login_state, params, http))
    assert error.code == "provider_error"
    assert error.message.startswith("access_denied")


async def test_prompt_none_without_session_is_a_provider_error(
    oidc_provider_a: RunningProvider, http: httpx.AsyncClient
) -> None:
    config = make_config(oidc_provider_a)
    metadata = await discover(config, http)
    url, login_state = begin_login(config, metadata, extra_params={"prompt": "none"})
    params = await browse(url)
    error = await refused(complete_login(config, metadata, login_state, params, http))
    assert error.code == "provider_error"
    assert "login_required" in error.message


def test_protocol_parameters_cannot_be_overridden() -> None:
    metadata = ProviderMetadata(
        issuer="https://op.example.test",
        authorization_endpoint="https://op.example.test/auth",
        token_endpoint="https://op.example.test/token",
        jwks_uri="https://op.example.test/jwks",
        jwks={"keys": []},
    )
    config = OidcProviderConfig(
        name="op",
        issuer="https://op.example.test",
        client_id="c",
        client_secret="s",
        redirect_uri="https://portal.example.test/cb",
    )
    for key in ("state", "nonce", "code_challenge_method", "redirect_uri", "client_id"):
        with pytest.raises(ValueError):
            begin_login(config, metadata, extra_params={key: "x"})


# ----------------------------------------------------------------------------- issuer, mix-up


async def test_discovery_naming_another_issuer_is_refused(
    oidc_provider_a: RunningProvider,
    rogue_provider: RunningProvider,
    http: httpx.AsyncClient,
) -> None:
    # The real provider answers for "http://127.0.0.1:PORT", not ".../": exact comparison.
    config = make_config(oidc_provider_a, issuer=oidc_provider_a.issuer + "/")
    error = await refused(discover(config, http))
    assert error.code == "issuer_mismatch"
    # A discovery document under /liar that claims to be the provider at the root.
    config = make_config(rogue_provider, issuer=rogue_provider.issuer + "/liar")
    error = await refused(discover(config, http))
    assert error.code == "issuer_mismatch"
    # control: the honest configuration of each is accepted
    await discover(make_config(oidc_provider_a), http)
    await discover(make_config(rogue_provider), http)


async def test_response_of_another_provider_is_refused(
    oidc_provider_a: RunningProvider,
    oidc_provider_b: RunningProvider,
    http: httpx.AsyncClient,
) -> None:
    """Mix-up: the login started with A, the response comes from B (iss parameter)."""
    config_a, config_b = make_config(oidc_provider_a), make_config(oidc_provider_b)
    metadata_a, metadata_b = await discover(config_a, http), await discover(config_b, http)
    _, state_a = begin_login(config_a, metadata_a)
    # B is attacker-controlled: it echoes A's state (and nonce, challenge) back.
    url_b, _ = begin_login(config_b, metadata_b)
    url_b = with_params(
        url_b,
        state=state_a.state,
        nonce=state_a.nonce,
        code_challenge=create_s256_code_challenge(state_a.code_verifier),
    )
    params = await browse(url_b)
    assert params["state"] == state_a.state
    assert params["iss"] == oidc_provider_b.issuer

    error = await refused(complete_login(config_a, metadata_a, state_a, params, http))
    assert error.code == "response_issuer_mismatch"

    # Without the iss parameter: A promises it (RFC 9207), so its absence is refused.
    stripped = {k: v for k, v in params.items() if k != "iss"}
    error = await refused(complete_login(config_a, metadata_a, state_a, stripped, http))
    assert error.code == "response_issuer_missing"

    # Against a provider without RFC 9207 the code still goes nowhere: A does not know B's
    # code.  (The ID token iss check is exercised with the rogue provider below.)
    legacy_a = dataclasses.replace(metadata_a, iss_parameter_supported=False)
    error = await refused(complete_login(config_a, legacy_a, state_a, stripped, http))
    assert error.code == "token_error"


async def test_login_state_and_metadata_must_belong_to_the_provider(
    oidc_provider_a: RunningProvider,
    oidc_provider_b: RunningProvider,
    http: httpx.AsyncClient,
) -> None:
    config_a, config_b = make_config(oidc_provider_a), make_config(oidc_provider_b)
    metadata_a, metadata_b = await discover(config_a, http), await discover(config_b, http)
    url_b, state_b = begin_login(config_b, metadata_b)
    params = await browse(url_b)

    error = await refused(complete_login(config_a, metadata_a, state_b, params, http))
    assert error.code == "provider_mismatch"
    error = await refused(complete_login(config_a, metadata_b, state_b, params, http))
    assert error.code == "issuer_mismatch"
    with pytest.raises(OidcError) as info:
        begin_login(config_a, metadata_b)
    assert info.value.code == "issuer_mismatch"
    # control: B's own configuration completes B's login
    identity = await complete_login(config_b, metadata_b, state_b, params, http)
    assert identity.issuer == oidc_provider_b.issuer


# ----------------------------------------------------------------------------- rogue tokens


@pytest.mark.parametrize(
    ("scenario", "overrides"),
    [
        pytest.param("ok", {}, id="control-rs256"),
        pytest.param("es256", {}, id="es256"),
        pytest.param("ps256", {}, id="ps256"),
        pytest.param("multi_aud_azp", {"trusted_audiences": ("another-client",)}, id="azp"),
        pytest.param("rs384", {"allowed_algs": ("RS384",)}, id="rs384-when-pinned"),
    ],
)
async def test_rogue_provider_valid_tokens_are_accepted(
    rogue_provider: RunningProvider,
    http: httpx.AsyncClient,
    scenario: str,
    overrides: dict[str, Any],
) -> None:
    """Controls: the rogue provider's plumbing works, so the refusals below are meaningful."""
    identity = await rogue_login(rogue_provider, http, scenario, **overrides)
    assert identity.key == (rogue_provider.issuer, TEST_ACCOUNT["sub"])
    assert identity.claims == {"firstname": "Ada", "lastname": "Lovelace"}
    assert identity.email_verified is True


@pytest.mark.parametrize(
    ("scenario", "code", "overrides"),
    [
        pytest.param("wrong_aud", "invalid_audience", {}, id="token-for-another-audience"),
        pytest.param("multi_aud_azp", "invalid_audience", {}, id="untrusted-extra-audience"),
        pytest.param(
            "multi_aud_no_azp",
            "invalid_azp",
            {"trusted_audiences": ("another-client",)},
            id="several-audiences-without-azp",
        ),
        pytest.param("wrong_azp", "invalid_azp", {}, id="azp-of-another-client"),
        pytest.param("alg_none", "alg_not_allowed", {}, id="unsigned-alg-none"),
        pytest.param("hs256", "alg_not_allowed", {}, id="hmac-with-client-secret"),
        pytest.param("rs384", "alg_not_allowed", {}, id="alg-not-pinned"),
        pytest.param("ps256", "alg_not_allowed", {"allowed_algs": ("RS256",)}, id="pin-rs256"),
        pytest.param("bad_signature", "invalid_signature", {}, id="bad-signature"),
        pytest.param("unknown_kid", "unknown_key", {}, id="unknown-key"),
        pytest.param("expired", "token_expired", {}, id="expired"),
        pytest.param("iat_future", "token_not_yet_valid", {}, id="issued-in-future"),
        pytest.param("no_nonce", "nonce_missing", {}, id="missing-nonce"),
        pytest.param("wrong_nonce", "nonce_mismatch", {}, id="mismatched-nonce"),
        pytest.param("wrong_iss", "id_token_issuer_mismatch", {}, id="id-token-of-other-issuer"),
        pytest.param("no_sub", "invalid_claims", {}, id="missing-sub"),
        pytest.param("bad_at_hash", "at_hash_mismatch", {}, id="bad-at-hash"),
        pytest.param("no_id_token", "id_token_missing", {}, id="no-id-token"),
        pytest.param(
            "userinfo_other_sub", "userinfo_subject_mismatch", {}, id="userinfo-other-subject"
        ),
        pytest.param(
            "iss_param_foreign", "response_issuer_mismatch", {}, id="iss-parameter-foreign"
        ),
        pytest.param("no_iss_param", "response_issuer_missing", {}, id="iss-parameter-missing"),
    ],
)
async def test_rogue_tokens_are_refused(
    rogue_provider: RunningProvider,
    http: httpx.AsyncClient,
    scenario: str,
    code: str,
    overrides: dict[str, Any],
) -> None:
    error = await refused(rogue_login(rogue_provider, http, scenario, **overrides))
    assert error.code == code, error


async def test_maximum_leeway_does_not_accept_a_long_expired_token(
    rogue_provider: RunningProvider, http: httpx.AsyncClient
) -> None:
    """Leeway is small and bounded: the rogue's token expired 30 minutes ago."""
    error = await refused(rogue_login(rogue_provider, http, "expired", leeway=300))
    assert error.code == "token_expired"


async def test_rotated_signing_key_is_fetched_once(
    rogue_provider: RunningProvider, http: httpx.AsyncClient
) -> None:
    """A token signed with a key published after discovery: the JWKS is refetched."""
    config = make_config(rogue_provider)
    metadata = await discover(config, http)
    known = {key["kid"] for key in metadata.jwks["keys"]}
    url, state = begin_login(config, metadata, extra_params={"rogue_scenario": "rotated_key"})
    identity = await complete_login(config, metadata, state, await browse(url), http)
    assert identity.subject == TEST_ACCOUNT["sub"]
    refreshed = await refresh_jwks(metadata, http)
    assert {key["kid"] for key in refreshed.jwks["keys"]} - known  # a new key is there now
    assert refreshed.issuer == metadata.issuer


# ----------------------------------------------------------------------------- configuration


def test_config_validation() -> None:
    base: dict[str, Any] = {
        "name": "op",
        "issuer": "https://op.example.test",
        "client_id": "c",
        "client_secret": "s",
        "redirect_uri": "https://portal.example.test/auth/oidc/callback",
    }
    config = OidcProviderConfig(**base)
    assert config.allowed_algs == DEFAULT_ALLOWED_ALGS == ("RS256", "ES256", "PS256")
    assert config.claims_mapping == {"firstname": "given_name", "lastname": "family_name"}
    assert config.scopes == ("openid", "email", "profile")
    assert config.trust_email is False
    assert OidcProviderConfig(**base, scopes=("email",)).scopes == ("openid", "email")
    assert config.discovery_url == "https://op.example.test/.well-known/openid-configuration"

    for bad in (
        {"allowed_algs": ("none",)},
        {"allowed_algs": ("RS256", "none")},
        {"allowed_algs": ("HS256",)},
        {"allowed_algs": ()},
        {"issuer": "http://op.example.test"},  # plain http off loopback
        {"issuer": "https://op.example.test?x=1"},
        {"redirect_uri": "/auth/oidc/callback"},  # must be absolute
        {"redirect_uri": "https://portal.example.test/cb#frag"},
        {"client_id": ""},
        {"claims_mapping": "firstname"},
        {"leeway": 3600},
    ):
        with pytest.raises(ValueError):
            OidcProviderConfig(**{**base, **bad})


def test_parse_claims_mapping() -> None:
    assert parse_claims_mapping("firstname=given_name,lastname=family_name") == {
        "firstname": "given_name",
        "lastname": "family_name",
    }
    assert parse_claims_mapping(" a = b , c=address.country, ") == {
        "a": "b",
        "c": "address.country",
    }
    assert parse_claims_mapping("") == {}
    for bad in ("firstname", "=given_name", "firstname=", "a=b,a=c", "first name=given_name"):
        with pytest.raises(ValueError):
            parse_claims_mapping(bad)


def test_error_codes_are_checked() -> None:
    error = OidcError("state_mismatch", "boom")
    assert (error.code, error.message, str(error)) == (
        "state_mismatch",
        "boom",
        "state_mismatch: boom",
    )
    with pytest.raises(ValueError):
        OidcError("no_such_code", "typo")
