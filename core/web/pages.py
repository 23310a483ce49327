"""Rendering whole HTML pages: a template inside the site layout."""

from __future__ import annotations

from typing import Any

from litestar import Request
from markupsafe import Markup

__all__ = ["render_page"]


def render_page(request: Request[Any, Any, Any], template: str, *, title: str,
                **context: Any) -> str:
    site = getattr(request.state, "site", None)
    principal = getattr(request.state, "principal", None)
    renderer = request.app.state.renderer
    website = {"title": site.title if site else "Portalis", "key": site.key if site else ""}
    content = renderer.render(template, title=title, website=website, **context)
    nav = [{"title": ld.title, "url": f"/_lists/{ld.key}"} for ld in site.lists.values()
           ] if site else []
    user = None
    if principal is not None and principal.contact_id is not None:
        user = {"id": principal.contact_id,
                "email": dict(principal.extra).get("email", f"contact {principal.contact_id}")}
    return renderer.render("layout.liquid", title=title, website=website, content=Markup(content),
                           nav=nav, user=user)
