"""``portalis check`` findings of the invitations plugin (``portalis_security_findings``).

* ``invitations-unknown-role``: ManagerRoles / DelegableRoles name a role that does not
  exist (the feature silently does nothing for it).
* ``invitations-manager-permission``: a user-manager role lacks an Account-scope
  read/write/create permission on ``contact`` (its holders get 403).
* ``invitations-delegable-manager``: a user-manager role is delegable, so managers can
  make more managers.
* ``invitations-email-proof-off``: ``Invitations/RequireEmailProof`` is false — the code
  alone redeems an invitation, whoever holds it (Power Pages' wrong-user problem).
"""

from __future__ import annotations

from typing import Any

from portalis.core.check import Finding
from portalis.plugins.invitations import settings

__all__ = ["findings"]


def findings(site: Any) -> list[Finding]:
    out: list[Finding] = []
    managers, delegable = settings.manager_roles(site), settings.delegable_roles(site)
    for name, keys in (("Invitations/ManagerRoles", managers),
                       ("Invitations/DelegableRoles", delegable)):
        for key in sorted(keys):
            role = site.roles.get(key)
            if role is None or role.builtin:
                out.append(Finding("invitations-unknown-role", site.key, name,
                                   f"names {key!r}, which is not an assignable web role",
                                   f"remove {key!r} from {name} or create the role"))
    for key in sorted(managers):
        role = site.roles.get(key)
        if role is None or role.builtin:
            continue
        missing = [p for p in ("read", "write", "create")
                   if not any(g.scope in ("account", "global") for g in
                              site.policy.applicable(frozenset([role.id]), "contact", p))]
        if missing:
            out.append(Finding(
                "invitations-manager-permission", site.key, f"role {key}",
                f"user managers lack {', '.join(missing)} on contact (Account scope)",
                "add a contact permission: scope account, relationship account, "
                f"privileges [read, write, create], roles [{key}]"))
        if key in delegable:
            out.append(Finding(
                "invitations-delegable-manager", site.key, f"role {key}",
                "the user-manager role is delegable: managers can make more managers",
                f"remove {key!r} from Invitations/DelegableRoles unless that is intended"))
    if not settings.require_email_proof(site):
        out.append(Finding(
            "invitations-email-proof-off", site.key, "Invitations/RequireEmailProof",
            "an invitation code alone redeems an invitation to an email, whoever holds it",
            "set Invitations/RequireEmailProof to true"))
    return out
