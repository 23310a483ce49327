"""Row filters on table permissions: one forum open to partners, another to everyone,
on the same table — what a role-per-row restriction needs."""

from __future__ import annotations

import pytest

from portalis.core.errors import InvalidInput
from tests.conftest import CASES_SITE
from tests.support.portal import Portal

JSON = {"accept": "application/json"}


async def test_a_filter_narrows_a_grant_to_some_rows(portal: Portal) -> None:
    site = CASES_SITE.replace(
        """  - key: articles-for-everyone
    table: article
    scope: global
    privileges: [read]
    roles: [anonymous, authenticated]""",
        """  - key: articles-for-everyone
    table: article
    scope: global
    filter: "published eq true and not contains(title, 'password')"
    privileges: [read]
    roles: [anonymous, authenticated]
  - key: password-articles-for-customers
    table: article
    scope: global
    filter: "contains(title, 'password')"
    privileges: [read]
    roles: [customer]""")
    await portal.apply(site)
    anon = (await portal.get("/_api/article?$select=title")).json()["value"]
    assert [r["title"] for r in anon] == ["Opening a support case"]
    alice = (await portal.get("/_api/article?$select=title&$orderby=title",
                              who="alice@contoso.example")).json()["value"]
    assert [r["title"] for r in alice] == ["How to reset your password",
                                           "Opening a support case"]
    draft = (await portal.get("/_api/article?$filter=published eq false",
                              who="alice@contoso.example")).json()["value"]
    assert draft == []  # the unpublished article is outside every grant's filter


async def test_a_bad_filter_names_the_permission(portal: Portal) -> None:
    with pytest.raises(InvalidInput) as err:
        await portal.apply("website: {key: x}\npermissions:\n"
                           "  - {key: p, table: case, scope: global, filter: 'nope eq 1'}\n")
    assert err.value.message == "permissions[p]: filter: table 'case' has no column 'nope'"


async def test_grants_whose_filters_differ_only_in_a_constant_both_apply(portal: Portal) -> None:
    site = CASES_SITE.replace(
        """  - key: articles-for-everyone
    table: article
    scope: global
    privileges: [read]
    roles: [anonymous, authenticated]""",
        """  - key: reset-article
    table: article
    scope: global
    filter: "title eq 'How to reset your password'"
    privileges: [read]
    roles: [authenticated]
  - key: case-article
    table: article
    scope: global
    filter: "title eq 'Opening a support case'"
    privileges: [read]
    roles: [customer]""")
    await portal.apply(site)
    alice = (await portal.get("/_api/article?$select=title&$orderby=title",
                              who="alice@contoso.example")).json()["value"]
    assert [r["title"] for r in alice] == ["How to reset your password",
                                           "Opening a support case"]
