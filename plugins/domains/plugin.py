"""Hook implementations of the domains plugin: custom host names per website.

* ``portalis_resolve_website`` - a request whose Host is a verified binding goes to that
  binding's website (several portals in one process); other hosts are left to the kernel
  (the websites' own host names, then the configured default site, else 404);
* ``portalis_gate_request`` - when a website has a primary binding, requests on any other
  of its hosts are redirected to it, keeping path and query (301 for GET/HEAD, 308 for
  other methods so the body is not lost); ``/_health`` and the domains API are exempt;
* ``/_domains/api`` routes (:mod:`.routes`) and the ``portalis domains`` commands
  (:mod:`.cli`); the ``domains`` site-file section (:mod:`.sitefile`); settings in
  :mod:`.service`.
"""

from __future__ import annotations

from typing import Any

from litestar import Request, Response

from portalis.core import hookimpl
from portalis.core.sites import normalise_host
from portalis.plugins.domains.service import REDIRECT_SCHEME, SETTING_DEFAULTS
from portalis.plugins.domains.store import live

__all__ = [
    "portalis_cli_commands",
    "portalis_gate_request",
    "portalis_piccolo_apps",
    "portalis_resolve_website",
    "portalis_routes",
    "portalis_setting_defaults",
    "portalis_site_file_sections",
]

EXEMPT = ("/_health", "/_domains/api/")


@hookimpl
def portalis_piccolo_apps() -> list[str]:
    return ["portalis.plugins.domains.piccolo_app"]


@hookimpl
def portalis_setting_defaults() -> dict[str, str]:
    return dict(SETTING_DEFAULTS)


@hookimpl
def portalis_routes(app_config: Any) -> list[Any]:
    from portalis.plugins.domains.routes import ROUTES

    return list(ROUTES)


@hookimpl
def portalis_site_file_sections() -> dict[str, Any]:
    from portalis.plugins.domains.sitefile import DomainsSection

    return {"domains": DomainsSection()}


@hookimpl
def portalis_cli_commands() -> list[Any]:
    from portalis.plugins.domains.cli import domains

    return [domains]


@hookimpl
async def portalis_resolve_website(request: Request[Any, Any, Any], services: Any) -> int | None:
    host = normalise_host(request.headers.get("host", ""))
    if not host:
        return None
    bindings = live(services)
    await bindings.refresh(services.db)
    return bindings.hosts.get(host)


@hookimpl
async def portalis_gate_request(request: Request[Any, Any, Any], site: Any,
                                services: Any) -> Response[Any] | None:
    bindings = live(services)
    await bindings.refresh(services.db)
    primary = bindings.primary.get(site.id)
    if primary is None or request.url.path.startswith(EXEMPT):
        return None
    if normalise_host(request.headers.get("host", "")) == primary:
        return None
    scheme = site.setting(REDIRECT_SCHEME).strip().lower()
    if scheme not in ("http", "https"):
        scheme = request.url.scheme
    raw_path = request.scope.get("raw_path") or request.url.path.encode("utf-8")
    target = f"{scheme}://{primary}{raw_path.decode('latin-1')}"
    query = request.scope.get("query_string") or b""
    if query:
        target += "?" + query.decode("latin-1")
    status = 301 if request.method in ("GET", "HEAD") else 308
    return Response(content=b"", status_code=status, headers={"location": target})
