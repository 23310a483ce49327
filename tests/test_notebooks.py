"""Every notebook in notebooks/ runs headless, top to bottom, and every assertion holds.

Each notebook is executed with nbclient in a kernel of this project's own environment
(the ``portalis`` kernelspec: installed into ``sys.prefix`` from here if it is missing
or points at another interpreter). A failure names the cell (its index, the first lines
of its source) and the error. The executed notebook is kept in
``$TMPDIR/portalis-notebook-runs/`` (not in pytest's temporary folders, which other
pytest runs on the same machine rotate away).
Notebooks are committed without outputs, which a second test checks. After the last
cell, one more cell (not in the notebook file) checks that the kernel never imported
Locust or gevent: Locust monkey-patches whatever process imports it, so the throughput
notebook must run it as a subprocess. The run time of each notebook is printed (``-s``)
and recorded as the test's ``seconds`` property (``--junitxml``).

The notebooks honour ``PORTALIS_TEST_DATABASE`` (each makes its own fresh database on
that PostgreSQL server); the kernel inherits the environment of this process.
"""

from __future__ import annotations

import os
import re
import subprocess
import sys
import tempfile
import time
from pathlib import Path
from typing import Any

import nbformat
import pytest
from jupyter_client.kernelspec import KernelSpecManager, NoSuchKernel
from nbclient import NotebookClient
from nbclient.exceptions import CellExecutionError, CellTimeoutError, DeadKernelError

NOTEBOOK_DIR = Path(__file__).resolve().parent.parent / "notebooks"
NOTEBOOKS = sorted(NOTEBOOK_DIR.glob("*.ipynb"))
KERNEL = "portalis"
CELL_TIMEOUT = 240  # seconds; a cell waits at most this long
EXCERPT_LINES = 8
# one notebook per scenario of issue #8, numbered 01..07
SCENARIOS = ("01", "02", "03", "04", "05", "06", "07")
NO_GEVENT_CELL = (
    "# added by tests/test_notebooks.py: Locust runs as a subprocess, never in the kernel\n"
    "import sys\n"
    "assert not {'locust', 'gevent'} & set(sys.modules), "
    "'the kernel imported Locust or gevent (it monkey-patches the process)'")
ANSI = re.compile(r"\x1b\[[0-9;]*[A-Za-z]")


def _kernel_python(name: str) -> str | None:
    try:
        return str(KernelSpecManager().get_kernel_spec(name).argv[0])
    except NoSuchKernel:
        return None


def ensure_kernel() -> str:
    """The ``portalis`` kernelspec, running this interpreter; installed if needed."""
    if _kernel_python(KERNEL) != sys.executable:
        subprocess.run([sys.executable, "-m", "ipykernel", "install", "--sys-prefix",
                        "--name", KERNEL, "--display-name", "Python (portalis)"],
                       check=True, capture_output=True, text=True)
    found = _kernel_python(KERNEL)
    assert found == sys.executable, (
        f"kernelspec {KERNEL!r} runs {found}, not {sys.executable}: another {KERNEL!r} "
        f"kernelspec shadows the one in {sys.prefix} (see `jupyter kernelspec list`)")
    return KERNEL


def _excerpt(source: str) -> str:
    lines = source.splitlines()
    shown = "\n".join(f"    {line}" for line in lines[:EXCERPT_LINES])
    return shown + ("\n    ..." if len(lines) > EXCERPT_LINES else "")


def failed_cell(nb: Any) -> tuple[int, Any, str] | None:
    """(index, cell, error text) of the first cell whose outputs hold an error."""
    for index, cell in enumerate(nb.cells):
        for output in cell.get("outputs", []) if cell.cell_type == "code" else []:
            if output.get("output_type") == "error":
                return index, cell, f"{output.get('ename')}: {output.get('evalue')}"
    return None


def unfinished_cell(nb: Any) -> tuple[int, Any] | None:
    """The first code cell that did not finish (a timeout or a dead kernel)."""
    for index, cell in enumerate(nb.cells):
        if cell.cell_type == "code" and cell.get("execution_count") is None:
            return index, cell
    return None


def describe_failure(path: Path, nb: Any, exc: BaseException, saved: Path) -> str:
    """Which cell failed (index, source excerpt, error), then nbclient's full report."""
    head = f"{path.name} failed ({type(exc).__name__}); executed copy: {saved}"
    detail = ANSI.sub("", str(exc))
    found = failed_cell(nb)
    if found is not None:
        index, cell, error = found
        return (f"{head}\ncell {index} raised {ANSI.sub('', error)}\n{_excerpt(cell.source)}"
                f"\n\n{detail}")
    stuck = unfinished_cell(nb)
    if stuck is not None:
        index, cell = stuck
        return f"{head}\ncell {index} did not finish\n{_excerpt(cell.source)}\n\n{detail}"
    return f"{head}\n{detail}"


def executed_copy(path: Path) -> Path:
    engine = "postgres" if os.environ.get("PORTALIS_TEST_DATABASE", "").startswith(
        "postgres") else "sqlite"
    folder = Path(tempfile.gettempdir()) / "portalis-notebook-runs"
    folder.mkdir(exist_ok=True)
    return folder / f"{path.stem}-{engine}.ipynb"


@pytest.mark.parametrize("path", NOTEBOOKS, ids=[p.stem for p in NOTEBOOKS])
def test_notebook_runs_green(path: Path, record_property: Any) -> None:
    nb = nbformat.read(path, as_version=4)
    nb.cells.append(nbformat.v4.new_code_cell(NO_GEVENT_CELL))
    client = NotebookClient(nb, kernel_name=ensure_kernel(), timeout=CELL_TIMEOUT,
                            startup_timeout=120, allow_errors=False,
                            resources={"metadata": {"path": str(NOTEBOOK_DIR)}})
    saved = executed_copy(path)
    started = time.monotonic()
    failure = None
    try:
        client.execute()
    except (CellExecutionError, CellTimeoutError, DeadKernelError) as exc:
        failure = describe_failure(path, nb, exc, saved)
    nbformat.write(nb, saved)
    if failure is not None:
        pytest.fail(failure, pytrace=False)
    seconds = time.monotonic() - started
    record_property("seconds", round(seconds, 1))
    print(f"{path.name}: {seconds:.1f} s")
    unrun = [i for i, c in enumerate(nb.cells)
             if c.cell_type == "code" and c.get("execution_count") is None]
    assert not unrun, f"{path.name}: cells {unrun} were not executed"


@pytest.mark.parametrize("path", NOTEBOOKS, ids=[p.stem for p in NOTEBOOKS])
def test_notebook_is_committed_without_outputs(path: Path) -> None:
    nb = nbformat.read(path, as_version=4)
    nbformat.validate(nb)
    dirty = [i for i, c in enumerate(nb.cells) if c.cell_type == "code"
             and (c.get("outputs") or c.get("execution_count") is not None)]
    assert not dirty, (f"{path.name}: cells {dirty} carry outputs or execution counts; "
                       f"clear them before committing")
    assert nb.metadata.get("kernelspec", {}).get("name") == KERNEL


@pytest.mark.parametrize("path", NOTEBOOKS, ids=[p.stem for p in NOTEBOOKS])
def test_every_code_cell_asserts_something(path: Path) -> None:
    """A notebook proves what it shows: each code cell checks its point (a top-level
    ``assert``; one inside a function the cell only defines does not count)."""
    nb = nbformat.read(path, as_version=4)
    silent = [i for i, c in enumerate(nb.cells)
              if c.cell_type == "code" and not re.search(r"^assert\b", c.source, re.M)]
    assert not silent, f"{path.name}: code cells {silent} assert nothing"


@pytest.mark.parametrize("path", NOTEBOOKS, ids=[p.stem for p in NOTEBOOKS])
def test_no_notebook_imports_locust(path: Path) -> None:
    """Locust only ever runs as a subprocess (``locust -f ...``), never in the kernel."""
    nb = nbformat.read(path, as_version=4)
    importing = [i for i, c in enumerate(nb.cells) if c.cell_type == "code" and re.search(
        r"^\s*(import\s+(locust|gevent)\b|from\s+(locust|gevent)\b)", c.source, re.M)]
    assert not importing, f"{path.name}: cells {importing} import locust or gevent"


def test_there_is_a_notebook_per_scenario() -> None:
    numbers = sorted(p.name.split("-", 1)[0] for p in NOTEBOOKS)
    assert numbers == sorted(SCENARIOS), (
        f"notebooks in {NOTEBOOK_DIR}: {[p.name for p in NOTEBOOKS]}; expected one per "
        f"scenario {', '.join(SCENARIOS)}")
