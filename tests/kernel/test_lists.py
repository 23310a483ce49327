"""Lists: permission-filtered pages, search, sort, 'mine' filters, cursors, statement counts."""

from __future__ import annotations

from pathlib import Path

import pytest

from portalis.core import hookimpl
from portalis.core.principal import Principal
from tests.conftest import CASES_SITE
from tests.support.portal import Portal, running_portal

JSON = {"accept": "application/json"}
ALICE, BOB, CAROL = "alice@contoso.example", "bob@contoso.example", "carol@fabrikam.example"


async def add_cases(portal: Portal, n: int, customer_email: str = BOB) -> None:
    services = portal.services
    site_id = await services.sites.website_for_key("cases")
    assert site_id is not None
    system = Principal.for_system(site_id)
    contact = (await portal.records.list(system, "contact", limit=10)).rows
    bob = next(c for c in contact if c["email"] == customer_email)
    for i in range(n):
        await portal.records.create(system, "case", {
            "title": f"bulk case {i:05d}", "customer": bob["id"], "account": bob["account"],
            "status": "open"})


async def test_anonymous_sees_published_articles_only(cases: Portal) -> None:
    res = await cases.get("/_lists/articles", headers=JSON)
    titles = [r["title"] for r in res.json()["value"]]
    assert titles == ["How to reset your password", "Opening a support case"]


async def test_search_with_wildcard_and_without(cases: Portal) -> None:
    res = await cases.get("/_lists/articles?search=pass", headers=JSON)
    assert [r["title"] for r in res.json()["value"]] == ["How to reset your password"]
    res = await cases.get("/_lists/articles?search=Open*case", headers=JSON)
    assert [r["title"] for r in res.json()["value"]] == ["Opening a support case"]
    res = await cases.get("/_lists/articles?search=maintenance", headers=JSON)
    assert res.json()["value"] == []  # the draft matches but is filtered out by the list


async def test_mine_filter_and_row_actions(cases: Portal) -> None:
    res = await cases.get("/_lists/cases?filter=mine", who=BOB, headers=JSON)
    assert [r["title"] for r in res.json()["value"]] == ["Invoice address is wrong"]
    res = await cases.get("/_lists/cases?filter=account", who=BOB, headers=JSON)
    rows = res.json()["value"]
    assert len(rows) == 2 and all(r["_can_write"] and not r["_can_delete"] for r in rows)


async def test_sort_by_list_column_only(cases: Portal) -> None:
    res = await cases.get("/_lists/cases?sort=title", who=BOB, headers=JSON)
    assert [r["title"] for r in res.json()["value"]] == [
        "Invoice address is wrong", "Printer offline in Building 2"]
    res = await cases.get("/_lists/cases?sort=-title", who=BOB, headers=JSON)
    assert res.json()["value"][0]["title"] == "Printer offline in Building 2"
    res = await cases.get("/_lists/cases?sort=description", who=BOB, headers=JSON)
    assert res.status_code == 400 and res.json()["error"]["code"] == "invalid_sort"


async def test_cursor_links_walk_forward_and_back(cases: Portal) -> None:
    await add_cases(cases, 25)
    seen: list[str] = []
    url = "/_lists/cases"
    pages = []
    while url:
        body = (await cases.get(url, who=BOB, headers=JSON)).json()
        pages.append(body)
        seen += [r["title"] for r in body["value"]]
        url = body["next"]
    assert len(seen) == 27 and len(set(seen)) == 27
    assert [len(p["value"]) for p in pages] == [10, 10, 7]
    back = (await cases.get(pages[2]["previous"], who=BOB, headers=JSON)).json()
    assert back["value"] == pages[1]["value"]
    html = await cases.get(pages[0]["next"].replace("&", "&"), who=BOB)
    assert 'rel="prev"' in html.text and 'rel="next"' in html.text


async def test_malformed_cursor_is_a_400(cases: Portal) -> None:
    res = await cases.get("/_lists/cases?cursor=not-a-cursor", who=BOB, headers=JSON)
    assert res.status_code == 400 and res.json()["error"]["code"] == "invalid_cursor"


async def test_unknown_list_is_404(cases: Portal) -> None:
    res = await cases.get("/_lists/nope", headers=JSON)
    assert res.status_code == 404 and res.json()["error"]["code"] == "unknown_list"
    html = await cases.get("/_lists/nope")
    assert html.status_code == 404 and "no list" in html.text and "Traceback" not in html.text


async def page_statements(portal: Portal, url: str) -> tuple[int, dict]:
    db = portal.services.db
    await portal.get(url, who=BOB, headers=JSON)  # warm the site cache
    before = db.statement_count
    res = await portal.get(url, who=BOB, headers=JSON)
    assert res.status_code == 200
    return db.statement_count - before, res.json()


async def test_one_list_page_costs_the_same_statements_at_any_size_and_depth(
        cases: Portal) -> None:
    small, body = await page_statements(cases, "/_lists/cases")
    await add_cases(cases, 300)
    large, body = await page_statements(cases, "/_lists/cases")
    url = "/_lists/cases"
    for _ in range(25):  # walk 25 pages deep
        url = body["next"]
        deep, body = await page_statements(cases, url)
    # site version check (policy_ttl=0 in tests) + test sign-in (email lookup, contact, roles)
    # + ONE list query
    assert small == large == deep == 5, (small, large, deep)


@pytest.mark.parametrize("who", [None, ALICE, CAROL])
async def test_no_contact_sees_another_accounts_cases(cases: Portal, who: str | None) -> None:
    res = await cases.get("/_lists/cases", who=who, headers=JSON)
    titles = {r["title"] for r in res.json()["value"]}
    foreign = {None: {"Printer offline in Building 2", "Invoice address is wrong",
                      "Fabrikam cannot sign in"},
               ALICE: {"Invoice address is wrong", "Fabrikam cannot sign in"},
               CAROL: {"Printer offline in Building 2", "Invoice address is wrong"}}[who]
    assert not titles & foreign


async def test_html_list_in_the_kernel_template_and_in_a_plugins_own(database_url: str,
                                                                     tmp_path: Path) -> None:
    """The kernel's list.liquid is rendered in Python (tests/kernel/test_list_rows.py);
    a plugin that ships its own list.liquid gets it rendered by Liquid, with ``rows``."""
    async with running_portal(database_url) as portal:
        await portal.apply(CASES_SITE)
        page = (await portal.get("/_lists/cases", who=BOB)).text
        assert page.count("<tr data-id=") == 2 and 'data-list="cases"' in page
        assert "<title>Cases · Contoso Support</title>" in page  # inside the site layout
    (tmp_path / "list.liquid").write_text(
        '<ol id="own">{% for row in rows %}<li>{{ row.cells[0] }}|{{ row.can_write }}</li>'
        "{% endfor %}</ol>{{ next_url }}")

    class OwnTemplates:
        @hookimpl
        def portalis_template_dirs(self) -> list[str]:
            return [str(tmp_path)]

    async with running_portal(database_url, extra_plugins=(OwnTemplates(),)) as portal:
        page = (await portal.get("/_lists/cases?sort=title", who=BOB)).text
    assert ('<ol id="own"><li>Invoice address is wrong|true</li>'
            "<li>Printer offline in Building 2|true</li></ol>") in page
    assert 'data-list="cases"' not in page and "<title>Cases · Contoso Support</title>" in page
