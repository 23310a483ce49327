"""``portalis check``: the security linter a maker runs before going live.

Findings name the permission or setting and the fix. Checks (from the public Power
Pages leaks of 2021 and 2024):

* ``anonymous-read``: a table permission gives the Anonymous Users role read access.
* ``global-personal-data``: Global scope on a table marked as holding personal data.
* ``webapi-broad-fields``: a Web API table enabled without an explicit field list (or ``*``).
* ``webapi-anonymous``: a Web API table readable by anonymous visitors.
* ``open-registration``: open registration left on while invitations are meant to gate
  sign-up (``Authentication/Registration/RequiresInvitation`` true, or
  ``Authentication/Registration/InvitationOnly`` true).
* page rules granting change to Authenticated Users are checked by the pages plugin
  through the same finding format when it is enabled (``portalis_security_findings``).
"""

from __future__ import annotations

from dataclasses import dataclass

from portalis.core.plugins import call_hook
from portalis.core.services import Services
from portalis.core.sites import Site

__all__ = ["Finding", "check_all", "check_site"]


@dataclass(frozen=True)
class Finding:
    code: str
    website: str
    subject: str
    message: str
    fix: str

    def __str__(self) -> str:
        return f"[{self.code}] {self.website}: {self.subject}: {self.message}\n    fix: {self.fix}"


def _enabled(site: Site, name: str) -> bool:
    return site.flag(name)


async def check_site(services: Services, site: Site) -> list[Finding]:
    out: list[Finding] = []
    policy = site.policy
    anon = site.anonymous_role
    for grant in policy.grants.values():
        roles = policy.effective_roles(grant)
        table = services.registry.tables.get(grant.table)
        if anon is not None and anon in roles and "read" in grant.privileges:
            out.append(Finding(
                "anonymous-read", site.key, f"permission {grant.key!r} ({grant.table})",
                f"anonymous visitors can read {grant.table} rows ({grant.scope} scope)",
                "remove the Anonymous Users role from the permission unless the table is "
                "meant to be public"))
        if grant.scope == "global" and table is not None and table.personal_data:
            out.append(Finding(
                "global-personal-data", site.key, f"permission {grant.key!r} ({grant.table})",
                f"Global scope on {grant.table}, a table holding personal data",
                "use Contact, Account, Self or Parent scope"))
    for name in sorted(services.registry.tables):
        if not _enabled(site, f"Webapi/{name}/enabled"):
            continue
        fields = site.setting(f"Webapi/{name}/fields").strip()
        if not fields or fields == "*":
            out.append(Finding(
                "webapi-broad-fields", site.key, f"setting Webapi/{name}/fields",
                f"the Web API exposes {name} without an explicit field list",
                f"list the columns the API needs in Webapi/{name}/fields"))
        if anon is not None and policy.applicable(frozenset([anon]), name, "read"):
            out.append(Finding(
                "webapi-anonymous", site.key, f"setting Webapi/{name}/enabled",
                f"anonymous visitors can read {name} through the Web API",
                f"disable Webapi/{name}/enabled or remove anonymous read"))
    gated = (site.flag("Authentication/Registration/RequiresInvitation")
             or site.flag("Authentication/Registration/InvitationOnly"))
    if gated and site.flag("Authentication/Registration/OpenRegistrationEnabled", True):
        out.append(Finding(
            "open-registration", site.key,
            "setting Authentication/Registration/OpenRegistrationEnabled",
            "open registration is on although invitations are meant to gate sign-up",
            "set Authentication/Registration/OpenRegistrationEnabled to false"))
    for extra in await call_hook(services.pm, "portalis_security_findings", site=site,
                                 services=services):
        out.extend(Finding(**f) if isinstance(f, dict) else f for f in extra)
    return out


async def check_all(services: Services) -> list[Finding]:
    findings: list[Finding] = []
    for website_id in await services.sites.all_ids():
        findings += await check_site(services, await services.sites.get(website_id))
    return findings
