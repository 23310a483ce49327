"""Hook implementations of the invitations plugin.

* duplicate-contact detection on every contact create (:mod:`.duplicates`);
* invitation codes and their redemption (:mod:`.redemption`, routes in :mod:`.routes`);
* delegated contact management by "user manager" web roles (:mod:`.management`);
* ``portalis invitations ...`` commands (:mod:`.cli`).
"""

from __future__ import annotations

from pathlib import Path
from typing import Any

from portalis.core import hookimpl
from portalis.plugins.invitations import duplicates, settings

__all__ = [
    "portalis_cli_commands",
    "portalis_contact_before_create",
    "portalis_piccolo_apps",
    "portalis_routes",
    "portalis_security_findings",
    "portalis_setting_defaults",
    "portalis_site_file_sections",
    "portalis_template_dirs",
]

TEMPLATES = Path(__file__).parent / "templates"


@hookimpl
def portalis_piccolo_apps() -> list[str]:
    return ["portalis.plugins.invitations.piccolo_app"]


@hookimpl
def portalis_setting_defaults() -> dict[str, str]:
    return {**duplicates.SETTING_DEFAULTS, **settings.SETTING_DEFAULTS}


@hookimpl
def portalis_template_dirs() -> list[str]:
    return [str(TEMPLATES)]


@hookimpl
def portalis_routes(app_config: Any) -> list[Any]:
    from portalis.plugins.invitations.routes import ROUTES

    return list(ROUTES)


@hookimpl
def portalis_cli_commands() -> list[Any]:
    from portalis.plugins.invitations.cli import invitations

    return [invitations]


@hookimpl
def portalis_security_findings(site: Any, services: Any) -> list[Any]:
    from portalis.plugins.invitations.checks import findings

    return findings(site)


@hookimpl
def portalis_site_file_sections() -> dict[str, Any]:
    from portalis.plugins.invitations.sitefile import InvitationsSection

    return {"invitations": InvitationsSection()}


@hookimpl
async def portalis_contact_before_create(site: Any, values: dict[str, Any], principal: Any,
                                         services: Any) -> None:
    await duplicates.check(site, values, principal, services)
