"""IDOR sweep and anonymous exposure.

For every route of the app that takes a path parameter, a contact requests every
record of another account (every registered table, both URL forms, every method);
only 403/404 come back, no field of a foreign record appears in any response, and no
foreign record changes. Anonymous visitors can read exactly the tables and columns
the site's permissions and Web API settings declare.
"""

from __future__ import annotations

import re
from collections.abc import AsyncIterator
from typing import Any

import pytest

from portalis.core.principal import Principal
from tests.conftest import ALL_PLUGINS, CASES_SITE
from tests.support.portal import Portal, running_portal

ALICE = "alice@contoso.example"
PARAM = re.compile(r"\{([a-z_]+)(?::[a-z]+)?\}")


async def foreign_rows(portal: Portal) -> dict[str, list[dict[str, Any]]]:
    """Every row of every table that Alice may not read."""
    services = portal.services
    site = await services.sites.get(await services.sites.website_for_key("cases") or 0)
    alice_id = (await services.db.fetchrow('SELECT "id" FROM "contact" WHERE "email" = ?',
                                           ALICE))["id"]
    alice = await services.principal_for_contact(site, alice_id)
    assert alice is not None
    system = Principal.for_system(site.id)
    out: dict[str, list[dict[str, Any]]] = {}
    readable: set[int] = set()
    for table in services.registry.tables:
        rows = (await portal.records.list(system, table, limit=5000)).rows
        mine = {r["id"] for r in (await portal.records.list(alice, table, limit=5000)).rows}
        readable |= mine
        out[table] = [r for r in rows if r["id"] not in mine]
    # ids Alice can read in no table at all: a route that takes an id can only refuse them
    # (an id she can read elsewhere may legitimately name her own record of another table)
    out["_unreadable_ids"] = [{"id": i} for i in
                              {r["id"] for rows in out.values() for r in rows} - readable]
    return out


def secrets_of(row: dict[str, Any]) -> list[str]:
    return [v for k, v in row.items() if isinstance(v, str) and len(v) >= 8
            and k not in ("status", "priority", "state")]


@pytest.fixture(params=["kernel", "all-plugins"])
async def swept(request: pytest.FixtureRequest, database_url: str) -> AsyncIterator[Portal]:
    """The cases site with the kernel alone, and with every installed plugin enabled
    (their routes are swept too)."""
    plugins = ["selfservice"] if request.param == "kernel" else [
        p for p in ALL_PLUGINS if p != "admin"]
    async with running_portal(database_url, plugins=plugins) as portal:
        await portal.apply(CASES_SITE)
        # more of Fabrikam's cases, so that some ids name nothing Alice can read anywhere
        site_id = await portal.services.sites.website_for_key("cases") or 0
        system = Principal.for_system(site_id)
        carol = (await portal.records.list(system, "contact", limit=10)).rows[2]
        for i in range(6):
            await portal.records.create(system, "case", {
                "title": f"Fabrikam confidential {i}", "customer": carol["id"],
                "account": carol["account"]})
        yield portal


async def test_no_route_reveals_or_changes_another_accounts_records(
        swept: Portal, record_property: Any) -> None:
    cases = swept
    foreign = await foreign_rows(cases)
    unreadable = {r["id"] for r in foreign.pop("_unreadable_ids")}
    assert sum(len(v) for v in foreign.values()) >= 5
    app = cases.client._transport.app  # type: ignore[attr-defined]
    templates = sorted({route.path for route in app.routes if PARAM.search(route.path)})
    assert "/_api/{segment:str}" in templates and "/_lists/{key:str}" in templates
    before = {t: {r["id"]: r for r in rows} for t, rows in foreign.items()}
    requests = 0
    for template in templates:
        for table, rows in foreign.items():
            for row in rows:
                forms = []
                if "{segment" in template:
                    forms.append(PARAM.sub(f"{table}({row['id']})", template, count=1))
                    forms.append(PARAM.sub(
                        lambda m, t=table, r=row: t if m.group(1) == "segment" else str(r["id"]),
                        template))
                else:
                    forms.append(PARAM.sub(str(row["id"]), template))
                for url in forms:
                    for method in ("GET", "PATCH", "DELETE"):
                        kw: dict[str, Any] = {"json": {"title": "hijacked"}} if (
                            method == "PATCH") else {}
                        res = await cases.send(method, url, who=ALICE, **kw)
                        requests += 1
                        if row["id"] in unreadable and str(row["id"]) in url.replace(
                                f"/_api/{table}", ""):
                            # an id readable in no table: only refusals may come back
                            assert res.status_code in (400, 403, 404, 405), (
                                method, url, res.status_code)
                        for secret in secrets_of(row):
                            assert secret not in res.text, (method, url, secret)
    after = await foreign_rows(cases)
    after.pop("_unreadable_ids")
    assert {t: {r["id"]: r for r in rows} for t, rows in after.items()} == before
    assert requests > 100 and len(unreadable) >= 2
    for name, value in (("routes_with_ids", len(templates)), ("requests", requests),
                        ("foreign_records", sum(len(v) for v in before.values())),
                        ("ids_readable_nowhere", len(unreadable))):
        record_property(f"sweep:{name}", value)


async def test_anonymous_exposure_equals_the_declared_permissions(cases: Portal) -> None:
    services = cases.services
    site = await services.sites.get(await services.sites.website_for_key("cases") or 0)
    anon = services.anonymous(site)
    declared = {t for t in services.registry.tables
                if site.policy.applicable(anon.role_ids, t, "read")}
    assert declared == {"article"}
    readable: dict[str, set[str]] = {}
    for table in services.registry.tables:
        res = await cases.get(f"/_api/{table}")
        if res.status_code == 200:
            for row in res.json()["value"]:
                readable.setdefault(table, set()).update(row)
    for key in site.lists:
        body = (await cases.get(f"/_lists/{key}", headers={"accept": "application/json"})).json()
        if body["value"]:
            readable.setdefault(site.lists[key].table, set()).update(
                k for k in body["value"][0] if not k.startswith("_"))
    assert set(readable) <= declared
    fields = {"id", *site.setting("Webapi/article/fields").split(",")}
    list_cols = {"id", *site.lists["articles"].columns}
    assert readable["article"] <= fields | list_cols
