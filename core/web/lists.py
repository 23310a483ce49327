"""``GET /_lists/<list>``: a permission-filtered list page as HTML (Liquid) or JSON.

Query parameters: ``search`` (``*`` is a wildcard), ``cursor`` (from the next/previous
links), ``sort`` (a list column, ``-column`` for descending), ``filter`` (``mine``: my
records; ``account``: my account's records). One SQL statement per page.
"""

from __future__ import annotations

import functools
from typing import Any
from urllib.parse import urlencode

from litestar import MediaType, Request, Response, get
from markupsafe import Markup, escape

from portalis.core.conditions import And, Cmp, Condition
from portalis.core.errors import InvalidInput, NotFound
from portalis.core.odata import parse_filter, parse_orderby
from portalis.core.principal import Principal
from portalis.core.records import Page, Records
from portalis.core.sites import ListDef, Site
from portalis.core.web.errors import wants_json
from portalis.core.web.flow import portal_context
from portalis.core.web.pages import render_page

__all__ = ["list_content_html", "list_page", "row_html", "run_list"]


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


_BADGES = {
    (False, False): "",
    (True, False): '<span class="badge bg-secondary">editable</span>',
    (False, True): ' <span class="badge bg-danger">deletable</span>',
    (True, True): '<span class="badge bg-secondary">editable</span>'
                  ' <span class="badge bg-danger">deletable</span>',
}


def row_html(row: dict[str, Any]) -> str:
    """One list row as the kernel's ``list.liquid`` shows it, every value escaped.

    The list template's hot loop, done once in Python: a Liquid loop over 20 rows of
    cells cost ~2.5 ms here (python-liquid interprets ~3 µs per node), this ~0.05 ms.
    ``list.liquid`` shows ``rows_html`` (every row, joined); a site's own list template
    that wants other row markup loops over ``rows`` itself (``row.cells``, ``row.url``,
    ``row.can_write``, ``row.can_delete``, ``row.html``).
    ``tests/kernel/test_list_rows.py`` checks it against the same markup in Liquid.
    """
    return _row(row["id"], row["cells"], row["url"], row["can_write"], row["can_delete"])


def _row(rid: Any, cells: list[str], url: str, can_write: Any, can_delete: Any) -> str:
    # plain str throughout (Markup + str would escape the markup being built). The
    # cells are escaped in one call, joined by NUL (which escaping leaves alone) and
    # split into <td>s after; a row with a NUL in a cell takes the cell-by-cell way.
    joined = "\x00".join(cells)
    link = '<a href="' + _escape(url) + '">' if url else ""
    if not cells:
        tds = ""
    elif joined.count("\x00") == len(cells) - 1:
        escaped = _escape(joined)
        if link:
            first, sep, rest = escaped.partition("\x00")
            tds = ("<td>" + link + first + "</a></td>"
                   + ("<td>" + rest.replace("\x00", "</td><td>") + "</td>" if sep else ""))
        else:
            tds = "<td>" + escaped.replace("\x00", "</td><td>") + "</td>"
    else:
        each = [_escape(c) for c in cells]
        if link:
            each[0] = link + each[0] + "</a>"
        tds = "".join(["<td>" + c + "</td>" for c in each])
    badges = _BADGES[(bool(can_write), bool(can_delete))]
    rid_text = str(rid) if type(rid) is int else _escape(rid)
    return '<tr data-id="' + rid_text + '">' + tds + "\n    <td>" + badges + "</td></tr>"


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


@get("/_lists/{key:str}", name="list_page")
async def list_page(request: Request[Any, Any, Any], key: str, search: str | None = None,
                    cursor: str | None = None, sort: str | None = None,
                    filter: str | None = None) -> Response[Any]:
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

    # timestamps are ISO 8601 text already (iso_times), in JSON and in the cells alike
    columns = list(ld.columns) or list(records.s.registry.get(ld.table).columns)
    if wants_json(request):
        # the rows hold exactly id, the list's columns and _can_write/_can_delete
        return Response({
            "list": ld.key, "table": ld.table, "value": page.rows,
            "next": link(page.next_cursor), "previous": link(page.prev_cursor),
        }, media_type=MediaType.JSON)

    header = [dict(h) for h in _header(key, tuple(columns), search, sort, filter)]
    detail = ld.detail_url
    renderer = request.app.state.renderer
    kernel = renderer.is_kernel_template("list.liquid")
    rows: list[dict[str, Any]] = []
    parts: list[str] = []
    for r in page.rows:
        rid = r["id"]
        cells = ["" if (v := r[c]) is None else str(v) for c in columns]
        url = detail.replace("{id}", str(rid)) if detail else ""
        html_row = _row(rid, cells, url, r["_can_write"], r["_can_delete"])
        parts.append(html_row)
        if not kernel:  # what a plugin's own list.liquid may loop over
            rows.append({"id": rid, "cells": cells, "url": url, "can_write": r["_can_write"],
                         "can_delete": r["_can_delete"], "html": Markup(html_row)})
    context = {"list": {"key": ld.key, "title": ld.title, "url": f"/_lists/{key}"},
               "columns": header, "search": search or "",
               "rows_html": Markup("\n  ".join(parts)),
               "next_url": link(page.next_cursor), "prev_url": link(page.prev_cursor)}
    if kernel:
        html = render_page(request, None, title=ld.title,
                           content=list_content_html(**context, has_rows=bool(parts)))
    else:
        html = render_page(request, "list.liquid", title=ld.title, rows=rows, **context)
    return Response(html, media_type=MediaType.HTML)


def list_content_html(*, list: dict[str, str], columns: list[dict[str, str]],
                      rows_html: str, has_rows: bool, search: str, next_url: str | None,
                      prev_url: str | None) -> str:
    """The kernel's ``list.liquid``, rendered in Python (every value escaped as Liquid's
    autoescape does). Used while that template is the one in effect, i.e. no plugin
    ships its own ``list.liquid`` and templates do not reload (debug): python-liquid
    interprets ~3 µs per node, this page's ~150 nodes cost more than its SQL.
    ``tests/kernel/test_list_rows.py`` renders the template file itself both ways."""
    e = _escape
    heads = "".join([f'<th scope="col"><a href="{e(c["sort_url"])}">{e(c["label"])}</a></th>'
                     for c in columns])
    body = (rows_html if has_rows else
            f'\n    <tr><td colspan="{len(columns) + 1}">There are no records to display.'
            "</td></tr>\n  ")
    prev = (f'<li class="page-item"><a class="page-link" rel="prev" href="{e(prev_url)}">'
            "Previous</a></li>" if prev_url is not None else "")
    nxt = (f'<li class="page-item"><a class="page-link" rel="next" href="{e(next_url)}">'
           "Next</a></li>" if next_url is not None else "")
    return (f'<h1 class="h3">{e(list["title"])}</h1>\n'
            f'<form class="row g-2 mb-3" method="get" action="{e(list["url"])}">\n'
            '  <div class="col-auto"><input class="form-control" type="search" name="search" '
            f'value="{e(search)}" placeholder="Search"></div>\n'
            '  <div class="col-auto"><button class="btn btn-primary" type="submit">Search'
            "</button></div>\n</form>\n"
            f'<table class="table table-striped" data-list="{e(list["key"])}">\n'
            f"  <thead><tr>{heads}<th></th></tr></thead>\n  <tbody>\n  {body}\n  </tbody>\n"
            '</table>\n<nav><ul class="pagination">\n'
            f"  {prev}\n  {nxt}\n</ul></nav>\n")


def _escape(value: Any) -> str:
    """``markupsafe.escape`` as a plain str. For a plain str, the same five replacements
    (``&`` first) without building a ``Markup`` (~40 % cheaper; a list page escapes
    ~35 values); anything else (numbers, ``Markup``, objects with ``__html__``) goes
    through markupsafe itself."""
    if type(value) is str:
        return (value.replace("&", "&amp;").replace("<", "&lt;").replace(">", "&gt;")
                .replace('"', "&#34;").replace("'", "&#39;"))
    return str(escape(value))
