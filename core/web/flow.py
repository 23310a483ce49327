"""Per-request flow before any handler: website → gates → principal.

Runs as Litestar's ``before_request``: the website is chosen (plugins first, then the
kernel's host-name match; unknown hosts are refused here, before any handler), gate
hooks may answer the request (IP filter, redirects), then the principal is resolved
and kept on ``request.state`` for the ``principal`` dependency.
"""

from __future__ import annotations

from typing import Any

from litestar import Request, Response

from portalis.core.errors import NotFound
from portalis.core.plugins import first_result
from portalis.core.principal import Principal
from portalis.core.services import Services
from portalis.core.sites import Site

__all__ = ["before_request", "current_principal", "current_site", "gate_mount", "services_of"]

EXEMPT_PREFIXES = ("/_static/", "/_health")


def services_of(request: Request[Any, Any, Any]) -> Services:
    return request.app.state.services  # type: ignore[no-any-return]


async def resolve_site(request: Request[Any, Any, Any], services: Services) -> Site:
    website_id = await first_result(services.pm, "portalis_resolve_website",
                                    request=request, services=services)
    if website_id is None:
        host = request.headers.get("host", "")
        website_id = await services.sites.website_for_host(host)
    if website_id is None and services.config.default_website:
        website_id = await services.sites.website_for_key(services.config.default_website)
    if website_id is None:
        raise NotFound("this host name is not bound to any portal", code="unknown_host")
    return await services.sites.get(website_id, refresh=False)


async def before_request(request: Request[Any, Any, Any]) -> Response[Any] | None:
    services = services_of(request)
    if request.scope["path"].startswith(EXEMPT_PREFIXES):
        return None
    site = await resolve_site(request, services)
    request.state.site = site
    gate = await first_result(services.pm, "portalis_gate_request", request=request,
                              site=site, services=services)
    if gate is not None:
        return gate  # type: ignore[no-any-return]
    principal = await first_result(services.pm, "portalis_resolve_principal",
                                   request=request, site=site, services=services)
    if principal is None:
        principal = services.anonymous(site)
    request.state.principal = principal
    answer = await first_result(services.pm, "portalis_principal_resolved", request=request,
                                principal=principal, services=services)
    return answer  # type: ignore[no-any-return]


async def gate_mount(scope: Any, receive: Any, send: Any) -> bool:
    """Run the request flow for an ASGI mount (Litestar runs mounts without
    ``before_request``): an unknown host, a blocked address or a domain redirect is
    answered here. Returns True when the request was answered; a mount then stops."""
    from portalis.core.errors import PortalisError
    from portalis.core.web.errors import portalis_error

    if scope["type"] != "http":
        return False
    request: Request[Any, Any, Any] = Request(scope, receive)
    try:
        answer = await before_request(request)
    except PortalisError as exc:
        answer = portalis_error(request, exc)
    if answer is None:
        return False
    await answer.to_asgi_response(app=scope.get("app"), request=request)(scope, receive, send)
    return True


async def current_site(request: Request[Any, Any, Any]) -> Site:
    site = getattr(request.state, "site", None)
    if site is None:
        site = await resolve_site(request, services_of(request))
        request.state.site = site
    return site  # type: ignore[no-any-return]


async def current_principal(request: Request[Any, Any, Any]) -> Principal:
    principal = getattr(request.state, "principal", None)
    if principal is None:
        site = await current_site(request)
        principal = services_of(request).anonymous(site)
    return principal  # type: ignore[no-any-return]
