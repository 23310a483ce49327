"""Liquid rendering (python-liquid) of the kernel's pages: layout, lists, errors.

Templates see only plain data (dicts, lists, strings, numbers): no Python object
reaches a template, so a template cannot reach Python internals. Plugins add
template folders through ``portalis_template_dirs``; the first folder holding a
name wins, plugin folders first, the kernel's last.
"""

from __future__ import annotations

from pathlib import Path
from typing import Any

from liquid import CachingFileSystemLoader, Environment

__all__ = ["Renderer"]

KERNEL_TEMPLATES = Path(__file__).parent / "templates"


class Renderer:
    def __init__(self, extra_dirs: list[str | Path] | None = None, *,
                 auto_reload: bool = False) -> None:
        dirs = [Path(d) for d in (extra_dirs or [])] + [KERNEL_TEMPLATES]
        # template files are part of the installed code: no stat() per render unless asked
        loader = CachingFileSystemLoader(dirs, auto_reload=auto_reload)
        self.env = Environment(loader=loader, autoescape=True)
        self.auto_reload = auto_reload
        self.layouts: dict[tuple[Any, ...], tuple[str, str]] = {}
        """Rendered layouts split around their content (see ``core/web/pages.py``)."""

    def render(self, name: str, **context: Any) -> str:
        return self.env.get_template(name).render(**context)
