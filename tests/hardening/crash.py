"""Helpers of the crash-safety tests: a real server process is SIGKILLed while concurrent
clients write through HTTP, then restarted on the same database.

* :func:`prepare` applies a site file to a database before any server runs;
* :func:`rows` reads the database directly (after the crash, no server involved);
* :class:`Ledger` counts what the writers attempted, what the server acknowledged and
  which requests were cut off by the kill (sent before it, never answered);
* :func:`kill_mid_flight` runs the writers, kills the server once enough writes are
  acknowledged, and waits for every writer to notice;
* :func:`report` prints the numbers and records them on the test (shown in the
  terminal summary by ``conftest.py``).
"""

from __future__ import annotations

import asyncio
import re
from collections.abc import Awaitable, Callable, Iterator
from contextlib import contextmanager
from dataclasses import dataclass
from typing import Any, TypeVar

import httpx

from portalis.core.config import Config
from portalis.core.services import Services
from portalis.core.sitefile import apply_site, load_site_file
from tests.conftest import CASES_SITE
from tests.support.server import PortalServer

__all__ = ["Ledger", "client", "csrf", "kill_mid_flight", "prepare", "report", "rows",
           "served", "serving", "started", "with_services"]


def served(site_text: str) -> str:
    """The site file with 127.0.0.1 among its hosts (the server is reached by address)."""
    text, n = re.subn(r"hosts: \[testserver\.local\]", "hosts: [testserver.local, 127.0.0.1]",
                      site_text)
    assert n == 1, "the site file has no 'hosts: [testserver.local]' line"
    return text


async def with_services(url: str, plugins: list[str],
                        fn: Callable[[Services], Awaitable[Any]]) -> Any:
    """``fn(services)`` with services started on ``url`` (no server, no HTTP)."""
    services = Services.build(Config(database_url=url, plugins=plugins,
                                     secret_key="test-secret"))
    await services.start()
    try:
        return await fn(services)
    finally:
        await services.stop()


async def prepare(url: str, site: str | dict[str, Any] | None = None,
                  plugins: list[str] | None = None) -> None:
    """Apply ``site`` (text or parsed; default: the cases site) to the database."""
    if isinstance(site, dict):
        data = site
    else:
        data = load_site_file(served(CASES_SITE) if site is None else site)

    async def apply(services: Services) -> None:
        await apply_site(services, data)

    await with_services(url, plugins or ["selfservice"], apply)


async def rows(url: str, sql: str, *args: object) -> list[dict[str, Any]]:
    """``sql`` (``?`` placeholders) straight on the database, no server involved."""

    async def fetch(services: Services) -> list[dict[str, Any]]:
        return await services.db.fetch(sql, *args)

    return await with_services(url, ["selfservice"], fetch)  # type: ignore[no-any-return]


@contextmanager
def serving(url: str, plugins: str = "selfservice") -> Iterator[PortalServer]:
    """A server process on ``url`` for the duration of the block (stopped cleanly)."""
    server = PortalServer(url, plugins)
    server.start()
    try:
        yield server
    finally:
        server.stop()


T = TypeVar("T")


async def started(url: str, plugins: str,
                  setup: Callable[[PortalServer], Awaitable[T]]) -> tuple[PortalServer, T]:
    """A server process on ``url``, running, and what ``setup(server)`` returned (the
    writers' starting data, made through the server). The caller kills the server (see
    :func:`kill_mid_flight`); if ``setup`` fails it is killed here."""
    server = PortalServer(url, plugins)
    server.start()
    try:
        return server, await setup(server)
    except BaseException:
        server.kill()
        raise


def client(server: PortalServer) -> httpx.AsyncClient:
    return httpx.AsyncClient(base_url=server.url, timeout=20)


async def csrf(http: httpx.AsyncClient) -> str:
    """The CSRF cookie of ``http`` (fetched once from ``/_health``)."""
    if "csrftoken" not in http.cookies:
        await http.get("/_health")
    return str(http.cookies["csrftoken"])


@dataclass
class Ledger:
    """What the writers did. ``cap`` stops them if the kill never comes."""

    cap: int
    attempts: int = 0
    acknowledged: int = 0
    in_flight: int = 0  # sent before the kill and never answered
    after_kill: int = 0  # sent after the kill (refused: the server was gone)
    killed: bool = False

    @property
    def enough(self) -> bool:
        return self.acknowledged >= self.cap

    async def send(self, http: httpx.AsyncClient, method: str, url: str,
                   **kw: Any) -> httpx.Response | None:
        """One write; ``None`` when the server is gone (the writer then stops)."""
        before_kill = not self.killed
        self.attempts += 1
        try:
            return await http.request(method, url, **kw)
        except httpx.HTTPError:
            if before_kill:
                self.in_flight += 1
            else:
                self.after_kill += 1
            return None

    def ack(self) -> None:
        self.acknowledged += 1


async def kill_mid_flight(server: PortalServer, writers: list[Awaitable[None]],
                          ledger: Ledger, kill_at: int) -> None:
    """Run ``writers`` until ``kill_at`` writes are acknowledged, SIGKILL the server
    while they are still writing, then wait for every writer to stop."""
    task = asyncio.ensure_future(asyncio.gather(*writers))
    try:
        while ledger.acknowledged < kill_at:
            await asyncio.sleep(0.02)
            if task.done():
                task.result()  # a writer's own failure, if that is why they stopped
                raise AssertionError("the writers stopped before the crash")
        ledger.killed = True
        server.kill()  # no shutdown handlers, no flushing: several requests in progress
        await asyncio.wait_for(task, 60)
    finally:
        server.kill()
        if not task.done():
            task.cancel()
    assert ledger.acknowledged >= kill_at
    assert ledger.in_flight >= 1, "the kill hit no request in flight"


def report(record_property: Callable[[str, object], None], what: str,
           ledger: Ledger | None = None, **extra: object) -> None:
    """Print the numbers of a crash test and record them on its report."""
    numbers: dict[str, object] = {} if ledger is None else {
        "attempts": ledger.attempts, "acknowledged": ledger.acknowledged,
        "killed_in_flight": ledger.in_flight, "refused_after_kill": ledger.after_kill}
    numbers.update(extra)
    for name, value in numbers.items():
        record_property(f"crash:{name}", value)
    print(f"crash safety, {what}: " + ", ".join(f"{k} {v}" for k, v in numbers.items()))
