"""What every notebook needs around its scenario: an empty database, the ``portalis``
command line, and a portal server process on 127.0.0.1 driven over HTTP.

* :func:`fresh_database` makes an empty database: a SQLite file in a new temporary
  folder, or, when ``PORTALIS_TEST_DATABASE`` names a PostgreSQL server
  (``postgresql://postgres@127.0.0.1:5432/test``), a new database of its own on that
  server. :meth:`Database.drop` removes it again.
* :func:`portalis` runs the ``portalis`` command of this environment against it, as a
  subprocess, and returns the finished process (``stdout``, ``stderr``, ``returncode``).
* :func:`start_portal` serves the portal with uvicorn on a free port (the app of
  :mod:`support.asgi`) and waits until it answers; :meth:`Portal.client` gives an httpx
  client signed in as a contact; :meth:`Portal.stop` stops the server.
"""

from __future__ import annotations

import asyncio
import atexit
import concurrent.futures
import contextlib
import os
import secrets
import shutil
import signal
import socket
import subprocess
import sys
import tempfile
import time
import uuid
from collections.abc import Callable, Coroutine
from dataclasses import dataclass, field
from pathlib import Path
from typing import IO, Any
from urllib.parse import urlparse

import httpx

__all__ = ["DEFAULT_PLUGINS", "NOTEBOOKS", "REPO", "Database", "Portal", "fresh_database",
           "portalis", "start_portal"]

REPO = Path(__file__).resolve().parents[2]
NOTEBOOKS = REPO / "notebooks"
BIN = Path(sys.executable).parent
DEFAULT_PLUGINS = ("selfservice",)
_FORCED_COLOUR = ("FORCE_COLOR", "CLICOLOR_FORCE", "CLICOLOR")
_RUNNING: list[Portal] = []
_DATABASES: list[Database] = []


def _run_async(make: Callable[[], Coroutine[Any, Any, Any]]) -> Any:
    """Run a coroutine to completion even inside a kernel whose event loop is running."""
    with concurrent.futures.ThreadPoolExecutor(max_workers=1) as pool:
        return pool.submit(asyncio.run, make()).result()


async def _pg_admin(server: str, sql: str) -> None:
    import asyncpg

    parsed = urlparse(server)
    conn = await asyncpg.connect(f"{parsed.scheme}://{parsed.netloc}/postgres")
    try:
        await conn.execute(sql)
    finally:
        await conn.close()


@dataclass
class Database:
    """An empty database made for one notebook, and the folder its processes run in."""

    url: str
    engine: str
    workdir: Path
    pg_server: str | None = None
    pg_name: str | None = None
    plugins: tuple[str, ...] = DEFAULT_PLUGINS
    """The enabled plugins (``PORTALIS_PLUGINS``) of every process run on this database."""
    settings: dict[str, str] = field(default_factory=dict)
    """More ``PORTALIS_*`` variables for those processes (``PORTALIS_SMTP_URL``...)."""
    secret_key: str = field(default_factory=lambda: secrets.token_urlsafe(32))

    def env(self) -> dict[str, str]:
        """The environment of the ``portalis`` and server processes."""
        env = {k: v for k, v in os.environ.items()
               if not k.startswith("PORTALIS_") and k not in _FORCED_COLOUR}
        env.update({
            # plain output to parse: a Jupyter kernel's environment forces colour (and
            # rich then writes escape codes even into a pipe)
            "NO_COLOR": "1",
            "PORTALIS_DATABASE_URL": self.url,
            "PORTALIS_PLUGINS": ",".join(self.plugins),
            "PORTALIS_SECRET_KEY": self.secret_key,
            # no portalis.toml from the caller's folder leaks in
            "PORTALIS_CONFIG": str(self.workdir / "portalis.toml"),
            "PYTHONPATH": os.pathsep.join(
                [str(REPO), *filter(None, [os.environ.get("PYTHONPATH")])]),
            **self.settings,
        })
        return env

    def drop(self) -> None:
        """Remove the database and the folder (also done at exit if a cell failed)."""
        if self in _DATABASES:
            _DATABASES.remove(self)
        if self.pg_server and self.pg_name:
            name = self.pg_name
            _run_async(lambda: _pg_admin(self.pg_server or "",
                                         f'DROP DATABASE IF EXISTS "{name}" WITH (FORCE)'))
            self.pg_name = None
        shutil.rmtree(self.workdir, ignore_errors=True)


def fresh_database(plugins: tuple[str, ...] = DEFAULT_PLUGINS,
                   **settings: str) -> Database:
    """A new, empty database (SQLite unless ``PORTALIS_TEST_DATABASE`` is PostgreSQL).

    ``plugins`` are enabled in every process run on it; ``settings`` are more
    ``PORTALIS_*`` variables, e.g. ``PORTALIS_SMTP_URL="smtp://127.0.0.1:8025"``."""
    workdir = Path(tempfile.mkdtemp(prefix="portalis-notebook-"))
    server = os.environ.get("PORTALIS_TEST_DATABASE", "sqlite")
    if server.startswith("postgres"):
        name = f"portalis_nb_{uuid.uuid4().hex[:12]}"
        _run_async(lambda: _pg_admin(server, f'CREATE DATABASE "{name}"'))
        parsed = urlparse(server)
        db = Database(f"{parsed.scheme}://{parsed.netloc}/{name}", "postgres", workdir,
                      pg_server=server, pg_name=name, plugins=plugins, settings=settings)
    else:
        db = Database(f"sqlite:///{workdir / 'portal.sqlite'}", "sqlite", workdir,
                      plugins=plugins, settings=settings)
    _DATABASES.append(db)
    return db


def portalis(db: Database, *args: str, check: bool = True,
             timeout: float = 120) -> subprocess.CompletedProcess[str]:
    """Run ``portalis ARGS...`` on ``db``; with ``check``, a failure raises with its output."""
    proc = subprocess.run([str(BIN / "portalis"), *args], cwd=db.workdir, env=db.env(),
                          capture_output=True, text=True, timeout=timeout, check=False)
    if check and proc.returncode != 0:
        raise RuntimeError(f"portalis {' '.join(args)} exited with {proc.returncode}:\n"
                           f"{proc.stderr}{proc.stdout}")
    return proc


def _listening_socket() -> socket.socket:
    """A socket bound to a free port of 127.0.0.1, handed to uvicorn with ``--fd``: no
    other process can take the port between choosing it and serving on it."""
    sock = socket.socket(socket.AF_INET, socket.SOCK_STREAM)
    sock.setsockopt(socket.SOL_SOCKET, socket.SO_REUSEADDR, 1)
    sock.bind(("127.0.0.1", 0))
    sock.listen(128)
    sock.set_inheritable(True)
    return sock


def _die_with_parent() -> None:
    """In the child: get SIGTERM if the kernel that started the server dies (Linux)."""
    with contextlib.suppress(Exception):
        import ctypes

        ctypes.CDLL("libc.so.6", use_errno=True).prctl(1, signal.SIGTERM)  # PR_SET_PDEATHSIG


@dataclass
class Portal:
    """A running portal server process."""

    process: subprocess.Popen[bytes]
    url: str
    log_path: Path
    log: IO[bytes]

    def client(self, who: str | None = None) -> httpx.Client:
        """An HTTP client; ``who`` (an email) signs it in through the test-only header."""
        headers = {"x-test-contact": who} if who else {}
        return httpx.Client(base_url=self.url, headers=headers, timeout=30)

    def output(self) -> str:
        """What the server has written to its log so far."""
        if not self.log.closed:
            self.log.flush()
        return self.log_path.read_text(errors="replace")

    def stop(self) -> int:
        """Stop the server (SIGTERM, then SIGKILL after 15 s); returns its exit code."""
        if self.process.poll() is None:
            self.process.terminate()
            try:
                self.process.wait(15)
            except subprocess.TimeoutExpired:
                self.process.kill()
                self.process.wait(5)
        self.log.close()
        if self in _RUNNING:
            _RUNNING.remove(self)
        return int(self.process.returncode)


def start_portal(db: Database, timeout: float = 30) -> Portal:
    """Serve the portal on db at http://127.0.0.1:<free port>, and wait until it answers."""
    sock = _listening_socket()
    port = int(sock.getsockname()[1])
    log_path = db.workdir / f"server-{port}.log"
    log = log_path.open("wb")
    cmd = [sys.executable, "-m", "uvicorn", "--factory", "support.asgi:create",
           "--app-dir", str(NOTEBOOKS), "--fd", str(sock.fileno()),
           "--log-level", "warning", "--no-access-log"]
    try:
        process = subprocess.Popen(cmd, cwd=db.workdir, env=db.env(), stdout=log,
                                   stderr=subprocess.STDOUT, pass_fds=(sock.fileno(),),
                                   preexec_fn=_die_with_parent)
    finally:
        sock.close()
    portal = Portal(process, f"http://127.0.0.1:{port}", log_path, log)
    _RUNNING.append(portal)
    deadline = time.monotonic() + timeout
    while True:
        if process.poll() is not None:
            portal.stop()
            raise RuntimeError(f"the portal server exited with {process.returncode}:\n"
                               f"{log_path.read_text(errors='replace')}")
        try:
            httpx.get(f"{portal.url}/_health", timeout=2)
            return portal
        except httpx.TransportError:
            if time.monotonic() > deadline:
                portal.stop()
                raise RuntimeError(f"the portal server did not answer within {timeout} s:\n"
                                   f"{log_path.read_text(errors='replace')}") from None
            time.sleep(0.1)


@atexit.register
def _clean_up() -> None:
    """If a notebook stopped half-way: stop its servers, then drop its databases."""
    for portal in list(_RUNNING):
        with contextlib.suppress(Exception):
            portal.stop()
    for db in list(_DATABASES):
        with contextlib.suppress(Exception):
            db.drop()
