"""A running portal for tests: app + services on a fresh database, driven over HTTP."""

from __future__ import annotations

from collections.abc import AsyncIterator
from contextlib import asynccontextmanager
from typing import Any

import httpx

from portalis.core.config import Config
from portalis.core.services import Services
from portalis.core.sitefile import apply_site, load_site_file
from portalis.core.web.app import create_app
from tests.support.testlogin import TestLogin

__all__ = ["HOST", "Portal", "running_portal"]

HOST = "testserver.local"


class Portal:
    def __init__(self, services: Services, client: httpx.AsyncClient) -> None:
        self.services = services
        self.client = client

    @property
    def records(self) -> Any:
        return self.services.records

    async def apply(self, text: str) -> int:
        return await apply_site(self.services, load_site_file(text))

    async def csrf(self) -> str:
        token = self.client.cookies.get("csrftoken")
        if not token:
            await self.client.get("/_health")
            token = self.client.cookies.get("csrftoken")
        assert token, "the app did not set a CSRF cookie"
        return token

    def as_(self, email: str | None) -> dict[str, str]:
        return {"x-test-contact": email} if email else {}

    async def get(self, url: str, *, who: str | None = None, **kw: Any) -> httpx.Response:
        headers = {**self.as_(who), **kw.pop("headers", {})}
        return await self.client.get(url, headers=headers, **kw)

    async def send(self, method: str, url: str, *, who: str | None = None,
                   csrf: bool = True, **kw: Any) -> httpx.Response:
        headers = {**self.as_(who), **kw.pop("headers", {})}
        if csrf:
            headers["x-csrftoken"] = await self.csrf()
        return await self.client.request(method, url, headers=headers, **kw)


@asynccontextmanager
async def running_portal(database_url: str, *, plugins: list[str] | None = None,
                         extra_plugins: tuple[object, ...] = (),
                         **config: Any) -> AsyncIterator[Portal]:
    cfg = Config(database_url=database_url, plugins=plugins or ["selfservice"],
                 secret_key="test-secret-key-not-for-production", policy_ttl=0.0, **config)
    services = Services.build(cfg, (TestLogin(), *extra_plugins))
    # Everything runs in the test's own event loop (asyncpg connections are bound to the
    # loop that made them; Litestar's test client would run the app in a thread of its
    # own): the app's startup hooks are called here, and httpx talks ASGI directly.
    app = create_app(cfg, services=services)
    for hook in app.on_startup:
        await hook(app)
    try:
        transport = httpx.ASGITransport(app=app, client=("127.0.0.1", 50000))
        async with httpx.AsyncClient(transport=transport, base_url=f"http://{HOST}") as client:
            yield Portal(services, client)
    finally:
        for hook in app.on_shutdown:
            await hook(app)
        await services.stop()
