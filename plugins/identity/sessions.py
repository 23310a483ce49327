"""Server-side sessions: the cookie, the timeouts, and request → principal.

The cookie holds a 256-bit random token; the database keeps only its SHA-256 (the
session id), so a copy of the table signs nobody in. Over HTTPS the cookie is
``__Host-portalis_session`` (Secure, Path=/, no Domain); always HttpOnly and
SameSite=Lax. Timeouts come from site settings: an idle timeout that slides with use
(Power Pages' default: 24 hours) and an absolute lifetime from sign-in.
"""

from __future__ import annotations

import dataclasses
import datetime as dt
from typing import Any

from litestar import Request, Response
from litestar.datastructures import Cookie

from portalis.core.principal import Principal
from portalis.plugins.identity.store import TOUCH_INTERVAL, Store, digest, state

__all__ = [
    "ABSOLUTE_TIMEOUT",
    "IDLE_TIMEOUT",
    "clear_cookie",
    "cookie_name",
    "resolve_principal",
    "session_cookie",
    "session_id_of",
    "timeouts",
]

COOKIE = "portalis_session"
PRINCIPAL_CACHE_SIZE = 50_000
IDLE_TIMEOUT = "Authentication/Session/IdleTimeoutMinutes"
ABSOLUTE_TIMEOUT = "Authentication/Session/AbsoluteTimeoutMinutes"


def is_https(request: Request[Any, Any, Any]) -> bool:
    # the scope's scheme is what request.url reports (behind a proxy: as the ASGI server's
    # proxy-headers handling set it), without building a URL object per request
    return request.scope.get("scheme") == "https"


def cookie_name(request: Request[Any, Any, Any]) -> str:
    return f"__Host-{COOKIE}" if is_https(request) else COOKIE


def session_id_of(request: Request[Any, Any, Any]) -> str | None:
    """The session id (digest) the request's cookie names, if any."""
    token = request.cookies.get(cookie_name(request))
    return digest(token) if token else None


def timeouts(site: Any) -> tuple[dt.timedelta, dt.timedelta]:
    idle = max(1.0, site.number(IDLE_TIMEOUT, 1440))
    absolute = max(idle, site.number(ABSOLUTE_TIMEOUT, 43200))
    return dt.timedelta(minutes=idle), dt.timedelta(minutes=absolute)


def session_cookie(request: Request[Any, Any, Any], site: Any, token: str) -> Cookie:
    """The cookie that carries a new session's token (lives as long as the session may)."""
    _idle, absolute = timeouts(site)
    return Cookie(key=cookie_name(request), value=token, path="/", secure=is_https(request),
                  httponly=True, samesite="lax", max_age=int(absolute.total_seconds()))


def clear_cookie(request: Request[Any, Any, Any]) -> Cookie:
    return Cookie(key=cookie_name(request), value="", path="/", secure=is_https(request),
                  httponly=True, samesite="lax", max_age=0,
                  expires=0)


def with_cookie(response: Response[Any], cookie: Cookie) -> Response[Any]:
    response.set_cookie(cookie)
    return response


async def resolve_principal(request: Request[Any, Any, Any], site: Any,
                            services: Any) -> Principal | None:
    """Session cookie → session row → the contact's principal (``None``: anonymous).

    One session query plus the kernel's contact/role query; ``last_seen`` is written
    at most once a minute. Expired sessions and sessions of inactive contacts are
    deleted on sight.

    The resulting principal is kept per process (``IdentityState.principals``) until
    the earliest of ``policy_ttl`` seconds and the session's own expiry, keyed by the
    site's version and the kernel's principal generation, so a role or contact change
    made in this process, a new site configuration or any session write (sign-out
    included) applies at once, and one made elsewhere within ``policy_ttl``, as for
    the session rows and principals this is made of.
    """
    session_id = session_id_of(request)
    if session_id is None:
        return None
    ids = state(services)
    now = ids.now()
    ttl = services.config.policy_ttl
    key = (site.id, site.version, services.principal_generation, session_id)
    if ttl > 0:
        hit = ids.principals.get(key)
        if hit is not None and hit[0] > now:
            return hit[1]  # type: ignore[no-any-return]
    store = Store(services)
    row = await store.session(site.id, session_id)
    if row is None:
        return None
    idle, absolute = timeouts(site)
    if now - row["last_seen"] > idle or now - row["created"] > absolute:
        await store.delete_session(session_id)
        return None
    principal = await services.principal_for_contact(site, row["contact"], session_id)
    if principal is None:
        await store.delete_session(session_id)
        return None
    if now - row["last_seen"] >= TOUCH_INTERVAL:
        await store.touch_session(session_id, now)  # empties the caches first
    if row["email"]:
        principal = dataclasses.replace(principal, extra=(("email", row["email"]),))
    if ttl > 0:
        if len(ids.principals) >= PRINCIPAL_CACHE_SIZE:
            ids.principals.clear()
        until = min(now + dt.timedelta(seconds=ttl), row["last_seen"] + idle,
                    row["created"] + absolute)
        ids.principals[key] = (until, principal)
    return principal
