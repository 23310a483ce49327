"""The ``invitations`` section of site files: the plugin's settings, checked.

```yaml
invitations:
  manager_roles: [customer-admin]     # Invitations/ManagerRoles
  delegable_roles: [customer]         # Invitations/DelegableRoles
  require_email_proof: true           # Invitations/RequireEmailProof
  default_expiry_days: 30             # Invitations/DefaultExpiryDays
  duplicates:
    email: true                       # Invitations/Duplicates/Email
    name_phone: false                 # Invitations/Duplicates/NamePhone
    fuzzy_name_ratio: 0               # Invitations/Duplicates/FuzzyNameRatio (0 = off)
    reactivate_inactive: false        # Invitations/Duplicates/ReactivateInactive
```

The same settings can be written in the ``settings`` section; this section adds checks
(role keys must exist and be assignable, the ratio must lie in 0..1) and names the
entry that is wrong. Keys left out are left as they are. Export writes back the
settings the website has.
"""

from __future__ import annotations

from typing import Any

from portalis.core import InvalidInput
from portalis.core.sites import bump_version

__all__ = ["InvitationsSection"]

ROLES = {"manager_roles": "Invitations/ManagerRoles",
         "delegable_roles": "Invitations/DelegableRoles"}
FLAGS = {"require_email_proof": "Invitations/RequireEmailProof"}
NUMBERS = {"default_expiry_days": "Invitations/DefaultExpiryDays"}
DUPLICATES = {"email": ("Invitations/Duplicates/Email", "flag"),
              "name_phone": ("Invitations/Duplicates/NamePhone", "flag"),
              "fuzzy_name_ratio": ("Invitations/Duplicates/FuzzyNameRatio", "ratio"),
              "reactivate_inactive": ("Invitations/Duplicates/ReactivateInactive", "flag")}


def _err(where: str, problem: str) -> InvalidInput:
    return InvalidInput(f"{where}: {problem}", code="invalid_site_file", where=where)


def _flag(value: Any, where: str) -> str:
    if not isinstance(value, bool):
        raise _err(where, "must be true or false")
    return "true" if value else "false"


def _number(value: Any, where: str, low: float, high: float | None) -> str:
    if isinstance(value, bool) or not isinstance(value, int | float):
        raise _err(where, "must be a number")
    if value < low or (high is not None and value > high):
        raise _err(where, f"must lie between {low} and {high}" if high is not None
                   else f"must be {low} or more")
    return str(value)


class InvitationsSection:
    async def apply(self, website_id: int, data: Any, services: Any, applier: Any) -> None:
        if not isinstance(data, dict):
            raise _err("invitations", "must be a mapping (see the plugin's documentation)")
        unknown = sorted(set(data) - set(ROLES) - set(FLAGS) - set(NUMBERS) - {"duplicates"})
        if unknown:
            raise _err("invitations", f"unknown keys {unknown}")
        values: dict[str, str] = {}
        for key, name in ROLES.items():
            if key not in data:
                continue
            where = f"invitations.{key}"
            roles = data[key] or []
            if not isinstance(roles, list) or not all(isinstance(r, str) for r in roles):
                raise _err(where, "must be a list of web role keys")
            for role in roles:
                if role not in applier.roles:
                    raise _err(where, f"no role {role!r}")
                if role in ("authenticated", "anonymous"):
                    raise _err(where, f"the built-in role {role!r} cannot be used here")
            values[name] = ",".join(roles)
        for key, name in FLAGS.items():
            if key in data:
                values[name] = _flag(data[key], f"invitations.{key}")
        for key, name in NUMBERS.items():
            if key in data:
                values[name] = _number(data[key], f"invitations.{key}", 0, None)
        dup = data.get("duplicates", {})
        if not isinstance(dup, dict):
            raise _err("invitations.duplicates", "must be a mapping")
        unknown = sorted(set(dup) - set(DUPLICATES))
        if unknown:
            raise _err("invitations.duplicates", f"unknown keys {unknown}")
        for key, (name, kind) in DUPLICATES.items():
            if key in dup:
                where = f"invitations.duplicates.{key}"
                values[name] = (_flag(dup[key], where) if kind == "flag"
                                else _number(dup[key], where, 0, 1))
        for name, value in values.items():
            await applier.upsert("portalis_site_setting", {"website": website_id, "name": name},
                                 {"value": value})
        if values:
            await bump_version(applier.conn, website_id)

    async def export(self, website_id: int, services: Any) -> dict[str, Any]:
        rows = await services.db.fetch(
            'SELECT "name", "value" FROM "portalis_site_setting" WHERE "website" = ? '
            'AND "name" LIKE ?', website_id, "Invitations/%")
        have = {r["name"]: r["value"] for r in rows}
        out: dict[str, Any] = {}
        for key, name in ROLES.items():
            if name in have:
                out[key] = [r for r in have[name].split(",") if r]
        for key, name in FLAGS.items():
            if name in have:
                out[key] = have[name].strip().lower() in ("true", "1", "yes", "on")
        for key, name in NUMBERS.items():
            if name in have:
                out[key] = _num(have[name])
        dup: dict[str, Any] = {}
        for key, (name, kind) in DUPLICATES.items():
            if name in have:
                dup[key] = (have[name].strip().lower() in ("true", "1", "yes", "on")
                            if kind == "flag" else _num(have[name]))
        if dup:
            out["duplicates"] = dup
        return out


def _num(text: str) -> float | int:
    try:
        value = float(text)
    except ValueError:
        return 0
    return int(value) if value.is_integer() else value
