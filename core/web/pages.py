"""Rendering whole HTML pages: a template inside the site layout."""

from __future__ import annotations

import secrets
from typing import Any

from litestar import Request
from markupsafe import Markup

__all__ = ["page_bytes", "render_page"]

# The layout around a page depends only on the site (title, navigation: its version),
# the page title and the signed-in contact (its id and details, of which it shows the
# email): it is rendered once per such key, split around a marker no content can
# contain, and reused (python-liquid interprets ~3 µs per node; the layout is ~80 µs a
# render). Template files change only with a deployment, or in debug mode, where the
# renderer reloads them and nothing is cached.
_MARKER = f"\x00portalis-content-{secrets.token_hex(16)}\x00"
_MAX_LAYOUTS = 10_000


def _layout(renderer: Any, site: Any, title: str, principal: Any
            ) -> tuple[str, str, bytes, bytes]:
    """The layout around a page of ``site`` for ``principal`` (signed in, or ``None``),
    split around its content: the two parts as text and as UTF-8."""
    nav = [{"title": ld.title, "url": f"/_lists/{ld.key}"} for ld in site.lists.values()
           ] if site else []
    user = None
    if principal is not None:
        user = {"id": principal.contact_id,
                "email": dict(principal.extra).get("email", f"contact {principal.contact_id}")}
    html = renderer.render("layout.liquid", title=title, website=_website(site),
                           content=Markup(_MARKER), nav=nav, user=user)
    head, marker, tail = html.partition(_MARKER)
    assert marker, "layout.liquid must show {{ content }}"
    return head, tail, head.encode(), tail.encode()


def _parts(request: Request[Any, Any, Any], renderer: Any, title: str
           ) -> tuple[str, str, bytes, bytes]:
    """The layout's parts for this request's site, contact and ``title`` (kept, unless
    templates reload)."""
    state = request.scope.get("state") or {}
    site = state.get("site")
    principal = state.get("principal")
    if principal is not None and principal.contact_id is None:
        principal = None  # not signed in
    if renderer.auto_reload:
        return _layout(renderer, site, title, principal)
    layouts = renderer.layouts
    key = (site.id if site else None, site.version if site else None, title,
           None if principal is None else (principal.contact_id, principal.extra))
    parts = layouts.get(key)
    if parts is None:
        parts = _layout(renderer, site, title, principal)
        if len(layouts) >= _MAX_LAYOUTS:
            layouts.clear()
        layouts[key] = parts
    return parts  # type: ignore[no-any-return]


def render_page(request: Request[Any, Any, Any], template: str, *, title: str,
                **context: Any) -> str:
    """``template`` rendered with ``context`` inside the site layout."""
    renderer = request.app.state["renderer"]
    site = (request.scope.get("state") or {}).get("site")
    content = renderer.render(template, title=title, website=_website(site), **context)
    head, tail, _, _ = _parts(request, renderer, title)
    return head + content + tail  # type: ignore[no-any-return]


def page_bytes(request: Request[Any, Any, Any], renderer: Any, *, title: str,
               content: str) -> bytes:
    """The page of ``content`` (HTML the caller rendered and escaped itself) inside the
    site layout, as the UTF-8 a response sends. Only the content is encoded per request:
    the layout holds non-ASCII text (the "·" of its title), which makes encoding a whole
    page ~3 µs instead of a copy."""
    _, _, head, tail = _parts(request, renderer, title)
    return head + content.encode() + tail


def _website(site: Any) -> dict[str, str]:
    return {"title": site.title if site else "Portalis", "key": site.key if site else ""}
