"""Response hardening and host validation."""

from __future__ import annotations

from typing import Any

import pytest
from litestar import get

from portalis.core import hookimpl
from tests.kernel.conftest import CASES_SITE
from tests.support.portal import Portal, running_portal


@pytest.fixture
async def site(portal: Portal) -> Portal:
    await portal.apply(CASES_SITE)
    return portal


@pytest.mark.parametrize("url", ["/", "/_lists/cases", "/_lists/nope", "/_api/case",
                                 "/_static/bootstrap.min.css", "/schema/openapi.json"])
async def test_every_response_carries_the_security_headers(site: Portal, url: str) -> None:
    res = await site.get(url)
    csp = res.headers["content-security-policy"]
    assert "frame-ancestors 'self'" in csp and "object-src 'none'" in csp
    assert res.headers["x-content-type-options"] == "nosniff"
    assert res.headers["referrer-policy"] == "strict-origin-when-cross-origin"
    assert res.headers["cross-origin-opener-policy"] == "same-origin"
    assert "strict-transport-security" not in res.headers  # plain HTTP here


async def test_hsts_only_over_https(site: Portal) -> None:
    res = await site.client.get("https://testserver.local/_lists/cases")
    assert res.headers["strict-transport-security"].startswith("max-age=")


@pytest.mark.parametrize("host", ["evil.example", "testserver.local.evil.example", ""])
async def test_unknown_hosts_are_refused_before_any_handler(site: Portal, host: str) -> None:
    res = await site.client.get("/_api/case", headers={"host": host,
                                                       "x-test-contact": "bob@contoso.example"})
    assert res.status_code == 404
    assert res.json()["error"]["code"] == "unknown_host"
    assert "Printer" not in res.text


async def test_forwarded_host_is_never_believed(site: Portal) -> None:
    res = await site.client.get("/_lists/cases", headers={
        "host": "evil.example", "x-forwarded-host": "testserver.local"})
    assert res.status_code == 404


class Crashing:
    @hookimpl
    def portalis_routes(self, app_config: Any) -> list[Any]:
        @get("/boom")
        async def boom() -> None:
            raise RuntimeError("secret internal detail")

        return [boom]


async def test_server_errors_show_a_request_id_not_a_trace(
        database_url: str, caplog: pytest.LogCaptureFixture) -> None:
    async with running_portal(database_url, extra_plugins=(Crashing(),)) as portal:
        await portal.apply(CASES_SITE)
        res = await portal.get("/boom", headers={"accept": "application/json"})
        assert res.status_code == 500
        body = res.json()["error"]
        assert body["code"] == "server_error" and len(body["request_id"]) == 16
        assert "secret internal detail" not in res.text and "Traceback" not in res.text
        assert body["request_id"] in caplog.text and "secret internal detail" in caplog.text
        html = await portal.get("/boom")
        assert html.status_code == 500 and "Request id" in html.text
        assert "secret internal detail" not in html.text


async def test_cors_is_off_unless_configured(site: Portal) -> None:
    res = await site.client.options("/_api/case", headers={
        "origin": "https://other.example", "access-control-request-method": "GET"})
    assert "access-control-allow-origin" not in res.headers
