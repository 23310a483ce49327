"""Site as code: idempotent apply, export round trip, all-or-nothing errors naming the entry."""

from __future__ import annotations

import pytest
import yaml

from portalis.core.errors import InvalidInput
from portalis.core.principal import Principal
from portalis.core.sitefile import export_site, load_site_file
from tests.kernel.conftest import CASES_SITE
from tests.support.portal import Portal

TABLES = ("account", "contact", "case", "case_note", "article")


async def snapshot(portal: Portal) -> dict[str, list[dict]]:
    db = portal.services.db
    out = {}
    for table in ("portalis_website", "portalis_site_setting", "portalis_web_role",
                  "portalis_table_permission", "portalis_permission_role",
                  "portalis_entity_list", "portalis_contact_role", "portalis_account_role",
                  *(f'"{t}"' for t in TABLES)):
        name = table.strip('"')
        rows = await db.fetch(f'SELECT * FROM "{name}" ORDER BY "id"' if name not in (
            "portalis_permission_role", "portalis_contact_role", "portalis_account_role")
            else f'SELECT * FROM "{name}" ORDER BY 1, 2')
        for r in rows:
            r.pop("config_version", None)
            r.pop("modified", None)
        out[name] = rows
    return out


async def test_applying_twice_changes_nothing(portal: Portal) -> None:
    await portal.apply(CASES_SITE)
    first = await snapshot(portal)
    await portal.apply(CASES_SITE)
    assert await snapshot(portal) == first


async def test_export_round_trips(portal: Portal) -> None:
    await portal.apply(CASES_SITE)
    exported = await export_site(portal.services, "cases")
    text = yaml.safe_dump(exported, sort_keys=False)
    before = await snapshot(portal)
    await portal.apply(text)
    assert await snapshot(portal) == before
    source = load_site_file(CASES_SITE)
    assert {p["key"] for p in exported["permissions"]} == {p["key"] for p in
                                                           source["permissions"]}
    assert {c["email"] for c in exported["contacts"]} == {c["email"] for c in source["contacts"]}
    assert {r["key"] for r in exported["records"]["case"]} == {"c1", "c2", "c3"}


async def test_changes_update_in_place(portal: Portal) -> None:
    await portal.apply(CASES_SITE)
    changed = CASES_SITE.replace("Printer offline in Building 2", "Printer fixed").replace(
        "    roles: [customer, customer-admin]", "    roles: [customer]")
    await portal.apply(changed)
    res = await portal.get("/_api/case?$select=title", who="bob@contoso.example")
    assert [r["title"] for r in res.json()["value"]] == ["Invoice address is wrong"]
    res = await portal.get("/_api/case?$select=title", who="alice@contoso.example")
    assert [r["title"] for r in res.json()["value"]] == ["Printer fixed"]


BROKEN = [
    ("website: [1, 2]", "website: needs a 'key'"),
    ("website: {key: cases}\nroles: [{name: x}]", "roles[0]: each entry needs a 'key'"),
    ("website: {key: cases}\ncontacts: [{key: z, email: z@x.example, account: nowhere}]",
     "contacts[z]: no account 'nowhere'"),
    ("website: {key: cases}\npermissions: [{key: p, table: case, scope: sideways}]",
     "permissions[p]: scope must be one of"),
    ("website: {key: cases}\npermissions: [{key: p, table: nope, scope: global}]",
     "permissions[p]: unknown table 'nope'"),
    ("website: {key: cases}\npermissions: [{key: p, table: case, scope: parent, "
     "relationship: account}]", "permissions[p]: Parent scope needs a parent permission"),
    ("website: {key: cases}\npermissions: [{key: p, table: case, scope: contact, "
     "relationship: account}]", "relationship 'account' leads to 'account', not 'contact'"),
    ("website: {key: cases}\npermissions: [{key: p, table: case, scope: global, "
     "privileges: [read, fly]}]", "permissions[p]: unknown privileges ['fly']"),
    ("website: {key: cases}\nlists: [{key: l, table: case, columns: [nope]}]",
     "lists[l]: table 'case' has no column 'nope'"),
    ("website: {key: cases}\nlists: [{key: l, table: case, filter: \"title eq\"}]",
     "lists[l]: $filter ends too early"),
    ("website: {key: cases}\nrecords: {case: [{key: x, title: t, customer: nobody}]}",
     "records.case[x]: customer: no contact 'nobody'"),
    ("website: {key: cases}\nrecords: {case: [{key: x, title: t, priority: [1]}]}",
     "records.case[x]: priority must be a str"),
    ("website: {key: cases}\ncontacts: [{key: y, email: alice@contoso.example}]",
     "contacts[y]: an active contact with this email already exists"),
    ("website: {key: cases}\nbogus: 1", "unknown sections ['bogus']"),
    ("website: {key: cases\n  title: [", "site file is not valid YAML at line"),
    ("website: {key: cases}\ncontacts: [{key: q, email: q@x.example, roles: [anonymous]}]",
     "the Anonymous Users role cannot be assigned"),
]


@pytest.mark.parametrize(("text", "message"), BROKEN)
async def test_a_broken_file_names_the_problem_and_applies_nothing(
        portal: Portal, text: str, message: str) -> None:
    await portal.apply(CASES_SITE)
    before = await snapshot(portal)
    # a good change first in the same file proves that nothing half-applies
    prefix = "website: {key: cases, title: Renamed, hosts: [testserver.local]}\n"
    text = prefix + text.split("\n", 1)[1] if "\n" in text and text.startswith(
        "website: {key: cases}") else text
    with pytest.raises(InvalidInput) as err:
        await portal.apply(text)
    assert message in err.value.message
    assert await snapshot(portal) == before


async def test_contacts_emails_are_normalised(portal: Portal) -> None:
    await portal.apply(CASES_SITE + "\n")
    await portal.apply("website: {key: cases}\ncontacts:\n"
                       "  - {key: dora, email: '  DORA@Example.COM '}\n")
    site_id = await portal.services.sites.website_for_key("cases")
    rows = (await portal.records.list(Principal.for_system(site_id or 0), "contact",
                                      limit=50)).rows
    assert "dora@example.com" in {r["email"] for r in rows}


async def test_export_of_records_made_outside_site_files_round_trips(portal: Portal) -> None:
    await portal.apply(CASES_SITE)
    site_id = await portal.services.sites.website_for_key("cases")
    system = Principal.for_system(site_id or 0)
    await portal.records.create(system, "article", {"title": "made in the portal"})
    exported = await export_site(portal.services, "cases")
    keys = [r["key"] for r in exported["records"]["article"]]
    assert any(k.startswith("article-") for k in keys)
    before = await snapshot(portal)
    await portal.apply(yaml.safe_dump(exported, sort_keys=False))
    assert await snapshot(portal) == before  # adopted, not copied
