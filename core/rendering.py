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
        self.dirs = dirs
        self._kernel: dict[str, bool] = {}
        self.layouts: dict[tuple[Any, ...], tuple[str, str]] = {}
        """Rendered layouts split around their content (see ``core/web/pages.py``)."""

    def is_kernel_template(self, name: str) -> bool:
        """Whether ``name`` is the kernel's own template, unchanged: no plugin folder
        holds one, and templates do not reload (debug). Code that renders a kernel
        template in Python for speed checks this first."""
        known = self._kernel.get(name)
        if known is None:
            known = not self.auto_reload and all(
                not (d / name).is_file() for d in self.dirs if d != KERNEL_TEMPLATES)
            self._kernel[name] = known
        return known

    def render(self, name: str, **context: Any) -> str:
        return self.env.get_template(name).render(**context)
