"""The ``portalis`` command line, run as a user would (subprocesses, a real database)."""

from __future__ import annotations

import os
import subprocess
import sys
from pathlib import Path

import yaml

from tests.kernel.conftest import CASES_SITE

PORTALIS = [sys.executable, "-m", "portalis.core.cli"]


def run(args: list[str], url: str, tmp: Path,
        check: bool = True) -> subprocess.CompletedProcess[str]:
    env = {**os.environ, "PORTALIS_DATABASE_URL": url, "PORTALIS_CONFIG": str(tmp / "none.toml")}
    proc = subprocess.run([*PORTALIS, *args], env=env, cwd=tmp, capture_output=True, text=True,
                          timeout=120, stdin=subprocess.DEVNULL)
    if check:
        assert proc.returncode == 0, proc.stderr
    return proc


def test_migrate_apply_explain_export(database_url: str, tmp_path: Path) -> None:
    site = tmp_path / "site.yaml"
    site.write_text(CASES_SITE)
    out = run(["migrate"], database_url, tmp_path).stdout
    assert "migrating portalis_core" in out
    assert "applied website 'cases'" in run(["site", "apply", str(site)], database_url,
                                            tmp_path).stdout
    explain = run(["perms", "explain", "--contact", "alice@contoso.example", "--table", "case"],
                  database_url, tmp_path).stdout
    assert "APPLIES  own-cases: scope contact via customer" in explain
    assert "ignored  account-cases" in explain
    assert 'read      WHERE t0."customer" = ' in explain
    anon = run(["perms", "explain", "--table", "case"], database_url, tmp_path).stdout
    assert "no permission applies" in anon and "read      WHERE 1=0" in anon
    exported = yaml.safe_load(run(["site", "export", "cases"], database_url, tmp_path).stdout)
    assert exported["website"]["key"] == "cases"


def test_errors_are_one_line_and_exit_nonzero(database_url: str, tmp_path: Path) -> None:
    bad = tmp_path / "bad.yaml"
    bad.write_text("website: {key: x}\npermissions: [{key: p, table: nope, scope: global}]\n")
    proc = run(["site", "apply", str(bad)], database_url, tmp_path, check=False)
    assert proc.returncode == 2
    assert proc.stderr.strip() == "error: permissions[p]: unknown table 'nope'"
    assert "Traceback" not in proc.stderr
