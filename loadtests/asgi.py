"""ASGI factory the runner serves: the Portalis app plus the load-test sign-in.

``uvicorn --factory portalis.loadtests.asgi:create``. Configuration comes from the
usual ``PORTALIS_*`` variables. The header sign-in (:class:`BenchLogin`) is added
unless ``PORTALIS_BENCH_LOGIN=real`` (then only the enabled plugins sign people in).
"""

from __future__ import annotations

import os

from litestar import Litestar

from portalis.core.config import Config
from portalis.core.web.app import create_app
from portalis.loadtests.principal import BenchLogin

__all__ = ["create"]


def create() -> Litestar:
    extra: tuple[object, ...] = ()
    if os.environ.get("PORTALIS_BENCH_LOGIN", "header") == "header":
        extra = (BenchLogin(),)
    return create_app(Config.load(), extra_plugins=extra)
