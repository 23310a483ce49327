"""Hook implementations of the lockout plugin.

Implements the identity plugin's ``portalis_signin_attempt`` / ``portalis_signin_result``
(optional hooks: the plugin loads without identity and then does nothing), contributes its
settings, its Piccolo app and the ``portalis lockout`` commands. The rules are in
:mod:`.policy`, the atomic counters in :mod:`.store`.
"""

from __future__ import annotations

from typing import Any

from portalis.core import hookimpl
from portalis.plugins.lockout import policy

__all__ = [
    "portalis_cli_commands",
    "portalis_piccolo_apps",
    "portalis_setting_defaults",
    "portalis_signin_attempt",
    "portalis_signin_result",
]


@hookimpl
def portalis_piccolo_apps() -> list[str]:
    return ["portalis.plugins.lockout.piccolo_app"]


@hookimpl
def portalis_setting_defaults() -> dict[str, str]:
    return dict(policy.SETTING_DEFAULTS)


@hookimpl
def portalis_cli_commands() -> list[Any]:
    from portalis.plugins.lockout.cli import lockout

    return [lockout]


@hookimpl(optionalhook=True)
async def portalis_signin_attempt(site: Any, contact_id: int | None, kind: str, client_ip: str,
                                  services: Any) -> str | None:
    return await policy.attempt(services, site, contact_id, kind, client_ip)


@hookimpl(optionalhook=True)
async def portalis_signin_result(site: Any, contact_id: int | None, kind: str, success: bool,
                                 client_ip: str, services: Any) -> None:
    await policy.result(services, site, contact_id, kind, success, client_ip)
