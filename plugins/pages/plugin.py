"""Hook implementations of the pages plugin.

``/`` belongs to the kernel's home handler (Litestar refuses a second handler for the same
path), so a website's root page is served from :func:`portalis_principal_resolved`: for
``GET /`` with a root page, the page answers instead of the kernel's home; without a
root page the kernel's home answers as before.
"""

from __future__ import annotations

from typing import Any

from portalis.core import hookimpl
from portalis.plugins.pages.sitefile import SECTIONS
from portalis.plugins.pages.web import ROUTES, serve_root, state_of

__all__ = [
    "portalis_piccolo_apps",
    "portalis_principal_resolved",
    "portalis_routes",
    "portalis_setting_defaults",
    "portalis_site_file_sections",
    "portalis_startup",
]


@hookimpl
def portalis_piccolo_apps() -> list[str]:
    return ["portalis.plugins.pages.piccolo_app"]


@hookimpl
def portalis_routes(app_config: Any) -> list[Any]:
    return list(ROUTES)


@hookimpl
def portalis_setting_defaults() -> dict[str, str]:
    return {"WebFiles/MaxSize": "1048576"}


@hookimpl
def portalis_startup(app: Any, services: Any) -> None:
    state_of(services)


@hookimpl
async def portalis_principal_resolved(request: Any, principal: Any, services: Any) -> Any:
    return await serve_root(request, principal, services)


@hookimpl
def portalis_site_file_sections() -> dict[str, Any]:
    return dict(SECTIONS)
