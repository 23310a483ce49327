"""The app factory: one call composes the kernel, the enabled plugins and their routes."""

from __future__ import annotations

import logging
from pathlib import Path
from typing import Any

from litestar import Litestar, MediaType, Request, Response, get
from litestar.config.cors import CORSConfig
from litestar.config.csrf import CSRFConfig
from litestar.di import Provide
from litestar.middleware import DefineMiddleware
from litestar.openapi import OpenAPIConfig
from litestar.static_files import create_static_files_router

from portalis.core.config import Config
from portalis.core.plugins import call_hook, combined
from portalis.core.principal import Principal
from portalis.core.records import Records
from portalis.core.rendering import Renderer
from portalis.core.services import Services
from portalis.core.web.csrf import CSRFMiddleware
from portalis.core.web.errors import EXCEPTION_HANDLERS
from portalis.core.web.flow import before_request, current_principal, current_site, front_door
from portalis.core.web.lists import list_page
from portalis.core.web.pages import render_page
from portalis.core.web.security import security_headers_middleware
from portalis.core.web.webapi import WEBAPI_HANDLERS

__all__ = ["create_app"]

STATIC = Path(__file__).parent.parent / "static"


@get("/", name="home")
async def home(request: Request[Any, Any, Any]) -> Response[Any]:
    html = render_page(request, "home.liquid", title="Home")
    return Response(html, media_type=MediaType.HTML)


@get("/_health", name="health", media_type=MediaType.JSON)
async def health() -> dict[str, str]:
    return {"status": "ok"}


def create_app(config: Config | None = None, *, extra_plugins: tuple[object, ...] = (),
               services: Services | None = None) -> Litestar:
    """Build the Litestar app for ``config`` with its enabled plugins (and ``extra_plugins``,
    plugin objects registered directly — tests use this)."""
    config = config or Config.load()
    services = services or Services.build(config, extra_plugins)
    renderer = Renderer(combined(services.pm, "portalis_template_dirs"),
                        auto_reload=config.debug)

    async def on_startup(app: Litestar) -> None:
        # Services started by the caller (tests, embedding code) stay the caller's to stop:
        # their connections belong to the caller's event loop.
        app.state.owns_services = not services.started
        await services.start()
        await call_hook(services.pm, "portalis_startup", app=app, services=services)

    async def on_shutdown(app: Litestar) -> None:
        if app.state.owns_services:
            await services.stop()

    # The four dependencies form one chain (services ← site ← principal ← records) on
    # purpose: Litestar resolves independent dependencies of a handler concurrently in
    # an anyio task group, which cost ~0.18 ms per request here; a chain resolves them
    # one after the other for a few microseconds.
    async def provide_records(principal: Principal) -> Records:
        return services.records

    async def provide_services() -> Services:
        return services

    plugin_routes = combined(services.pm, "portalis_routes", app_config=config)
    # Litestar's CSRF checks, with a short way for safe requests that carry the cookie
    # (core/web/csrf.py); so installed as middleware, not as Litestar's csrf_config.
    csrf = CSRFConfig(secret=config.secret_key, cookie_name="csrftoken",
                      header_name="x-csrftoken", cookie_samesite="lax")
    app = Litestar(
        route_handlers=[home, health, list_page, *WEBAPI_HANDLERS, *plugin_routes,
                        create_static_files_router(path="/_static", directories=[STATIC],
                                                   include_in_schema=False)],
        dependencies={
            "records": Provide(provide_records),
            "services": Provide(provide_services),
            "principal": Provide(current_principal),
            "site": Provide(current_site),
        },
        before_request=before_request,
        cors_config=CORSConfig(allow_origins=list(config.cors_origins), allow_credentials=True)
        if config.cors_origins else None,
        exception_handlers=EXCEPTION_HANDLERS,
        middleware=[DefineMiddleware(CSRFMiddleware, config=csrf)],
        openapi_config=OpenAPIConfig(title="Portalis", version="0.1.0", path="/schema"),
        on_startup=[on_startup],
        on_shutdown=[on_shutdown],
        debug=False,
        logging_config=None,
        signature_types=[Principal, Records, Services],
    )
    # Outside Litestar's router: every HTTP request is gated (host, IP filter, redirects)
    # and every response hardened, whether a route matches it or not.
    app.asgi_handler = security_headers_middleware(front_door(app.asgi_handler))
    # read by the OpenAPI pages (their "try it out" sends the token); routes were all
    # registered above, so Litestar's own CSRF middleware is not added to any of them
    app.csrf_config = csrf
    app.state.services = services
    app.state.renderer = renderer
    logging.getLogger("portalis").setLevel(logging.INFO)
    return app
