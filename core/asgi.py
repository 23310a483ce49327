"""ASGI entry point for servers: ``uvicorn --factory portalis.core.asgi:create``."""

from __future__ import annotations

from litestar import Litestar

from portalis.core.config import Config
from portalis.core.web.app import create_app

__all__ = ["create"]


def create() -> Litestar:
    return create_app(Config.load())
