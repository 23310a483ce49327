"""Routes of external sign-in.

OpenID Connect (authorization code + PKCE; state, nonce and verifier bound to this
browser)::

    GET       /_auth/external/<name>/login?return_url=/local/path
    GET|POST  /_auth/external/<name>/callback      (the registered redirect URI)

SAML 2.0 (SP-initiated; HTTP-Redirect out, HTTP-POST back)::

    GET   /_auth/saml/<name>/metadata              SP metadata XML
    GET   /_auth/saml/<name>/login?return_url=/local/path
    POST  /_auth/saml/<name>/acs                   assertion consumer (no CSRF token: the
                                                   IdP posts it; the login cookie binds it)

Starting a login stores its secret state server-side (:class:`.tables.PendingLogin`),
keyed by the digest of a random token in a short-lived cookie (HttpOnly, path
``/_auth/``; over HTTPS ``__Secure-`` and SameSite=None, because the SAML response
arrives as a cross-site POST). The callback deletes that row BEFORE checking the
response, whatever the outcome: a login state is used once. Every completed attempt
goes through ``portalis_signin_attempt(kind="external")`` / ``portalis_signin_result``
(see :func:`attempt`). After sign-in the browser goes to the ``return_url`` given at
the start, a local path only. Every refusal answers 4xx (502 when the provider cannot be
reached) with a stable code, as JSON for JSON clients or an HTML page, and leaves no
session and no contact behind.
"""

from __future__ import annotations

import datetime as dt
import logging
import secrets
import time
from collections.abc import Awaitable, Callable
from typing import Any

import httpx
from litestar import MediaType, Request, Response, get, route
from litestar.datastructures import Cookie

from portalis.core.services import Services
from portalis.core.sites import Site
from portalis.core.web.errors import wants_json
from portalis.core.web.pages import render_page
from portalis.plugins.identity.accounts import claim, report
from portalis.plugins.identity.external.linking import (
    ExternalSignIn,
    Refused,
    clean_attributes,
    find_existing,
    settle,
)
from portalis.plugins.identity.external.providers import ExternalProvider, provider
from portalis.plugins.identity.external.store import ExternalStore, Pending
from portalis.plugins.identity.oidc import (
    LoginState,
    OidcError,
    ProviderMetadata,
    begin_login,
    complete_login,
    discover,
)
from portalis.plugins.identity.routes import Input, client_ip, safe_return, signed_in
from portalis.plugins.identity.saml import (
    NAMEID_TRANSIENT,
    SamlError,
    sp_metadata,
)
from portalis.plugins.identity.saml import (
    begin_login as saml_begin_login,
)
from portalis.plugins.identity.saml import (
    complete_login as saml_complete_login,
)
from portalis.plugins.identity.store import digest

__all__ = ["EXTERNAL_ROUTES"]

log = logging.getLogger("portalis.identity.external")

COOKIE = "portalis_extlogin"
SAML_LOGIN_LIFETIME = dt.timedelta(minutes=10)
METADATA_TTL = 3600.0
UNREACHABLE = frozenset({"discovery_failed", "jwks_failed", "token_request_failed",
                         "userinfo_failed"})
HEADINGS = {400: "Sign-in failed", 403: "Sign-in refused", 409: "Sign-in refused",
            502: "Sign-in provider unavailable", 503: "Sign-in not available"}


# -- the login cookie -----------------------------------------------------------------

def _https(request: Request[Any, Any, Any]) -> bool:
    return request.url.scheme == "https"


def cookie_name(request: Request[Any, Any, Any]) -> str:
    return f"__Secure-{COOKIE}" if _https(request) else COOKIE


def login_cookie(request: Request[Any, Any, Any], token: str, max_age: int) -> Cookie:
    https = _https(request)
    return Cookie(key=cookie_name(request), value=token, path="/_auth/", secure=https,
                  httponly=True, samesite="none" if https else "lax", max_age=max_age)


def clear_login_cookie(request: Request[Any, Any, Any]) -> Cookie:
    https = _https(request)
    return Cookie(key=cookie_name(request), value="", path="/_auth/", secure=https,
                  httponly=True, samesite="none" if https else "lax", max_age=0, expires=0)


def login_token(request: Request[Any, Any, Any]) -> str | None:
    return request.cookies.get(cookie_name(request)) or None


# -- answers ----------------------------------------------------------------------------

def refusal(request: Request[Any, Any, Any], status: int, code: str,
            message: str) -> Response[Any]:
    """A refused sign-in: JSON ``{"error": {code, message}}`` or an HTML page; the login
    cookie is cleared."""
    if wants_json(request):
        response: Response[Any] = Response({"error": {"code": code, "message": message}},
                                           status_code=status, media_type=MediaType.JSON)
    else:
        heading = HEADINGS.get(status, "Sign-in failed")
        html = render_page(request, "error.liquid", title=heading, status=status,
                           heading=heading, message=message, request_id=None)
        response = Response(html, status_code=status, media_type=MediaType.HTML)
    response.set_cookie(clear_login_cookie(request))
    return response


def redirect_to(url: str) -> Response[Any]:
    return Response(b"", status_code=303, headers={"location": url})


async def start(request: Request[Any, Any, Any], site: Site, services: Services,
                prov: ExternalProvider, data: dict[str, Any], url: str,
                lifetime: dt.timedelta) -> Response[Any]:
    """Store the login state for this browser and send it to the provider."""
    old = login_token(request)
    token = await ExternalStore(services).start_login(
        site.id, prov.name, prov.protocol, data,
        safe_return(request.query_params.get("return_url", "/")), lifetime,
        replacing=digest(old) if old else None)
    response = redirect_to(url)
    response.set_cookie(login_cookie(request, token, int(lifetime.total_seconds())))
    return response


async def attempt(request: Request[Any, Any, Any], site: Site, services: Services,
                  prov: ExternalProvider, pending: Pending | None,
                  verify: Callable[[], Awaitable[ExternalSignIn]]) -> Response[Any]:
    """Check a provider's answer and sign the contact in, through the sign-in hooks.

    The hooks see exactly one claim per attempt: after the protocol checks, with the
    contact the identity belongs to (its link, or its trusted verified email) or ``None``
    (a failed check, or a new contact), so a lockout covers external sign-in too; a
    claim refused (e.g. "locked") signs nobody in. Every claimed attempt is reported.
    """
    ip = client_ip(request)
    claimed = False
    contact_id: int | None = None
    try:
        sign_in = await verify()
        match = await find_existing(services, site, sign_in)
        contact_id = match.contact["id"] if match else None
        refused = await claim(services, site, contact_id, "external", ip)
        if refused is not None:
            return refusal(request, 403, "signin_refused",
                           "Sign-in is not possible right now. Try again later.")
        claimed = True
        contact, outcome = await settle(services, site, sign_in, match)
    except (OidcError, SamlError, Refused) as exc:
        code = str(getattr(exc.code, "value", exc.code))
        if claimed:
            await report(services, site, contact_id, "external", False, ip)
        elif await claim(services, site, None, "external", ip) is None:
            await report(services, site, None, "external", False, ip)
        if isinstance(exc, Refused):
            log.info("website %s: external sign-in with %s refused: %s", site.id, prov.name,
                     code)
            return refusal(request, exc.status, code, exc.message)
        log.warning("website %s: external sign-in with %s failed: %s", site.id, prov.name,
                    exc)
        if code in UNREACHABLE:
            return refusal(request, 502, code,
                           f"{prov.caption} could not be reached to complete the sign-in. "
                           f"Try again later.")
        return refusal(request, 400, code,
                       f"The sign-in with {prov.caption} could not be completed ({code}). "
                       f"Start again from the sign-in page.")
    await report(services, site, contact["id"], "external", True, ip)
    return_url = pending.return_url if pending else "/"
    response = await signed_in(request, site, services, Input({}, wants_json(request)),
                               contact, safe_return(return_url),
                               extra={"external": {"provider": prov.name, "outcome": outcome}})
    response.set_cookie(clear_login_cookie(request))
    return response


async def _params(request: Request[Any, Any, Any]) -> dict[str, list[str]]:
    items = (request.query_params.multi_items() if request.method == "GET"
             else (await request.form()).multi_items())
    params: dict[str, list[str]] = {}
    for key, value in items:
        params.setdefault(key, []).append(value if isinstance(value, str) else "")
    return params


# -- OpenID Connect ---------------------------------------------------------------------

def _cache(services: Services) -> dict[str, tuple[ProviderMetadata, float]]:
    return services.extra.setdefault("identity_external_metadata", {})  # type: ignore[no-any-return]


async def metadata_for(services: Services, prov: ExternalProvider,
                       http: httpx.AsyncClient) -> ProviderMetadata:
    """The provider's discovery document, cached per app for an hour."""
    assert prov.oidc is not None
    cache = _cache(services)
    key = f"{prov.oidc.issuer}\n{prov.oidc.client_id}"
    found = cache.get(key)
    if found is not None and time.monotonic() - found[1] < METADATA_TTL:
        return found[0]
    metadata = await discover(prov.oidc, http)
    cache[key] = (metadata, time.monotonic())
    return metadata


def _http() -> httpx.AsyncClient:
    return httpx.AsyncClient(timeout=10, follow_redirects=False)


@get("/_auth/external/{name:str}/login", name="identity-external-login")
async def oidc_login(request: Request[Any, Any, Any], site: Site, services: Services,
                     name: str) -> Response[Any]:
    prov = provider(site, "oidc", name)
    assert prov.oidc is not None
    try:
        async with _http() as http:
            metadata = await metadata_for(services, prov, http)
    except OidcError as exc:
        log.warning("website %s: OIDC discovery of %s failed: %s", site.id, name, exc)
        return refusal(request, 502, exc.code,
                       f"{prov.caption} could not be reached. Try again later.")
    url, login_state = begin_login(prov.oidc, metadata)
    return await start(request, site, services, prov, login_state.to_dict(), url,
                       dt.timedelta(seconds=prov.oidc.login_timeout))


@route("/_auth/external/{name:str}/callback", http_method=["GET", "POST"],
       name="identity-external-callback", exclude_from_csrf=True)
async def oidc_callback(request: Request[Any, Any, Any], site: Site, services: Services,
                        name: str) -> Response[Any]:
    prov = provider(site, "oidc", name)
    config = prov.oidc
    assert config is not None
    # Single use: the browser's pending login is deleted before anything is checked.
    pending = await ExternalStore(services).take_login(site.id, login_token(request))
    params = await _params(request)

    async def verify() -> ExternalSignIn:
        login_state = None
        if pending is not None and pending.protocol == "oidc":
            if pending.expired:
                raise OidcError("login_state_expired", "the pending login expired")
            login_state = LoginState.from_dict(pending.data)
        async with _http() as http:
            metadata = await metadata_for(services, prov, http)
            identity = await complete_login(config, metadata, login_state, params, http)
        return ExternalSignIn(provider=prov, issuer=identity.issuer, subject=identity.subject,
                              email=identity.email, email_verified=identity.email_verified,
                              attributes=clean_attributes(dict(identity.claims)))

    return await attempt(request, site, services, prov, pending, verify)


# -- SAML 2.0 -----------------------------------------------------------------------------

@get("/_auth/saml/{name:str}/metadata", name="identity-saml-metadata")
async def saml_metadata(site: Site, name: str) -> Response[Any]:
    prov = provider(site, "saml", name)
    assert prov.saml is not None
    return Response(sp_metadata(prov.saml), media_type="application/samlmetadata+xml")


@get("/_auth/saml/{name:str}/login", name="identity-saml-login")
async def saml_login(request: Request[Any, Any, Any], site: Site, services: Services,
                     name: str) -> Response[Any]:
    prov = provider(site, "saml", name)
    assert prov.saml is not None
    # RelayState comes back untouched and is not trusted: an opaque random value.
    url, request_id = saml_begin_login(prov.saml, secrets.token_urlsafe(16))
    return await start(request, site, services, prov, {"request_id": request_id}, url,
                       SAML_LOGIN_LIFETIME)


@route("/_auth/saml/{name:str}/acs", http_method=["POST"], name="identity-saml-acs",
       exclude_from_csrf=True, status_code=200)
async def saml_acs(request: Request[Any, Any, Any], site: Site, services: Services,
                   name: str) -> Response[Any]:
    prov = provider(site, "saml", name)
    config = prov.saml
    assert config is not None
    store = ExternalStore(services)
    pending = await store.take_login(site.id, login_token(request))
    form = await request.form()
    saml_response = form.get("SAMLResponse")

    async def verify() -> ExternalSignIn:
        expected = None
        if pending is not None and pending.protocol == "saml" and pending.provider == name:
            if pending.expired:
                raise Refused(400, "login_expired",
                              "The sign-in took too long. Start again from the sign-in page.")
            request_id = pending.data.get("request_id")
            expected = request_id if isinstance(request_id, str) and request_id else None
        if not isinstance(saml_response, str) or not saml_response:
            raise Refused(400, "saml_response_missing", "No SAML response was posted.")

        async def remember(assertion_id: str, retain_until: dt.datetime) -> bool:
            return await store.remember_assertion(config.idp_entity_id, assertion_id,
                                                  retain_until)

        identity = await saml_complete_login(config, saml_response, expected_request_id=expected,
                                             remember_assertion=remember)
        if identity.name_id_format == NAMEID_TRANSIENT:
            raise Refused(400, "transient_name_id",
                          f"{prov.caption} sent a one-time (transient) identifier; configure "
                          f"it to send a persistent NameID.")
        attributes: dict[str, Any] = {"firstname": identity.given_name,
                                      "lastname": identity.family_name}
        for local, attribute in prov.attribute_mapping.items():
            values = identity.attributes.get(attribute, ())
            attributes[local] = values[0] if values else None
        return ExternalSignIn(provider=prov, issuer=identity.issuer, subject=identity.subject,
                              email=identity.email, email_verified=identity.email_verified,
                              attributes=clean_attributes(attributes))

    return await attempt(request, site, services, prov, pending, verify)


EXTERNAL_ROUTES = [oidc_login, oidc_callback, saml_metadata, saml_login, saml_acs]
