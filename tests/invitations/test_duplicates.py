"""Duplicate-contact detection on every path that creates a contact."""

from __future__ import annotations

import asyncio
from typing import Any

import pytest

from portalis.core import Conflict, InvalidInput, Principal
from tests.invitations.support import InvPortal, invitations_portal, site_with

NEW = {"firstname": "Nora", "lastname": "New"}


async def create(ip: InvPortal, values: dict[str, Any]) -> dict[str, Any]:
    site = await ip.site()
    return await ip.services.records.create(Principal.for_system(site.id), "contact", values)


@pytest.mark.parametrize("variant", [
    "alice@contoso.example", "  ALICE@Contoso.Example ", "\uff41lice@contoso.example"])
async def test_email_rule_on_records_create(database_url: str, variant: str) -> None:
    async with invitations_portal(database_url) as ip:
        with pytest.raises(Conflict) as caught:
            await create(ip, {"email": variant, **NEW})
        assert caught.value.code == "duplicate_contact"
        assert "alice@contoso.example" in caught.value.message
        assert await ip.count("alice@contoso.example") == 1


async def test_email_rule_on_the_web_api(database_url: str) -> None:
    async with invitations_portal(database_url) as ip:
        r = await ip.post("/_api/contact", {"email": " Alice@CONTOSO.example", **NEW},
                          who="bob@contoso.example")
        assert r.status_code == 409, r.text
        error = r.json()["error"]
        assert error["code"] == "duplicate_contact"
        assert "alice@contoso.example" in error["message"]
        ok = await ip.post("/_api/contact", {"email": "nora@contoso.example", **NEW},
                           who="bob@contoso.example")
        assert ok.status_code == 201, ok.text
        assert await ip.count("alice@contoso.example") == 1


async def test_email_rule_on_site_apply(database_url: str) -> None:
    async with invitations_portal(database_url) as ip:
        text = site_with().replace(
            "contacts:\n",
            "contacts:\n  - key: alice-again\n    email: ALICE@contoso.example\n", 1)
        with pytest.raises(InvalidInput) as caught:
            await ip.apply(text)
        assert "contacts[alice-again]" in caught.value.message
        assert "alice@contoso.example" in caught.value.message
        assert await ip.count("alice@contoso.example") == 1


async def test_inactive_duplicate_is_refused_with_an_offer_to_reactivate(
        database_url: str) -> None:
    async with invitations_portal(database_url) as ip:
        site = await ip.site()
        alice = await ip.contact_id("alice@contoso.example")
        await ip.services.records.update(Principal.for_system(site.id), "contact", alice,
                                         {"state": "inactive"})
        with pytest.raises(Conflict) as caught:
            await create(ip, {"email": "alice@contoso.example", **NEW})
        assert caught.value.code == "inactive_duplicate"
        assert "reactivate" in caught.value.message
        r = await ip.post("/_api/contact", {"email": "alice@contoso.example", **NEW},
                          who="bob@contoso.example")
        assert r.status_code == 409 and r.json()["error"]["code"] == "inactive_duplicate"
        assert "contact" not in r.json()["error"]  # the id is not disclosed
        # the manager route refuses too while reactivation is not permitted ...
        r = await ip.post("/_invitations/manage/contacts",
                          {"email": "alice@contoso.example", "firstname": "Alice"},
                          who="bob@contoso.example")
        assert r.status_code == 409 and r.json()["error"]["code"] == "inactive_duplicate"
        assert await ip.count("alice@contoso.example") == 1


async def test_inactive_duplicate_is_reactivated_where_the_site_permits(
        database_url: str) -> None:
    async with invitations_portal(
            database_url, settings={"Invitations/Duplicates/ReactivateInactive": "true"}) as ip:
        site = await ip.site()
        alice = await ip.contact_id("alice@contoso.example")
        await ip.services.records.update(Principal.for_system(site.id), "contact", alice,
                                         {"state": "inactive"})
        r = await ip.post("/_invitations/manage/contacts",
                          {"email": "Alice@contoso.example", "firstname": "Alicia"},
                          who="bob@contoso.example")
        assert r.status_code == 201, r.text
        body = r.json()
        assert body["reactivated"] is True and body["id"] == alice
        assert body["state"] == "active" and body["firstname"] == "Alicia"
        assert await ip.count("alice@contoso.example") == 1
        # the kernel paths still refuse a duplicate of the (now active) contact
        with pytest.raises(Conflict):
            await create(ip, {"email": "alice@contoso.example"})


async def test_name_and_phone_rule(database_url: str) -> None:
    same = {"email": "a.archer@elsewhere.example", "firstname": "alice",
            "lastname": "ARCHER", "phone": "+44 (20) 7946-0001"}
    async with invitations_portal(database_url) as ip:
        assert (await create(ip, dict(same)))["id"]  # off by default
    async with invitations_portal(
            database_url,
            settings={"Invitations/Duplicates/NamePhone": "true"}) as ip:
        with pytest.raises(Conflict) as caught:
            await create(ip, dict(same, email="a2@elsewhere.example"))
        assert caught.value.code == "duplicate_contact"
        assert "phone" in caught.value.message
        # another phone, or another name, is not a duplicate
        await create(ip, dict(same, email="a3@elsewhere.example", phone="+44 20 7946 0002"))
        await create(ip, dict(same, email="a4@elsewhere.example", firstname="Alan"))


async def test_fuzzy_name_rule_within_the_same_account(database_url: str) -> None:
    async with invitations_portal(
            database_url, settings={"Invitations/Duplicates/FuzzyNameRatio": "0.85"}) as ip:
        site = await ip.site()
        contoso = await ip.db.fetchval('SELECT "id" FROM "account" WHERE "key" = ?', "contoso")
        fabrikam = await ip.db.fetchval('SELECT "id" FROM "account" WHERE "key" = ?',
                                        "fabrikam")
        with pytest.raises(Conflict) as caught:
            await create(ip, {"email": "alyce@contoso.example", "firstname": "Alyce",
                              "lastname": "Archer", "account": contoso})
        assert caught.value.code == "duplicate_contact"
        assert "Alice Archer" in caught.value.message and "same account" in caught.value.message
        # the same name in another account, or a different name, is fine
        await create(ip, {"email": "alyce@fabrikam.example", "firstname": "Alyce",
                          "lastname": "Archer", "account": fabrikam})
        await create(ip, {"email": "zed@contoso.example", "firstname": "Zed",
                          "lastname": "Zimmer", "account": contoso})
        assert site.id


async def test_parallel_creates_make_one_contact(database_url: str) -> None:
    async with invitations_portal(
            database_url, settings={"Invitations/Duplicates/NamePhone": "true"}) as ip:
        async def one(i: int, same_email: bool) -> str:
            values = ({"email": "race@example.com", **NEW} if same_email else
                      {"email": f"race{i}@example.com", "firstname": "Rae", "lastname": "Race",
                       "phone": "+1 555 0100"})
            try:
                await create(ip, values)
            except Conflict as exc:
                return exc.code
            return "created"

        by_email = await asyncio.gather(*(one(i, True) for i in range(10)))
        assert sorted(by_email) == ["created"] + ["duplicate_contact"] * 9
        assert await ip.count("race@example.com") == 1
        by_phone = await asyncio.gather(*(one(i, False) for i in range(10)))
        assert sorted(by_phone) == ["created"] + ["duplicate_contact"] * 9
        assert await ip.db.fetchval(
            'SELECT COUNT(*) FROM "contact" WHERE "lastname" = ?', "Race") == 1


async def test_parallel_web_api_creates_make_one_contact(database_url: str) -> None:
    async with invitations_portal(database_url) as ip:
        await ip.portal.csrf()
        answers = await asyncio.gather(*(
            ip.post("/_api/contact", {"email": "twin@contoso.example", **NEW},
                    who="bob@contoso.example") for _ in range(8)))
        assert sorted(a.status_code for a in answers) == [201] + [409] * 7
        assert {a.json()["error"]["code"] for a in answers if a.status_code == 409} == {
            "duplicate_contact"}
        assert await ip.count("twin@contoso.example") == 1


async def test_identity_registration_does_not_recreate_an_inactive_contact(
        database_url: str) -> None:
    pytest.importorskip("portalis.plugins.identity.plugin")
    from portalis.plugins.identity.passwords import PasswordHasher
    from portalis.plugins.identity.store import state

    async with invitations_portal(database_url, plugins=("identity", "invitations")) as ip:
        state(ip.services).hasher = PasswordHasher.cheap()
        site = await ip.site()
        alice = await ip.contact_id("alice@contoso.example")
        await ip.services.records.update(Principal.for_system(site.id), "contact", alice,
                                         {"state": "inactive"})
        r = await ip.post("/_auth/register", {"email": "ALICE@contoso.example",
                                              "password": "Quiet-River-42"})
        assert r.status_code == 202, r.text  # the same answer as any registration
        assert await ip.count("alice@contoso.example") == 1
        r = await ip.post("/_auth/register", {"email": "newbie@contoso.example",
                                              "password": "Quiet-River-42"})
        assert r.status_code == 202
        assert await ip.count("newbie@contoso.example") == 1


async def test_a_manager_cannot_reactivate_another_accounts_contact(database_url: str) -> None:
    async with invitations_portal(
            database_url, settings={"Invitations/Duplicates/ReactivateInactive": "true"}) as ip:
        site = await ip.site()
        carol = await ip.contact_id("carol@fabrikam.example")
        await ip.services.records.update(Principal.for_system(site.id), "contact", carol,
                                         {"state": "inactive"})
        r = await ip.post("/_invitations/manage/contacts",
                          {"email": "carol@fabrikam.example", "firstname": "Carol"},
                          who="bob@contoso.example")
        assert r.status_code == 409, r.text
        assert r.json()["error"]["code"] == "inactive_duplicate"
        assert str(carol) not in r.json()["error"]["message"]
        row = await ip.services.records.get(Principal.for_system(site.id), "contact", carol)
        assert row["state"] == "inactive" and row["account"] != (
            await ip.db.fetchval('SELECT "id" FROM "account" WHERE "key" = ?', "contoso"))
