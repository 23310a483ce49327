"""The list page's rows, rendered in Python, are the markup the Liquid loop gave.

``row_html`` replaces the hot loop of ``list.liquid`` (see its docstring). This test
keeps that loop, in Liquid, and renders random rows — markup characters, quotes,
unicode, empty cells, rows with and without a detail link and actions — both ways.
(The loop once tested ``row.url`` alone: in Liquid an empty string is truthy, so lists
without a detail page linked every first cell to ``href=""``.)
"""

from __future__ import annotations

from typing import Any

from hypothesis import given, settings
from hypothesis import strategies as st
from liquid import Environment

from portalis.core.web.lists import row_html

LIQUID_ROW = (
    '<tr data-id="{{ row.id }}">{% for cell in row.cells %}<td>{% if forloop.first and '
    'row.url != "" %}<a href="{{ row.url }}">{{ cell }}</a>{% else %}{{ cell }}{% endif %}</td>'
    '{% endfor %}\n    <td>{% if row.can_write %}<span class="badge bg-secondary">editable'
    '</span>{% endif %}{% if row.can_delete %} <span class="badge bg-danger">deletable'
    "</span>{% endif %}</td></tr>"
)
TEMPLATE = Environment(autoescape=True).from_string(LIQUID_ROW)

text = st.text(alphabet=st.sampled_from(list("ab <>&\"'/=é€\n")) | st.characters(),
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
