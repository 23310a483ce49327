"""Web page access-control rules over HTTP: Restrict Read (with inheritance), Grant Change
(implies read, takes precedence), navigation, drafts, anonymous sign-in redirects."""

from __future__ import annotations

import re
from urllib.parse import parse_qs, urlparse

from tests.support.portal import Portal

ALICE = "alice@contoso.example"  # customer
ERIN = "erin@contoso.example"  # partner + customer
FRANK = "frank@contoso.example"  # partner only
DAVE = "dave@contoso.example"  # editor (Grant Change on partner-news only)
WENDY = "wendy@contoso.example"  # webmaster (Grant Change on home: the whole tree)


def nav(html: str) -> list[str]:
    block = html.split('data-nav="primary"', 1)[1].split("</ul>", 1)[0]
    return re.findall(r'href="([^"]+)"', block)


async def test_pages_without_rules_are_public(site: Portal) -> None:
    home = await site.get("/")
    assert home.status_code == 200
    assert 'data-page="home"' in home.text and "Welcome to Contoso Support" in home.text
    kb = await site.get("/knowledge")
    assert kb.status_code == 200 and "Knowledge base" in kb.text
    assert "How to reset your password" in kb.text
    assert "Upcoming maintenance (draft)" not in kb.text  # the list's own filter
    assert "Edit this page" not in kb.text  # no rules: nobody changes


async def test_restrict_read_redirects_anonymous_visitors_to_sign_in(site: Portal) -> None:
    answer = await site.get("/cases/view?id=1", follow_redirects=False)
    assert answer.status_code == 302
    location = urlparse(answer.headers["location"])
    assert location.path == "/_auth/login"
    assert parse_qs(location.query)["next"] == ["/cases/view?id=1"]


async def test_restrict_read_answers_403_to_signed_in_contacts_without_a_role(
        site: Portal) -> None:
    for who, url in ((DAVE, "/cases"), (ALICE, "/partners"), (FRANK, "/cases/new")):
        answer = await site.get(url, who=who, follow_redirects=False)
        assert answer.status_code == 403, (who, url)
        assert "Access denied" in answer.text
    assert (await site.get("/cases", who=ALICE)).status_code == 200
    assert (await site.get("/partners", who=FRANK)).status_code == 200


async def test_restrict_read_is_inherited_by_child_pages(site: Portal) -> None:
    # /cases restricts to customers; its children have no rules of their own
    assert (await site.get("/cases/new", who=DAVE)).status_code == 403
    assert (await site.get("/cases/new", who=ALICE)).status_code == 200


async def test_rules_of_every_ancestor_apply(site: Portal) -> None:
    # /partners: partner only; /partners/docs adds customer; a visitor needs both
    assert (await site.get("/partners/docs", who=FRANK)).status_code == 403
    assert (await site.get("/partners/docs", who=ALICE)).status_code == 403
    docs = await site.get("/partners/docs", who=ERIN)
    assert docs.status_code == 200 and "Price lists" in docs.text


async def test_restricted_pages_vanish_from_navigation(site: Portal) -> None:
    assert nav((await site.get("/")).text) == [
        "/knowledge", "/about", "/_lists/cases"]
    assert nav((await site.get("/", who=ALICE)).text) == [
        "/knowledge", "/cases", "/about", "/_lists/cases"]
    assert nav((await site.get("/", who=ERIN)).text) == [
        "/knowledge", "/cases", "/partners", "/about", "/_lists/cases"]
    # child-page listings follow the same rules
    partners = await site.get("/partners", who=FRANK)
    children = partners.text.split("data-children>", 1)[1]
    assert "/partners/news" in children and "/partners/docs" not in children


async def test_grant_change_implies_read_and_beats_restrict_read(site: Portal) -> None:
    # Dave is no partner: the Restrict Read of /partners keeps him out ...
    assert (await site.get("/partners", who=DAVE)).status_code == 403
    # ... but Grant Change on /partners/news lets him read and edit that page
    news = await site.get("/partners/news", who=DAVE)
    assert news.status_code == 200 and "Edit this page" in news.text
    assert 'href="/partners"' not in news.text  # not even in the breadcrumbs
    form = await site.get("/_pages/edit/" + page_id(news.text), who=DAVE)
    assert form.status_code == 200 and "News for partners." in form.text
    # Frank (partner) reads the news but may not change it
    frank = await site.get("/partners/news", who=FRANK)
    assert frank.status_code == 200 and "Edit this page" not in frank.text


def page_id(html: str) -> str:
    match = re.search(r'href="/_pages/edit/(\d+)"', html)
    assert match, "no edit link on the page"
    return match.group(1)


async def test_grant_change_lets_the_role_edit_the_branch(site: Portal) -> None:
    news = await site.get("/partners/news", who=DAVE)
    pid = page_id(news.text)
    saved = await site.send("POST", f"/_pages/edit/{pid}", who=DAVE, follow_redirects=False,
                            data={"title": "Partner news", "state": "published",
                                  "content": "<p>The {{ website.title }} partner day is on "
                                             "Friday.</p>"})
    assert saved.status_code == 303 and saved.headers["location"] == "/partners/news"
    shown = await site.get("/partners/news", who=FRANK)
    assert "The Contoso Support partner day is on Friday." in shown.text
    # Wendy's Grant Change on the home page covers the whole tree
    kb = await site.get("/knowledge", who=WENDY)
    assert "Edit this page" in kb.text
    docs = await site.get("/partners/docs", who=WENDY)
    assert docs.status_code == 200


async def test_without_grant_change_nobody_edits(site: Portal) -> None:
    news = await site.get("/partners/news", who=DAVE)
    pid = page_id(news.text)
    for who in (FRANK, ERIN, None):
        answer = await site.send("POST", f"/_pages/edit/{pid}", who=who,
                                 follow_redirects=False,
                                 data={"title": "x", "content": "defaced", "state": "published"})
        assert answer.status_code in (403, 404), who
        form = await site.get(f"/_pages/edit/{pid}", who=who, follow_redirects=False)
        assert form.status_code in (302, 403, 404), who
    assert "defaced" not in (await site.get("/partners/news", who=FRANK)).text
    assert "News for partners." in (await site.get("/partners/news", who=FRANK)).text


async def test_draft_pages_are_seen_only_by_those_who_may_change_them(site: Portal) -> None:
    assert (await site.get("/upcoming")).status_code == 404
    assert (await site.get("/upcoming", who=ALICE)).status_code == 404
    assert "/upcoming" not in nav((await site.get("/", who=ALICE)).text)
    draft = await site.get("/upcoming", who=WENDY)
    assert draft.status_code == 200 and "draft" in draft.text


async def test_kernel_routes_are_not_taken_over(site: Portal) -> None:
    assert (await site.get("/_health")).json() == {"status": "ok"}
    listed = await site.get("/_lists/articles", headers={"accept": "application/json"})
    assert listed.status_code == 200 and listed.json()["list"] == "articles"
    assert (await site.get("/_static/bootstrap.min.css")).status_code == 200
    assert (await site.get("/no/such/page")).status_code == 404


async def test_home_without_a_root_page_is_the_kernels(database_url: str) -> None:
    from tests.pages.conftest import CASES
    from tests.support.portal import running_portal

    async with running_portal(database_url, plugins=["selfservice", "pages"]) as portal:
        await portal.apply(CASES)
        home = await portal.get("/")
        assert home.status_code == 200
        assert "Use the navigation to open the lists you may see." in home.text


async def test_each_website_serves_only_its_own_pages_and_files(site: Portal) -> None:
    import yaml

    await site.apply(yaml.safe_dump({
        "website": {"key": "fabrikam", "title": "Fabrikam Partners", "hosts": ["other.local"]},
        "pages": [{"key": "home", "partial_url": "/", "title": "Fabrikam home",
                   "content": "<p>Fabrikam only.</p>"}],
    }))
    other = {"host": "other.local"}
    home = await site.get("/", headers=other)
    assert "Fabrikam only." in home.text and "Contoso" not in home.text
    assert (await site.get("/knowledge", headers=other)).status_code == 404
    assert (await site.get("/css/site.css", headers=other)).status_code == 404
    assert "Fabrikam only." not in (await site.get("/")).text


async def test_a_restricted_root_page_guards_the_home_url(site: Portal) -> None:
    from tests.pages.helpers import apply_sections

    await apply_sections(site, pages=[{"key": "home", "partial_url": "/", "title": "Home",
                                       "content": "<p>Members only.</p>",
                                       "restrict_read": ["customer"]}])
    anon = await site.get("/", follow_redirects=False)
    assert anon.status_code == 302 and anon.headers["location"].startswith("/_auth/login?")
    assert (await site.get("/", who=DAVE)).status_code == 403
    assert "Members only." in (await site.get("/", who=ALICE)).text
    # the whole tree under the root inherits the rule
    assert (await site.get("/knowledge", follow_redirects=False)).status_code == 302
