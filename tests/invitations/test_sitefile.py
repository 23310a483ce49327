"""The ``invitations`` site-file section: checked settings, applied and exported."""

from __future__ import annotations

import pytest

from portalis.core import InvalidInput
from portalis.core.sitefile import export_site
from tests.invitations.support import invitations_portal, site_with

SECTION = """
invitations:
  manager_roles: [customer-admin, partner]
  delegable_roles: [customer]
  require_email_proof: false
  duplicates:
    name_phone: true
    fuzzy_name_ratio: 0.9
"""


async def test_section_sets_the_settings_and_exports_them(database_url: str) -> None:
    async with invitations_portal(database_url) as ip:
        await ip.apply(site_with() + SECTION)
        site = await ip.site()
        assert site.setting("Invitations/ManagerRoles") == "customer-admin,partner"
        assert site.setting("Invitations/DelegableRoles") == "customer"
        assert site.flag("Invitations/RequireEmailProof") is False
        assert site.flag("Invitations/Duplicates/NamePhone") is True
        assert site.number("Invitations/Duplicates/FuzzyNameRatio", 0) == 0.9
        exported = await export_site(ip.services, "inv")
        assert exported["invitations"]["manager_roles"] == ["customer-admin", "partner"]
        assert exported["invitations"]["duplicates"] == {"name_phone": True,
                                                          "fuzzy_name_ratio": 0.9}
        assert exported["invitations"]["require_email_proof"] is False
        r = await ip.post("/_invitations/manage/contacts",
                          {"email": "p@contoso.example", "roles": ["partner"]},
                          who="bob@contoso.example")
        assert r.status_code == 403 and r.json()["error"]["code"] == "role_not_delegable"


@pytest.mark.parametrize(("section", "where"), [
    ("invitations:\n  manager_roles: [ghost]\n", "invitations.manager_roles"),
    ("invitations:\n  delegable_roles: [anonymous]\n", "invitations.delegable_roles"),
    ("invitations:\n  duplicates:\n    fuzzy_name_ratio: 2\n",
     "invitations.duplicates.fuzzy_name_ratio"),
    ("invitations:\n  require_email_proof: maybe\n", "invitations.require_email_proof"),
    ("invitations:\n  colour: blue\n", "invitations"),
])
async def test_bad_sections_are_refused_naming_the_entry(database_url: str, section: str,
                                                         where: str) -> None:
    async with invitations_portal(database_url) as ip:
        with pytest.raises(InvalidInput) as caught:
            await ip.apply(site_with() + section)
        assert caught.value.message.startswith(where + ":")
        site = await ip.site()
        assert site.setting("Invitations/ManagerRoles") == "customer-admin"  # unchanged


async def test_security_findings(database_url: str) -> None:
    from portalis.core.check import check_site

    async with invitations_portal(database_url) as ip:
        codes = {f.code for f in await check_site(ip.services, await ip.site())}
        assert not {c for c in codes if c.startswith("invitations-")}


async def test_security_findings_name_each_problem(database_url: str) -> None:
    from portalis.core.check import check_site

    async with invitations_portal(database_url, manager_permission=False, settings={
            "Invitations/RequireEmailProof": "false",
            "Invitations/DelegableRoles": "customer,customer-admin,ghost"}) as ip:
        found = {(f.code, f.subject) for f in await check_site(ip.services, await ip.site())
                 if f.code.startswith("invitations-")}
        assert found == {
            ("invitations-unknown-role", "Invitations/DelegableRoles"),
            ("invitations-manager-permission", "role customer-admin"),
            ("invitations-delegable-manager", "role customer-admin"),
            ("invitations-email-proof-off", "Invitations/RequireEmailProof")}
