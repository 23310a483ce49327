"""The demo site: a customer self-service portal (needs the ``selfservice`` plugin)."""

from __future__ import annotations

from pathlib import Path

__all__ = ["DEMO_SITE"]

DEMO_SITE = Path(__file__).with_name("demo-site.yaml")
