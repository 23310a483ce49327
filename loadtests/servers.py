"""Processes of a bench run: the servers (pinned to one core) and Locust (the other).

Locust is always a subprocess: importing it monkey-patches the importing process
with gevent.
"""

from __future__ import annotations

import csv
import os
import resource
import shutil
import socket
import subprocess
import sys
import time
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import httpx
import psutil

__all__ = ["LOCUSTFILE", "LocustResult", "Server", "free_port", "run_locust"]

LOCUSTFILE = Path(__file__).with_name("locustfile.py")


def free_port() -> int:
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return int(s.getsockname()[1])


def _pin(core: str | None) -> list[str]:
    if core is None or shutil.which("taskset") is None:
        return []
    return ["taskset", "-c", core]


class Server:
    """uvicorn serving ``factory`` on 127.0.0.1, pinned to ``core``."""

    def __init__(self, factory: str, env: dict[str, str], *, core: str | None = "0",
                 workers: int = 1, log: Path | None = None) -> None:
        self.port = free_port()
        self.url = f"http://127.0.0.1:{self.port}"
        cmd = [*_pin(core), sys.executable, "-m", "uvicorn", "--factory", factory,
               "--host", "127.0.0.1", "--port", str(self.port), "--log-level", "warning",
               "--no-access-log", "--workers", str(workers)]
        self.log = open(log or os.devnull, "ab")  # noqa: SIM115 - closed in stop()
        self.proc = subprocess.Popen(cmd, env={**os.environ, **env}, stdout=self.log,
                                     stderr=subprocess.STDOUT)
        self.rss_start = 0
        self.rss_samples: list[int] = []

    def wait_ready(self, timeout: float = 30.0) -> None:
        deadline = time.monotonic() + timeout
        while time.monotonic() < deadline:
            if self.proc.poll() is not None:
                raise RuntimeError(f"server exited with {self.proc.returncode}")
            try:
                if httpx.get(f"{self.url}/_health", timeout=1.0).status_code == 200:
                    self.rss_start = self.rss()
                    return
            except httpx.HTTPError:
                pass
            time.sleep(0.1)
        raise RuntimeError(f"server on {self.url} not ready after {timeout} s")

    def rss(self) -> int:
        """Resident memory of the server and its worker processes, in bytes."""
        try:
            proc = psutil.Process(self.proc.pid)
            procs = [proc, *proc.children(recursive=True)]
            return sum(p.memory_info().rss for p in procs)
        except psutil.Error:
            return 0

    def cpu_seconds(self) -> float:
        """CPU time (user + system) the server and its workers have used so far."""
        try:
            proc = psutil.Process(self.proc.pid)
            procs = [proc, *proc.children(recursive=True)]
            return sum(t.user + t.system for t in (p.cpu_times() for p in procs))
        except psutil.Error:
            return 0.0

    def sample(self) -> int:
        value = self.rss()
        self.rss_samples.append(value)
        return value

    def stop(self) -> None:
        if self.proc.poll() is None:
            self.proc.terminate()
            try:
                self.proc.wait(10)
            except subprocess.TimeoutExpired:
                self.proc.kill()
                self.proc.wait()
        self.log.close()


@dataclass
class LocustResult:
    requests: int
    failures: int
    rps: float
    p50: float
    p95: float
    p99: float
    locust_cpu: float  # CPU seconds of the Locust process per wall second
    errors: list[str]
    by_name: dict[str, tuple[int, int]]  # request name -> (requests, failures)

    def as_dict(self) -> dict[str, Any]:
        return dict(self.__dict__)


def run_locust(user_class: str | list[str], host: str, *, users: int, seconds: int,
               csv_prefix: Path, env: dict[str, str], core: str | None = "1",
               reset_stats: bool = False) -> LocustResult:
    """Run headless Locust user class(es) against ``host``; parse its CSV summary.

    ``reset_stats``: forget what happened while users were spawning (their sign-in)."""
    csv_prefix.parent.mkdir(parents=True, exist_ok=True)
    cmd = [*_pin(core), sys.executable, "-m", "locust", "-f", str(LOCUSTFILE), "--headless",
           "-u", str(users), "-r", str(users), "-t", f"{seconds}s", "--host", host,
           "--csv", str(csv_prefix), "--only-summary", "--loglevel", "ERROR",
           "--exit-code-on-error", "0", "--stop-timeout", "5",
           *(["--reset-stats"] if reset_stats else []),
           *([user_class] if isinstance(user_class, str) else user_class)]
    full_env = {**os.environ, **env, "PORTALIS_BENCH_NUSERS": str(users),
                "PYTHONWARNINGS": "ignore"}
    before = resource.getrusage(resource.RUSAGE_CHILDREN)
    started = time.monotonic()
    done = subprocess.run(cmd, env=full_env, capture_output=True, text=True,
                          timeout=seconds + 120, check=False)
    wall = time.monotonic() - started
    after = resource.getrusage(resource.RUSAGE_CHILDREN)
    cpu = (after.ru_utime - before.ru_utime) + (after.ru_stime - before.ru_stime)
    stats = Path(f"{csv_prefix}_stats.csv")
    if done.returncode != 0 or not stats.is_file():
        raise RuntimeError(f"locust failed ({done.returncode}): {done.stderr[-2000:]}")
    row: dict[str, str] = {}
    by_name: dict[str, tuple[int, int]] = {}
    with stats.open() as f:
        for r in csv.DictReader(f):
            if r["Name"] == "Aggregated":
                row = r
            else:
                by_name[r["Name"]] = (int(r["Request Count"]), int(r["Failure Count"]))
    errors: list[str] = []
    failures_csv = Path(f"{csv_prefix}_failures.csv")
    if failures_csv.is_file():
        with failures_csv.open() as f:
            errors = [f"{r['Name']}: {r['Error']} (x{r['Occurrences']})"
                      for r in csv.DictReader(f)]

    def num(key: str) -> float:
        value = row.get(key, "0")
        return float(value) if value not in ("", "N/A") else 0.0

    return LocustResult(requests=int(num("Request Count")), failures=int(num("Failure Count")),
                        rps=num("Requests/s"), p50=num("50%"), p95=num("95%"), p99=num("99%"),
                        locust_cpu=cpu / wall if wall else 0.0, errors=errors,
                        by_name=by_name)
