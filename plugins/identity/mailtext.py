"""The texts of the identity plugin's emails (plain text; subject, body).

Links are built from the website's configured primary host, never from the
request's ``Host`` header (a forged header must not redirect a reset link).
"""

from __future__ import annotations

from typing import Any
from urllib.parse import urlencode

__all__ = ["account_exists", "base_url", "confirm_email", "link", "reset_password",
           "two_factor_code"]

LOOPBACK = ("localhost", "127.0.0.1", "[::1]")


def base_url(site: Any) -> str:
    """``https://<primary host>`` (plain http only for loopback demo hosts)."""
    host = site.primary_host
    scheme = "http" if host in LOOPBACK else "https"
    return f"{scheme}://{host}"


def link(site: Any, path: str, **query: str) -> str:
    return f"{base_url(site)}{path}?{urlencode(query)}" if query else f"{base_url(site)}{path}"


def _minutes(minutes: float) -> str:
    minutes = round(minutes)
    if minutes >= 120 and minutes % 60 == 0:
        return f"{minutes // 60} hours"
    return f"{minutes} minutes"


def confirm_email(site: Any, url: str, minutes: float) -> tuple[str, str]:
    return (
        f"Confirm your email address for {site.title}",
        f"Hello,\n\nplease confirm your email address for {site.title} by opening this "
        f"link:\n\n{url}\n\nThe link works once and expires in {_minutes(minutes)}. If you "
        "did not register, ignore this message.\n",
    )


def account_exists(site: Any, sign_in: str, reset: str) -> tuple[str, str]:
    return (
        f"Registration attempt at {site.title}",
        f"Hello,\n\nsomeone (perhaps you) tried to register at {site.title} with this email "
        f"address, but an account already exists for it.\n\nSign in: {sign_in}\n"
        f"Forgot your password? {reset}\n\nIf this was not you, ignore this message.\n",
    )


def reset_password(site: Any, url: str, minutes: float) -> tuple[str, str]:
    return (
        f"Reset your password for {site.title}",
        f"Hello,\n\na password reset was requested for your account at {site.title}. "
        f"Choose a new password here:\n\n{url}\n\nThe link works once and expires in "
        f"{_minutes(minutes)}. If you did not ask for this, ignore this message; your "
        "password stays as it is.\n",
    )


def two_factor_code(site: Any, code: str, minutes: float) -> tuple[str, str]:
    return (
        f"Your sign-in code for {site.title}",
        f"Hello,\n\nyour sign-in code for {site.title} is:\n\n    {code}\n\nIt expires in "
        f"{_minutes(minutes)}. If you did not try to sign in, change your password.\n",
    )
