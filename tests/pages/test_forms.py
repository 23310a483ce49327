"""Basic forms over HTTP: insert, edit and read-only modes, the record from the query
string, required fields and validation messages, privileges through records, CSRF."""

from __future__ import annotations

import re
from typing import Any
from urllib.parse import parse_qs, urlparse

from tests.support.portal import Portal

ALICE = "alice@contoso.example"  # customer: her own cases
BOB = "bob@contoso.example"  # customer admin: his account's cases
DAVE = "dave@contoso.example"  # no case permission at all


async def case_ids(site: Portal) -> dict[str, int]:
    rows = await site.services.db.fetch('SELECT "id", "title" FROM "case"')
    return {r["title"]: r["id"] for r in rows}


async def titles(site: Portal, who: str) -> list[str]:
    answer = await site.get("/_lists/cases", who=who, headers={"accept": "application/json"})
    return sorted(r["title"] for r in answer.json()["value"])


def field(html: str, form: str, name: str) -> str:
    section = html.split(f'data-form="{form}"', 1)[1].split("</section>", 1)[0]
    match = re.search(rf'name="{name}"[^>]*value="([^"]*)"', section)
    if match:
        return match.group(1)
    match = re.search(rf'name="{name}"[^>]*>([^<]*)</textarea>', section)
    if match:
        return match.group(1)
    match = re.search(rf'data-field="{name}">([^<]*)<', section)
    assert match, f"no field {name} in form {form}"
    return match.group(1)


async def submit(site: Portal, form: str, who: str | None, data: dict[str, Any],
                 **kw: Any) -> Any:
    return await site.send("POST", f"/_pages/forms/{form}", who=who, data=data,
                           follow_redirects=False, **kw)


async def test_insert_form_creates_a_case_through_records(site: Portal) -> None:
    page = await site.get("/cases/new", who=ALICE)
    assert page.status_code == 200
    assert 'name="_csrf_token"' in page.text and 'data-mode="insert"' in page.text
    created = await submit(site, "new-case", ALICE, {
        "title": "Monitor flickers", "description": "Since the update.", "priority": "low",
        "_next": "/cases/new"})
    assert created.status_code == 303, created.text
    location = urlparse(created.headers["location"])
    assert location.path == "/cases/view"
    new_id = int(parse_qs(location.query)["id"][0])
    row = await site.services.db.fetchrow(
        'SELECT "title", "priority", "customer", "account" FROM "case" WHERE "id" = ?', new_id)
    alice = await site.services.db.fetchval(
        "SELECT \"id\" FROM \"contact\" WHERE \"email\" = 'alice@contoso.example'")
    assert row is not None
    assert (row["title"], row["priority"], row["customer"]) == ("Monitor flickers", "low", alice)
    assert "Monitor flickers" in await titles(site, ALICE)
    shown = await site.get(created.headers["location"], who=ALICE)
    assert field(shown.text, "case-summary", "title") == "Monitor flickers"


async def test_missing_required_fields_show_the_validation_messages(site: Portal) -> None:
    before = await case_ids(site)
    answer = await submit(site, "new-case", ALICE, {
        "title": " ", "description": "", "priority": "high", "_next": "/cases/new"})
    assert answer.status_code == 400
    assert "Please give the case a title." in answer.text  # the form's own message
    assert "Description is required." in answer.text  # the default message
    assert 'data-form="new-case"' in answer.text  # the page is shown again, with the form
    assert '<option value="high" selected>' in answer.text  # what was sent is kept
    assert await case_ids(site) == before


async def test_values_outside_the_options_are_refused(site: Portal) -> None:
    answer = await submit(site, "new-case", ALICE, {
        "title": "x", "description": "y", "priority": "urgent!", "_next": "/cases/new"})
    assert answer.status_code == 400
    assert "Priority must be one of low, normal, high." in answer.text


async def test_too_long_values_come_back_as_field_errors(site: Portal) -> None:
    answer = await submit(site, "new-case", ALICE, {
        "title": "x" * 201, "description": "y", "_next": "/cases/new"})
    assert answer.status_code == 400
    assert "title is longer than 200 characters" in answer.text


async def test_insert_needs_the_create_privilege(site: Portal) -> None:
    before = await case_ids(site)
    for who in (DAVE, None):
        answer = await submit(site, "new-case", who, {
            "title": "sneaky", "description": "no grant", "_next": "/"})
        assert answer.status_code == 403, who
    assert await case_ids(site) == before


async def test_edit_form_loads_the_record_from_the_query_string(site: Portal) -> None:
    ids = await case_ids(site)
    printer = ids["Printer offline in Building 2"]
    page = await site.get(f"/cases/view?id={printer}", who=ALICE)
    assert page.status_code == 200
    assert field(page.text, "edit-case", "title") == "Printer offline in Building 2"
    assert field(page.text, "edit-case", "id") == str(printer)
    saved = await submit(site, "edit-case", ALICE, {
        "id": str(printer), "title": "Printer offline (Building 2)",
        "description": "Still offline.", "status": "resolved",
        "_next": f"/cases/view?id={printer}"})
    assert saved.status_code == 303, saved.text
    assert saved.headers["location"] == f"/cases/view?id={printer}&saved=edit-case"
    shown = await site.get(saved.headers["location"], who=ALICE)
    assert "The case was saved." in shown.text
    assert field(shown.text, "case-summary", "status") == "resolved"
    row = await site.services.db.fetchrow(
        'SELECT "title", "status" FROM "case" WHERE "id" = ?', printer)
    assert row == {"title": "Printer offline (Building 2)", "status": "resolved"}


async def test_edit_with_a_missing_required_field_keeps_the_record(site: Portal) -> None:
    printer = (await case_ids(site))["Printer offline in Building 2"]
    answer = await submit(site, "edit-case", ALICE, {
        "id": str(printer), "title": "", "description": "x", "status": "open",
        "_next": f"/cases/view?id={printer}"})
    assert answer.status_code == 400 and "Title is required." in answer.text
    assert await site.services.db.fetchval(
        'SELECT "title" FROM "case" WHERE "id" = ?', printer) == "Printer offline in Building 2"


async def test_another_accounts_case_cannot_be_opened_or_changed(site: Portal) -> None:
    ids = await case_ids(site)
    invoice = ids["Invoice address is wrong"]  # Bob's case, same account
    fabrikam = ids["Fabrikam cannot sign in"]  # another account's case
    for target in (invoice, fabrikam):
        page = await site.get(f"/cases/view?id={target}", who=ALICE)
        assert page.status_code == 200  # the page itself is readable ...
        assert "The record does not exist or you may not see it." in page.text
        assert "The record does not exist or you may not change it." in page.text
        assert "Invoice address" not in page.text and "Fabrikam cannot" not in page.text
        answer = await submit(site, "edit-case", ALICE, {
            "id": str(target), "title": "hijacked", "description": "", "status": "closed",
            "_next": f"/cases/view?id={target}"})
        assert answer.status_code == 404
    assert "hijacked" not in str(await site.services.db.fetch('SELECT "title" FROM "case"'))
    # Bob's Account-scope permission reaches Alice's case, not Fabrikam's
    bob = await site.get(f"/cases/view?id={ids['Printer offline in Building 2']}", who=BOB)
    assert field(bob.text, "case-summary", "title") == "Printer offline in Building 2"
    bob_other = await site.get(f"/cases/view?id={fabrikam}", who=BOB)
    assert "Fabrikam cannot sign in" not in bob_other.text


async def test_read_only_form_shows_the_record_and_refuses_submits(site: Portal) -> None:
    printer = (await case_ids(site))["Printer offline in Building 2"]
    page = await site.get(f"/cases/view?id={printer}", who=ALICE)
    summary = page.text.split('data-form="case-summary"', 1)[1].split("</section>", 1)[0]
    assert 'data-mode="readonly"' in page.text and "<form" not in summary
    assert field(page.text, "case-summary", "priority") == "high"
    answer = await submit(site, "case-summary", ALICE, {"id": str(printer), "title": "x"})
    assert answer.status_code == 400 and "read-only" in answer.text


async def test_forms_without_a_record_say_so(site: Portal) -> None:
    page = await site.get("/cases/view", who=ALICE)
    assert page.text.count("No record was chosen.") == 2
    bad = await site.get("/cases/view?id=not-a-number", who=ALICE)
    assert bad.status_code == 200 and "you may not see it" in bad.text


async def test_submits_without_the_csrf_token_are_refused(site: Portal) -> None:
    before = await case_ids(site)
    data = {"title": "forged", "description": "cross-site", "_next": "/cases/new"}
    missing = await submit(site, "new-case", ALICE, data, csrf=False)
    assert missing.status_code == 403 and "CSRF" in missing.text
    token = await site.csrf()
    wrong = await submit(site, "new-case", ALICE,
                         {**data, "_csrf_token": token[:-4] + "0000"}, csrf=False)
    assert wrong.status_code == 403
    edit = await site.send("POST", "/_pages/edit/1", who="wendy@contoso.example", csrf=False,
                           data={"title": "x", "content": "x"})
    assert edit.status_code == 403
    assert await case_ids(site) == before
    # the token from the form's hidden field (and the cookie) is accepted
    good = await submit(site, "new-case", ALICE, {**data, "_csrf_token": token}, csrf=False)
    assert good.status_code == 303


async def test_unknown_forms_and_lists_inside_pages_are_reported(site: Portal) -> None:
    assert (await submit(site, "no-such-form", ALICE, {})).status_code == 404
