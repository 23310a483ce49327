"""The front door: host validation, the IP filter and domain redirects apply to EVERY
HTTP request (not only those a route matches): unmatched paths (404), wrong methods
(405), static files, ASGI mounts (even one that does not gate itself) and CORS
preflights; the gates run exactly once per request, and every answer, the gates' own
included, carries the security headers.

Each case is first shown to answer normally from an allowed client on the portal's own
host (so a refusal below is the gate's, not the path's)."""

from __future__ import annotations

from collections import Counter
from collections.abc import AsyncIterator
from contextlib import asynccontextmanager
from dataclasses import dataclass, field
from typing import Any

import httpx
import pytest
from litestar import asgi
from litestar.types import Receive, Scope, Send

from portalis.core import hookimpl
from portalis.core.config import Config
from portalis.core.services import Services
from portalis.core.sitefile import apply_site, load_site_file
from portalis.core.web.app import create_app
from tests.domains.dns_server import running_zone
from tests.domains.test_bindings import DomainsPortal
from tests.domains.test_bindings import site_file as domains_site
from tests.support.portal import HOST, running_portal

ORIGIN = "https://app.example"
BLOCKED = "203.0.113.9"
ALLOWED = "198.51.100.7"
PRIMARY = "www.customer.example"

SITE = f"""
website:
  key: door
  title: Front door portal
  hosts: [{HOST}]
settings:
  IpRestrictions/Deny: "203.0.113.0/24"
"""

PREFLIGHT = {"origin": ORIGIN, "access-control-request-method": "POST",
             "access-control-request-headers": "content-type"}


@dataclass(frozen=True)
class Case:
    """A request no route handler answers itself, and its normal answer."""

    name: str
    method: str
    path: str
    status: int  # from an allowed client on the portal's host
    headers: dict[str, str] = field(default_factory=dict)


CASES = [
    Case("unmatched path", "GET", "/no/such/page?x=1", 404),
    Case("wrong method", "DELETE", "/", 405),
    Case("static file", "GET", "/_static/bootstrap.min.css", 200),
    Case("ungated mount", "GET", "/_mnt/anything", 200),
    Case("CORS preflight", "OPTIONS", "/_api/case", 204, PREFLIGHT),
    Case("route", "GET", "/", 200),
    Case("HEAD of unmatched path", "HEAD", "/nope", 404),
]
IDS = [c.name for c in CASES]


class Watch:
    """Counts the website resolutions and gate runs per path, and hosts an ASGI mount
    that does NOT call ``gate_mount`` (a plugin that forgot to)."""

    def __init__(self) -> None:
        self.resolved: Counter[str] = Counter()
        self.gated: Counter[str] = Counter()
        self.mounted: list[str] = []

    def reset(self) -> None:
        self.resolved.clear()
        self.gated.clear()
        self.mounted.clear()

    @hookimpl
    def portalis_resolve_website(self, request: Any, services: Any) -> None:
        self.resolved[request.scope["path"]] += 1

    @hookimpl
    def portalis_gate_request(self, request: Any, site: Any, services: Any) -> None:
        self.gated[request.scope["path"]] += 1

    @hookimpl
    def portalis_routes(self, app_config: Any) -> list[Any]:
        watch = self

        @asgi("/_mnt", is_mount=True, copy_scope=True, include_in_schema=False)
        async def mount(scope: Scope, receive: Receive, send: Send) -> None:
            watch.mounted.append(scope["path"])
            await send({"type": "http.response.start", "status": 200,
                        "headers": [(b"content-type", b"text/plain")]})
            await send({"type": "http.response.body", "body": b"mounted"})

        return [mount]


@dataclass
class Door:
    app: Any
    watch: Watch

    async def send(self, case: Case, host: str = HOST, peer: str = ALLOWED,
                   accept: str = "application/json") -> httpx.Response:
        transport = httpx.ASGITransport(app=self.app, client=(peer, 40000))
        async with httpx.AsyncClient(transport=transport, base_url=f"http://{HOST}") as http:
            return await http.request(case.method, case.path, headers={
                "host": host, "accept": accept, **case.headers})


@asynccontextmanager
async def door_portal(database_url: str) -> AsyncIterator[Door]:
    watch = Watch()
    config = Config(database_url=database_url, plugins=["selfservice", "ipfilter"],
                    secret_key="test-secret-key-not-for-production", policy_ttl=0.0,
                    cors_origins=[ORIGIN])
    services = Services.build(config, (watch,))
    app = create_app(config, services=services)
    for hook in app.on_startup:
        await hook(app)
    try:
        await apply_site(services, load_site_file(SITE))
        watch.reset()
        yield Door(app, watch)
    finally:
        for hook in app.on_shutdown:
            await hook(app)
        await services.stop()


@pytest.fixture
async def door(database_url: str) -> AsyncIterator[Door]:
    async with door_portal(database_url) as door:
        yield door


def hardened(res: httpx.Response) -> None:
    csp = res.headers.get("content-security-policy", "")
    assert "frame-ancestors 'self'" in csp, (res.status_code, dict(res.headers))
    assert res.headers["x-content-type-options"] == "nosniff"
    assert res.headers["x-frame-options"] == "SAMEORIGIN"
    assert res.headers["referrer-policy"] == "strict-origin-when-cross-origin"


def error_code(res: httpx.Response, case: Case) -> str | None:
    if case.method == "HEAD":
        assert res.content == b""
        return None
    return str(res.json()["error"]["code"])


@pytest.mark.parametrize("case", CASES, ids=IDS)
async def test_normal_answers_are_hardened_and_gated_once(door: Door, case: Case) -> None:
    res = await door.send(case)
    assert res.status_code == case.status, res.text
    hardened(res)
    path = case.path.split("?")[0]
    assert door.watch.resolved[path] == 1, door.watch.resolved
    assert door.watch.gated[path] == 1, door.watch.gated
    if case.name == "ungated mount":
        assert res.text == "mounted" and len(door.watch.mounted) == 1
    if case.name == "CORS preflight":
        assert res.headers["access-control-allow-origin"] == ORIGIN
    if case.status in (404, 405) and case.method != "HEAD":
        assert error_code(res, case) == {404: "not_found", 405: "method_not_allowed"}[
            case.status]


@pytest.mark.parametrize("case", CASES, ids=IDS)
@pytest.mark.parametrize("host", ["evil.example", f"{HOST}.evil.example", ""])
async def test_unknown_hosts_are_refused_on_every_path(door: Door, case: Case,
                                                       host: str) -> None:
    res = await door.send(case, host=host)
    assert res.status_code == 404, res.text
    assert error_code(res, case) in ("unknown_host", None)
    hardened(res)
    assert "access-control-allow-origin" not in res.headers
    assert door.watch.mounted == []
    assert door.watch.gated == Counter()  # no site, so no gate ran: refused before


@pytest.mark.parametrize("case", [c for c in CASES if c.method != "HEAD"],
                         ids=[c.name for c in CASES if c.method != "HEAD"])
async def test_unknown_host_html_answer_is_a_page_not_a_crash(door: Door, case: Case) -> None:
    res = await door.send(case, host="evil.example", accept="text/html")
    assert res.status_code == 404
    assert "not bound to any portal" in res.text and "Traceback" not in res.text
    api = case.path.startswith("/_api")  # the Web API answers JSON whatever it is sent
    assert res.headers["content-type"].startswith("application/json" if api else "text/html")
    hardened(res)


@pytest.mark.parametrize("case", CASES, ids=IDS)
async def test_blocked_addresses_are_refused_on_every_path(door: Door, case: Case) -> None:
    res = await door.send(case, peer=BLOCKED)
    assert res.status_code == 403, res.text
    assert error_code(res, case) in ("ip_blocked", None)
    if case.method != "HEAD":
        assert res.json()["error"]["address"] == BLOCKED
    hardened(res)
    assert "access-control-allow-origin" not in res.headers
    assert door.watch.mounted == []
    path = case.path.split("?")[0]
    assert door.watch.gated[path] == 1 and door.watch.resolved[path] == 1


async def test_health_probes_pass_ungated_on_any_host(door: Door) -> None:
    res = await door.send(Case("health", "GET", "/_health", 200), host="evil.example",
                          peer=BLOCKED)
    assert res.status_code == 200 and res.json() == {"status": "ok"}
    hardened(res)
    assert door.watch.gated == Counter() and door.watch.resolved == Counter()


async def test_a_domain_redirect_applies_on_every_path(database_url: str) -> None:
    watch = Watch()
    with running_zone() as zone:
        async with running_portal(database_url, plugins=["selfservice", "domains"],
                                  extra_plugins=(watch,), cors_origins=[ORIGIN]) as portal:
            await portal.apply(domains_site("contoso", "Contoso Portal", [HOST], zone))
            dp = DomainsPortal(portal, zone)
            await dp.live(PRIMARY)
            res = await dp.api("POST", f"/_domains/api/bindings/{PRIMARY}/primary")
            assert res.status_code == 200 and res.json()["primary"] is True
            for case in CASES:
                # on the primary host: the normal answer
                res = await dp.visit(PRIMARY, case.path, method=case.method,
                                     headers={"accept": "application/json", **case.headers})
                assert res.status_code == case.status, (case, res.text)
                hardened(res)
                # on the portal's other host: redirected, path and query kept
                watch.reset()
                res = await dp.visit(HOST, case.path, method=case.method,
                                     headers={"accept": "application/json", **case.headers})
                expected = 301 if case.method in ("GET", "HEAD") else 308
                assert res.status_code == expected, (case, res.text)
                assert res.headers["location"] == f"http://{PRIMARY}{case.path}", case
                hardened(res)
                assert watch.mounted == []
                assert watch.gated[case.path.split("?")[0]] == 1, (case, watch.gated)
