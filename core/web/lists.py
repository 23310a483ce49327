"""``GET /_lists/<list>``: a permission-filtered list page as HTML or JSON.

Query parameters: ``search`` (``*`` is a wildcard), ``cursor`` (from the next/previous
links), ``sort`` (a list column, ``-column`` for descending), ``filter`` (``mine``: my
records; ``account``: my account's records). One SQL statement per page. The HTML is
the site's ``list.liquid``; the kernel's own is rendered in Python (``list_html``).
"""

from __future__ import annotations

import functools
from typing import Any
from urllib.parse import urlencode

from litestar import Request, get
from litestar.serialization import encode_json
from markupsafe import Markup

from portalis.core.conditions import And, Cmp, Condition
from portalis.core.errors import InvalidInput, NotFound
from portalis.core.odata import parse_filter, parse_orderby
from portalis.core.principal import Principal
from portalis.core.records import Page, Records
from portalis.core.sites import ListDef, Site
from portalis.core.web.answer import HTML, JSON, Answer
from portalis.core.web.errors import wants_json
from portalis.core.web.flow import portal_context
from portalis.core.web.list_html import content_head, content_tail, row_cells, row_html, rows_html
from portalis.core.web.pages import page_bytes, render_page

__all__ = ["list_page", "run_list"]


async def run_list(records: Records, principal: Principal, site: Site, ld: ListDef, *,
                   search: str | None, cursor: str | None, sort: str | None,
                   scope_filter: str | None, iso_times: bool = False) -> Page:
    """Execute a list definition for a principal (used by the route and by templates;
    ``iso_times``: timestamps as ISO 8601 text, see ``Records.list``)."""
    table = records.s.registry.get(ld.table)
    conditions: list[Condition] = []
    if ld.filter:
        conditions.append(parse_filter(ld.filter))
    if scope_filter:
        target = {"mine": "contact", "account": "account"}.get(scope_filter)
        if target is None:
            raise InvalidInput("filter must be 'mine' or 'account'", code="invalid_filter")
        own = principal.contact_id if target == "contact" else principal.account_id
        rels = table.relationships_to(target)
        if not rels or own is None:
            raise InvalidInput(f"this list cannot be filtered by {target}", code="invalid_filter")
        conditions.append(Cmp(rels[0].column, "eq", own))
    order = list(_default_order(ld.sort)) if ld.sort else []
    if sort:
        column = sort.lstrip("-")
        if column not in ld.columns:
            raise InvalidInput(f"cannot sort by {column!r}: not a column of this list",
                               code="invalid_sort")
        order = [(column, sort.startswith("-"))]
    columns = list(ld.columns) or None
    return await records.list(
        principal, ld.table, where=And(tuple(conditions)) if conditions else None,
        search=search, search_columns=ld.search_columns or table.search_columns,
        order_by=order, limit=ld.page_size, cursor=cursor, columns=columns,
        row_privileges=("write", "delete"), iso_times=iso_times,
    )


@functools.lru_cache(maxsize=1024)
def _default_order(sort: str) -> tuple[tuple[str, bool], ...]:
    """A list definition's ``sort``, parsed once."""
    return tuple(parse_orderby(sort))


@functools.lru_cache(maxsize=4096)
def _header(key: str, columns: tuple[str, ...], search: str | None, sort: str | None,
            scope_filter: str | None) -> tuple[dict[str, str], ...]:
    """The column headings of a list page and their sort links (the same for every
    visitor of the same list, search, sort and filter)."""
    base = {k: v for k, v in (("search", search), ("sort", sort), ("filter", scope_filter))
            if v}

    def sort_url(column: str) -> str:
        flipped = ("-" if sort == column else "") + column
        return f"/_lists/{key}?{urlencode({**base, 'sort': flipped})}"

    return tuple({"label": c.replace("_", " ").title(), "sort_url": sort_url(c)}
                 for c in columns)


@functools.lru_cache(maxsize=4096)
def _head(key: str, title: str, columns: tuple[str, ...], search: str | None,
          sort: str | None, scope_filter: str | None) -> str:
    """The kernel's markup before the rows, once per list, search, sort and filter."""
    return content_head({"key": key, "title": title, "url": f"/_lists/{key}"},
                        list(_header(key, columns, search, sort, scope_filter)), search or "")


@get("/_lists/{key:str}", name="list_page")
async def list_page(request: Request[Any, Any, Any], key: str, search: str | None = None,
                    cursor: str | None = None, sort: str | None = None,
                    filter: str | None = None) -> Answer:
    records, principal, site = await portal_context(request)
    ld = site.lists.get(key)
    if ld is None:
        raise NotFound(f"no list {key!r} on this site", code="unknown_list")
    page = await run_list(records, principal, site, ld, search=search, cursor=cursor,
                          sort=sort, scope_filter=filter, iso_times=True)
    base = {k: v for k, v in (("search", search), ("sort", sort), ("filter", filter)) if v}

    def link(cur: str | None) -> str | None:
        if cur is None:
            return None
        if not base:  # a cursor is base64url: urlencode would leave it as it is
            return f"/_lists/{key}?cursor={cur}"
        return f"/_lists/{key}?{urlencode({**base, 'cursor': cur})}"

    # timestamps are ISO 8601 text already (iso_times), in JSON and in the cells alike.
    # The answer is the body and its two headers (core/web/answer.py).
    columns = list(ld.columns) or list(records.s.registry.get(ld.table).columns)
    if wants_json(request):
        # the rows hold exactly id, the list's columns and _can_write/_can_delete
        return Answer(encode_json({
            "list": ld.key, "table": ld.table, "value": page.rows,
            "next": link(page.next_cursor), "previous": link(page.prev_cursor),
        }), JSON)

    next_url, prev_url = link(page.next_cursor), link(page.prev_cursor)
    detail = ld.detail_url
    renderer = request.app.state["renderer"]
    if renderer.is_kernel_template("list.liquid"):
        content = (_head(key, ld.title, tuple(columns), search, sort, filter)
                   + content_tail(rows_html(page.rows, columns, detail), bool(page.rows),
                                  len(columns), next_url, prev_url))
        return Answer(page_bytes(request, renderer, title=ld.title, content=content), HTML)
    # a plugin's own list.liquid: rows to loop over, headings it may change
    rows = [row_cells(r, columns, detail) for r in page.rows]
    for row in rows:
        row["html"] = Markup(row_html(row))
    html = render_page(
        request, "list.liquid", title=ld.title, rows=rows,
        list={"key": ld.key, "title": ld.title, "url": f"/_lists/{key}"},
        columns=[dict(h) for h in _header(key, tuple(columns), search, sort, filter)],
        search=search or "", rows_html=Markup("\n  ".join([row["html"] for row in rows])),
        next_url=next_url, prev_url=prev_url)
    return Answer(html.encode(), HTML)
