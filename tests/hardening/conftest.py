"""The hardening tests record their numbers as ``crash:*`` (crash safety, see
``crash.report``) and ``sweep:*`` (IDOR sweep, schemathesis) properties; they are listed
in the terminal summary of every run."""

from __future__ import annotations

from typing import Any

__all__ = ["pytest_terminal_summary"]

PREFIXES = ("crash:", "sweep:")


def pytest_terminal_summary(terminalreporter: Any) -> None:
    lines = []
    for outcome in ("passed", "failed"):
        for rep in terminalreporter.stats.get(outcome, []):
            numbers = [(k.split(":", 1)[1], v) for k, v in
                       getattr(rep, "user_properties", []) if k.startswith(PREFIXES)]
            if getattr(rep, "when", "") == "call" and numbers:
                lines.append(f"{rep.nodeid} ({outcome}): "
                             + ", ".join(f"{k} {v}" for k, v in numbers))
    if lines:
        terminalreporter.section("hardening numbers: crash safety, sweeps")
        for line in lines:
            terminalreporter.write_line(line)
