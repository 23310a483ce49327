"""The Web API: ``/_api/<table>``, OData-style JSON, always under table permissions.

* Off for every table until the site setting ``Webapi/<table>/enabled`` is true; an
  unexposed or unknown table answers 404.
* ``Webapi/<table>/fields`` must list the columns (comma-separated, no ``*``); only
  those columns are returned, selectable, filterable, sortable or writable.
* ``GET /_api/<table>`` → ``{"value": [...], "@odata.nextLink": ...}`` with ``$select``,
  ``$top`` (default 50, maximum from the config), ``$orderby``, ``$filter`` (see
  :mod:`portalis.core.odata`) and ``$skiptoken`` (a cursor).
* ``GET|PATCH|DELETE /_api/<table>(<id>)`` (or ``/_api/<table>/<id>``), ``POST /_api/<table>``.
  State-changing calls need the CSRF token (header ``x-csrftoken``).
* Errors carry a code: ``create_denied``, ``write_denied``, ``delete_denied``,
  ``append_denied``, ``append_to_denied``, ``column_not_allowed``, ``invalid_filter``...
"""

from __future__ import annotations

import datetime as dt
import re
from typing import Any
from urllib.parse import urlencode

from litestar import Request, Response, delete, get, patch, post
from litestar.params import QueryParameter
from litestar.serialization import encode_json

from portalis.core.conditions import Cmp, Condition, Not
from portalis.core.errors import InvalidInput, NotFound, PermissionDenied
from portalis.core.odata import parse_filter, parse_orderby, parse_select
from portalis.core.principal import Principal
from portalis.core.records import Records
from portalis.core.sites import Site
from portalis.core.web.answer import JSON, Answer
from portalis.core.web.bodies import json_object
from portalis.core.web.flow import portal_context

__all__ = ["WEBAPI_HANDLERS"]

_SEGMENT = re.compile(r"^([A-Za-z_][A-Za-z0-9_]*)(?:\((\d{1,19})\))?$")
DEFAULT_TOP = 50


def _exposed(site: Site, records: Records, table: str) -> list[str]:
    """The columns the Web API may touch for ``table``; raises if not exposed. Kept per
    site version (the settings it reads change only with a new version)."""
    key = ("webapi-fields", site.id, site.version, table)
    known = records.derived.get(key)
    if known is None:
        known = tuple(_exposed_fields(site, records, table))
        if len(records.derived) >= 10_000:
            records.derived.clear()
        records.derived[key] = known
    return list(known)


def _exposed_fields(site: Site, records: Records, table: str) -> list[str]:
    if not site.flag(f"Webapi/{table}/enabled") or table not in records.s.registry:
        raise NotFound(f"no Web API table {table!r}", code="table_not_exposed")
    raw = site.setting(f"Webapi/{table}/fields").strip()
    if not raw or raw == "*":
        raise PermissionDenied(
            f"Webapi/{table}/fields must list the columns the Web API exposes (no '*')",
            code="fields_not_configured")
    pt = records.s.registry.get(table)
    fields = [f.strip() for f in raw.split(",") if f.strip()]
    for f in fields:
        pt.column(f)
    return ["id", *[f for f in fields if f != "id"]]


def _columns_in(cond: Condition) -> set[str]:
    if isinstance(cond, Cmp):
        return {cond.column}
    if isinstance(cond, Not):
        return _columns_in(cond.item)
    out: set[str] = set()
    for item in cond.items:
        out |= _columns_in(item)
    return out


def _allowed(columns: set[str] | list[str], fields: list[str]) -> None:
    bad = sorted(set(columns) - set(fields))
    if bad:
        raise PermissionDenied(f"column not allowed through the Web API: {', '.join(bad)}",
                               code="column_not_allowed", column=bad[0])


def _json(row: dict[str, Any], fields: list[str]) -> dict[str, Any]:
    return {f: (v.isoformat() if isinstance(v := row.get(f), dt.datetime) else v)
            for f in fields}


def _segment(segment: str) -> tuple[str, str | None]:
    m = _SEGMENT.match(segment)
    if not m:
        raise NotFound(f"no Web API table {segment!r}", code="table_not_exposed")
    return m.group(1), m.group(2)




@get("/_api/{segment:str}", name="webapi_get")
async def api_get(request: Request[Any, Any, Any], segment: str,
                  select: str | None = QueryParameter(name="$select", default=None),
                  top: str | None = QueryParameter(name="$top", default=None),
                  orderby: str | None = QueryParameter(name="$orderby", default=None),
                  filter_: str | None = QueryParameter(name="$filter", default=None),
                  skiptoken: str | None = QueryParameter(name="$skiptoken", default=None),
                  ) -> Answer:
    records, principal, site = await portal_context(request)
    table, rid = _segment(segment)
    fields = _exposed(site, records, table)
    columns = fields
    if select:
        columns = parse_select(select)
        _allowed(columns, fields)
        if "id" not in columns:
            columns = ["id", *columns]
    if rid is not None:
        row = await records.get(principal, table, rid, columns=columns)
        return Answer(encode_json(_json(row, columns)), JSON)
    limit = DEFAULT_TOP
    if top is not None:
        if not top.isdigit() or int(top) < 1:
            raise InvalidInput("$top must be a positive integer", code="invalid_top")
        limit = int(top)
        if limit > records.s.config.webapi_max_top:
            raise InvalidInput(f"$top must not exceed {records.s.config.webapi_max_top}",
                               code="invalid_top")
    where = None
    if filter_:
        where = parse_filter(filter_)
        _allowed(_columns_in(where), fields)
    order = parse_orderby(orderby) if orderby else []
    _allowed([c for c, _ in order], fields)
    page = await records.list(principal, table, where=where, order_by=order, limit=limit,
                              cursor=skiptoken, columns=columns, iso_times=True)
    rows = page.rows  # timestamps are ISO text already (iso_times)
    if rows and list(rows[0]) != columns:  # only the requested fields, in their order
        rows = [_json(r, columns) for r in rows]
    body: dict[str, Any] = {"value": rows}
    if page.next_cursor:
        params = {k: v for k, v in (("$select", select), ("$orderby", orderby),
                                    ("$filter", filter_), ("$top", top)) if v}
        params["$skiptoken"] = page.next_cursor
        path = request.scope.get("root_path", "") + request.scope["path"]  # request.url.path
        body["@odata.nextLink"] = f"{path}?{urlencode(params)}"
    return Answer(encode_json(body), JSON)  # what Response(body) sends (core/web/answer.py)


@post("/_api/{segment:str}", name="webapi_create", status_code=201)
async def api_create(request: Request[Any, Any, Any], segment: str, records: Records,
                     principal: Principal, site: Site) -> Response[Any]:
    table, rid = _segment(segment)
    if rid is not None:
        raise InvalidInput("POST goes to the table, not to a record", code="invalid_request")
    fields = _exposed(site, records, table)
    data = await json_object(request)
    _allowed(list(data), fields)
    row = await records.create(principal, table, data)
    return Response(_json(row, fields), status_code=201,
                    headers={"Location": f"/_api/{table}({row['id']})"})


async def _record_id(segment: str, record_id: str | None) -> tuple[str, str]:
    table, rid = _segment(segment)
    rid = rid or record_id
    if rid is None:
        raise InvalidInput("name the record: /_api/<table>(<id>)", code="invalid_request")
    return table, rid


async def _update(request: Request[Any, Any, Any], segment: str, record_id: str | None,
                  records: Records, principal: Principal, site: Site) -> Response[Any]:
    table, rid = await _record_id(segment, record_id)
    fields = _exposed(site, records, table)
    data = await json_object(request)
    _allowed(list(data), fields)
    row = await records.update(principal, table, rid, data)
    return Response(_json(row, fields))


async def _delete(segment: str, record_id: str | None, records: Records,
                  principal: Principal, site: Site) -> None:
    table, rid = await _record_id(segment, record_id)
    _exposed(site, records, table)
    await records.delete(principal, table, rid)


@patch("/_api/{segment:str}", name="webapi_update")
async def api_update(request: Request[Any, Any, Any], segment: str, records: Records,
                     principal: Principal, site: Site) -> Response[Any]:
    return await _update(request, segment, None, records, principal, site)


@patch("/_api/{segment:str}/{record_id:str}", name="webapi_update_path")
async def api_update_path(request: Request[Any, Any, Any], segment: str, record_id: str,
                          records: Records, principal: Principal, site: Site) -> Response[Any]:
    return await _update(request, segment, record_id, records, principal, site)


@delete("/_api/{segment:str}", name="webapi_delete", status_code=204)
async def api_delete(segment: str, records: Records, principal: Principal, site: Site) -> None:
    await _delete(segment, None, records, principal, site)


@delete("/_api/{segment:str}/{record_id:str}", name="webapi_delete_path",
        status_code=204)
async def api_delete_path(segment: str, record_id: str, records: Records,
                          principal: Principal, site: Site) -> None:
    await _delete(segment, record_id, records, principal, site)


@get("/_api/{segment:str}/{record_id:str}", name="webapi_get_path")
async def api_get_path(segment: str, record_id: str, records: Records, principal: Principal,
                       site: Site) -> Response[Any]:
    table, _ = _segment(segment)
    fields = _exposed(site, records, table)
    row = await records.get(principal, table, record_id, columns=fields)
    return Response(_json(row, fields))


WEBAPI_HANDLERS = [api_get, api_create, api_update, api_update_path, api_delete,
                   api_delete_path, api_get_path]
