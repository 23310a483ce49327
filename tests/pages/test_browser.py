"""Browser flows in a real headless Chromium (Debian's ``/usr/bin/chromium``, driven by
Playwright's Python API) against the app served by uvicorn on 127.0.0.1.

Screenshots of the main pages go to ``test-artifacts/pages/`` (gitignored). The test-only
sign-in plugin (the ``x-test-contact`` header) stands in for the identity plugin.
"""

from __future__ import annotations

import asyncio
import socket
import threading
from collections.abc import AsyncIterator, Iterator
from contextlib import contextmanager
from pathlib import Path

import pytest
import uvicorn

from portalis.core.config import Config
from portalis.core.web.app import create_app
from tests.pages.conftest import CASES, PAGES
from tests.support.portal import running_portal
from tests.support.testlogin import TestLogin

CHROMIUM = Path("/usr/bin/chromium")
ARTIFACTS = Path(__file__).resolve().parents[2] / "test-artifacts" / "pages"
ARGS = ["--headless", "--no-sandbox", "--disable-gpu", "--disable-quic", "--no-first-run",
        "--disable-background-networking", "--disable-component-update", "--disable-sync"]

pytestmark = pytest.mark.skipif(not CHROMIUM.exists(),
                                reason="needs Debian's chromium at /usr/bin/chromium "
                                       "(apt-get install -y chromium)")


def free_port() -> int:
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return int(s.getsockname()[1])


@contextmanager
def serve(database_url: str) -> Iterator[str]:
    cfg = Config(database_url=database_url, plugins=["selfservice", "pages"],
                 secret_key="test-secret-key-not-for-production", policy_ttl=0.0,
                 default_website="cases")
    app = create_app(cfg, extra_plugins=(TestLogin(),))
    port = free_port()
    server = uvicorn.Server(uvicorn.Config(app, host="127.0.0.1", port=port,
                                           log_level="warning", lifespan="on"))
    thread = threading.Thread(target=server.run, daemon=True)
    thread.start()
    try:
        while not server.started:
            if not thread.is_alive():
                raise RuntimeError("uvicorn did not start")
            threading.Event().wait(0.05)
        yield f"http://127.0.0.1:{port}"
    finally:
        server.should_exit = True
        thread.join()


@pytest.fixture
async def base_url(database_url: str) -> AsyncIterator[str]:
    async with running_portal(database_url, plugins=["selfservice", "pages"]) as portal:
        await portal.apply(CASES)
        await portal.apply(PAGES)
    loop = asyncio.get_running_loop()
    manager = serve(database_url)
    url = await loop.run_in_executor(None, manager.__enter__)
    try:
        yield url
    finally:
        await loop.run_in_executor(None, manager.__exit__, None, None, None)


@pytest.fixture
async def browser() -> AsyncIterator[object]:
    from playwright.async_api import async_playwright

    ARTIFACTS.mkdir(parents=True, exist_ok=True)
    async with async_playwright() as pw:
        chromium = await pw.chromium.launch(executable_path=str(CHROMIUM), args=ARGS)
        try:
            yield chromium
        finally:
            await chromium.close()


async def test_an_anonymous_visitor_reads_public_pages_and_searches_knowledge(
        base_url: str, browser: object) -> None:
    context = await browser.new_context(base_url=base_url)  # type: ignore[attr-defined]
    page = await context.new_page()
    await page.goto("/")
    assert await page.title() == "Home · Contoso Support"
    assert "Welcome to Contoso Support." in await page.inner_text("main")
    nav = await page.inner_text("[data-nav=primary]")
    assert "Knowledge base" in nav and "My cases" not in nav and "Partner area" not in nav
    await page.screenshot(path=str(ARTIFACTS / "home-anonymous.png"), full_page=True)
    await page.click("[data-nav=primary] >> text=Knowledge base")
    await page.wait_for_url("**/knowledge")
    rows = await page.locator("[data-list=articles] tbody tr").all_inner_texts()
    assert any("How to reset your password" in r for r in rows)
    assert not any("draft" in r for r in rows)
    await page.screenshot(path=str(ARTIFACTS / "knowledge.png"), full_page=True)
    await page.fill("input[name=search]", "password")
    await page.click("[data-list=articles] button[type=submit]")
    await page.wait_for_url("**/knowledge?search=password")
    rows = await page.locator("[data-list=articles] tbody tr").all_inner_texts()
    assert len(rows) == 1 and "How to reset your password" in rows[0]
    await page.screenshot(path=str(ARTIFACTS / "knowledge-search.png"), full_page=True)
    await page.goto("/cases")
    assert "/_auth/login" in page.url  # restricted: sent to sign in
    await context.close()


async def test_a_contact_creates_a_case_and_cannot_open_another_accounts_case(
        base_url: str, browser: object, database_url: str) -> None:
    context = await browser.new_context(base_url=base_url)  # type: ignore[attr-defined]
    await context.set_extra_http_headers({"x-test-contact": "alice@contoso.example"})
    page = await context.new_page()
    await page.goto("/cases")
    assert "Printer offline in Building 2" in await page.inner_text("[data-list=cases]")
    await page.screenshot(path=str(ARTIFACTS / "cases-before.png"), full_page=True)
    await page.click("text=New case")
    await page.wait_for_url("**/cases/new")
    # a submit without the required fields comes back with the messages
    await page.click("[data-form=new-case] button[type=submit]")
    await page.wait_for_selector("[data-form=new-case] .alert-danger")
    errors = await page.inner_text("[data-form=new-case] .alert-danger")
    assert "Please give the case a title." in errors and "Description is required." in errors
    await page.screenshot(path=str(ARTIFACTS / "new-case-invalid.png"), full_page=True)
    await page.fill("input[name=title]", "Laptop battery drains fast")
    await page.fill("textarea[name=description]", "Empty after two hours since Monday.")
    await page.select_option("select[name=priority]", "high")
    await page.click("[data-form=new-case] button[type=submit]")
    await page.wait_for_url("**/cases/view?id=*")
    assert await page.inner_text("[data-form=case-summary] [data-field=title]") == \
        "Laptop battery drains fast"
    await page.screenshot(path=str(ARTIFACTS / "case-created.png"), full_page=True)
    await page.goto("/cases")
    listed = await page.inner_text("[data-list=cases]")
    assert "Laptop battery drains fast" in listed and "Fabrikam" not in listed
    await page.screenshot(path=str(ARTIFACTS / "cases-after.png"), full_page=True)
    # editing the URL to another account's case shows nothing of it
    async with running_portal(database_url, plugins=["selfservice", "pages"]) as portal:
        other = await portal.services.db.fetchval(
            "SELECT \"id\" FROM \"case\" WHERE \"title\" = 'Fabrikam cannot sign in'")
    await page.goto(f"/cases/view?id={other}")
    text = await page.inner_text("main")
    assert "Fabrikam cannot sign in" not in text
    assert "The record does not exist or you may not see it." in text
    await page.screenshot(path=str(ARTIFACTS / "other-account-case.png"), full_page=True)
    answer = await page.goto("/partners")
    assert answer is not None and answer.status == 403
    assert "Access denied" in await page.inner_text("main")
    await page.screenshot(path=str(ARTIFACTS / "partners-denied.png"), full_page=True)
    await context.close()
