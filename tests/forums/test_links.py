"""Absolute links in emails and the feed come from the website's configured host, never
from the request's Host header: https, plain http only for loopback demo hosts."""

from __future__ import annotations

from types import SimpleNamespace

import pytest

from portalis.plugins.forums.links import base_url, link
from tests.forums.forumsite import ALICE, forum_portal


@pytest.mark.parametrize(("host", "expected"), [
    ("community.example", "https://community.example"),
    ("testserver.local", "https://testserver.local"),
    ("localhost", "http://localhost"),
    ("127.0.0.1", "http://127.0.0.1"),
    ("[::1]", "http://[::1]"),
    ("localhost.example", "https://localhost.example"),
    ("127.0.0.1.example", "https://127.0.0.1.example"),
])
def test_https_except_for_loopback_hosts(host: str, expected: str) -> None:
    assert base_url(SimpleNamespace(primary_host=host)) == expected


def test_link_has_query_and_fragment() -> None:
    site = SimpleNamespace(primary_host="community.example")
    assert link(site, "/forums/unsubscribe", s=1, t="a b") == (
        "https://community.example/forums/unsubscribe?s=1&t=a+b")
    assert link(site, "/forums/threads/3", "post-4") == (
        "https://community.example/forums/threads/3#post-4")


async def test_the_feed_links_to_the_configured_host_not_the_request_host(
        database_url: str) -> None:
    async with forum_portal(database_url) as fp:
        lounge = await fp.forum_id("lounge")
        thread, post = await fp.thread(ALICE, lounge, "Linked", "feed me")
        feed = await fp.get("/forums/feed", None, headers={"x-forwarded-host": "evil.example"})
        assert feed.status_code == 200
        assert f"https://testserver.local/forums/threads/{thread}#post-{post}" in feed.text
        assert "evil.example" not in feed.text and "http://testserver" not in feed.text
