"""Liquid web templates: stored per website over file defaults, the objects templates see,
the sandbox (no Python internals, no files outside the store, bounded work), and broken
templates (the maker gets line and message; visitors the last good version or a clear
error page, never a stack trace)."""

from __future__ import annotations

import pytest

from portalis.core import InvalidInput
from tests.pages.helpers import add_page, apply_sections
from tests.support.portal import Portal

WENDY = "wendy@contoso.example"  # Grant Change on the whole tree
ALICE = "alice@contoso.example"


def main(html: str) -> str:
    return html.split("<main", 1)[1].split("</main>", 1)[0]


async def test_pages_see_page_user_website_settings_and_snippets(site: Portal) -> None:
    url = await add_page(site, "objects", (
        "<i id=p>{{ page.title }}|{{ page.url }}|{{ page.parent.title }}</i>"
        "<i id=u>{{ user.firstname }} {{ user.lastname }}|{{ user.email }}|"
        "{{ user.roles | join: ',' }}</i>"
        "<i id=w>{{ website.title }}|{{ website.key }}</i>"
        "<i id=s>{{ settings['WebFiles/MaxSize'] }}|{{ settings['Webapi/case/enabled'] }}</i>"
        "<i id=n>{{ snippets.footer }}</i>"
        "<i id=l>{% for link in weblinks.primary.links %}{{ link.url }};{% endfor %}</i>"),
        title="Objects")
    html = (await site.get(url, who=ALICE)).text
    assert "<i id=p>Objects|/objects|Home</i>" in html
    assert "<i id=u>Alice Archer|alice@contoso.example|Authenticated Users,Customers</i>" in html
    assert "<i id=w>Contoso Support|cases</i>" in html
    assert "<i id=s>1048576|true</i>" in html
    assert "<i id=n>Contoso Support runs on Portalis</i>" in html
    assert "<i id=l>/knowledge;/cases;/about;/_lists/cases;</i>" in html
    anon = (await site.get(url)).text
    assert "<i id=u> ||</i>" in anon and "Sign in" in anon


async def test_settings_that_look_secret_are_not_shown(site: Portal) -> None:
    await apply_sections(site, settings={"Authentication/OpenIdConnect/ClientSecret": "s3cr3t",
                                         "Smtp/Password": "hunter2"})
    url = await add_page(site, "leak", "{% for s in settings %}{{ s[0] }}={{ s[1] }};"
                                       "{% endfor %}")
    html = (await site.get(url)).text
    assert "s3cr3t" not in html and "hunter2" not in html
    assert "Webapi/case/enabled=true;" in html


async def test_templates_in_the_database_override_the_file_defaults(site: Portal) -> None:
    about = await site.get("/about")
    assert '<div class="plain" data-page="about">' in about.text  # a database template
    await apply_sections(site, templates=[{
        "key": "page", "source": '<section class="custom">{{ page.title }}: {{ content }}'
                                 "</section>"}])
    kb = await site.get("/knowledge")
    assert '<section class="custom">Knowledge base: ' in kb.text
    assert "How to reset your password" in kb.text  # the entity list still renders
    footer = await apply_sections(site, templates=[{
        "key": "layout", "source": "<html><body>{{ body }}<footer>{{ snippets.footer }}"
                                   "</footer></body></html>"}])
    assert footer
    home = await site.get("/")
    assert home.text.startswith("<html><body>") and "Contoso Support runs on" in home.text


async def test_entity_lists_render_inside_pages_through_records(site: Portal) -> None:
    kb = await site.get("/knowledge?search=password")
    assert "How to reset your password" in kb.text
    assert "Opening a support case" not in kb.text
    cases = await site.get("/cases", who=ALICE)
    body = main(cases.text)
    assert "Printer offline in Building 2" in body
    assert "Invoice address is wrong" not in body and "Fabrikam" not in body
    assert 'href="/cases/view?id=' in body  # the list's detail URL
    bad_sort = await site.get("/cases?sort=description", who=ALICE)
    assert bad_sort.status_code == 200 and "cannot sort by" in bad_sort.text
    unknown = await add_page(site, "nolist", '{% entitylist "nope" %}')
    assert "No list nope." in (await site.get(unknown)).text


@pytest.mark.parametrize("expression", [
    "{{ page.__class__ }}", "{{ page.__class__.__mro__ }}", "{{ website.__dict__ }}",
    "{{ user.__init__.__globals__ }}", "{{ page.title.__class__ }}",
    "{{ settings.__class__.__subclasses__ }}", "{{ page.items }}", "{{ page.keys }}",
    "{{ request.query.__len__ }}",
])
async def test_python_attributes_are_unreachable(site: Portal, expression: str) -> None:
    url = await add_page(site, "probe", f"<i id=probe>[{expression}]</i>")
    answer = await site.get(url, who=ALICE)
    assert answer.status_code == 200
    assert "<i id=probe>[]</i>" in answer.text


@pytest.mark.parametrize("tag", [
    "{% include '../../../../etc/passwd' %}", "{% render '/etc/passwd' %}",
    "{% include 'file:///etc/hostname' %}", "{% render '../templates/layout.liquid' %}",
    "{% include 'http://127.0.0.1/' %}",
])
async def test_includes_outside_the_template_store_are_refused(site: Portal, tag: str) -> None:
    url = await add_page(site, "inc", f"before {tag} after")
    visitor = await site.get(url)
    assert visitor.status_code == 500
    assert "This page could not be displayed" in visitor.text
    assert "root:" not in visitor.text and "Traceback" not in visitor.text
    maker = await site.get(url, who=WENDY)
    assert "in this site&#39;s store" in maker.text or "in this site's store" in maker.text


async def test_includes_inside_the_store_work(site: Portal) -> None:
    await apply_sections(site, templates=[{"key": "greeting",
                                           "source": "Hello {{ who }} from {{ website.title }}"}])
    url = await add_page(site, "greet", "<i id=g>{% render 'greeting', who: 'Ann' %}|"
                                        "{% include 'greeting' %}</i>")
    html = (await site.get(url)).text
    assert "<i id=g>Hello Ann from Contoso Support|Hello  from Contoso Support</i>" in html


@pytest.mark.parametrize("content, limit", [
    ("{% for i in (1..1000000000) %}x{% endfor %}", "loop iteration limit"),
    ("{% for i in (1..5000) %}{% for j in (1..5000) %}{% endfor %}{% endfor %}",
     "loop iteration limit"),
    ("{% assign s = 'xxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxx' %}"
     "{% for i in (1..40) %}{% assign s = s | append: s %}{% endfor %}", "namespace limit"),
    ("{% for i in (1..19000) %}{{ 'a long line of output for the limit 1234567890abcdef"
     "0123456789abcdef0123456789abcdef0123456789abcdef0123456789abcdef' }}{% endfor %}",
     "output stream limit"),
    ("{% include 'loop' %}", "context depth"),
])
async def test_unbounded_work_is_stopped(site: Portal, content: str, limit: str) -> None:
    await apply_sections(site, templates=[{"key": "loop", "source": "{% include 'loop' %}"}])
    url = await add_page(site, "busy", content)
    visitor = await site.get(url)
    assert visitor.status_code == 500
    assert "This page could not be displayed" in visitor.text
    assert "Traceback" not in visitor.text and limit not in visitor.text
    maker = await site.get(url, who=WENDY)
    assert maker.status_code == 500 and limit in maker.text


async def test_a_template_with_a_syntax_error_is_refused_with_line_and_message(
        site: Portal) -> None:
    with pytest.raises(InvalidInput) as refused:
        await apply_sections(site, templates=[
            {"key": "fine", "source": "ok"},
            {"key": "broken", "source": "<p>\n{% if user %}\n{{ user.email }\n"}])
    assert "templates[broken]: line 3:" in refused.value.message
    assert "expected '}}'" in refused.value.message
    names = await site.services.db.fetch('SELECT "key" FROM "pages_web_template"')
    assert {r["key"] for r in names} == {"plain"}  # nothing of that file was applied
    with pytest.raises(InvalidInput) as page_refused:
        await add_page(site, "bad", "line one\n{% for %}")
    assert "pages[bad]: content line 2:" in page_refused.value.message


async def test_a_page_edit_with_a_syntax_error_keeps_the_last_good_version(
        site: Portal) -> None:
    kb = await site.get("/knowledge", who=WENDY)
    page_id = kb.text.split('href="/_pages/edit/', 1)[1].split('"', 1)[0]
    answer = await site.send("POST", f"/_pages/edit/{page_id}", who=WENDY, data={
        "title": "Knowledge base", "state": "published",
        "content": "<p>Articles</p>\n{% entitylist 'articles' %}\n{% if %}"})
    assert answer.status_code == 400
    assert "The content was not saved: page:kb, line 3:" in answer.text
    assert "{% if %}" in answer.text  # the maker's text is kept in the editor
    visitor = await site.get("/knowledge")
    assert visitor.status_code == 200 and "Search the published articles." in visitor.text


async def test_a_broken_stored_template_falls_back_to_its_last_good_version(
        site: Portal) -> None:
    # a row changed outside the portal (e.g. in the database) so that it no longer parses
    await site.services.db.execute(
        'UPDATE "pages_web_template" SET "source" = ? WHERE "key" = ?',
        "<div class='plain'>{% if %}", "plain")
    about = await site.get("/about")
    assert about.status_code == 200
    assert '<div class="plain" data-page="about">' in about.text


async def test_a_broken_template_without_a_good_version_gives_a_clear_error_page(
        site: Portal) -> None:
    await site.services.db.execute(
        'UPDATE "pages_web_template" SET "source" = ?, "good_source" = ? WHERE "key" = ?',
        "{% if %}", "", "plain")
    visitor = await site.get("/about")
    assert visitor.status_code == 500
    assert "This page could not be displayed" in visitor.text
    assert "Traceback" not in visitor.text and "{% if %}" not in visitor.text
    maker = await site.get("/about", who=WENDY)
    assert "plain, line 1:" in maker.text
