"""Site settings of the invitations plugin (names and defaults) and their readers."""

from __future__ import annotations

from typing import Any

__all__ = ["SETTING_DEFAULTS", "delegable_roles", "manager_roles", "require_email_proof"]

P = "Invitations/"
SETTING_DEFAULTS = {
    # An invitation to an email is redeemed only by someone who proves that mailbox
    # (a single-use link mailed to it). "false" = Power Pages' behaviour: the code alone.
    P + "RequireEmailProof": "true",
    P + "ProofLifetimeMinutes": "1440",
    P + "DefaultExpiryDays": "30",
    # Web role keys (comma-separated) whose holders manage their own account's contacts.
    P + "ManagerRoles": "",
    # Web role keys a user manager may grant (only those it holds itself).
    P + "DelegableRoles": "",
}


def _keys(site: Any, name: str) -> set[str]:
    return {k.strip() for k in site.setting(P + name, "").split(",") if k.strip()}


def manager_roles(site: Any) -> set[str]:
    return _keys(site, "ManagerRoles")


def delegable_roles(site: Any) -> set[str]:
    return _keys(site, "DelegableRoles")


def require_email_proof(site: Any) -> bool:
    return bool(site.flag(P + "RequireEmailProof", True))
