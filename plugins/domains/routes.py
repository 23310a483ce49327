"""``/_domains/api``: a website's administrators manage its custom domains (JSON).

Allowed to contacts holding a web role named in ``Domains/AdminRoles``; everyone else gets
403. State-changing calls need the CSRF token like every other one.

* ``GET    /_domains/api/bindings`` - the website's bindings;
* ``POST   /_domains/api/bindings`` ``{"domain": ...}`` - bind (201), with the DNS records
  that would verify it;
* ``POST   /_domains/api/bindings/{domain}/verify`` - check DNS; ``verified`` says whether
  the binding is live, ``reason``/``message`` why not;
* ``POST   /_domains/api/bindings/{domain}/primary`` - make a verified binding primary;
* ``PUT    /_domains/api/bindings/{domain}/certificate`` - ``{"certificate": PEM text,
  "key": PEM (optional), "password": ...}`` or ``{"pfx": base64, "password": ...}``;
  a rejected upload answers 422 with the rule's code and message;
* ``DELETE /_domains/api/bindings/{domain}``.
"""

from __future__ import annotations

import base64
import binascii
from typing import Any

from litestar import MediaType, Request, Response, delete, get, post, put

from portalis.core import InvalidInput, PermissionDenied, Principal
from portalis.core.services import Services
from portalis.core.sites import Site
from portalis.core.web.bodies import json_object
from portalis.plugins.domains.service import (
    ADMIN_ROLES,
    add_binding,
    upload_certificate,
    verify_binding,
)
from portalis.plugins.domains.store import DomainStore, public

__all__ = ["ROUTES"]

BASE = "/_domains/api/bindings"


def _require_admin(site: Site, principal: Principal) -> None:
    keys = [k.strip() for k in site.setting(ADMIN_ROLES).split(",") if k.strip()]
    allowed = {site.roles[k].id for k in keys if k in site.roles}
    if principal.contact_id is None or not allowed & set(principal.role_ids):
        raise PermissionDenied("managing this portal's domains needs an administrator role",
                               code="domains_admin_required")


def _json(body: Any, status: int = 200) -> Response[Any]:
    return Response(body, status_code=status, media_type=MediaType.JSON)




@get(BASE, name="domains-list")
async def list_bindings(site: Site, principal: Principal, services: Services) -> Response[Any]:
    _require_admin(site, principal)
    rows = await DomainStore(services).bindings(site.id)
    return _json({"value": [public(r) for r in rows]})


@post(BASE, name="domains-add")
async def add(request: Request[Any, Any, Any], site: Site, principal: Principal,
              services: Services) -> Response[Any]:
    _require_admin(site, principal)
    domain = (await json_object(request)).get("domain")
    if not isinstance(domain, str):
        raise InvalidInput("'domain' (text) is required", code="invalid_domain")
    added = await add_binding(services, site, domain)
    return _json({**public(added["binding"]), "records": added["records"]}, 201)


@post(f"{BASE}/{{domain:str}}/verify", name="domains-verify")
async def verify(domain: str, site: Site, principal: Principal,
                 services: Services) -> Response[Any]:
    _require_admin(site, principal)
    done = await verify_binding(services, site, domain)
    result = done.result
    return _json({**public(done.binding), "checked": {
        "verified": result.verified, "method": result.method, "reason": result.reason,
        "message": result.message, "retryable": result.retryable}})


@post(f"{BASE}/{{domain:str}}/primary", name="domains-primary")
async def primary(domain: str, site: Site, principal: Principal,
                  services: Services) -> Response[Any]:
    _require_admin(site, principal)
    return _json(public(await DomainStore(services).set_primary(site.id, domain)))


@put(f"{BASE}/{{domain:str}}/certificate", name="domains-certificate")
async def certificate(domain: str, request: Request[Any, Any, Any], site: Site,
                      principal: Principal, services: Services) -> Response[Any]:
    _require_admin(site, principal)
    body = await json_object(request)
    password = body.get("password")
    if password is not None and not isinstance(password, str):
        raise InvalidInput("'password' must be text", code="invalid_body")
    key = body.get("key")
    if isinstance(body.get("pfx"), str):
        try:
            data = base64.b64decode(body["pfx"], validate=True)
        except (binascii.Error, ValueError):
            raise InvalidInput("'pfx' must be base64", code="invalid_body") from None
    elif isinstance(body.get("certificate"), str):
        data = body["certificate"].encode("utf-8")
    else:
        raise InvalidInput("send 'certificate' (PEM text) or 'pfx' (base64)",
                           code="invalid_body")
    row = await upload_certificate(
        services, site.id, domain, data, password=password,
        key=key.encode("utf-8") if isinstance(key, str) and key else None)
    return _json(public(row))


@delete(f"{BASE}/{{domain:str}}", name="domains-remove", status_code=204)
async def remove(domain: str, site: Site, principal: Principal, services: Services) -> None:
    _require_admin(site, principal)
    await DomainStore(services).remove(site.id, domain)


ROUTES = [list_bindings, add, verify, primary, certificate, remove]
