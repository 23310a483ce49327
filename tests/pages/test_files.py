"""Web files: served with their content type, ETag and 304; parent-page rules apply;
uploads are sniffed against the declared type and the name, and size-limited (413)."""

from __future__ import annotations

import base64

import pytest

from portalis.core import InvalidInput
from tests.pages.helpers import apply_sections
from tests.support.portal import Portal

WENDY = "wendy@contoso.example"  # Grant Change on the home page
ALICE = "alice@contoso.example"
FRANK = "frank@contoso.example"  # partner
PNG = base64.b64decode(
    "iVBORw0KGgoAAAANSUhEUgAAAAEAAAABCAYAAAAfFcSJAAAADUlEQVR42mP8z8BQDwAEhQGAhKmMIQAAAABJRU5ErkJggg==")
GIF = b"GIF89a\x01\x00\x01\x00\x80\x00\x00\xff\xff\xff\x00\x00\x00!\xf9\x04\x01\x00\x00\x00\x00,"


async def test_files_are_served_with_type_etag_and_304(site: Portal) -> None:
    css = await site.get("/css/site.css")
    assert css.status_code == 200
    assert css.headers["content-type"] == "text/css; charset=utf-8"
    assert css.headers["x-content-type-options"] == "nosniff"
    assert css.text == ".lead { font-weight: 600; }"
    etag = css.headers["etag"]
    assert etag.startswith('"') and len(etag) > 10
    again = await site.get("/css/site.css", headers={"if-none-match": etag})
    assert again.status_code == 304 and again.content == b""
    assert again.headers["etag"] == etag
    other = await site.get("/css/site.css", headers={"if-none-match": '"something-else"'})
    assert other.status_code == 200
    page = await site.get("/")
    assert '<link rel="stylesheet" href="/css/site.css">' in page.text


async def test_files_follow_their_parent_pages_rules(site: Portal) -> None:
    anon = await site.get("/partners/logo.png", follow_redirects=False)
    assert anon.status_code == 302 and anon.headers["location"].startswith("/_auth/login")
    assert (await site.get("/partners/logo.png", who=ALICE)).status_code == 403
    logo = await site.get("/partners/logo.png", who=FRANK)
    assert logo.status_code == 200 and logo.headers["content-type"] == "image/png"
    assert logo.content == PNG


async def upload(site: Portal, who: str | None, name: str, content: bytes,
                 declared: str, **data: str) -> object:
    return await site.send("POST", "/_pages/files", who=who,
                           files={"file": (name, content, declared)}, data=data,
                           headers={"accept": "application/json"})


async def test_a_maker_uploads_an_image(site: Portal) -> None:
    answer = await upload(site, WENDY, "logo.png", PNG, "image/png", path="img/logo.png")
    assert answer.status_code == 201, answer.text
    assert answer.json()["content_type"] == "image/png"
    served = await site.get("/img/logo.png")
    assert served.status_code == 200 and served.content == PNG
    js = await upload(site, WENDY, "app.js", b"console.log('hi');", "application/javascript")
    assert js.status_code == 201, js.text
    script = await site.get("/app.js")
    assert script.headers["content-type"] == "text/javascript; charset=utf-8"


async def test_oversized_uploads_get_413_with_a_message(site: Portal) -> None:
    big = PNG + b"\x00" * (1_048_576 + 1 - len(PNG))
    answer = await upload(site, WENDY, "big.png", big, "image/png")
    assert answer.status_code == 413
    assert answer.json()["error"]["message"] == \
        "the file is larger than the limit of 1048576 bytes"
    await apply_sections(site, settings={"WebFiles/MaxSize": 100})
    small_limit = await upload(site, WENDY, "b.css", b"a{}" * 40, "text/css")
    assert small_limit.status_code == 413 and "100 bytes" in small_limit.text
    assert (await site.get("/big.png")).status_code == 404


@pytest.mark.parametrize("name, content, declared, problem", [
    ("logo.png", b"body { color: red }", "image/png", "not a image/png image"),
    ("logo.png", GIF, "image/png", "it looks like image/gif"),
    ("logo.png", PNG, "image/gif", "does not match the file name"),
    ("site.css", PNG, "text/css", "not UTF-8"),
    ("site.css", b"<html><script>alert(1)</script></html>", "text/css", "not UTF-8"),
    ("evil.svg", b"<svg onload='alert(1)'/>", "image/svg+xml", "must end in one of"),
    ("run.exe", b"MZ\x90\x00", "application/octet-stream", "must end in one of"),
    ("empty.js", b"", "text/javascript", "empty"),
])
async def test_wrongly_typed_uploads_are_refused(site: Portal, name: str, content: bytes,
                                                 declared: str, problem: str) -> None:
    answer = await upload(site, WENDY, name, content, declared)
    assert answer.status_code in (400, 415), answer.text
    assert problem in answer.json()["error"]["message"]
    assert (await site.get("/" + name)).status_code == 404


async def test_uploads_need_grant_change_and_csrf(site: Portal) -> None:
    assert (await upload(site, ALICE, "a.png", PNG, "image/png")).status_code == 403
    assert (await upload(site, None, "a.png", PNG, "image/png")).status_code == 403
    no_csrf = await site.send("POST", "/_pages/files", who=WENDY, csrf=False,
                              files={"file": ("a.png", PNG, "image/png")})
    assert no_csrf.status_code == 403
    taken = await upload(site, WENDY, "x.png", PNG, "image/png", path="_api/x.png")
    assert taken.status_code == 400
    assert (await site.get("/a.png")).status_code == 404


async def test_site_files_validate_web_files_too(site: Portal) -> None:
    with pytest.raises(InvalidInput) as refused:
        await apply_sections(site, web_files=[{"key": "fake", "path": "/fake.png",
                                               "text": "not an image"}])
    assert "web_files[fake]" in refused.value.message
    assert "not a image/png image" in refused.value.message
