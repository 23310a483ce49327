"""The kernel's ``list.liquid`` in Python: a list page's rows and the rest of its markup.

python-liquid interprets ~3 µs per node; a list page of 20 rows is ~150 nodes outside
the rows and ~30 per row, more than the page's SQL. While that template is the one in
effect (no plugin ships its own ``list.liquid``, templates do not reload), the list
route renders the same markup here, every value escaped as Liquid's autoescape does:

* :func:`rows_html`: all rows of a page in two string formattings, no Python loop per
  row or cell; :func:`row_html` is one row, the way :func:`rows_html` goes when a value
  needs care. A site's own ``list.liquid`` loops over ``rows`` instead (``row.cells``,
  ``row.url``, ``row.can_write``, ``row.can_delete`` and ``row.html``, this markup);
* :func:`list_content_html`: heading, search form, column heads and pager
  (:func:`content_head` before the rows, :func:`content_tail` from them on).

``tests/kernel/test_list_rows.py`` checks both against Liquid: the row loop and the
template FILE itself, so an edit to the template the Python side does not follow fails.
"""

from __future__ import annotations

import functools
from collections.abc import Callable, Sequence
from itertools import chain
from operator import itemgetter
from typing import Any

from markupsafe import escape

__all__ = ["content_head", "content_tail", "escape_text", "list_content_html", "row_cells",
           "row_html", "rows_html"]

_EDITABLE = '<span class="badge bg-secondary">editable</span>'
_DELETABLE = ' <span class="badge bg-danger">deletable</span>'
_WRITE = {True: _EDITABLE, False: ""}  # the badges a row's privileges show
_DELETE = {True: _DELETABLE, False: ""}


def escape_text(value: Any) -> str:
    """``markupsafe.escape`` as a plain str. For a plain str, the same five replacements
    (``&`` first) without building a ``Markup`` (~40 % cheaper); anything else
    (numbers, ``Markup``, objects with ``__html__``) goes through markupsafe itself."""
    if type(value) is str:
        return (value.replace("&", "&amp;").replace("<", "&lt;").replace(">", "&gt;")
                .replace('"', "&#34;").replace("'", "&#39;"))
    return str(escape(value))


def row_html(row: dict[str, Any]) -> str:
    """One list row as ``list.liquid`` shows it (``row.id``, ``row.cells``, ``row.url``,
    ``row.can_write``, ``row.can_delete``), every value escaped."""
    return _row(row["id"], row["cells"], row["url"], row["can_write"], row["can_delete"])


def _row(rid: Any, cells: list[str], url: str, can_write: Any, can_delete: Any) -> str:
    # plain str throughout (Markup + str would escape the markup being built). The
    # cells are escaped in one call, joined by NUL (which escaping leaves alone) and
    # split into <td>s after; a row with a NUL in a cell takes the cell-by-cell way.
    e = escape_text
    joined = "\x00".join(cells)
    link = '<a href="' + e(url) + '">' if url else ""
    if not cells:
        tds = ""
    elif joined.count("\x00") == len(cells) - 1:
        escaped = e(joined)
        if link:
            first, sep, rest = escaped.partition("\x00")
            tds = ("<td>" + link + first + "</a></td>"
                   + ("<td>" + rest.replace("\x00", "</td><td>") + "</td>" if sep else ""))
        else:
            tds = "<td>" + escaped.replace("\x00", "</td><td>") + "</td>"
    else:
        each = [e(c) for c in cells]
        if link:
            each[0] = link + each[0] + "</a>"
        tds = "".join(["<td>" + c + "</td>" for c in each])
    badges = _WRITE[bool(can_write)] + _DELETE[bool(can_delete)]
    rid_text = str(rid) if type(rid) is int else e(rid)
    return '<tr data-id="' + rid_text + '">' + tds + "\n    <td>" + badges + "</td></tr>"


def row_cells(row: dict[str, Any], columns: Sequence[str], detail: str) -> dict[str, Any]:
    """A ``records.list`` row as ``list.liquid`` loops over it (``None`` shows empty)."""
    rid = row["id"]
    return {"id": rid, "cells": ["" if (v := row[c]) is None else str(v) for c in columns],
            "url": detail.replace("{id}", str(rid)) if detail else "",
            "can_write": row["_can_write"], "can_delete": row["_can_delete"]}


@functools.lru_cache(maxsize=1024)
def _plan(columns: tuple[str, ...], detail: str, n: int
          ) -> tuple[str, str, Callable[[dict[str, Any]], tuple[Any, ...]], int]:
    """For ``n`` rows of ``columns``: the page's format string (``%s`` where each value
    goes, in the order of the getter's tuple: id, the id once per ``{id}`` of the
    detail link, the cells, the two row privileges), one that puts the same values
    between NULs, the getter and the number of values per row."""
    keys = ["id"]
    row = '<tr data-id="%s"><td>'
    if detail:
        href = escape_text(detail).replace("%", "%%").replace("{id}", "%s")
        keys += ["id"] * detail.count("{id}")
        row += '<a href="' + href + '">%s</a></td>'
    else:
        row += "%s</td>"
    row += "<td>%s</td>" * (len(columns) - 1) + "\n    <td>%s%s</td></tr>"
    keys += [*columns, "_can_write", "_can_delete"]
    return ("\n  ".join([row] * n), "\x00".join(["%s"] * (n * len(keys))),
            itemgetter(*keys), len(keys))


def rows_html(rows: list[dict[str, Any]], columns: Sequence[str], detail: str) -> str:
    """Every row of a ``records.list`` page (``id``, ``columns``, ``_can_write``,
    ``_can_delete``) as :func:`row_html` shows it, joined as ``list.liquid`` joins them.

    Two ``%`` formattings of the whole page, no Python loop per row or cell: the values
    as text between NULs first, which shows whether any needs escaping (most pages
    hold none) and is escaped in one call if so, then the markup around them. A value
    with a NUL, a row privilege that is not a bool (or 0/1) and a list without columns
    go row by row."""
    if not rows or not columns:
        return _row_by_row(rows, columns, detail)
    fmt, text_fmt, get, k = _plan(tuple(columns), detail, len(rows))
    values = list(chain.from_iterable(map(get, rows)))
    if None in values:
        values = ["" if v is None else v for v in values]
    try:
        writes = list(map(_WRITE.__getitem__, values[k - 2::k]))
        deletes = list(map(_DELETE.__getitem__, values[k - 1::k]))
    except (KeyError, TypeError):
        return _row_by_row(rows, columns, detail)
    texts = text_fmt % tuple(values)
    if ("&" in texts or "<" in texts or ">" in texts or '"' in texts or "'" in texts):
        values = escape_text(texts).split("\x00")
        if len(values) != len(rows) * k:  # a value held a NUL
            return _row_by_row(rows, columns, detail)
    values[k - 2::k], values[k - 1::k] = writes, deletes
    return fmt % tuple(values)


def _row_by_row(rows: list[dict[str, Any]], columns: Sequence[str], detail: str) -> str:
    return "\n  ".join([row_html(row_cells(r, columns, detail)) for r in rows])


def list_content_html(*, list: dict[str, str], columns: list[dict[str, str]],
                      rows_html: str, has_rows: bool, search: str, next_url: str | None,
                      prev_url: str | None) -> str:
    """``list.liquid`` around its rows (``rows_html``, already markup), every other value
    escaped: :func:`content_head` and :func:`content_tail`."""
    return (content_head(list, columns, search)
            + content_tail(rows_html, has_rows, len(columns), next_url, prev_url))


def content_head(listing: dict[str, str], columns: list[dict[str, str]], search: str) -> str:
    """Everything before the rows (``listing``: the list's key, title and url;
    ``columns``: label and sort link of each): the same for every page of one list,
    search, sort and filter, so the list route keeps it."""
    e = escape_text
    heads = "".join([f'<th scope="col"><a href="{e(c["sort_url"])}">{e(c["label"])}</a></th>'
                     for c in columns])
    return (f'<h1 class="h3">{e(listing["title"])}</h1>\n'
            f'<form class="row g-2 mb-3" method="get" action="{e(listing["url"])}">\n'
            '  <div class="col-auto"><input class="form-control" type="search" name="search" '
            f'value="{e(search)}" placeholder="Search"></div>\n'
            '  <div class="col-auto"><button class="btn btn-primary" type="submit">Search'
            "</button></div>\n</form>\n"
            f'<table class="table table-striped" data-list="{e(listing["key"])}">\n'
            f"  <thead><tr>{heads}<th></th></tr></thead>\n  <tbody>")


def content_tail(rows_html: str, has_rows: bool, n_columns: int, next_url: str | None,
                 prev_url: str | None) -> str:
    """The rows (``rows_html``, already markup) and everything after them."""
    e = escape_text
    body = (rows_html if has_rows else
            f'\n    <tr><td colspan="{n_columns + 1}">There are no records to display.'
            "</td></tr>\n  ")
    prev = (f'<li class="page-item"><a class="page-link" rel="prev" href="{e(prev_url)}">'
            "Previous</a></li>" if prev_url is not None else "")
    nxt = (f'<li class="page-item"><a class="page-link" rel="next" href="{e(next_url)}">'
           "Next</a></li>" if next_url is not None else "")
    return (f"\n  {body}\n  </tbody>\n"  # f-strings: a Markup body must not escape the rest
            '</table>\n<nav><ul class="pagination">\n'
            f"  {prev}\n  {nxt}\n</ul></nav>\n")
