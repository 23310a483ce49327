"""End to end with the identity plugin: an invitation-only portal, redemption by email proof,
a password chosen through the reset flow, sign-in, and a manager's deactivation ending it."""

from __future__ import annotations

import pytest

from tests.invitations.support import invitations_portal
from tests.invitations.test_redemption import invite

pytest.importorskip("portalis.plugins.identity.plugin")

NEWBIE = "newbie@example.com"
PASSWORD = "Quiet-River-42"


async def test_invited_visitor_registers_signs_in_and_is_deactivated(database_url: str) -> None:
    from portalis.plugins.identity.passwords import PasswordHasher
    from portalis.plugins.identity.store import state

    async with invitations_portal(
            database_url, plugins=("identity", "invitations"),
            settings={"Authentication/Registration/RequiresInvitation": "true"}) as ip:
        state(ip.services).hasher = PasswordHasher.cheap()
        r = await ip.post("/_auth/register", {"email": NEWBIE, "password": PASSWORD})
        assert r.status_code == 403  # open registration is off: invitations only

        _, code = await invite(ip, email=NEWBIE, account="contoso", roles=["customer"],
                               send=True)
        assert ip.mail.param(NEWBIE, "code") == code
        r = await ip.post("/_invitations/redeem", {"code": code})
        assert r.status_code == 202, r.text
        r = await ip.post("/_invitations/redeem/confirm",
                          {"token": ip.mail.param(NEWBIE, "token")})
        assert r.status_code == 200, r.text
        assert r.json()["set_password"] == "/_auth/reset"
        contact_id = r.json()["contact"]
        assert await ip.role_keys(contact_id) == ["customer"]

        r = await ip.post("/_auth/reset/request", {"email": NEWBIE})
        assert r.status_code == 202
        r = await ip.post("/_auth/reset", {"token": ip.mail.param(NEWBIE, "token"),
                                           "password": PASSWORD})
        assert r.status_code == 200, r.text
        r = await ip.post("/_auth/login", {"email": NEWBIE, "password": PASSWORD})
        assert r.status_code == 200, r.text
        me = await ip.get("/_api/contact")
        assert [c["email"] for c in me.json()["value"]] == [NEWBIE]

        r = await ip.post(f"/_invitations/manage/contacts/{contact_id}/deactivate",
                          who="bob@contoso.example")
        assert r.status_code == 200, r.text
        assert await ip.db.fetchval(
            'SELECT COUNT(*) FROM "identity_session" WHERE "contact" = ?', contact_id) == 0
        me = await ip.get("/_api/contact")
        assert me.json().get("value", []) == []
        r = await ip.post("/_auth/login", {"email": NEWBIE, "password": PASSWORD})
        assert r.status_code == 401
