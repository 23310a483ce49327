"""Knowledge-base search (FTS5 / PostgreSQL full text), article views and tracking."""

from __future__ import annotations

from pathlib import Path

from portalis.core.principal import Principal
from portalis.plugins.selfservice.reports import top_articles, top_searches
from portalis.plugins.selfservice.search import mark, rebuild, to_fts5_query
from portalis.plugins.selfservice.store import InteractionStore
from tests.support.portal import Portal

KB_SITE = (Path(__file__).parent / "kb_site.yaml").read_text()
DANA, ERIN = "dana@example.com", "erin@partner.example"


async def kb(portal: Portal) -> tuple[Portal, int]:
    website_id = await portal.apply(KB_SITE)
    return portal, website_id


async def search(portal: Portal, q: str, who: str | None = None) -> list[dict]:
    res = await portal.get("/_kb/search", params={"q": q}, who=who)
    assert res.status_code == 200, res.text
    return res.json()["value"]  # type: ignore[no-any-return]


async def test_ranked_and_highlighted(portal: Portal) -> None:
    await kb(portal)
    results = await search(portal, "printer")
    titles = [r["title"] for r in results]
    # the article about printers (title + body) ranks above the one that mentions one
    assert titles.index("Printer setup guide") < titles.index("Office equipment overview")
    assert results[0]["title"] == "Printer setup guide"
    assert [r["rank"] for r in results] == sorted((r["rank"] for r in results), reverse=True)
    top = results[0]
    assert "<mark>Printer</mark>" in top["title_html"]
    assert "<mark>printer</mark>" in top["snippet_html"]
    assert top["url"] == f"/_kb/articles/{top['id']}"
    # stemming: "printers" finds "printer"
    assert "Printer setup guide" in [r["title"] for r in await search(portal, "printers")]
    assert [r["title"] for r in await search(portal, "vpn client")] == ["Connecting to the VPN"]
    assert await search(portal, "zebra") == []


async def test_unpublished_and_restricted_never_returned(portal: Portal) -> None:
    await kb(portal)
    for who in (None, DANA):
        titles = [r["title"] for r in await search(portal, "printer", who)]
        assert "Printer recall notice" not in titles  # draft
        assert "Partner printer discounts" not in titles  # permission filter
    partner = [r["title"] for r in await search(portal, "printer", ERIN)]
    assert "Partner printer discounts" in partner
    assert "Printer recall notice" not in partner
    assert [r["title"] for r in await search(portal, "discount", DANA)] == []


async def test_snippets_are_escaped(portal: Portal) -> None:
    await kb(portal)
    [hit] = await search(portal, "restart")
    assert hit["title"] == "Scripts in articles"
    assert "<script>" not in hit["snippet_html"]
    assert "1 &lt; 2 &amp; then <mark>restart</mark>" in hit["snippet_html"]
    # whatever the engine's snippet holds is escaped; only the highlight becomes markup
    assert mark("a <b>\x02x\x03</b> & c") == "a &lt;b&gt;<mark>x</mark>&lt;/b&gt; &amp; c"


async def test_operators_in_the_query_are_plain_words(portal: Portal) -> None:
    await kb(portal)
    assert to_fts5_query('printer" OR title:* NEAR(') == '"printer" OR "title" "NEAR"'
    for q in ('"', "*", "NEAR(", "-", "a:b", "printer or vpn"):
        res = await portal.get("/_kb/search", params={"q": q})
        assert res.status_code == 200, (q, res.text)
    either = {r["title"] for r in await search(portal, "vpn or equipment")}
    assert {"Connecting to the VPN", "Office equipment overview"} <= either
    res = await portal.get("/_kb/search", params={"q": "x" * 201})
    assert res.status_code == 400


async def test_index_follows_article_writes(portal: Portal) -> None:
    _, website_id = await kb(portal)
    system = Principal.for_system(website_id)
    row = await portal.records.create(system, "article", {
        "title": "Toner replacement", "body": "Open the lid.", "published": False})
    assert await search(portal, "toner") == []
    await portal.records.update(system, "article", row["id"], {"published": True})
    assert [r["title"] for r in await search(portal, "toner")] == ["Toner replacement"]
    await portal.records.update(system, "article", row["id"], {"title": "Ink replacement"})
    assert await search(portal, "toner") == []
    assert [r["id"] for r in await search(portal, "ink")] == [row["id"]]
    await portal.records.delete(system, "article", row["id"])
    assert await search(portal, "ink") == []
    # the rebuild command's function gives the same results
    assert await rebuild(portal.services) == 6
    assert [r["title"] for r in await search(portal, "vpn")] == ["Connecting to the VPN"]


async def test_views_and_searches_tracked_per_contact(portal: Portal) -> None:
    _, website_id = await kb(portal)
    results = await search(portal, "printer", DANA)
    await search(portal, "Printer ", DANA)
    await search(portal, "zebra")
    article = results[0]["id"]
    res = await portal.get(f"/_kb/articles/{article}", who=DANA)
    assert res.status_code == 200 and res.json()["title"] == "Printer setup guide"
    await portal.get(f"/_kb/articles/{article}")
    dana = (await portal.records.list(Principal.for_system(website_id), "contact",
                                      limit=10)).rows
    dana_id = next(c["id"] for c in dana if c["email"] == DANA)
    mine = await InteractionStore(portal.services.db).of_contact(website_id, dana_id)
    assert [(m["kind"], m["query"], m["article"]) for m in mine] == [
        ("search", "printer", None), ("search", "printer", None), ("view", "", article)]
    assert mine[0]["results"] == len(results)
    searches = await top_searches(portal.services, website_id)
    assert searches[0] == {"query": "printer", "searches": 2, "without_results": 0,
                           "contacts": 1}
    assert {"query": "zebra", "searches": 1, "without_results": 1, "contacts": 0} in searches
    articles = await top_articles(portal.services, website_id)
    assert articles == [{"article": article, "views": 2, "contacts": 1,
                         "title": "Printer setup guide"}]


async def test_unpublished_or_unreadable_article_is_404(portal: Portal) -> None:
    _, website_id = await kb(portal)
    rows = (await portal.records.list(Principal.for_system(website_id), "article",
                                      limit=20)).rows
    ids = {r["title"]: r["id"] for r in rows}
    assert (await portal.get(f"/_kb/articles/{ids['Printer recall notice']}")).status_code == 404
    res = await portal.get(f"/_kb/articles/{ids['Partner printer discounts']}", who=DANA)
    assert res.status_code == 404
    res = await portal.get(f"/_kb/articles/{ids['Partner printer discounts']}", who=ERIN)
    assert res.status_code == 200


async def test_search_and_article_pages_in_html(portal: Portal) -> None:
    await kb(portal)
    html_headers = {"accept": "text/html"}
    res = await portal.get("/_kb/search", params={"q": "restart printer"},
                           headers=html_headers)
    assert res.status_code == 200 and res.headers["content-type"].startswith("text/html")
    assert "<mark>restart</mark>" in res.text and "<script>alert" not in res.text
    assert 'data-results="1"' in res.text
    res = await portal.get("/_kb/search", params={"q": "<b>zebra</b>"}, headers=html_headers)
    assert "&lt;b&gt;zebra&lt;/b&gt;" in res.text and "<b>zebra" not in res.text
    hit = (await search(portal, "vpn"))[0]
    res = await portal.get(hit["url"], headers=html_headers)
    assert res.status_code == 200 and "Connecting to the VPN" in res.text
