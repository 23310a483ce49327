"""OpenID Connect relying party: sign portal users in with an external OpenID Provider.

Framework-independent core of the identity plugin.  It speaks the OpenID Connect
authorization code flow with PKCE (S256) over a caller-supplied :class:`httpx.AsyncClient`
and validates ID tokens with joserfc (the successor of ``authlib.jose``); the web layer only
has to store a :class:`LoginState` in the browser session and hand the callback's query
parameters back.

Typical use::

    metadata = await discover(config, http)            # cache it, refresh now and then
    url, login_state = begin_login(config, metadata)
    session["oidc_login"] = login_state.to_dict()      # then redirect the browser to url

    # on GET <redirect_uri>?code=...&state=...&iss=...
    stored = session.pop("oidc_login", None)           # single use: delete BEFORE completing
    login_state = LoginState.from_dict(stored) if stored else None
    identity = await complete_login(config, metadata, login_state, dict(request.query), http)
    user = find_or_link(identity.issuer, identity.subject)   # (iss, sub) identifies a user

Security properties (each refusal raises :class:`OidcError` with a stable ``code``):

* the discovery document must name exactly the configured issuer (``issuer_mismatch``);
  endpoints must be ``https`` (plain ``http`` only on loopback hosts);
* ``state`` (CSRF), ``nonce`` (replay) and the PKCE verifier are fresh 256-bit random values
  per login; a login state expires after ``login_timeout`` seconds and is single-use -- the
  *caller* must delete it from the session before calling :func:`complete_login`, so a
  replayed callback finds no state (``login_state_missing``);
* mix-up defence: the RFC 9207 ``iss`` response parameter must name the provider the login
  was started with (required when the provider advertises it), the login state records its
  provider name, and the ID token ``iss`` must match exactly;
* ID token: signature against the provider's JWKS with the algorithms *pinned in the config*
  (default RS256/ES256/PS256; ``none`` and HMAC can never be configured, whatever the
  provider's metadata says); ``aud`` must contain the client id and every other audience must
  be trusted, ``azp`` must be the client id when present or when there are several audiences;
  ``exp``/``iat`` with a small leeway; ``nonce`` must equal the stored nonce; ``at_hash``
  checked when present;
* UserInfo (fetched when the provider has one) must describe the same ``sub``.

Users are identified by the pair ``(issuer, subject)``; the e-mail address is reported as
verified only when the provider says so *and* the configuration trusts this provider's
e-mail assertions (``trust_email``).
"""

from __future__ import annotations

import base64
import binascii
import hashlib
import hmac
import ipaddress
import json
import secrets
import time
import warnings
from collections.abc import Mapping
from dataclasses import dataclass, field
from typing import Any
from urllib.parse import parse_qsl, quote_plus, urlencode, urlsplit, urlunsplit

import httpx
from joserfc import jwt
from joserfc.errors import (
    BadSignatureError,
    ExpiredTokenError,
    InvalidClaimError,
    JoseError,
    MissingClaimError,
)
from joserfc.jwk import JWKRegistry

with warnings.catch_warnings():
    # authlib announces deprecations (authlib.jose, the httpx integration) at import time;
    # the helpers used here are not affected, so keep those warnings out of the caller's way.
    warnings.simplefilter("ignore", DeprecationWarning)
    from authlib.oauth2.rfc7636 import create_s256_code_challenge

__all__ = [
    "DEFAULT_ALLOWED_ALGS",
    "DEFAULT_CLAIMS_MAPPING",
    "ERROR_CODES",
    "LoginState",
    "OidcError",
    "OidcIdentity",
    "OidcProviderConfig",
    "ProviderMetadata",
    "begin_login",
    "complete_login",
    "discover",
    "parse_claims_mapping",
    "refresh_jwks",
]

#: Signature algorithms accepted for ID tokens unless the configuration pins others.
DEFAULT_ALLOWED_ALGS: tuple[str, ...] = ("RS256", "ES256", "PS256")

#: Default mapping of portal attributes to provider claims.
DEFAULT_CLAIMS_MAPPING = "firstname=given_name,lastname=family_name"

#: Asymmetric JWS algorithms that may be pinned, with the JWK key type each one needs.
_ALG_KEY_TYPES: dict[str, str] = {
    "RS256": "RSA",
    "RS384": "RSA",
    "RS512": "RSA",
    "PS256": "RSA",
    "PS384": "RSA",
    "PS512": "RSA",
    "ES256": "EC",
    "ES384": "EC",
    "ES512": "EC",
    "EdDSA": "OKP",
}
_EC_CURVES = {"ES256": "P-256", "ES384": "P-384", "ES512": "P-521"}

_LOOPBACK_NAMES = frozenset({"localhost"})
_MAX_TOKEN_LENGTH = 64 * 1024
_RESERVED_AUTH_PARAMS = frozenset(
    {
        "response_type",
        "client_id",
        "redirect_uri",
        "scope",
        "state",
        "nonce",
        "code_challenge",
        "code_challenge_method",
    }
)

#: Every code an :class:`OidcError` can carry.
ERROR_CODES: frozenset[str] = frozenset(
    {
        # discovery / metadata
        "discovery_failed",  # discovery document unreachable or malformed
        "issuer_mismatch",  # discovery (or cached metadata) names another issuer
        "jwks_failed",  # JWKS unreachable or malformed
        # stored login state
        "login_state_missing",  # no stored state: never started, already used, or lost
        "login_state_invalid",  # stored state is malformed
        "login_state_expired",  # started too long ago
        "provider_mismatch",  # state was started with another provider configuration
        # authorization response
        "invalid_response",  # duplicated or non-string callback parameters
        "state_missing",
        "state_mismatch",
        "response_issuer_missing",  # provider promises RFC 9207 iss but sent none
        "response_issuer_mismatch",  # iss parameter names another provider (mix-up)
        "provider_error",  # error=... from the provider (access_denied, login_required...)
        "code_missing",
        # token endpoint
        "token_request_failed",  # network failure talking to the token endpoint
        "token_error",  # token endpoint refused (invalid_grant, invalid_client...)
        "invalid_token_response",  # token endpoint answered something unusable
        "id_token_missing",
        # ID token
        "malformed_id_token",
        "alg_not_allowed",  # alg none, HMAC or anything not pinned in the config
        "unknown_key",  # no JWKS key for the token's kid/alg (even after a JWKS refresh)
        "invalid_signature",
        "id_token_issuer_mismatch",
        "invalid_audience",
        "invalid_azp",
        "token_expired",
        "token_not_yet_valid",  # iat/nbf in the future
        "nonce_missing",
        "nonce_mismatch",
        "at_hash_mismatch",
        "invalid_claims",  # missing/ill-typed sub, exp, iat...
        # userinfo
        "userinfo_failed",
        "userinfo_subject_mismatch",
    }
)


class OidcError(Exception):
    """A refused or failed OpenID Connect step.

    ``code`` is one of :data:`ERROR_CODES` (stable, safe to log and to branch on);
    ``message`` is a human-readable explanation meant for logs, not for end users (it may
    quote provider-supplied error text, truncated and sanitised).
    """

    def __init__(self, code: str, message: str) -> None:
        if code not in ERROR_CODES:
            raise ValueError(f"unknown OIDC error code {code!r}")
        super().__init__(f"{code}: {message}")
        self.code = code
        self.message = message


# ----------------------------------------------------------------------------- helpers


def _is_loopback(host: str | None) -> bool:
    if not host:
        return False
    if host.lower() in _LOOPBACK_NAMES:
        return True
    try:
        return ipaddress.ip_address(host).is_loopback
    except ValueError:
        return False


def _check_url(url: object, what: str, *, allow_query: bool = True) -> str:
    """Return ``url`` if it is absolute ``https`` (or ``http`` on a loopback host)."""
    if not isinstance(url, str) or not url:
        raise ValueError(f"{what} must be a non-empty URL")
    parts = urlsplit(url)
    if not parts.netloc or not parts.hostname:
        raise ValueError(f"{what} must be an absolute URL: {url!r}")
    if parts.scheme == "https" or (parts.scheme == "http" and _is_loopback(parts.hostname)):
        pass
    else:
        raise ValueError(f"{what} must use https (http only on loopback hosts): {url!r}")
    if parts.fragment:
        raise ValueError(f"{what} must not have a fragment: {url!r}")
    if not allow_query and parts.query:
        raise ValueError(f"{what} must not have a query: {url!r}")
    return url


def _sanitise(text: object, limit: int = 200) -> str:
    """Provider-supplied text, safe to put in a log line."""
    value = "".join(ch if ch.isprintable() else "?" for ch in str(text))
    return value if len(value) <= limit else value[: limit - 3] + "..."


def parse_claims_mapping(spec: str) -> dict[str, str]:
    """Parse ``"local=claim,local2=claim2"`` into ``{"local": "claim", "local2": "claim2"}``.

    Whitespace around names is ignored, and so are empty entries (a trailing comma).  A claim
    name may be a dotted path into a structured claim (``country=address.country``).  Raises
    :class:`ValueError` on an entry without ``=``, an empty or blank name, or a local name
    given twice.
    """
    if not isinstance(spec, str):
        raise ValueError("claims mapping must be a string like 'firstname=given_name'")
    mapping: dict[str, str] = {}
    for raw_entry in spec.split(","):
        entry = raw_entry.strip()
        if not entry:
            continue
        local, sep, remote = entry.partition("=")
        local, remote = local.strip(), remote.strip()
        if not sep or not local or not remote:
            raise ValueError(f"claims mapping entry {entry!r} is not of the form local=claim")
        if any(ch.isspace() for ch in local + remote):
            raise ValueError(f"claims mapping entry {entry!r} contains whitespace in a name")
        if local in mapping:
            raise ValueError(f"claims mapping names {local!r} twice")
        mapping[local] = remote
    return mapping


# ----------------------------------------------------------------------------- config


@dataclass(frozen=True, kw_only=True)
class OidcProviderConfig:
    """One configured OpenID Provider (all fields keyword-only).

    :param name: short identifier of this provider in the portal (also stored in the login
        state to detect a callback handled with the wrong configuration).
    :param issuer: the provider's issuer identifier, compared *exactly* (trailing slash
        included) with discovery and ID tokens.
    :param client_id: client identifier registered at the provider.
    :param client_secret: client secret (``client_secret_basic`` or ``client_secret_post``
        as the provider supports); ``None`` for a public client.
    :param redirect_uri: the absolute callback URL registered at the provider; configured,
        never derived from the incoming request.
    :param scopes: requested scopes; ``openid`` is added in front when missing.  A
        space-separated string is accepted.
    :param claims_mapping: portal attribute -> provider claim; a ``"a=b,c=d"`` string is
        accepted (see :func:`parse_claims_mapping`).
    :param trust_email: whether this provider's ``email_verified`` assertion is trusted.
    :param allowed_algs: pinned ID token signature algorithms (asymmetric only; ``none`` and
        HMAC are refused here, and provider metadata is never consulted).
    :param trusted_audiences: extra ``aud`` values tolerated next to the client id.
    :param leeway: clock skew tolerance in seconds for ``exp``/``iat``/``nbf``.
    :param login_timeout: seconds a login state stays valid.
    :param fetch_userinfo: fetch the UserInfo endpoint (when the provider has one) for the
        claims many providers leave out of the ID token in the code flow.
    """

    name: str
    issuer: str
    client_id: str
    client_secret: str | None
    redirect_uri: str
    scopes: tuple[str, ...] = ("openid", "email", "profile")
    claims_mapping: Mapping[str, str] = field(
        default_factory=lambda: parse_claims_mapping(DEFAULT_CLAIMS_MAPPING)
    )
    trust_email: bool = False
    allowed_algs: tuple[str, ...] = DEFAULT_ALLOWED_ALGS
    trusted_audiences: tuple[str, ...] = ()
    leeway: int = 60
    login_timeout: int = 600
    fetch_userinfo: bool = True

    def __post_init__(self) -> None:
        if not isinstance(self.name, str) or not self.name.strip():
            raise ValueError("provider name must be a non-empty string")
        _check_url(self.issuer, "issuer", allow_query=False)
        _check_url(self.redirect_uri, "redirect_uri")
        if not isinstance(self.client_id, str) or not self.client_id:
            raise ValueError("client_id must be a non-empty string")
        if self.client_secret is not None and not isinstance(self.client_secret, str):
            raise ValueError("client_secret must be a string or None")

        scopes = self.scopes.split() if isinstance(self.scopes, str) else list(self.scopes)
        if not all(isinstance(s, str) and s and not any(c.isspace() for c in s) for s in scopes):
            raise ValueError(f"invalid scopes {self.scopes!r}")
        if "openid" not in scopes:
            scopes.insert(0, "openid")
        object.__setattr__(self, "scopes", tuple(dict.fromkeys(scopes)))

        mapping = self.claims_mapping
        if isinstance(mapping, str):
            mapping = parse_claims_mapping(mapping)
        if not all(
            isinstance(k, str) and k and isinstance(v, str) and v for k, v in mapping.items()
        ):
            raise ValueError("claims_mapping must map non-empty names to non-empty claim names")
        object.__setattr__(self, "claims_mapping", dict(mapping))

        algs = (self.allowed_algs,) if isinstance(self.allowed_algs, str) else self.allowed_algs
        algs = tuple(algs)
        if not algs:
            raise ValueError("allowed_algs must not be empty")
        for alg in algs:
            if alg not in _ALG_KEY_TYPES:
                raise ValueError(
                    f"ID token algorithm {alg!r} cannot be allowed "
                    f"(asymmetric only: {', '.join(_ALG_KEY_TYPES)}; never 'none' or HMAC)"
                )
        object.__setattr__(self, "allowed_algs", algs)
        object.__setattr__(self, "trusted_audiences", tuple(self.trusted_audiences))
        if not 0 <= self.leeway <= 300:
            raise ValueError("leeway must be between 0 and 300 seconds")
        if self.login_timeout <= 0:
            raise ValueError("login_timeout must be positive")

    @property
    def discovery_url(self) -> str:
        """Where the provider's discovery document lives (OpenID Connect Discovery 1.0, §4)."""
        return self.issuer.rstrip("/") + "/.well-known/openid-configuration"


# ----------------------------------------------------------------------------- metadata


@dataclass(frozen=True, kw_only=True)
class ProviderMetadata:
    """What :func:`discover` learnt about a provider; immutable, safe to cache and share.

    ``raw`` is the whole discovery document, ``jwks`` the key set as fetched.  Cache it per
    provider (for example for an hour, see ``fetched_at``); :func:`complete_login` refetches
    the JWKS by itself when a token is signed with a key it does not know (key rotation), and
    :func:`refresh_jwks` returns an updated copy for the cache.  ``to_dict``/``from_dict``
    round-trip through JSON.
    """

    issuer: str
    authorization_endpoint: str
    token_endpoint: str
    jwks_uri: str
    jwks: Mapping[str, Any]
    userinfo_endpoint: str | None = None
    end_session_endpoint: str | None = None
    token_endpoint_auth_methods: tuple[str, ...] = ("client_secret_basic",)
    iss_parameter_supported: bool = False
    raw: Mapping[str, Any] = field(default_factory=dict)
    fetched_at: float = 0.0

    def to_dict(self) -> dict[str, Any]:
        """A JSON-serialisable copy (for an external cache)."""
        return {
            "issuer": self.issuer,
            "authorization_endpoint": self.authorization_endpoint,
            "token_endpoint": self.token_endpoint,
            "jwks_uri": self.jwks_uri,
            "jwks": dict(self.jwks),
            "userinfo_endpoint": self.userinfo_endpoint,
            "end_session_endpoint": self.end_session_endpoint,
            "token_endpoint_auth_methods": list(self.token_endpoint_auth_methods),
            "iss_parameter_supported": self.iss_parameter_supported,
            "raw": dict(self.raw),
            "fetched_at": self.fetched_at,
        }

    @classmethod
    def from_dict(cls, data: Mapping[str, Any]) -> ProviderMetadata:
        """Rebuild metadata saved with :meth:`to_dict`."""
        return cls(
            issuer=data["issuer"],
            authorization_endpoint=data["authorization_endpoint"],
            token_endpoint=data["token_endpoint"],
            jwks_uri=data["jwks_uri"],
            jwks=dict(data["jwks"]),
            userinfo_endpoint=data.get("userinfo_endpoint"),
            end_session_endpoint=data.get("end_session_endpoint"),
            token_endpoint_auth_methods=tuple(data.get("token_endpoint_auth_methods") or ()),
            iss_parameter_supported=bool(data.get("iss_parameter_supported")),
            raw=dict(data.get("raw") or {}),
            fetched_at=float(data.get("fetched_at") or 0.0),
        )


async def _get_json(http: httpx.AsyncClient, url: str, code: str, what: str) -> Any:
    try:
        response = await http.get(
            url, headers={"Accept": "application/json"}, follow_redirects=False
        )
    except httpx.HTTPError as exc:
        raise OidcError(code, f"cannot fetch {what} {url}: {type(exc).__name__}") from exc
    if response.status_code != 200:
        raise OidcError(code, f"{what} {url} answered HTTP {response.status_code}")
    try:
        return response.json()
    except ValueError as exc:
        raise OidcError(code, f"{what} {url} is not JSON") from exc


async def _fetch_jwks(http: httpx.AsyncClient, jwks_uri: str) -> dict[str, Any]:
    jwks = await _get_json(http, jwks_uri, "jwks_failed", "JWKS")
    if not isinstance(jwks, dict) or not isinstance(jwks.get("keys"), list):
        raise OidcError("jwks_failed", f"JWKS {jwks_uri} has no 'keys' list")
    return jwks


async def discover(config: OidcProviderConfig, http: httpx.AsyncClient) -> ProviderMetadata:
    """Fetch and check the provider's discovery document and JWKS.

    The document's ``issuer`` must equal ``config.issuer`` exactly, or
    ``OidcError("issuer_mismatch")`` is raised; endpoints must be absolute https URLs (http
    only on loopback).  The result can be cached by the caller.
    """
    url = config.discovery_url
    doc = await _get_json(http, url, "discovery_failed", "discovery document")
    if not isinstance(doc, dict):
        raise OidcError("discovery_failed", f"discovery document {url} is not a JSON object")
    issuer = doc.get("issuer")
    if not isinstance(issuer, str) or issuer != config.issuer:
        raise OidcError(
            "issuer_mismatch",
            f"discovery at {url} names issuer {_sanitise(issuer)!r}, configured {config.issuer!r}",
        )

    endpoints: dict[str, str | None] = {}
    for key, required in (
        ("authorization_endpoint", True),
        ("token_endpoint", True),
        ("jwks_uri", True),
        ("userinfo_endpoint", False),
        ("end_session_endpoint", False),
    ):
        value = doc.get(key)
        if value is None and not required:
            endpoints[key] = None
            continue
        try:
            endpoints[key] = _check_url(value, key)
        except ValueError as exc:
            raise OidcError("discovery_failed", f"{url}: {exc}") from exc

    methods = doc.get("token_endpoint_auth_methods_supported")
    if methods is None:
        methods = ["client_secret_basic"]  # the default per OpenID Connect Discovery 1.0
    if not isinstance(methods, list) or not all(isinstance(m, str) for m in methods):
        raise OidcError("discovery_failed", f"{url}: bad token_endpoint_auth_methods_supported")

    jwks_uri = endpoints["jwks_uri"]
    assert jwks_uri is not None
    jwks = await _fetch_jwks(http, jwks_uri)
    return ProviderMetadata(
        issuer=issuer,
        authorization_endpoint=endpoints["authorization_endpoint"] or "",
        token_endpoint=endpoints["token_endpoint"] or "",
        jwks_uri=jwks_uri,
        jwks=jwks,
        userinfo_endpoint=endpoints["userinfo_endpoint"],
        end_session_endpoint=endpoints["end_session_endpoint"],
        token_endpoint_auth_methods=tuple(methods),
        iss_parameter_supported=doc.get("authorization_response_iss_parameter_supported") is True,
        raw=doc,
        fetched_at=time.time(),
    )


async def refresh_jwks(metadata: ProviderMetadata, http: httpx.AsyncClient) -> ProviderMetadata:
    """Return a copy of ``metadata`` with a freshly fetched JWKS (for the caller's cache)."""
    jwks = await _fetch_jwks(http, metadata.jwks_uri)
    data = metadata.to_dict()
    data.update(jwks=jwks, fetched_at=time.time())
    return ProviderMetadata.from_dict(data)


# ----------------------------------------------------------------------------- login state


@dataclass(frozen=True, kw_only=True)
class LoginState:
    """The secrets of one login in progress, kept server-side in the browser session.

    Single-use: the caller removes it from the session *before* calling
    :func:`complete_login` (``session.pop``), whatever the outcome, so that a replayed or
    second callback finds nothing and is refused with ``login_state_missing``.
    """

    state: str
    nonce: str
    code_verifier: str
    provider: str
    created_at: int

    def to_dict(self) -> dict[str, Any]:
        """A JSON-serialisable copy for the session store."""
        return {
            "state": self.state,
            "nonce": self.nonce,
            "code_verifier": self.code_verifier,
            "provider": self.provider,
            "created_at": self.created_at,
        }

    @classmethod
    def from_dict(cls, data: Mapping[str, Any]) -> LoginState:
        """Rebuild a login state from :meth:`to_dict`; ``login_state_invalid`` if malformed."""
        try:
            values = {
                "state": data["state"],
                "nonce": data["nonce"],
                "code_verifier": data["code_verifier"],
                "provider": data["provider"],
                "created_at": data["created_at"],
            }
        except (KeyError, TypeError) as exc:
            raise OidcError("login_state_invalid", "stored login state is incomplete") from exc
        strings_ok = all(
            isinstance(values[k], str) and values[k]
            for k in ("state", "nonce", "code_verifier", "provider")
        )
        created = values["created_at"]
        if not strings_ok or isinstance(created, bool) or not isinstance(created, int):
            raise OidcError("login_state_invalid", "stored login state has bad field types")
        return cls(**values)


def _with_query(url: str, params: Mapping[str, str]) -> str:
    parts = urlsplit(url)
    query = parse_qsl(parts.query, keep_blank_values=True)
    query.extend(params.items())
    return urlunsplit(parts._replace(query=urlencode(query)))


def begin_login(
    config: OidcProviderConfig,
    metadata: ProviderMetadata,
    *,
    extra_params: Mapping[str, str] | None = None,
) -> tuple[str, LoginState]:
    """Start an authorization code flow with PKCE S256.

    Returns the URL to redirect the browser to and the :class:`LoginState` to keep in the
    session (fresh 256-bit ``state`` and ``nonce``, 512-bit PKCE verifier).  ``extra_params``
    adds optional request parameters such as ``prompt`` or ``login_hint``; it cannot override
    the protocol parameters.
    """
    if metadata.issuer != config.issuer:
        raise OidcError(
            "issuer_mismatch", f"metadata of {metadata.issuer!r} used for {config.issuer!r}"
        )
    login_state = LoginState(
        state=secrets.token_urlsafe(32),
        nonce=secrets.token_urlsafe(32),
        code_verifier=secrets.token_urlsafe(64),
        provider=config.name,
        created_at=int(time.time()),
    )
    params = {
        "response_type": "code",
        "client_id": config.client_id,
        "redirect_uri": config.redirect_uri,
        "scope": " ".join(config.scopes),
        "state": login_state.state,
        "nonce": login_state.nonce,
        "code_challenge": create_s256_code_challenge(login_state.code_verifier),
        "code_challenge_method": "S256",
    }
    for key, value in (extra_params or {}).items():
        if key in _RESERVED_AUTH_PARAMS:
            raise ValueError(f"extra_params cannot override {key!r}")
        params[key] = value
    return _with_query(metadata.authorization_endpoint, params), login_state


# ----------------------------------------------------------------------------- identity


@dataclass(frozen=True, kw_only=True)
class OidcIdentity:
    """A signed-in end user as asserted by the provider.

    ``(issuer, subject)`` is the stable identifier; ``email_verified`` is True only when the
    provider asserts it and the configuration trusts this provider's e-mail
    (``trust_email``).  ``claims`` holds the mapped portal attributes (``firstname``,
    ``lastname``...), ``raw_claims`` every claim received (ID token over UserInfo), and
    ``id_token`` the raw token (e.g. as ``id_token_hint`` for logout).
    """

    provider: str
    issuer: str
    subject: str
    email: str | None
    email_verified: bool
    claims: Mapping[str, Any]
    raw_claims: Mapping[str, Any]
    id_token: str

    @property
    def key(self) -> tuple[str, str]:
        """``(issuer, subject)``: how a portal user is linked to this identity."""
        return (self.issuer, self.subject)


# ----------------------------------------------------------------------------- callback


def _single_params(callback_params: Mapping[str, Any]) -> dict[str, str]:
    params: dict[str, str] = {}
    for key, value in callback_params.items():
        if isinstance(value, list | tuple):
            if len(value) != 1:
                raise OidcError("invalid_response", f"parameter {_sanitise(key)!r} repeated")
            value = value[0]
        if not isinstance(value, str):
            raise OidcError("invalid_response", f"parameter {_sanitise(key)!r} is not a string")
        params[str(key)] = value
    return params


def _check_login_state(config: OidcProviderConfig, login_state: LoginState | None) -> LoginState:
    if login_state is None:
        raise OidcError(
            "login_state_missing", "no login in progress (never started, already used or lost)"
        )
    if not isinstance(login_state, LoginState):
        raise OidcError("login_state_invalid", "login state has the wrong type")
    if login_state.provider != config.name:
        raise OidcError(
            "provider_mismatch",
            f"login started with provider {login_state.provider!r}, completed with {config.name!r}",
        )
    now = time.time()
    if (
        now - login_state.created_at > config.login_timeout
        or login_state.created_at > now + config.leeway
    ):
        raise OidcError("login_state_expired", "the login took too long; start again")
    return login_state


def _check_authorization_response(
    metadata: ProviderMetadata, login_state: LoginState, params: Mapping[str, str]
) -> str:
    state = params.get("state")
    if not state:
        raise OidcError("state_missing", "authorization response has no state")
    if not hmac.compare_digest(state.encode(), login_state.state.encode()):
        raise OidcError("state_mismatch", "authorization response state does not match")

    iss = params.get("iss")
    if iss is None:
        if metadata.iss_parameter_supported:
            raise OidcError(
                "response_issuer_missing",
                "provider advertises the RFC 9207 iss parameter but the response has none",
            )
    elif iss != metadata.issuer:
        raise OidcError(
            "response_issuer_mismatch",
            f"authorization response comes from {_sanitise(iss)!r}, expected {metadata.issuer!r}",
        )

    if "error" in params:
        description = params.get("error_description")
        message = _sanitise(params["error"], 80)
        if description:
            message += f" ({_sanitise(description)})"
        raise OidcError("provider_error", message)

    code = params.get("code")
    if not code:
        raise OidcError("code_missing", "authorization response has no code")
    return code


async def _exchange_code(
    config: OidcProviderConfig,
    metadata: ProviderMetadata,
    login_state: LoginState,
    code: str,
    http: httpx.AsyncClient,
) -> dict[str, Any]:
    data = {
        "grant_type": "authorization_code",
        "code": code,
        "redirect_uri": config.redirect_uri,
        "code_verifier": login_state.code_verifier,
    }
    headers = {"Accept": "application/json"}
    methods = metadata.token_endpoint_auth_methods
    if config.client_secret is None:
        data["client_id"] = config.client_id
    elif "client_secret_basic" in methods or "client_secret_post" not in methods:
        # RFC 6749 §2.3.1: form-encode both parts before the base64 encoding.
        pair = f"{quote_plus(config.client_id)}:{quote_plus(config.client_secret)}"
        headers["Authorization"] = "Basic " + base64.b64encode(pair.encode()).decode("ascii")
    else:
        data["client_id"] = config.client_id
        data["client_secret"] = config.client_secret

    try:
        response = await http.post(
            metadata.token_endpoint, data=data, headers=headers, follow_redirects=False
        )
    except httpx.HTTPError as exc:
        raise OidcError(
            "token_request_failed", f"token endpoint unreachable: {type(exc).__name__}"
        ) from exc
    try:
        body = response.json()
    except ValueError:
        body = None
    if response.status_code != 200:
        if isinstance(body, dict) and isinstance(body.get("error"), str):
            message = _sanitise(body["error"], 80)
            if isinstance(body.get("error_description"), str):
                message += f" ({_sanitise(body['error_description'])})"
            raise OidcError("token_error", f"HTTP {response.status_code}: {message}")
        raise OidcError("token_error", f"token endpoint answered HTTP {response.status_code}")
    if not isinstance(body, dict):
        raise OidcError("invalid_token_response", "token response is not a JSON object")
    access_token = body.get("access_token")
    if access_token is not None:
        if not isinstance(access_token, str) or not access_token:
            raise OidcError("invalid_token_response", "access_token is not a string")
        token_type = body.get("token_type")
        if not isinstance(token_type, str) or token_type.lower() != "bearer":
            raise OidcError(
                "invalid_token_response", f"unsupported token_type {_sanitise(token_type)!r}"
            )
    id_token = body.get("id_token")
    if id_token is None:
        raise OidcError("id_token_missing", "token response has no id_token")
    if not isinstance(id_token, str) or not id_token:
        raise OidcError("invalid_token_response", "id_token is not a string")
    return body


# ----------------------------------------------------------------------------- ID token


def _b64url_json(segment: str) -> Any:
    padded = segment + "=" * (-len(segment) % 4)
    return json.loads(base64.urlsafe_b64decode(padded.encode("ascii")))


def _token_header(id_token: str) -> dict[str, Any]:
    if len(id_token) > _MAX_TOKEN_LENGTH:
        raise OidcError("malformed_id_token", "ID token is too large")
    segments = id_token.split(".")
    if len(segments) != 3:
        # Five segments would be an encrypted (JWE) ID token, which is not supported.
        raise OidcError("malformed_id_token", "ID token is not a compact JWS")
    try:
        header = _b64url_json(segments[0])
    except (ValueError, UnicodeError, binascii.Error) as exc:
        raise OidcError("malformed_id_token", "ID token header is not base64url JSON") from exc
    if not isinstance(header, dict):
        raise OidcError("malformed_id_token", "ID token header is not a JSON object")
    return header


def _select_key(jwks: Mapping[str, Any], alg: str, kid: object) -> dict[str, Any] | None:
    """The JWKS entry that may verify a token with this ``alg``/``kid``, if exactly one."""
    candidates = []
    for key in jwks.get("keys") or ():
        if not isinstance(key, dict) or key.get("kty") != _ALG_KEY_TYPES[alg]:
            continue
        if key.get("use", "sig") != "sig" or key.get("alg", alg) != alg:
            continue
        if "key_ops" in key and "verify" not in (key.get("key_ops") or ()):
            continue
        if alg in _EC_CURVES and key.get("crv") != _EC_CURVES[alg]:
            continue
        if kid is not None and key.get("kid") != kid:
            continue
        candidates.append(key)
    if kid is None and len(candidates) != 1:
        return None  # no kid: only an unambiguous key set is acceptable
    if not candidates:
        return None
    # A published JWKS holds public keys only: never import private parameters.
    return {k: v for k, v in candidates[0].items() if k not in {"d", "p", "q", "dp", "dq", "qi"}}


def _half_hash(value: str, alg: str) -> str:
    """``at_hash``: left half of the hash of ``value`` with the hash of the JWS alg."""
    if alg == "EdDSA":
        digest = hashlib.sha512(value.encode("ascii")).digest()
    else:
        digest = hashlib.new(f"sha{alg[2:]}", value.encode("ascii")).digest()
    return base64.urlsafe_b64encode(digest[: len(digest) // 2]).rstrip(b"=").decode("ascii")


_INVALID_CLAIM_CODES = {
    "iss": "id_token_issuer_mismatch",
    "aud": "invalid_audience",
    "nonce": "nonce_mismatch",
}


async def _verify_id_token(
    config: OidcProviderConfig,
    metadata: ProviderMetadata,
    login_state: LoginState,
    id_token: str,
    access_token: str | None,
    http: httpx.AsyncClient,
) -> dict[str, Any]:
    header = _token_header(id_token)
    alg = header.get("alg")
    if not isinstance(alg, str) or alg not in config.allowed_algs:
        raise OidcError(
            "alg_not_allowed",
            f"ID token alg {_sanitise(alg)!r} is not one of {', '.join(config.allowed_algs)}",
        )
    kid = header.get("kid")
    if kid is not None and not isinstance(kid, str):
        raise OidcError("malformed_id_token", "ID token kid is not a string")

    jwk = _select_key(metadata.jwks, alg, kid)
    if jwk is None:
        # Key rotation: the cached JWKS may predate the key.  Refetch once.
        jwk = _select_key(await _fetch_jwks(http, metadata.jwks_uri), alg, kid)
    if jwk is None:
        raise OidcError("unknown_key", f"no {alg} key with kid {_sanitise(kid)!r} in the JWKS")

    try:
        key = JWKRegistry.import_key(jwk)
        token = jwt.decode(id_token, key, algorithms=[alg])
    except BadSignatureError as exc:
        raise OidcError("invalid_signature", "ID token signature does not verify") from exc
    except JoseError as exc:
        raise OidcError("malformed_id_token", f"ID token rejected: {exc.error}") from exc
    except (ValueError, TypeError) as exc:
        raise OidcError("malformed_id_token", "ID token or key cannot be decoded") from exc
    claims: dict[str, Any] = dict(token.claims)

    registry = jwt.JWTClaimsRegistry(
        leeway=config.leeway,
        iss={"essential": True, "value": metadata.issuer},
        sub={"essential": True},
        aud={"essential": True, "value": config.client_id},
        exp={"essential": True},
        iat={"essential": True},
        # Always pass the stored nonce: a registry without it would not check the claim.
        nonce={"essential": True, "value": login_state.nonce},
    )
    try:
        registry.validate(claims)
    except ExpiredTokenError as exc:
        raise OidcError("token_expired", "ID token has expired") from exc
    except MissingClaimError as exc:
        missing = set(str(exc.claim).split(","))
        if "nonce" in missing:
            raise OidcError("nonce_missing", "ID token has no nonce") from exc
        if "iss" in missing:
            raise OidcError("id_token_issuer_mismatch", "ID token has no iss") from exc
        if "aud" in missing:
            raise OidcError("invalid_audience", "ID token has no aud") from exc
        raise OidcError("invalid_claims", f"ID token lacks {', '.join(sorted(missing))}") from exc
    except InvalidClaimError as exc:
        claim, description = str(exc.claim), str(exc.description)
        if claim in {"iat", "nbf"} and ("future" in description or "not yet" in description):
            code = "token_not_yet_valid"
        else:
            code = _INVALID_CLAIM_CODES.get(claim, "invalid_claims")
        raise OidcError(code, f"ID token claim {claim!r} rejected: {description}") from exc

    # Defence in depth next to the registry, in constant time.
    if not hmac.compare_digest(str(claims["nonce"]).encode(), login_state.nonce.encode()):
        raise OidcError("nonce_mismatch", "ID token nonce does not match the login")
    if claims["iss"] != metadata.issuer:
        raise OidcError("id_token_issuer_mismatch", "ID token iss does not match the provider")

    audiences = [claims["aud"]] if isinstance(claims["aud"], str) else list(claims["aud"])
    if config.client_id not in audiences:
        raise OidcError("invalid_audience", "ID token is not meant for this client")
    trusted = {config.client_id, *config.trusted_audiences}
    untrusted = [a for a in audiences if a not in trusted]
    if untrusted:
        raise OidcError(
            "invalid_audience", f"ID token also names untrusted audiences {_sanitise(untrusted)}"
        )
    if (len(audiences) > 1 or "azp" in claims) and claims.get("azp") != config.client_id:
        raise OidcError(
            "invalid_azp", f"ID token azp {_sanitise(claims.get('azp'))!r} is not this client"
        )

    subject = claims["sub"]
    if not isinstance(subject, str) or not subject or len(subject) > 255:
        raise OidcError("invalid_claims", "ID token sub is not a 1..255 character string")

    at_hash = claims.get("at_hash")
    if at_hash is not None and access_token is not None:
        expected = _half_hash(access_token, alg)
        if not isinstance(at_hash, str) or not hmac.compare_digest(
            at_hash.encode(), expected.encode()
        ):
            raise OidcError("at_hash_mismatch", "ID token at_hash does not match the access token")
    return claims


async def _fetch_userinfo(
    metadata: ProviderMetadata, access_token: str, subject: str, http: httpx.AsyncClient
) -> dict[str, Any]:
    assert metadata.userinfo_endpoint is not None
    try:
        response = await http.get(
            metadata.userinfo_endpoint,
            headers={"Authorization": f"Bearer {access_token}", "Accept": "application/json"},
            follow_redirects=False,
        )
    except httpx.HTTPError as exc:
        raise OidcError(
            "userinfo_failed", f"UserInfo endpoint unreachable: {type(exc).__name__}"
        ) from exc
    if response.status_code != 200:
        raise OidcError("userinfo_failed", f"UserInfo answered HTTP {response.status_code}")
    content_type = response.headers.get("content-type", "").split(";")[0].strip().lower()
    if content_type != "application/json":
        raise OidcError("userinfo_failed", f"unsupported UserInfo type {_sanitise(content_type)!r}")
    try:
        info = response.json()
    except ValueError as exc:
        raise OidcError("userinfo_failed", "UserInfo is not JSON") from exc
    if not isinstance(info, dict):
        raise OidcError("userinfo_failed", "UserInfo is not a JSON object")
    info_sub = info.get("sub")
    if not isinstance(info_sub, str) or not hmac.compare_digest(
        info_sub.encode(), subject.encode()
    ):
        raise OidcError("userinfo_subject_mismatch", "UserInfo describes another subject")
    return info


def _lookup_claim(claims: Mapping[str, Any], name: str) -> Any:
    if name in claims:
        return claims[name]
    value: Any = claims
    for part in name.split("."):
        if not isinstance(value, Mapping) or part not in value:
            return None
        value = value[part]
    return value


_PROTOCOL_CLAIMS = frozenset(
    {"iss", "sub", "aud", "exp", "iat", "nbf", "nonce", "azp", "at_hash", "c_hash", "jti"}
)


async def complete_login(
    config: OidcProviderConfig,
    metadata: ProviderMetadata,
    login_state: LoginState | None,
    callback_params: Mapping[str, Any],
    http: httpx.AsyncClient,
) -> OidcIdentity:
    """Finish a login from the provider's redirect back to ``config.redirect_uri``.

    ``login_state`` is what :func:`begin_login` returned, already *removed* from the session
    by the caller (single use; pass ``None`` when the session held none).
    ``callback_params`` are the redirect's query parameters (single values, or one-element
    lists).  Checks state, the RFC 9207 ``iss`` parameter and provider errors, exchanges the
    code with the PKCE verifier at the token endpoint, validates the ID token (see the module
    documentation), fetches UserInfo when available, and returns the identity.  Every
    refusal raises :class:`OidcError`.
    """
    if metadata.issuer != config.issuer:
        raise OidcError(
            "issuer_mismatch", f"metadata of {metadata.issuer!r} used for {config.issuer!r}"
        )
    login_state = _check_login_state(config, login_state)
    params = _single_params(callback_params)
    code = _check_authorization_response(metadata, login_state, params)

    tokens = await _exchange_code(config, metadata, login_state, code, http)
    access_token: str | None = tokens.get("access_token")
    id_token: str = tokens["id_token"]
    id_claims = await _verify_id_token(config, metadata, login_state, id_token, access_token, http)
    subject: str = id_claims["sub"]

    merged: dict[str, Any] = {}
    if config.fetch_userinfo and metadata.userinfo_endpoint and access_token:
        info = await _fetch_userinfo(metadata, access_token, subject, http)
        merged.update({k: v for k, v in info.items() if k not in _PROTOCOL_CLAIMS})
    merged.update(id_claims)  # signed claims win

    email = merged.get("email")
    email = email if isinstance(email, str) and email else None
    asserted = merged.get("email_verified")
    provider_verified = asserted is True or (
        isinstance(asserted, str) and asserted.lower() == "true"
    )
    mapped: dict[str, Any] = {}
    for local, remote in config.claims_mapping.items():
        value = _lookup_claim(merged, remote)
        if value is not None:
            mapped[local] = value

    return OidcIdentity(
        provider=config.name,
        issuer=metadata.issuer,
        subject=subject,
        email=email,
        email_verified=bool(config.trust_email and email and provider_verified),
        claims=mapped,
        raw_claims=merged,
        id_token=id_token,
    )
