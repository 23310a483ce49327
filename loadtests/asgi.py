"""ASGI factory the runner serves: the Portalis app plus the load-test sign-in.

``uvicorn --factory portalis.loadtests.asgi:create``. Configuration comes from the
usual ``PORTALIS_*`` variables. The header sign-in (:class:`BenchLogin`) is added
unless ``PORTALIS_BENCH_LOGIN=real`` (then only the enabled plugins sign people in).
``PORTALIS_BENCH_EXPERIMENTS`` applies candidate kernel fixes
(:mod:`portalis.loadtests.experiments`); unset, the kernel runs as it is.
"""

from __future__ import annotations

import os

from litestar import Litestar

from portalis.core.config import Config
from portalis.core.web.app import create_app
from portalis.loadtests.experiments import apply
from portalis.loadtests.principal import BenchLogin

__all__ = ["create"]


def create() -> Litestar:
    extra: tuple[object, ...] = ()
    if os.environ.get("PORTALIS_BENCH_LOGIN", "header") == "header":
        extra = (BenchLogin(),)
    experiments = [e for e in os.environ.get("PORTALIS_BENCH_EXPERIMENTS", "").split(",") if e]
    if "onehop" in experiments:  # patches the connection class before connections open
        apply(["onehop"], None)  # type: ignore[arg-type]
        experiments.remove("onehop")
    app = create_app(Config.load(), extra_plugins=extra)
    apply(experiments, app)
    return app
