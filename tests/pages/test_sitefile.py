"""Site-file sections of the pages plugin: apply (validated, all or nothing), export, and
a round trip into a fresh database."""

from __future__ import annotations

from typing import Any

import pytest
import yaml

from portalis.core import InvalidInput
from portalis.plugins.pages.sitefile import SECTIONS
from tests.pages.conftest import CASES
from tests.pages.helpers import WEBSITE, apply_sections
from tests.support.database import TemplateDatabases
from tests.support.portal import Portal, running_portal


async def export(portal: Portal) -> dict[str, Any]:
    wid = await portal.services.sites.website_for_key("cases")
    assert wid is not None
    return {name: await handler.export(wid, portal.services)
            for name, handler in SECTIONS.items()}


async def test_sections_are_contributed_through_the_kernel_hook(site: Portal) -> None:
    contributed: dict[str, Any] = {}
    for result in site.services.pm.hook.portalis_site_file_sections():
        contributed.update(result or {})
    assert {"pages", "templates", "forms", "web_files", "link_sets"} <= set(contributed)


async def test_export_gives_back_what_was_applied(site: Portal) -> None:
    data = await export(site)
    pages = {p["key"]: p for p in data["pages"]}
    assert pages["cases"]["restrict_read"] == ["customer", "customer-admin"]
    assert pages["partner-news"] == {
        "key": "partner-news", "title": "Partner news", "partial_url": "news",
        "content": "<p>News for partners.</p>", "state": "published", "template": "page",
        "parent": "partners", "grant_change": ["editor"]}
    assert pages["upcoming"]["state"] == "draft"
    forms = {f["key"]: f for f in data["forms"]}
    assert forms["new-case"]["required"] == ["title", "description"]
    assert forms["new-case"]["options"] == {"priority": ["low", "normal", "high"]}
    assert forms["case-summary"]["mode"] == "readonly"
    files = {f["key"]: f for f in data["web_files"]}
    assert files["site-css"] == {"key": "site-css", "path": "/css/site.css",
                                 "content_type": "text/css",
                                 "text": ".lead { font-weight: 600; }"}
    assert files["partner-logo"]["parent"] == "partners"
    assert data["link_sets"][0]["links"][0] == {"page": "kb"}
    assert data["templates"] == [{"key": "plain", "source": (
        '<div class="plain" data-page="{{ page.key }}">{{ content }}</div>\n')}]


async def test_applying_twice_changes_nothing(site: Portal) -> None:
    first = await export(site)
    await apply_sections(site, **first)
    assert await export(site) == first


async def test_an_export_applies_to_a_fresh_database(site: Portal,
                                                     databases: TemplateDatabases) -> None:
    data = await export(site)
    url = await databases.fresh()
    async with running_portal(url, plugins=["selfservice", "pages"]) as copy:
        await copy.apply(CASES)
        roles = [{"key": k, "name": k} for k in ("webmaster", "editor", "partner")]
        await copy.apply(yaml.safe_dump({"website": WEBSITE, "roles": roles, **data}))
        assert await export(copy) == data
        kb = await copy.get("/knowledge")
        assert kb.status_code == 200 and "How to reset your password" in kb.text
        assert (await copy.get("/css/site.css")).text == ".lead { font-weight: 600; }"


@pytest.mark.parametrize("sections, problem", [
    ({"pages": [{"key": "x", "parent": "nope", "content": ""}]},
     "pages[x]: no parent page 'nope'"),
    ({"pages": [{"key": "x", "parent": "home", "restrict_read": ["nobody"]}]},
     "pages[x].restrict_read: no role 'nobody'"),
    ({"pages": [{"key": "a", "parent": "b"}, {"key": "b", "parent": "a"}]},
     "the parent chain loops"),
    ({"pages": [{"key": "x", "parent": "home", "partial_url": "knowledge"}]},
     "/knowledge is also the URL of page"),
    ({"pages": [{"key": "x", "partial_url": "_api"}]}, "/_api is reserved for the portal"),
    ({"pages": [{"key": "x", "parent": "home", "template": "nope"}]},
     "pages[x]: no web template 'nope'"),
    ({"pages": [{"key": "x", "parent": "home", "state": "hidden"}]},
     "state must be draft or published"),
    ({"forms": [{"key": "f", "table": "nope", "fields": ["a"]}]}, "unknown table 'nope'"),
    ({"forms": [{"key": "f", "table": "case", "fields": ["nope"]}]},
     "table 'case' has no column 'nope'"),
    ({"forms": [{"key": "f", "table": "case", "fields": ["title"], "mode": "delete"}]},
     "mode must be one of insert, edit, readonly"),
    ({"forms": [{"key": "f", "table": "case", "fields": ["title"], "required": ["status"]}]},
     "are not among the fields"),
    ({"forms": [{"key": "f", "table": "case", "fields": ["id", "title"]}]},
     "id is set by the portal"),
    ({"link_sets": [{"key": "l", "links": [{"page": "ghost"}]}]}, "no page 'ghost'"),
    ({"link_sets": [{"key": "l", "links": [{"url": "javascript:alert(1)"}]}]},
     "url must be a path or an http(s) URL"),
    ({"web_files": [{"key": "w", "path": "/x.css"}]}, "needs 'text' or 'base64'"),
    ({"templates": [{"key": "t"}]}, "needs a 'source'"),
])
async def test_bad_entries_are_named_and_nothing_is_applied(
        site: Portal, sections: dict[str, Any], problem: str) -> None:
    before = await export(site)
    with pytest.raises(InvalidInput) as refused:
        await apply_sections(site, **sections)
    assert problem in refused.value.message
    assert await export(site) == before
