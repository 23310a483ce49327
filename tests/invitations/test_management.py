"""Delegated contact management: own account only, delegable roles held by the manager."""

from __future__ import annotations

from portalis.core import Principal
from tests.invitations.support import InvPortal, invitations_portal

BOB = "bob@contoso.example"  # customer-admin = user manager of Contoso
ALICE = "alice@contoso.example"
BASE = "/_invitations/manage/contacts"


async def ids(ip: InvPortal) -> dict[str, int]:
    rows = await ip.db.fetch('SELECT "id", "key" FROM "contact" WHERE "key" IS NOT NULL')
    return {r["key"]: r["id"] for r in rows}


async def test_manager_lists_only_own_account(database_url: str) -> None:
    async with invitations_portal(database_url) as ip:
        r = await ip.get(BASE, who=BOB)
        assert r.status_code == 200, r.text
        listed = {row["email"]: row["roles"] for row in r.json()["value"]}
        assert listed == {ALICE: ["customer"], BOB: ["customer", "customer-admin"],
                          "erin@contoso.example": ["auditor"]}
        r = await ip.get(BASE, who="dave@fabrikam.example")
        assert {row["email"] for row in r.json()["value"]} == {
            "carol@fabrikam.example", "dave@fabrikam.example"}


async def test_non_managers_and_missing_permissions_are_refused(database_url: str) -> None:
    async with invitations_portal(database_url) as ip:
        r = await ip.get(BASE, who=ALICE)
        assert r.status_code == 403 and r.json()["error"]["code"] == "not_a_manager"
        r = await ip.get(BASE)
        assert r.status_code == 403 and r.json()["error"]["code"] == "signin_required"


async def test_missing_account_scope_permission_is_named(database_url: str) -> None:
    async with invitations_portal(database_url, manager_permission=False) as ip:
        r = await ip.get(BASE, who=BOB)
        assert r.status_code == 403, r.text
        error = r.json()["error"]
        assert error["code"] == "manager_permissions_missing"
        assert "Account scope" in error["message"]
        assert "with read for your web role" in error["message"]
        r = await ip.post(BASE, {"email": "x@contoso.example"}, who=BOB)
        assert r.status_code == 403
        assert "with read, create for your web role" in r.json()["error"]["message"]


async def test_manager_creates_edits_deactivates_and_invites(database_url: str) -> None:
    async with invitations_portal(database_url) as ip:
        r = await ip.post(BASE, {"email": " Frank@Contoso.example", "firstname": "Frank",
                                 "roles": ["customer"], "invite": True}, who=BOB)
        assert r.status_code == 201, r.text
        frank = r.json()
        assert frank["email"] == "frank@contoso.example" and frank["roles"] == ["customer"]
        contoso = await ip.db.fetchval('SELECT "id" FROM "account" WHERE "key" = ?', "contoso")
        assert frank["account"] == contoso
        assert frank["invitation"]["email"] == "frank@contoso.example"
        assert ip.mail.param("frank@contoso.example", "code") == frank["invitation"]["code"]

        r = await ip.patch(f"{BASE}/{frank['id']}", {"lastname": "Fox", "roles": ["customer",
                                                                                 "partner"]},
                           who=BOB)
        assert r.status_code == 403 and r.json()["error"]["code"] == "role_not_held"
        r = await ip.patch(f"{BASE}/{frank['id']}", {"lastname": "Fox", "roles": []}, who=BOB)
        assert r.status_code == 200, r.text
        assert r.json()["lastname"] == "Fox" and r.json()["roles"] == []

        site = await ip.site()
        assert await ip.services.principal_for_contact(site, frank["id"]) is not None
        r = await ip.post(f"{BASE}/{frank['id']}/deactivate", who=BOB)
        assert r.status_code == 200 and r.json()["state"] == "inactive"
        assert await ip.services.principal_for_contact(site, frank["id"]) is None
        r = await ip.post(f"{BASE}/{frank['id']}/reactivate", who=BOB)
        assert r.status_code == 200 and r.json()["state"] == "active"
        r = await ip.portal.send("DELETE", f"{BASE}/{frank['id']}", who=BOB)
        assert r.status_code in (404, 405)  # never delete
        assert await ip.count("frank@contoso.example") == 1

        r = await ip.post(f"{BASE}/{(await ids(ip))['bob']}/deactivate", who=BOB)
        assert r.status_code == 403 and r.json()["error"]["code"] == "own_contact"

        r = await ip.post("/_invitations/manage/invitations",
                          {"email": "guest@example.com", "roles": ["customer"]}, who=BOB)
        assert r.status_code == 201, r.text
        invitation = r.json()
        listed = await ip.get("/_invitations/manage/invitations", who=BOB)
        assert invitation["id"] in [i["id"] for i in listed.json()["value"]]
        other = await ip.get("/_invitations/manage/invitations", who="dave@fabrikam.example")
        assert invitation["id"] not in [i["id"] for i in other.json()["value"]]
        r = await ip.post(f"/_invitations/manage/invitations/{invitation['id']}/revoke",
                          who="dave@fabrikam.example")
        assert r.status_code == 404
        r = await ip.post(f"/_invitations/manage/invitations/{invitation['id']}/revoke", who=BOB)
        assert r.status_code == 200
        r = await ip.post("/_invitations/redeem", {"code": invitation["code"]})
        assert r.status_code == 410 and r.json()["error"]["code"] == "invitation_revoked"


async def test_escalation_is_refused(database_url: str) -> None:
    async with invitations_portal(database_url) as ip:
        known = await ids(ip)
        # a role that is not delegable (even one the manager holds)
        r = await ip.post(BASE, {"email": "x1@contoso.example", "roles": ["customer-admin"]},
                          who=BOB)
        assert r.status_code == 403 and r.json()["error"]["code"] == "role_not_delegable"
        r = await ip.post(BASE, {"email": "x2@contoso.example", "roles": ["auditor"]}, who=BOB)
        assert r.status_code == 403 and r.json()["error"]["code"] == "role_not_delegable"
        # a delegable role the manager does not hold
        r = await ip.post(BASE, {"email": "x3@contoso.example", "roles": ["partner"]}, who=BOB)
        assert r.status_code == 403 and r.json()["error"]["code"] == "role_not_held"
        r = await ip.patch(f"{BASE}/{known['alice']}", {"roles": ["customer", "partner"]},
                           who=BOB)
        assert r.status_code == 403 and r.json()["error"]["code"] == "role_not_held"
        r = await ip.post("/_invitations/manage/invitations",
                          {"email": "x4@example.com", "roles": ["customer-admin"]}, who=BOB)
        assert r.status_code == 403 and r.json()["error"]["code"] == "role_not_delegable"
        # another account's contacts are out of reach
        for attempt in (ip.patch(f"{BASE}/{known['carol']}", {"firstname": "Mallory"}, who=BOB),
                        ip.patch(f"{BASE}/{known['carol']}", {"roles": []}, who=BOB),
                        ip.patch(f"{BASE}/{known['dave']}", {"roles": ["customer"]}, who=BOB),
                        ip.post(f"{BASE}/{known['carol']}/deactivate", who=BOB),
                        ip.post("/_invitations/manage/invitations",
                                {"contact": known["carol"]}, who=BOB)):
            r = await attempt
            assert r.status_code == 404, r.text
        # the account cannot be set or moved, nor state, nor other columns
        r = await ip.post(BASE, {"email": "x5@contoso.example", "account": 999}, who=BOB)
        assert r.status_code == 400 and r.json()["error"]["code"] == "column_not_allowed"
        r = await ip.patch(f"{BASE}/{known['alice']}", {"account": None}, who=BOB)
        assert r.status_code == 400
        # a peer holding a role the manager could not grant is not the manager's to change
        r = await ip.patch(f"{BASE}/{known['erin']}", {"email": "bob+erin@contoso.example"},
                           who=BOB)
        assert r.status_code == 403 and r.json()["error"]["code"] == "contact_outranks_you"
        r = await ip.post(f"{BASE}/{known['erin']}/deactivate", who=BOB)
        assert r.status_code == 403 and r.json()["error"]["code"] == "contact_outranks_you"
        # nothing of the above changed anything
        site = await ip.site()
        carol = await ip.services.records.get(Principal.for_system(site.id), "contact",
                                              known["carol"])
        assert carol["firstname"] == "Carol" and carol["state"] == "active"
        assert await ip.role_keys(known["carol"]) == ["customer"]
        assert await ip.role_keys(known["alice"]) == ["customer"]
        for n in range(1, 6):
            assert await ip.count(f"x{n}@contoso.example") == 0
