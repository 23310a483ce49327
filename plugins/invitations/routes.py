"""Routes of the invitations plugin.

Redemption (any visitor; GET shows a form, only POST acts):

* ``GET  /_invitations/redeem[?code=...]``, ``POST /_invitations/redeem`` {code}
* ``GET  /_invitations/redeem/confirm?token=...``, ``POST /_invitations/redeem/confirm`` {token}

Delegated management (user managers, JSON; see :mod:`.management`):

* ``GET/POST /_invitations/manage/contacts``, ``PATCH /_invitations/manage/contacts/{id}``,
  ``POST /_invitations/manage/contacts/{id}/deactivate`` and ``.../reactivate``
* ``GET/POST /_invitations/manage/invitations``,
  ``POST /_invitations/manage/invitations/{id}/revoke``

POSTs accept form fields or JSON and need the CSRF token (kernel middleware). Errors
are the kernel's typed errors (JSON or HTML, with a code and a message).
"""

from __future__ import annotations

from typing import Any

from litestar import MediaType, Request, Response, get, patch, post
from litestar.utils.scope.state import ScopeState

from portalis.core import Principal
from portalis.core.services import Services
from portalis.core.sites import Site
from portalis.core.web.bodies import form_fields, json_object
from portalis.core.web.errors import wants_json
from portalis.core.web.pages import render_page
from portalis.plugins.invitations import redemption
from portalis.plugins.invitations.management import manager_for

__all__ = ["ROUTES"]


async def _input(request: Request[Any, Any, Any]) -> tuple[dict[str, Any], bool]:
    if "json" in request.headers.get("content-type", ""):
        return await json_object(request), True
    return form_fields(await request.form()), wants_json(request)


def _ip(request: Request[Any, Any, Any]) -> str:
    return request.client.host if request.client else ""


def _page(request: Request[Any, Any, Any], template: str, title: str, **context: Any
          ) -> Response[Any]:
    token = ScopeState.from_scope(request.scope).csrf_token
    html = render_page(request, template, title=title,
                       csrf_token=token if isinstance(token, str) else "", **context)
    return Response(html, media_type=MediaType.HTML)


def _text(data: dict[str, Any], name: str, limit: int = 200) -> str:
    value = data.get(name)
    return value[:limit] if isinstance(value, str) else ""


@get("/_invitations/redeem", name="invitations-redeem-form")
async def redeem_form(request: Request[Any, Any, Any]) -> Response[Any]:
    return _page(request, "invitations_redeem.liquid", "Redeem an invitation",
                 code=request.query_params.get("code", "")[:200])


@post("/_invitations/redeem", name="invitations-redeem", status_code=200)
async def redeem(request: Request[Any, Any, Any], site: Site, services: Services,
                 principal: Principal) -> Response[Any]:
    data, as_json = await _input(request)
    result = await redemption.redeem(services, site, principal, _text(data, "code"),
                                     _ip(request))
    status = 202 if result["status"] == "check_email" else 200
    if as_json:
        return Response(result, status_code=status, media_type=MediaType.JSON)
    return _page(request, "invitations_done.liquid", "Invitation", result=result)


@get("/_invitations/redeem/confirm", name="invitations-confirm-form")
async def confirm_form(request: Request[Any, Any, Any]) -> Response[Any]:
    return _page(request, "invitations_confirm.liquid", "Accept your invitation",
                 token=request.query_params.get("token", "")[:200])


@post("/_invitations/redeem/confirm", name="invitations-confirm", status_code=200)
async def confirm(request: Request[Any, Any, Any], site: Site,
                  services: Services) -> Response[Any]:
    data, as_json = await _input(request)
    result = await redemption.redeem_proof(services, site, _text(data, "token"), _ip(request))
    if as_json:
        return Response(result, status_code=200, media_type=MediaType.JSON)
    return _page(request, "invitations_done.liquid", "Invitation", result=result)


# -- delegated management (JSON) -------------------------------------------------------


@get("/_invitations/manage/contacts", name="invitations-manage-list")
async def manage_list(request: Request[Any, Any, Any], site: Site, services: Services,
                      principal: Principal) -> dict[str, Any]:
    q = request.query_params
    return await manager_for(services, site, principal).list(
        search=q.get("search") or None, cursor=q.get("cursor") or None)


@post("/_invitations/manage/contacts", name="invitations-manage-create", status_code=201)
async def manage_create(request: Request[Any, Any, Any], site: Site, services: Services,
                        principal: Principal) -> dict[str, Any]:
    data, _ = await _input(request)
    return await manager_for(services, site, principal).create(data)


@patch("/_invitations/manage/contacts/{contact_id:int}", name="invitations-manage-update")
async def manage_update(request: Request[Any, Any, Any], contact_id: int, site: Site,
                        services: Services, principal: Principal) -> dict[str, Any]:
    data, _ = await _input(request)
    return await manager_for(services, site, principal).update(contact_id, data)


@post("/_invitations/manage/contacts/{contact_id:int}/deactivate",
      name="invitations-manage-deactivate", status_code=200)
async def manage_deactivate(contact_id: int, site: Site, services: Services,
                            principal: Principal) -> dict[str, Any]:
    return await manager_for(services, site, principal).set_state(contact_id, "inactive")


@post("/_invitations/manage/contacts/{contact_id:int}/reactivate",
      name="invitations-manage-reactivate", status_code=200)
async def manage_reactivate(contact_id: int, site: Site, services: Services,
                            principal: Principal) -> dict[str, Any]:
    return await manager_for(services, site, principal).set_state(contact_id, "active")


@get("/_invitations/manage/invitations", name="invitations-manage-invitations")
async def manage_invitations(site: Site, services: Services,
                             principal: Principal) -> dict[str, Any]:
    return {"value": await manager_for(services, site, principal).invitations()}


@post("/_invitations/manage/invitations", name="invitations-manage-invite", status_code=201)
async def manage_invite(request: Request[Any, Any, Any], site: Site, services: Services,
                        principal: Principal) -> dict[str, Any]:
    data, _ = await _input(request)
    return await manager_for(services, site, principal).invite(data)


@post("/_invitations/manage/invitations/{invitation_id:int}/revoke",
      name="invitations-manage-revoke", status_code=200)
async def manage_revoke(invitation_id: int, site: Site, services: Services,
                        principal: Principal) -> dict[str, Any]:
    await manager_for(services, site, principal).revoke(invitation_id)
    return {"revoked": True}


ROUTES = [redeem_form, redeem, confirm_form, confirm, manage_list, manage_create,
          manage_update, manage_deactivate, manage_reactivate, manage_invitations,
          manage_invite, manage_revoke]
