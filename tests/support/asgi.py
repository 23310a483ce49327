"""ASGI factory for tests that run the portal as a real server process:
``uvicorn --factory tests.support.asgi:create`` — the configured plugins plus the
test-only ``X-Test-Contact`` sign-in (never installed as an entry point)."""

from __future__ import annotations

from litestar import Litestar

from portalis.core.config import Config
from portalis.core.web.app import create_app
from tests.support.testlogin import TestLogin

__all__ = ["create"]


def create() -> Litestar:
    return create_app(Config.load(), extra_plugins=(TestLogin(),))
