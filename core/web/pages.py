"""Rendering whole HTML pages: a template inside the site layout."""

from __future__ import annotations

import secrets
from typing import Any

from litestar import Request
from markupsafe import Markup

__all__ = ["render_page"]

# The layout around a page depends only on the site (title, navigation: its version),
# the page title and the signed-in contact's name: it is rendered once per such key,
# split around a marker no content can contain, and reused (python-liquid interprets
# ~3 µs per node; the layout is ~80 µs a render). Template files change only with a
# deployment, or in debug mode, where the renderer reloads them and nothing is cached.
_MARKER = f"\x00portalis-content-{secrets.token_hex(16)}\x00"
_MAX_LAYOUTS = 10_000


def _layout(renderer: Any, site: Any, website: dict[str, str], title: str,
            user: dict[str, Any] | None) -> tuple[str, str]:
    nav = [{"title": ld.title, "url": f"/_lists/{ld.key}"} for ld in site.lists.values()
           ] if site else []
    html = renderer.render("layout.liquid", title=title, website=website,
                           content=Markup(_MARKER), nav=nav, user=user)
    head, marker, tail = html.partition(_MARKER)
    assert marker, "layout.liquid must show {{ content }}"
    return head, tail


def render_page(request: Request[Any, Any, Any], template: str | None, *, title: str,
                content: str | None = None, **context: Any) -> str:
    """``template`` rendered with ``context`` inside the site layout; with ``template``
    ``None``, the ``content`` given (HTML the caller rendered and escaped itself)."""
    state = request.scope.get("state") or {}
    site = state.get("site")
    principal = state.get("principal")
    renderer = request.app.state.renderer
    website = {"title": site.title if site else "Portalis", "key": site.key if site else ""}
    if template is not None:
        content = renderer.render(template, title=title, website=website, **context)
    assert content is not None, "render_page needs a template or the content"
    user = None
    if principal is not None and principal.contact_id is not None:
        user = {"id": principal.contact_id,
                "email": dict(principal.extra).get("email", f"contact {principal.contact_id}")}
    if renderer.auto_reload:
        head, tail = _layout(renderer, site, website, title, user)
    else:
        layouts = renderer.layouts
        key = (site.id if site else None, site.version if site else None, title,
               None if user is None else (user["id"], user["email"]))
        parts = layouts.get(key)
        if parts is None:
            parts = _layout(renderer, site, website, title, user)
            if len(layouts) >= _MAX_LAYOUTS:
                layouts.clear()
            layouts[key] = parts
        head, tail = parts
    return head + content + tail
