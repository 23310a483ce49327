"""A portal served by uvicorn in a child process, for tests that need a real server
(crash safety, schemathesis over HTTP)."""

from __future__ import annotations

import os
import signal
import socket
import subprocess
import sys
import time
from pathlib import Path

import httpx

__all__ = ["PortalServer", "free_port"]

ROOT = Path(__file__).resolve().parents[2]


def free_port() -> int:
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return int(s.getsockname()[1])


class PortalServer:
    def __init__(self, database_url: str, plugins: str = "selfservice") -> None:
        self.database_url = database_url
        self.plugins = plugins
        self.port = free_port()
        self.proc: subprocess.Popen[bytes] | None = None

    @property
    def url(self) -> str:
        return f"http://127.0.0.1:{self.port}"

    def start(self) -> None:
        env = {**os.environ, "PORTALIS_DATABASE_URL": self.database_url,
               "PORTALIS_PLUGINS": self.plugins, "PORTALIS_SECRET_KEY": "test-secret",
               "PORTALIS_POLICY_TTL": "0", "PORTALIS_CONFIG": "/nonexistent.toml",
               "PYTHONPATH": str(ROOT)}
        self.proc = subprocess.Popen(
            [sys.executable, "-m", "uvicorn", "--factory", "tests.support.asgi:create",
             "--host", "127.0.0.1", "--port", str(self.port), "--log-level", "warning",
             # keep-alive connections a test client left open must not hold stop()
             "--timeout-graceful-shutdown", "2"],
            env=env, cwd=ROOT, stdin=subprocess.DEVNULL)
        deadline = time.monotonic() + 60
        while time.monotonic() < deadline:
            if self.proc.poll() is not None:
                raise RuntimeError(f"the server exited with {self.proc.returncode}")
            try:
                if httpx.get(f"{self.url}/_health", headers={"host": "testserver.local"},
                             timeout=1).status_code == 200:
                    return
            except httpx.HTTPError:
                pass
            time.sleep(0.1)
        raise RuntimeError("the server did not start within 60 s")

    def kill(self) -> None:
        """SIGKILL: no shutdown handlers, no flushing — a crash."""
        if self.proc is not None and self.proc.poll() is None:
            self.proc.send_signal(signal.SIGKILL)
            self.proc.wait(10)

    def stop(self) -> None:
        if self.proc is not None and self.proc.poll() is None:
            self.proc.terminate()
            try:
                self.proc.wait(10)
            except subprocess.TimeoutExpired:
                self.kill()
