"""Hook implementations of the ipfilter plugin: per-website IP allow and deny lists.

``portalis_gate_request`` resolves the client address (forwarding headers believed only
from ``IpRestrictions/TrustedProxies``) and answers 403 for blocked addresses: an HTML
page, or JSON for ``/_api`` and ``Accept: application/json``. The resolved address is
kept on ``request.state.client_address`` for later code (sign-in throttles, audit) whenever
rules or trusted proxies are configured. Settings are described in
:mod:`portalis.plugins.ipfilter.gate`; a site file with malformed IP settings is refused.
"""

from __future__ import annotations

import logging
from typing import Any

from litestar import MediaType, Request, Response

from portalis.core import InvalidInput, hookimpl
from portalis.core.web.errors import wants_json
from portalis.core.web.pages import render_page
from portalis.plugins.ipfilter.gate import SETTING_DEFAULTS, config_problems, decide, gate_config

__all__ = ["blocked_response", "portalis_gate_request", "portalis_setting_defaults",
           "portalis_site_applied"]

log = logging.getLogger("portalis.ipfilter")

BLOCKED_CODE = "ip_blocked"


@hookimpl
def portalis_setting_defaults() -> dict[str, str]:
    return dict(SETTING_DEFAULTS)


@hookimpl
def portalis_gate_request(request: Request[Any, Any, Any], site: Any,
                          services: Any) -> Response[Any] | None:
    config = gate_config(site)
    peer = request.client.host if request.client else None
    if config.inactive and not config.trusted:
        return None
    verdict = decide(config, peer, request.headers)
    if verdict.address:
        request.state.client_address = verdict.address
    if verdict.allowed:
        return None
    log.info("website %s: refused %s %s from %s (peer %s): %s", site.id, request.method,
             request.url.path, verdict.address or "?", peer, verdict.reason)
    return blocked_response(request, verdict.address)


def blocked_response(request: Request[Any, Any, Any], address: str) -> Response[Any]:
    """The 403 answer: says access is restricted, shows the visitor's address (so they can
    ask an administrator), and nothing about the rules."""
    shown = address or "unknown"
    message = (f"This portal cannot be reached from your network address ({shown}). "
               "If you need access, ask the portal's administrator.")
    headers = {"cache-control": "no-store"}
    if wants_json(request):
        body = {"error": {"code": BLOCKED_CODE, "message": message, "address": shown}}
        return Response(body, status_code=403, media_type=MediaType.JSON, headers=headers)
    html = render_page(request, "error.liquid", title="Access denied", status=403,
                       heading="Access denied", message=message, request_id=None)
    return Response(html, status_code=403, media_type=MediaType.HTML, headers=headers)


@hookimpl
def portalis_site_applied(website_id: int, data: dict[str, Any],
                          ids: dict[str, dict[str, int]], services: Any) -> None:
    """Refuse a site file whose IP settings are malformed (nothing is applied)."""
    settings = data.get("settings")
    if not isinstance(settings, dict):
        return
    mine = {str(k): str(v) for k, v in settings.items() if str(k) in SETTING_DEFAULTS}
    if not mine:
        return
    problems = config_problems(mine)
    if problems:
        raise InvalidInput(f"settings: {'; '.join(problems)}", code="invalid_site_file",
                           where="settings")
