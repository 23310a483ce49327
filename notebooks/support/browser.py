"""A browser-like httpx client: cookies, the CSRF token and sign-in through ``/_auth/login``.

:func:`browser` opens a client on a portal (or any base URL); :meth:`Browser.post` and
friends send the ``csrftoken`` cookie back as the ``x-csrftoken`` header, as the portal's
own pages do; :meth:`Browser.login` signs in with an email and a password (JSON).
"""

from __future__ import annotations

from typing import Any

import httpx

__all__ = ["Browser", "browser"]

JSON = {"accept": "application/json"}


class Browser(httpx.Client):
    """An httpx client that keeps cookies and echoes the CSRF cookie on unsafe methods."""

    def csrf(self) -> str:
        if "csrftoken" not in self.cookies:
            self.get("/_health")  # any page sets the csrftoken cookie
        return str(self.cookies["csrftoken"])

    def request(self, method: str, url: Any, **kw: Any) -> httpx.Response:  # type: ignore[override]
        if method.upper() not in ("GET", "HEAD", "OPTIONS"):
            headers = dict(kw.pop("headers", None) or {})
            headers.setdefault("x-csrftoken", self.csrf())
            kw["headers"] = headers
        return super().request(method, url, **kw)

    def login(self, email: str, password: str) -> httpx.Response:
        return self.post("/_auth/login", json={"email": email, "password": password})


def browser(portal_or_url: Any, **kw: Any) -> Browser:
    url = getattr(portal_or_url, "url", portal_or_url)
    kw.setdefault("timeout", 30)
    return Browser(base_url=url, **kw)
