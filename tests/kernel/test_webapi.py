"""Web API: exposure settings, OData options, writes under permissions, error codes."""

from __future__ import annotations

from portalis.core.principal import Principal
from tests.support.portal import Portal

ALICE, BOB, CAROL = "alice@contoso.example", "bob@contoso.example", "carol@fabrikam.example"


async def count_cases(portal: Portal) -> int:
    site_id = await portal.services.sites.website_for_key("cases")
    page = await portal.records.list(Principal.for_system(site_id or 0), "case", limit=1000)
    return len(page.rows)


async def test_collection_select_filter_orderby(cases: Portal) -> None:
    res = await cases.get("/_api/case?$select=title,status&$orderby=title desc", who=BOB)
    assert res.status_code == 200
    assert res.json()["value"] == [
        {"id": res.json()["value"][0]["id"], "title": "Printer offline in Building 2",
         "status": "open"},
        {"id": res.json()["value"][1]["id"], "title": "Invoice address is wrong",
         "status": "open"}]
    res = await cases.get("/_api/case?$filter=priority eq 'high' and contains(title,'Printer')",
                          who=BOB)
    assert [r["title"] for r in res.json()["value"]] == ["Printer offline in Building 2"]


async def test_next_link_pages_through(cases: Portal) -> None:
    site_id = await cases.services.sites.website_for_key("cases")
    system = Principal.for_system(site_id or 0)
    bob = (await cases.records.list(system, "contact", limit=10)).rows[1]
    for i in range(7):
        await cases.records.create(system, "case", {"title": f"extra {i}", "customer": bob["id"],
                                                    "account": bob["account"]})
    url: str | None = "/_api/case?$top=4&$select=title"
    titles: list[str] = []
    while url:
        body = (await cases.get(url, who=BOB)).json()
        titles += [r["title"] for r in body["value"]]
        url = body.get("@odata.nextLink")
    assert len(titles) == 9 and len(set(titles)) == 9


async def test_get_by_id_both_url_forms_and_foreign_record_is_404(cases: Portal) -> None:
    mine = (await cases.get("/_api/case?$select=title", who=ALICE)).json()["value"][0]
    assert (await cases.get(f"/_api/case({mine['id']})", who=ALICE)).json()["title"] == mine[
        "title"]
    assert (await cases.get(f"/_api/case/{mine['id']}", who=ALICE)).status_code == 200
    res = await cases.get(f"/_api/case({mine['id']})", who=CAROL)
    assert res.status_code == 404 and "Printer" not in res.text


async def test_create_patch_delete_and_their_error_codes(cases: Portal) -> None:
    before = await count_cases(cases)
    res = await cases.send("POST", "/_api/case", who=ALICE, json={"title": "New from API"})
    assert res.status_code == 201, res.text
    created = res.json()
    assert created["customer"] is not None  # associated with the creating contact
    assert (await cases.get(f"/_api/case({created['id']})", who=ALICE)).status_code == 200
    res = await cases.send("PATCH", f"/_api/case({created['id']})", who=ALICE,
                           json={"status": "resolved"})
    assert res.status_code == 200 and res.json()["status"] == "resolved"
    res = await cases.send("DELETE", f"/_api/case({created['id']})", who=ALICE)
    assert res.status_code == 403 and res.json()["error"]["code"] == "delete_denied"
    res = await cases.send("PATCH", f"/_api/case({created['id']})", who=CAROL,
                           json={"status": "closed"})
    assert res.status_code == 404
    res = await cases.send("POST", "/_api/case", json={"title": "anonymous"})
    assert res.status_code == 403 and res.json()["error"]["code"] == "create_denied"
    assert await count_cases(cases) == before + 1


async def test_append_to_a_foreign_account_is_refused(cases: Portal) -> None:
    site_id = await cases.services.sites.website_for_key("cases")
    accounts = (await cases.records.list(Principal.for_system(site_id or 0), "account",
                                         limit=10)).rows
    fabrikam = next(a for a in accounts if a["name"] == "Fabrikam Inc")
    before = await count_cases(cases)
    res = await cases.send("POST", "/_api/case", who=ALICE,
                           json={"title": "sneaky", "account": fabrikam["id"]})
    assert res.status_code == 403 and res.json()["error"]["code"] == "append_to_denied"
    assert await count_cases(cases) == before


async def test_update_cannot_move_a_case_out_of_reach(cases: Portal) -> None:
    mine = (await cases.get("/_api/case?$select=title", who=ALICE)).json()["value"][0]
    site_id = await cases.services.sites.website_for_key("cases")
    contacts = (await cases.records.list(Principal.for_system(site_id or 0), "contact",
                                         limit=10)).rows
    bob = next(c for c in contacts if c["email"] == BOB)
    res = await cases.send("PATCH", f"/_api/case({mine['id']})", who=ALICE,
                           json={"customer": bob["id"]})
    assert res.status_code == 403
    again = await cases.get(f"/_api/case({mine['id']})", who=ALICE)
    assert again.status_code == 200  # unchanged: still Alice's


async def test_disabled_unknown_and_unconfigured_tables(cases: Portal) -> None:
    for table in ("case_note", "nope", "contact"):
        res = await cases.get(f"/_api/{table}", who=BOB)
        assert res.status_code == 404 and res.json()["error"]["code"] == "table_not_exposed"
    site_id = await cases.services.sites.website_for_key("cases")
    await cases.apply("website: {key: cases, hosts: [testserver.local]}\n"
                      "settings: {Webapi/case_note/enabled: true, Webapi/case_note/fields: '*'}")
    res = await cases.get("/_api/case_note", who=BOB)
    assert res.status_code == 403 and res.json()["error"]["code"] == "fields_not_configured"
    assert site_id is not None


async def test_bad_query_options_are_400_with_a_message(cases: Portal) -> None:
    for query, code in [("$filter=title eq", "invalid_filter"),
                        ("$filter=title eq 'a' or", "invalid_filter"),
                        ("$filter=title like 'a'", "invalid_filter"),
                        ("$filter=modified gt 'yesterday'", "invalid_value"),
                        ("$filter=" + "(" * 50 + "title eq 'a'" + ")" * 50, "invalid_filter"),
                        ("$top=100000", "invalid_top"), ("$top=0", "invalid_top"),
                        ("$top=abc", "invalid_top"), ("$orderby=title sideways", "invalid_orderby"),
                        ("$skiptoken=@@@", "invalid_cursor")]:
        res = await cases.get(f"/_api/case?{query}", who=BOB)
        assert res.status_code == 400, (query, res.text)
        assert res.json()["error"]["code"] == code, query
        assert res.json()["error"]["message"]


async def test_columns_outside_the_field_list_are_refused(cases: Portal) -> None:
    for query in ("$select=title,website", "$filter=website eq 1", "$orderby=created"):
        res = await cases.get(f"/_api/case?{query}", who=BOB)
        assert res.status_code == 403 and res.json()["error"]["code"] == "column_not_allowed"
    res = await cases.send("POST", "/_api/article", who=BOB, json={"title": "x", "created": "y"})
    assert res.status_code == 403 and res.json()["error"]["code"] == "column_not_allowed"


async def test_state_changing_calls_need_the_csrf_token(cases: Portal) -> None:
    before = await count_cases(cases)
    res = await cases.send("POST", "/_api/case", who=ALICE, csrf=False, json={"title": "x"})
    assert res.status_code == 403 and res.json()["error"]["code"] == "csrf_failed"
    assert await count_cases(cases) == before


async def test_the_csrf_cookie_is_set_once_and_checked_on_every_write(cases: Portal) -> None:
    """core/web/csrf.py answers safe requests that carry the cookie itself; the first
    safe request still gets the cookie, and writes are checked as before."""
    client = cases.client
    client.cookies.clear()
    first = await cases.get("/_lists/cases", who=ALICE)
    cookies = first.headers.get_list("set-cookie")
    assert first.status_code == 200 and len([c for c in cookies if "csrftoken=" in c]) == 1
    token = client.cookies["csrftoken"]
    again = await cases.get("/_lists/cases", who=ALICE)  # with the cookie: none set again
    assert not [c for c in again.headers.get_list("set-cookie") if "csrftoken=" in c]
    assert client.cookies["csrftoken"] == token
    before = await count_cases(cases)
    for headers in ({}, {"x-csrftoken": "forged" + token[6:]}):
        res = await cases.send("POST", "/_api/case", who=ALICE, csrf=False, headers=headers,
                               json={"title": "x"})
        assert res.status_code == 403 and res.json()["error"]["code"] == "csrf_failed"
    res = await cases.send("POST", "/_api/case", who=ALICE, headers={"x-csrftoken": token},
                           csrf=False, json={"title": "x"})
    assert res.status_code == 201, res.text
    assert await count_cases(cases) == before + 1


async def test_malformed_bodies(cases: Portal) -> None:
    before = await count_cases(cases)
    for body in ('[1, 2]', '{"title": ', '"text"'):
        res = await cases.send("POST", "/_api/case", who=ALICE, content=body,
                               headers={"content-type": "application/json"})
        assert res.status_code == 400, body
        assert res.json()["error"]["code"] == "invalid_body"
    res = await cases.send("POST", "/_api/case", who=ALICE, json={"title": "x" * 500})
    assert res.status_code == 400 and res.json()["error"]["code"] == "too_long"
    res = await cases.send("POST", "/_api/case", who=ALICE, json={"title": "ok", "status": 5})
    assert res.status_code == 400
    assert await count_cases(cases) == before


async def test_ids_beyond_the_column_range_are_a_400_not_a_crash(cases: Portal) -> None:
    for url in ("/_api/case(2147483648)", "/_api/case/99999999999999999999",
                "/_api/case?$filter=id eq 2147483648"):
        res = await cases.get(url, who=BOB)
        assert res.status_code == 400, (url, res.text)
        assert res.json()["error"]["code"] in ("out_of_range", "invalid_value")
    res = await cases.send("POST", "/_api/case", who=BOB,
                           json={"title": "x", "customer": 2**40})
    assert res.status_code == 400
