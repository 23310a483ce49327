"""The ipfilter gate in a running portal: allow/deny lists, proxies, live setting changes.

Requests come from chosen TCP peers: an httpx ASGI transport sets the scope's client
address (the Litestar test client's own peer is the non-address ``testclient``), and one
test runs the app under uvicorn on 127.0.0.1 for a real socket peer.
"""

from __future__ import annotations

import contextlib
import json
import socket
import threading
from collections.abc import AsyncIterator, Iterator
from typing import Any

import httpx
import pytest
import uvicorn

from portalis.core import InvalidInput
from portalis.core.config import Config
from portalis.core.db import Database
from portalis.core.sites import bump_version
from portalis.core.web.app import create_app
from tests.support.portal import HOST, Portal

SITE = """
website:
  key: ipf
  title: IP filtered portal
  hosts: [{host}]
settings:
{settings}
"""


def site_file(host: str = HOST, **given: str) -> str:
    """The test site; settings not given are written empty, so re-applying replaces all."""
    settings = {"Allow": "", "Deny": "", "TrustedProxies": "", "ForwardedHeader": "auto",
                **given}
    lines = [f"  IpRestrictions/{name}: {json.dumps(value)}" for name, value in settings.items()]
    return SITE.format(host=host, settings="\n".join(lines) or "  {}")


class IpPortal(Portal):
    """A portal whose requests can come from any TCP peer."""

    def __init__(self, portal: Portal, app: Any) -> None:
        super().__init__(portal.services, portal.client)
        self.app = app

    async def get_from(self, peer: str, path: str = "/",
                       headers: dict[str, str] | None = None) -> httpx.Response:
        """GET ``path`` as if the TCP peer were ``peer``."""
        transport = httpx.ASGITransport(app=self.app, client=(peer, 40123))
        async with httpx.AsyncClient(transport=transport, base_url=f"http://{HOST}") as client:
            return await client.get(path, headers=headers or {})


@contextlib.asynccontextmanager
async def ip_portal(database_url: str, **settings: str) -> AsyncIterator[IpPortal]:
    config = Config(database_url=database_url, plugins=["selfservice", "ipfilter"],
                    secret_key="test-secret-key-not-for-production", policy_ttl=0.0)
    app = create_app(config)
    for hook in app.on_startup:
        await hook(app)
    try:
        transport = httpx.ASGITransport(app=app, client=("testclient", 50000))
        async with httpx.AsyncClient(transport=transport, base_url=f"http://{HOST}") as client:
            portal = IpPortal(Portal(app.state.services, client), app)
            await portal.apply(site_file(**settings))
            yield portal
    finally:
        for hook in app.on_shutdown:
            await hook(app)


async def get_from(portal: IpPortal, peer: str, path: str = "/",
                   headers: dict[str, str] | None = None) -> httpx.Response:
    return await portal.get_from(peer, path, headers)


async def status_from(portal: IpPortal, peer: str, **kw: Any) -> int:
    return (await get_from(portal, peer, **kw)).status_code


async def test_no_settings_lets_everyone_in(database_url: str) -> None:
    async with ip_portal(database_url) as portal:
        for peer in ("10.1.2.3", "198.51.100.7", "2001:db8::1"):
            assert await status_from(portal, peer) == 200
        assert (await portal.get("/")).status_code == 200  # peer 'testclient'


async def test_ipv4_addresses_and_ranges(database_url: str) -> None:
    async with ip_portal(database_url, Allow="10.0.0.0/8, 192.0.2.7") as portal:
        assert await status_from(portal, "10.1.2.3") == 200
        assert await status_from(portal, "10.255.255.255") == 200
        assert await status_from(portal, "192.0.2.7") == 200
        assert await status_from(portal, "192.0.2.8") == 403
        assert await status_from(portal, "11.0.0.1") == 403


async def test_ipv6_ranges_and_mapped_ipv4(database_url: str) -> None:
    async with ip_portal(database_url, Allow="2001:db8::/32\n10.0.0.0/8") as portal:
        assert await status_from(portal, "2001:db8::5") == 200
        assert await status_from(portal, "2001:db8:ffff::1") == 200
        assert await status_from(portal, "2001:db9::1") == 403
        assert await status_from(portal, "::ffff:10.1.1.1") == 200
        assert await status_from(portal, "::ffff:11.1.1.1") == 403


async def test_deny_wins_and_deny_only_lists(database_url: str) -> None:
    async with ip_portal(database_url, Allow="10.0.0.0/8", Deny="10.9.0.0/16") as portal:
        assert await status_from(portal, "10.8.1.1") == 200
        assert await status_from(portal, "10.9.1.1") == 403
    async with ip_portal(database_url, Deny="203.0.113.0/24, 2001:db8:bad::/48") as portal:
        assert await status_from(portal, "203.0.113.9") == 403
        assert await status_from(portal, "2001:db8:bad::7") == 403
        assert await status_from(portal, "198.51.100.7") == 200
        assert await status_from(portal, "2001:db8:900d::7") == 200


async def test_blocked_page_html_and_json(database_url: str) -> None:
    async with ip_portal(database_url, Allow="10.0.0.0/8") as portal:
        page = await get_from(portal, "198.51.100.7", path="/")
        assert page.status_code == 403
        assert page.headers["content-type"].startswith("text/html")
        assert "Access denied" in page.text
        assert "198.51.100.7" in page.text
        assert "10.0.0.0" not in page.text  # the rules are not disclosed
        assert page.headers["cache-control"] == "no-store"

        api = await get_from(portal, "198.51.100.7", path="/_api/contact")
        assert api.status_code == 403
        assert api.json()["error"]["code"] == "ip_blocked"
        assert api.json()["error"]["address"] == "198.51.100.7"

        accept = await get_from(portal, "198.51.100.7", path="/",
                                headers={"accept": "application/json"})
        assert accept.status_code == 403
        assert accept.json()["error"]["code"] == "ip_blocked"

        assert (await get_from(portal, "10.0.0.1", path="/")).status_code == 200


async def test_spoofed_forwarding_headers_from_untrusted_peer_do_not_get_in(
        database_url: str) -> None:
    spoof = {"x-forwarded-for": "10.1.1.1", "forwarded": "for=10.1.1.1"}
    async with ip_portal(database_url, Allow="10.0.0.0/8") as portal:  # no trusted proxy
        assert await status_from(portal, "198.51.100.7", headers=spoof) == 403
    async with ip_portal(database_url, Allow="10.0.0.0/8",
                         TrustedProxies="127.0.0.1") as portal:
        # a proxy is trusted, but this request did not come through it
        assert await status_from(portal, "198.51.100.7", headers=spoof) == 403
        # through the proxy, an address the client prepended is not believed: the proxy
        # appended the real one (the right-most untrusted hop)
        chain = {"x-forwarded-for": "10.1.1.1, 198.51.100.7"}
        assert await status_from(portal, "127.0.0.1", headers=chain) == 403


async def test_trusted_proxy_headers_are_honoured(database_url: str) -> None:
    async with ip_portal(database_url, Allow="10.0.0.0/8",
                         TrustedProxies="127.0.0.1, 172.16.0.0/12") as portal:
        xff = {"x-forwarded-for": "10.1.1.1"}
        assert await status_from(portal, "127.0.0.1", headers=xff) == 200
        two_proxies = {"x-forwarded-for": "10.1.1.1, 172.16.0.9"}
        assert await status_from(portal, "127.0.0.1", headers=two_proxies) == 200
        outside = {"x-forwarded-for": "198.51.100.7"}
        assert await status_from(portal, "127.0.0.1", headers=outside) == 403
        # the proxy itself is not on the allow list: without a header it is the client
        assert await status_from(portal, "127.0.0.1") == 403
    async with ip_portal(database_url, Allow="10.0.0.0/8", TrustedProxies="127.0.0.1",
                         ForwardedHeader="forwarded") as portal:
        fwd = {"forwarded": 'for="10.1.1.1:5000";proto=https'}
        assert await status_from(portal, "127.0.0.1", headers=fwd) == 200
        # with ForwardedHeader=forwarded, an X-Forwarded-For passed through is ignored
        both = {"forwarded": "for=198.51.100.7", "x-forwarded-for": "10.1.1.1"}
        assert await status_from(portal, "127.0.0.1", headers=both) == 403


async def test_setting_changes_apply_without_restart(database_url: str) -> None:
    async with ip_portal(database_url, Allow="10.0.0.0/8") as portal:
        assert await status_from(portal, "198.51.100.7") == 403
        assert await status_from(portal, "10.1.1.1") == 200
        await portal.apply(site_file(Allow="198.51.100.0/24"))
        assert await status_from(portal, "198.51.100.7") == 200
        assert await status_from(portal, "10.1.1.1") == 403
        # a change written by another process (straight to the database, version bumped)
        db = portal.services.db
        async with db.transaction() as conn:
            await conn.execute(
                'DELETE FROM "portalis_site_setting" WHERE "name" = ?', "IpRestrictions/Allow")
            website = await conn.fetchval(
                'SELECT "id" FROM "portalis_website" WHERE "key" = ?', "ipf")
            await bump_version(conn, website)
        assert await status_from(portal, "10.1.1.1") == 200
        assert await status_from(portal, "198.51.100.7") == 200


async def test_non_address_peer_passes_only_without_an_allow_list(database_url: str) -> None:
    async with ip_portal(database_url, Deny="203.0.113.0/24") as portal:
        assert (await portal.get("/")).status_code == 200  # peer 'testclient'
    async with ip_portal(database_url, Allow="10.0.0.0/8") as portal:
        r = await portal.get("/", headers={"accept": "application/json"})
        assert r.status_code == 403
        assert r.json()["error"]["address"] == "unknown"


async def test_malformed_settings_are_refused_and_fail_closed(database_url: str) -> None:
    async with ip_portal(database_url) as portal:
        with pytest.raises(InvalidInput) as err:
            await portal.apply(site_file(Allow="10.0.0.1/24"))
        assert "did you mean 10.0.0.0/24" in err.value.message
        with pytest.raises(InvalidInput) as err:
            await portal.apply(site_file(ForwardedHeader="x-real-ip"))
        assert "ForwardedHeader" in err.value.message
        assert await status_from(portal, "198.51.100.7") == 200  # nothing was applied
        # a malformed value that bypassed the site file: refuse everyone, never open up
        db = portal.services.db
        async with db.transaction() as conn:
            website = await conn.fetchval(
                'SELECT "id" FROM "portalis_website" WHERE "key" = ?', "ipf")
            await conn.execute(
                'UPDATE "portalis_site_setting" SET "value" = ? WHERE "website" = ? '
                'AND "name" = ?', "10.0.0.0/8, oops", website, "IpRestrictions/Allow")
            await bump_version(conn, website)
        assert await status_from(portal, "10.1.1.1") == 403
        assert await status_from(portal, "198.51.100.7") == 403


# --- a real socket: uvicorn on 127.0.0.1 --------------------------------------------------


def free_port() -> int:
    with socket.socket() as sock:
        sock.bind(("127.0.0.1", 0))
        return int(sock.getsockname()[1])


@contextlib.contextmanager
def serving(app: Any) -> Iterator[str]:
    port = free_port()
    # proxy_headers=False: uvicorn would otherwise rewrite the peer from X-Forwarded-For
    # for requests from 127.0.0.1 itself, before the per-website TrustedProxies apply.
    server = uvicorn.Server(uvicorn.Config(app, host="127.0.0.1", port=port,
                                           log_level="warning", lifespan="on",
                                           proxy_headers=False))
    thread = threading.Thread(target=server.run, daemon=True)
    thread.start()
    try:
        while not server.started:
            if not thread.is_alive():
                raise RuntimeError("uvicorn did not start")
            threading.Event().wait(0.02)
        yield f"http://127.0.0.1:{port}"
    finally:
        server.should_exit = True
        thread.join(timeout=10)


async def test_real_socket_peer(database_url: str) -> None:
    config = Config(database_url=database_url, plugins=["selfservice", "ipfilter"],
                    secret_key="test-secret-key-not-for-production", policy_ttl=0.0,
                    default_website="ipf")
    async with ip_portal(database_url, Allow="127.0.0.1, ::1"):
        pass
    app = create_app(config)
    with serving(app) as base:
        async with httpx.AsyncClient(base_url=base) as client:
            assert (await client.get("/")).status_code == 200
            spoof = {"x-forwarded-for": "10.1.1.1", "accept": "application/json"}
            db = Database(database_url)  # the app's own connections live in uvicorn's loop
            await db.connect()
            try:
                async with db.transaction() as conn:
                    website = await conn.fetchval(
                        'SELECT "id" FROM "portalis_website" WHERE "key" = ?', "ipf")
                    await conn.execute(
                        'UPDATE "portalis_site_setting" SET "value" = ? WHERE "website" = ? '
                        'AND "name" = ?', "10.0.0.0/8", website, "IpRestrictions/Allow")
                    await bump_version(conn, website)
            finally:
                await db.close()
            blocked = await client.get("/", headers=spoof)
            assert blocked.status_code == 403
            assert blocked.json()["error"]["address"] == "127.0.0.1"
