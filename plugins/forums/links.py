"""Absolute links to the portal in emails and feeds.

Built from the website's configured primary host, never from a request's ``Host``
header (a forged header must not redirect a link), with the same rule as the identity
plugin's mail links: ``https``, plain ``http`` only for loopback demo hosts.
(Plugins do not import each other's modules, hence this copy of the rule.)
"""

from __future__ import annotations

from typing import Any
from urllib.parse import urlencode

__all__ = ["LOOPBACK", "base_url", "link"]

LOOPBACK = ("localhost", "127.0.0.1", "[::1]")


def base_url(site: Any) -> str:
    """``https://<primary host>`` (plain http only for loopback demo hosts)."""
    host = site.primary_host
    scheme = "http" if host in LOOPBACK else "https"
    return f"{scheme}://{host}"


def link(site: Any, path: str, fragment: str = "", **query: Any) -> str:
    """``base_url(site) + path`` with the query and ``#fragment``."""
    url = f"{base_url(site)}{path}"
    if query:
        url += f"?{urlencode(query)}"
    return f"{url}#{fragment}" if fragment else url
