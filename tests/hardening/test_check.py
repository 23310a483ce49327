"""``portalis check``: every finding it is meant to make, and silence on a clean site."""

from __future__ import annotations

from portalis.core.check import check_all
from tests.kernel.conftest import CASES_SITE
from tests.support.portal import Portal

RISKY = """
website: {key: risky, hosts: [risky.example]}
settings:
  Webapi/case/enabled: true
  Webapi/case/fields: "*"
  Webapi/article/enabled: true
  Webapi/article/fields: title
  Authentication/Registration/RequiresInvitation: true
roles: [{key: staff}]
permissions:
  - {key: leak-cases, table: case, scope: global, privileges: [read], roles: [anonymous]}
  - {key: all-contacts, table: contact, scope: global, privileges: [read], roles: [staff]}
  - {key: public-articles, table: article, scope: global, privileges: [read],
     roles: [anonymous]}
"""


async def test_findings_name_the_problem_and_the_fix(portal: Portal) -> None:
    await portal.apply(RISKY)
    findings = await check_all(portal.services)
    got = {(f.code, f.subject) for f in findings}
    assert ("anonymous-read", "permission 'leak-cases' (case)") in got
    assert ("global-personal-data", "permission 'all-contacts' (contact)") in got
    assert ("webapi-broad-fields", "setting Webapi/case/fields") in got
    assert ("webapi-anonymous", "setting Webapi/case/enabled") in got
    assert ("webapi-anonymous", "setting Webapi/article/enabled") in got
    assert ("open-registration",
            "setting Authentication/Registration/OpenRegistrationEnabled") in got
    assert all(f.fix for f in findings)


async def test_demo_style_site_only_flags_its_public_articles(portal: Portal) -> None:
    await portal.apply(CASES_SITE)
    findings = await check_all(portal.services)
    assert {f.code for f in findings} == {"anonymous-read", "webapi-anonymous"}
    assert all("article" in f.subject for f in findings)
    await portal.apply(CASES_SITE.replace("roles: [anonymous, authenticated]",
                                          "roles: [authenticated]"))
    assert await check_all(portal.services) == []
