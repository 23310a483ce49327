"""The list page, rendered in Python, is the markup the kernel's Liquid template gives.

``row_html`` and ``rows_html`` (a whole page at once) replace the hot loop of
``list.liquid`` (see ``core/web/list_html.py``). This test keeps that loop, in Liquid,
and renders random rows — markup characters, quotes, unicode, NULs, empty cells, rows
with and without a detail link and actions — both ways.
(The loop once tested ``row.url`` alone: in Liquid an empty string is truthy, so lists
without a detail page linked every first cell to ``href=""``.)

``list_content_html`` replaces the rest of ``list.liquid`` while that file is the one in
effect: it is checked against the template FILE, rendered by Liquid, so an edit to the
template that the Python side does not follow fails here. And a plugin's own
``list.liquid`` is rendered by Liquid, with ``rows`` to loop over.
"""

from __future__ import annotations

from typing import Any

from hypothesis import given, settings
from hypothesis import strategies as st
from liquid import Environment
from markupsafe import Markup

from portalis.core.rendering import KERNEL_TEMPLATES, Renderer
from portalis.core.web.list_html import list_content_html, row_cells, row_html, rows_html

LIQUID_ROW = (
    '<tr data-id="{{ row.id }}">{% for cell in row.cells %}<td>{% if forloop.first and '
    'row.url != "" %}<a href="{{ row.url }}">{{ cell }}</a>{% else %}{{ cell }}{% endif %}</td>'
    '{% endfor %}\n    <td>{% if row.can_write %}<span class="badge bg-secondary">editable'
    '</span>{% endif %}{% if row.can_delete %} <span class="badge bg-danger">deletable'
    "</span>{% endif %}</td></tr>"
)
TEMPLATE = Environment(autoescape=True).from_string(LIQUID_ROW)

# NUL too: row_html escapes a row's cells in one call, joined by NUL
text = st.text(alphabet=st.sampled_from(list("ab <>&\"'/=é€\n\x00")) | st.characters(),
               max_size=12)
rows = st.fixed_dictionaries({
    "id": st.integers(min_value=1, max_value=2**31),
    "cells": st.lists(text, max_size=6),
    "url": st.one_of(st.just(""), text.map(lambda t: "/cases/" + t)),
    "can_write": st.booleans(),
    "can_delete": st.booleans(),
})


@settings(max_examples=400, deadline=None)
@given(rows)
def test_row_html_is_the_liquid_loop(row: dict[str, Any]) -> None:
    assert str(row_html(row)) == TEMPLATE.render(row=row)


def test_a_script_in_a_cell_is_text() -> None:
    html = str(row_html({"id": 7, "cells": ['<script>alert("x")</script>', "ok"],
                         "url": '/c/7" onmouseover="x', "can_write": False,
                         "can_delete": True}))
    assert "<script>" not in html and "&lt;script&gt;" in html
    assert 'onmouseover="x' not in html
    assert html.endswith('<td> <span class="badge bg-danger">deletable</span></td></tr>')


LIST_TEMPLATE = Environment(autoescape=True).from_string(
    (KERNEL_TEMPLATES / "list.liquid").read_text())
url = st.one_of(st.none(), text.map(lambda t: "/_lists/x?cursor=" + t))
columns = st.lists(st.fixed_dictionaries({"label": text, "sort_url": text}), max_size=5)


@settings(max_examples=300, deadline=None)
@given(title=text, key=text, search=text, columns=columns, rows=st.lists(rows, max_size=3),
       next_url=url, prev_url=url)
def test_list_content_is_the_template_file(title: str, key: str, search: str,
                                           columns: list[dict[str, str]],
                                           rows: list[dict[str, Any]], next_url: str | None,
                                           prev_url: str | None) -> None:
    listing = {"key": key, "title": title, "url": f"/_lists/{key}"}
    rows_html = "\n  ".join(row_html(r) for r in rows)
    context = {"list": listing, "columns": columns, "search": search,
               "rows_html": Markup(rows_html), "next_url": next_url, "prev_url": prev_url}
    assert list_content_html(**context, has_rows=bool(rows)) == LIST_TEMPLATE.render(
        rows=rows, **context)


def test_only_the_kernels_own_template_is_rendered_in_python(tmp_path: Any) -> None:
    assert Renderer().is_kernel_template("list.liquid")
    assert not Renderer(auto_reload=True).is_kernel_template("list.liquid")  # debug: reloads
    (tmp_path / "list.liquid").write_text("{% for row in rows %}[{{ row.id }}]{% endfor %}")
    own = Renderer([tmp_path])
    assert not own.is_kernel_template("list.liquid")
    assert own.is_kernel_template("layout.liquid")


def test_a_nul_in_a_cell_stays_inside_its_cell() -> None:
    for url in ("", "/cases/1"):
        row = {"id": 1, "cells": ["a\x00<b>", "c", ""], "url": url, "can_write": True,
               "can_delete": False}
        assert row_html(row) == TEMPLATE.render(row=row)
        assert row_html(row).count("<td>") == 4


@settings(max_examples=300, deadline=None)
@given(st.one_of(text, st.integers(), st.builds(Markup, text)))
def test_escaping_is_markupsafes(value: Any) -> None:
    from markupsafe import escape

    from portalis.core.web.list_html import escape_text as _escape

    assert _escape(value) == str(escape(value)) and type(_escape(value)) is str


# a records.list page as the list route gets it: id, the list's columns, the privileges
value = st.one_of(st.none(), text, st.integers(), st.floats(allow_nan=False),
                  st.sampled_from(["plain", "Tom's", "a & b", "<b>", "x\x00y", "100%"]))
detail = st.one_of(st.just(""), st.sampled_from(["/cases/{id}", "/c?id={id}&x={id}%20",
                                                 "/static/\"page\"", "/{id}/<{id}>"]), text)


@st.composite
def pages(draw: Any) -> tuple[list[dict[str, Any]], list[str], str]:
    columns = draw(st.lists(st.sampled_from(["a", "b", "c", "d", "e"]), min_size=1,
                            max_size=5, unique=True))
    rows = draw(st.lists(st.fixed_dictionaries({
        "id": st.one_of(st.integers(min_value=1, max_value=2**40), text),
        **{c: value for c in columns},
        "_can_write": st.booleans(), "_can_delete": st.booleans()}), max_size=8))
    return rows, columns, draw(detail)


@settings(max_examples=500, deadline=None)
@given(pages())
def test_a_whole_page_is_the_liquid_loop_row_by_row(page: Any) -> None:
    rows, columns, link = page
    expected = "\n  ".join(TEMPLATE.render(row={
        "id": r["id"], "cells": ["" if r[c] is None else str(r[c]) for c in columns],
        "url": link.replace("{id}", str(r["id"])) if link else "",
        "can_write": r["_can_write"], "can_delete": r["_can_delete"]}) for r in rows)
    assert rows_html(rows, columns, link) == expected


def test_privileges_that_are_not_bools_are_shown_as_their_truth() -> None:
    rows = [{"id": 1, "a": "x", "_can_write": 2, "_can_delete": None},
            {"id": 2, "a": "<y>", "_can_write": 0, "_can_delete": [1]}]
    assert rows_html(rows, ["a"], "/c/{id}") == "\n  ".join(
        row_html(row_cells(r, ["a"], "/c/{id}")) for r in rows)
    assert rows_html(rows, ["a"], "").count("editable") == 1
