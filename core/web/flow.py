"""Per-request flow before any handler: website → gates → principal.

Two steps, so that EVERY HTTP request is gated, not only those a route matches:

* :func:`front_door` is an ASGI layer around the whole Litestar app (outside its router,
  its exception handling, CSRF and CORS): the website is chosen (plugins first, then the
  kernel's host-name match; unknown hosts are refused here) and the gate hooks may answer
  the request (IP filter, domain redirects) — for matched routes, unmatched paths (404),
  wrong methods (405), static files, ASGI mounts and CORS preflights alike. Only
  ``/_health`` (load-balancer probes, any Host) passes ungated.
* :func:`before_request` (Litestar's hook, so it runs after routing and after the CSRF
  middleware) resolves the principal and keeps it on ``request.state`` for the
  ``principal`` dependency. It gates first itself if the front door did not (an app
  served without it), never twice.

The front door does nothing the old single hook did not do: the same statements, moved
earlier (a matched route pays no extra statement).
"""

from __future__ import annotations

from typing import Any

from litestar import Request, Response
from litestar.types import ASGIApp, Message, Receive, Scope, Send

from portalis.core.errors import NotFound, PortalisError
from portalis.core.plugins import first_result, implemented
from portalis.core.principal import Principal
from portalis.core.records import Records
from portalis.core.services import Services
from portalis.core.sites import Site
from portalis.core.web.scope import header

__all__ = ["before_request", "current_principal", "current_site", "front_door", "gate_mount",
           "gate_request", "portal_context", "services_of"]

UNGATED_PREFIXES = ("/_health",)
NO_PRINCIPAL_PREFIXES = ("/_static/", "/_health")
GATED = "portalis.gated"  # scope state key: the gates ran for this request


def services_of(request: Request[Any, Any, Any]) -> Services:
    # state["services"], not state.services: State's __getattr__ costs ~0.4 µs a call
    return request.app.state["services"]  # type: ignore[no-any-return]


async def resolve_site(request: Request[Any, Any, Any], services: Services) -> Site:
    website_id = None
    if implemented(services.pm, "portalis_resolve_website"):
        website_id = await first_result(services.pm, "portalis_resolve_website",
                                        request=request, services=services)
    if website_id is None:
        host = header(request.scope, b"host")
        website_id = await services.sites.website_for_host(host)
    if website_id is None and services.config.default_website:
        website_id = await services.sites.website_for_key(services.config.default_website)
    if website_id is None:
        raise NotFound("this host name is not bound to any portal", code="unknown_host")
    return await services.sites.get(website_id, refresh=False)


async def gate_request(request: Request[Any, Any, Any]) -> Response[Any] | None:
    """Choose the website and run the gate hooks, once per request: returns the answer
    of a gate (or raises :class:`NotFound` ``unknown_host``), ``None`` to go on."""
    state = request.scope["state"]
    if state.get(GATED):
        return None
    state[GATED] = True
    services = services_of(request)
    site = await resolve_site(request, services)
    state["site"] = site  # request.state.site (the State wrapper costs more than the dict)
    if not implemented(services.pm, "portalis_gate_request"):
        return None
    gate = await first_result(services.pm, "portalis_gate_request", request=request,
                              site=site, services=services)
    return gate  # type: ignore[no-any-return]


async def before_request(request: Request[Any, Any, Any]) -> Response[Any] | None:
    if request.scope["path"].startswith(NO_PRINCIPAL_PREFIXES):
        return None
    gate = await gate_request(request)
    if gate is not None:
        return gate
    services = services_of(request)
    state = request.scope["state"]
    site = state["site"]
    principal = await first_result(services.pm, "portalis_resolve_principal",
                                   request=request, site=site, services=services)
    if principal is None:
        principal = services.anonymous(site)
    state["principal"] = principal
    if not implemented(services.pm, "portalis_principal_resolved"):
        return None
    answer = await first_result(services.pm, "portalis_principal_resolved", request=request,
                                principal=principal, services=services)
    return answer  # type: ignore[no-any-return]


async def _gate_answer(scope: Scope, receive: Receive) -> tuple[Request[Any, Any, Any],
                                                                 Response[Any] | None]:
    from portalis.core.web.errors import portalis_error, server_error

    scope.setdefault("state", {})
    request: Request[Any, Any, Any] = Request(scope, receive)
    try:
        return request, await gate_request(request)
    except PortalisError as exc:
        return request, portalis_error(request, exc)
    except Exception as exc:  # a gate failed: a request id, never a trace
        return request, server_error(request, exc)


def _bodiless(send: Send) -> Send:
    """``send`` for a HEAD answer: the status and headers, an empty body."""

    async def bodiless(message: Message) -> None:
        if message["type"] == "http.response.body":
            if message.get("more_body", False):
                return
            message = {"type": "http.response.body", "body": b"", "more_body": False}
        await send(message)

    return bodiless


async def _answer(request: Request[Any, Any, Any], answer: Response[Any], scope: Scope,
                  receive: Receive, send: Send) -> None:
    """Send a gate's answer; to HEAD without its body (Litestar refuses to build a HEAD
    response that has content, so the body is dropped on the way out instead)."""
    asgi = answer.to_asgi_response(app=None, request=request)
    await asgi(scope, receive, _bodiless(send) if scope["method"] == "HEAD" else send)


def front_door(app: ASGIApp) -> ASGIApp:
    """Wrap the Litestar app's ASGI handler: gate every HTTP request before routing."""

    async def gated(scope: Scope, receive: Receive, send: Send) -> None:
        if scope["type"] != "http" or scope["path"].startswith(UNGATED_PREFIXES):
            await app(scope, receive, send)
            return
        request, answer = await _gate_answer(scope, receive)
        if answer is None:
            await app(scope, receive, send)
        else:
            await _answer(request, answer, scope, receive, send)

    return gated


async def gate_mount(scope: Any, receive: Any, send: Any) -> bool:
    """Gate an ASGI mount's request (Litestar runs mounts without ``before_request``):
    an unknown host, a blocked address or a domain redirect is answered here. The front
    door has normally gated it already (then this does nothing). Returns True when the
    request was answered; a mount then stops. The principal hooks are not consulted."""
    if scope["type"] != "http" or scope.get("state", {}).get(GATED):
        return False
    request, answer = await _gate_answer(scope, receive)
    if answer is None:
        return False
    await _answer(request, answer, scope, receive, send)
    return True


async def current_site(request: Request[Any, Any, Any], services: Services) -> Site:
    """The ``site`` dependency. It depends on ``services`` (and ``principal`` on it) so
    that Litestar resolves the chain in order, not concurrently (see ``create_app``)."""
    state = request.scope["state"]
    site = state.get("site")
    if site is None:
        site = await resolve_site(request, services)
        state["site"] = site
    return site  # type: ignore[no-any-return]


async def current_principal(request: Request[Any, Any, Any], site: Site) -> Principal:
    """The ``principal`` dependency: the one ``before_request`` resolved, else anonymous."""
    principal = request.scope["state"].get("principal")
    if principal is None:
        principal = services_of(request).anonymous(site)
    return principal  # type: ignore[no-any-return]


async def portal_context(request: Request[Any, Any, Any]) -> tuple[Records, Principal, Site]:
    """``records``, ``principal`` and ``site`` of a request, as the dependencies of the
    same names give them, for the hot read routes (list pages, Web API reads): four
    Litestar dependency resolutions cost ~30 µs a request there, this a dict lookup."""
    services = services_of(request)
    site = await current_site(request, services)
    return services.records, await current_principal(request, site), site
