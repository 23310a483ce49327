from __future__ import annotations

from pathlib import Path

from tests.support.portal import Portal

SITE = (Path(__file__).parent.parent / "sites" / "cases.yaml").read_text()


async def test_lists_show_each_contact_what_its_roles_allow(portal: Portal) -> None:
    await portal.apply(SITE)
    alice = await portal.get("/_lists/cases", who="alice@contoso.example",
                             headers={"accept": "application/json"})
    assert alice.status_code == 200, alice.text
    assert [r["title"] for r in alice.json()["value"]] == ["Printer offline in Building 2"]
    bob = await portal.get("/_lists/cases", who="bob@contoso.example",
                           headers={"accept": "application/json"})
    assert sorted(r["title"] for r in bob.json()["value"]) == [
        "Invoice address is wrong", "Printer offline in Building 2"]
    anon = await portal.get("/_lists/cases", headers={"accept": "application/json"})
    assert anon.json()["value"] == []
    html = await portal.get("/_lists/cases", who="carol@fabrikam.example")
    assert "Fabrikam cannot sign in" in html.text and "Printer" not in html.text
