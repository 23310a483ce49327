"""Hooks the admin plugin publishes for other plugins."""

from __future__ import annotations

from typing import Any

from portalis.core.hookspecs import hookspec

__all__ = ["portalis_admin_reports"]


@hookspec
def portalis_admin_reports() -> Any:
    """Contribute read-only reports to the staff admin (``/admin/reports/``).

    Runs when the admin is built. Return a list of dicts ``{"key": str, "title": str,
    "run": async (services, website_id, limit) -> list[dict]}``; results are combined.
    Reports are shown to signed-in staff only, per website. Implement it with
    ``@hookimpl(optionalhook=True)`` so a deployment without the admin still starts.
    """
