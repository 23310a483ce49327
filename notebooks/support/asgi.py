"""The ASGI app the notebooks serve: the kernel plus the test-only sign-in.

``uvicorn --factory support.asgi:create`` (with ``notebooks/`` as the app directory and
the repository root on ``PYTHONPATH``). It is ``portalis.core.asgi:create`` with one
extra plugin object: :class:`tests.support.testlogin.TestLogin`, which signs a request
in as the contact named by the ``x-test-contact`` header. That plugin is never installed
as an entry point, so no deployment can enable it; the notebooks use it only until the
identity plugin lands, after which they sign in through ``/_auth/login``.
"""

from __future__ import annotations

from litestar import Litestar

from portalis.core.config import Config
from portalis.core.web.app import create_app
from tests.support.testlogin import TestLogin

__all__ = ["create"]


def create() -> Litestar:
    return create_app(Config.load(), extra_plugins=(TestLogin(),))
