"""Self-service cases over HTTP: create, read, notes, attachments, close — with refusals."""

from __future__ import annotations

from typing import Any

from portalis.core import Conflict
from portalis.core.principal import Principal
from tests.support.portal import Portal

ALICE, BOB, CAROL = "alice@contoso.example", "bob@contoso.example", "carol@fabrikam.example"


async def case_id(portal: Portal, title: str) -> int:
    site_id = await portal.services.sites.website_for_key("cases")
    page = await portal.records.list(Principal.for_system(site_id or 0), "case", limit=100)
    return next(r["id"] for r in page.rows if r["title"] == title)


async def new_case(portal: Portal, who: str, title: str) -> dict[str, Any]:
    res = await portal.send("POST", "/_cases", who=who, json={"title": title,
                                                               "description": "details"})
    assert res.status_code == 201, res.text
    return res.json()  # type: ignore[no-any-return]


async def test_contact_files_a_case_and_sees_it_in_the_list(cases: Portal) -> None:
    created = await new_case(cases, ALICE, "Scanner jams")
    assert created["status"] == "open" and created["customer"] is not None
    listed = (await cases.get("/_lists/cases", who=ALICE,
                              headers={"accept": "application/json"})).json()["value"]
    assert "Scanner jams" in [r["title"] for r in listed]
    # Bob (customer admin of the same account) sees it too; Carol (other account) does not.
    bob = (await cases.get("/_lists/cases", who=BOB,
                           headers={"accept": "application/json"})).json()["value"]
    assert "Scanner jams" in [r["title"] for r in bob]
    carol = (await cases.get("/_lists/cases", who=CAROL,
                             headers={"accept": "application/json"})).json()["value"]
    assert [r["title"] for r in carol] == ["Fabrikam cannot sign in"]


async def test_create_case_refusals(cases: Portal) -> None:
    assert (await cases.send("POST", "/_cases", json={"title": "anon"})).status_code == 403
    res = await cases.send("POST", "/_cases", who=ALICE, json={"description": "no title"})
    assert res.status_code == 400 and res.json()["error"]["code"] == "required"
    res = await cases.send("POST", "/_cases", who=ALICE, json={"title": "x", "priority": "max"})
    assert res.status_code == 400
    res = await cases.send("POST", "/_cases", who=ALICE, csrf=False, json={"title": "x"})
    assert res.status_code == 403


async def test_case_detail_follows_permissions(cases: Portal) -> None:
    c1 = await case_id(cases, "Printer offline in Building 2")
    res = await cases.get(f"/_cases/{c1}", who=ALICE)
    assert res.status_code == 200
    body = res.json()
    assert body["case"]["title"] == "Printer offline in Building 2"
    assert [n["body"] for n in body["notes"]] == [
        "We restarted the printer; please check again."]
    assert (await cases.get(f"/_cases/{c1}", who=BOB)).status_code == 200
    res = await cases.get(f"/_cases/{c1}", who=CAROL)
    assert res.status_code == 404 and "Printer" not in res.text
    assert (await cases.get(f"/_cases/{c1}")).status_code == 404
    # Alice cannot see Bob's own case (contact scope only)
    c2 = await case_id(cases, "Invoice address is wrong")
    assert (await cases.get(f"/_cases/{c2}", who=ALICE)).status_code == 404


async def test_notes_added_through_records_with_refusals(cases: Portal) -> None:
    c1 = await case_id(cases, "Printer offline in Building 2")
    res = await cases.send("POST", f"/_cases/{c1}/notes", who=ALICE,
                           json={"body": "Still offline this morning."})
    assert res.status_code == 201, res.text
    assert res.json()["case"] == c1 and res.json()["author"] is not None
    detail = (await cases.get(f"/_cases/{c1}", who=BOB)).json()
    assert "Still offline this morning." in [n["body"] for n in detail["notes"]]
    res = await cases.send("POST", f"/_cases/{c1}/notes", who=CAROL, json={"body": "hijack"})
    assert res.status_code == 404
    res = await cases.send("POST", f"/_cases/{c1}/notes", who=ALICE, json={})
    assert res.status_code == 400
    detail = (await cases.get(f"/_cases/{c1}", who=ALICE)).json()
    assert "hijack" not in [n["body"] for n in detail["notes"]]


async def test_attachments_need_read_on_their_case(cases: Portal) -> None:
    c1 = await case_id(cases, "Printer offline in Building 2")
    res = await cases.send("POST", f"/_cases/{c1}/attachments", who=ALICE,
                           files={"file": ("error log.txt", b"E42 paper path", "text/plain")})
    assert res.status_code == 201, res.text
    meta = res.json()
    assert meta["filename"] == "error log.txt" and meta["size"] == 14
    got = await cases.get(meta["url"], who=ALICE)
    assert got.status_code == 200 and got.content == b"E42 paper path"
    assert got.headers["content-type"].startswith("text/plain")
    assert got.headers["content-disposition"].startswith("attachment;")
    assert (await cases.get(meta["url"], who=BOB)).status_code == 200  # account scope
    res = await cases.get(meta["url"], who=CAROL)
    assert res.status_code == 404 and b"E42" not in res.content
    assert (await cases.get(meta["url"])).status_code == 404
    assert (await cases.get("/_cases/attachments/999999", who=ALICE)).status_code == 404
    listed = (await cases.get(f"/_cases/{c1}", who=ALICE)).json()["attachments"]
    assert [a["id"] for a in listed] == [meta["id"]]


async def test_attachment_on_a_note_and_upload_refusals(cases: Portal) -> None:
    c1 = await case_id(cases, "Printer offline in Building 2")
    c3 = await case_id(cases, "Fabrikam cannot sign in")
    note = (await cases.send("POST", f"/_cases/{c1}/notes", who=ALICE,
                             json={"body": "photo attached"})).json()
    res = await cases.send("POST", f"/_cases/{c1}/attachments", who=ALICE,
                           data={"note": str(note["id"])},
                           files={"file": ("p.png", b"\x89PNG\r\n\x1a\nxx", "image/png")})
    assert res.status_code == 201 and res.json()["note"] == note["id"]
    # another account's case: the case is not even visible
    res = await cases.send("POST", f"/_cases/{c3}/attachments", who=ALICE,
                           files={"file": ("a.txt", b"x", "text/plain")})
    assert res.status_code == 404
    # a note of another case
    other = (await cases.send("POST", f"/_cases/{c3}/notes", who=CAROL,
                              json={"body": "fabrikam note"})).json()
    res = await cases.send("POST", f"/_cases/{c1}/attachments", who=ALICE,
                           data={"note": str(other["id"])},
                           files={"file": ("a.txt", b"x", "text/plain")})
    assert res.status_code == 404
    # no file, empty file, oversized file
    res = await cases.send("POST", f"/_cases/{c1}/attachments", who=ALICE,
                           data={"note": ""}, files={"other": ("a.txt", b"x", "text/plain")})
    assert res.status_code == 400 and res.json()["error"]["code"] == "no_file"
    res = await cases.send("POST", f"/_cases/{c1}/attachments", who=ALICE,
                           files={"file": ("a.txt", b"", "text/plain")})
    assert res.status_code == 400
    site_id = await cases.services.sites.website_for_key("cases")
    await cases.services.db.execute(
        'INSERT INTO "portalis_site_setting" ("website", "name", "value") VALUES (?, ?, ?)',
        site_id, "SelfService/Attachments/MaxSize", "10")
    await cases.services.db.execute(
        'UPDATE "portalis_website" SET "config_version" = "config_version" + 1')
    res = await cases.send("POST", f"/_cases/{c1}/attachments", who=ALICE,
                           files={"file": ("big.bin", b"x" * 11, "application/zip")})
    assert res.status_code == 413, res.text


async def test_unsafe_content_type_is_served_as_a_download(cases: Portal) -> None:
    c1 = await case_id(cases, "Printer offline in Building 2")
    meta = (await cases.send("POST", f"/_cases/{c1}/attachments", who=ALICE,
                             files={"file": ("../../x.html", b"<script>1</script>",
                                             "text/html")})).json()
    assert meta["filename"] == "x.html"
    got = await cases.get(meta["url"], who=ALICE)
    assert got.headers["content-type"] == "application/octet-stream"
    assert "sandbox" in got.headers["content-security-policy"]


async def test_close_case_through_records(cases: Portal) -> None:
    c1 = await case_id(cases, "Printer offline in Building 2")
    c3 = await case_id(cases, "Fabrikam cannot sign in")
    assert (await cases.send("POST", f"/_cases/{c3}/close", who=ALICE)).status_code == 404
    res = await cases.send("POST", f"/_cases/{c1}/close", who=ALICE)
    assert res.status_code == 200 and res.json()["status"] == "closed"
    again = await cases.send("POST", f"/_cases/{c1}/close", who=ALICE)
    assert again.status_code == 409 and again.json()["error"]["code"] == "already_closed"
    row = (await cases.get(f"/_api/case({c1})", who=BOB)).json()
    assert row["status"] == "closed"
    assert (await cases.send("POST", f"/_cases/{c3}/close")).status_code == 404
    # a closed case takes no new notes (on any path) and no attachments
    res = await cases.send("POST", f"/_cases/{c1}/notes", who=ALICE, json={"body": "late"})
    assert res.status_code == 409 and res.json()["error"]["code"] == "case_closed"
    site = await cases.services.sites.get(await cases.services.sites.website_for_key("cases"))
    alice_id = await cases.services.db.fetchval(
        'SELECT "id" FROM "contact" WHERE "email" = ?', ALICE)
    alice = await cases.services.principal_for_contact(site, alice_id)
    try:
        await cases.records.create(alice, "case_note", {"case": c1, "body": "direct"})
    except Conflict as exc:
        assert exc.code == "case_closed"
    else:
        raise AssertionError("a note was added to a closed case through records")
    res = await cases.send("POST", f"/_cases/{c1}/attachments", who=ALICE,
                           files={"file": ("a.txt", b"x", "text/plain")})
    assert res.status_code == 409
