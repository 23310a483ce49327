"""CSRF protection: Litestar's double-submit-cookie middleware, with a short way for
the most common request.

Litestar's ``CSRFMiddleware`` checks every state-changing request (the ``x-csrftoken``
header or the ``_csrf_token`` form field must carry the token of the ``csrftoken``
cookie) and, on a safe request (GET, HEAD, OPTIONS), only makes the token available
(``ScopeState.csrf_token``) and sets the cookie if the browser has none. For that
last case, a safe request that already carries the cookie, it still builds a
``Request``, parses the Content-Type header and wraps ``send`` — ~12 µs of a list page
that changes nothing. :class:`CSRFMiddleware` answers exactly that case itself, with the
same result (the token is the cookie's value, nothing is sent), and hands every other
request to Litestar's code unchanged: the checks themselves are Litestar's.
"""

from __future__ import annotations

from litestar._parsers import parse_cookie_string
from litestar.middleware._utils import should_bypass_middleware
from litestar.middleware.csrf import CSRFMiddleware as LitestarCSRFMiddleware
from litestar.types import Receive, Scope, Send
from litestar.utils.scope.state import ScopeState

from portalis.core.web.scope import header

__all__ = ["CSRFMiddleware"]


class CSRFMiddleware(LitestarCSRFMiddleware):
    async def __call__(self, scope: Scope, receive: Receive, send: Send) -> None:
        if scope["type"] == "http" and scope["method"] in self.config.safe_methods:
            raw = header(scope, b"cookie")
            cookies = parse_cookie_string(raw) if raw else {}
            token = cookies.get(self.config.cookie_name)
            if token and not should_bypass_middleware(
                    scope=scope, scopes=self.scopes,
                    exclude_opt_key=self.config.exclude_from_csrf_key,
                    exclude_path_pattern=self.exclude):
                state = ScopeState.from_scope(scope)
                state.cookies = cookies  # what request.cookies parses
                state.csrf_token = token
                await self.app(scope, receive, send)
                return
        await super().__call__(scope, receive, send)
