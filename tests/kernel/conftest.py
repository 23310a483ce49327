from __future__ import annotations

from tests.conftest import CASES_SITE

__all__ = ["CASES_SITE"]
