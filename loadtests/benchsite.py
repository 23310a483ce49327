"""The bench site: configuration applied through the site file, data bulk-seeded.

Everything a site file can express (website, settings, roles, permissions of every
scope, lists) goes through :func:`portalis.core.sitefile.apply_site`; the accounts,
contacts, cases and notes are bulk-inserted by :mod:`portalis.loadtests.seed`.
"""

from __future__ import annotations

__all__ = ["BENCH_SITE", "HEADER_NOTE", "HOST", "PAGE_SIZE", "WEBSITE_KEY", "email_of"]

WEBSITE_KEY = "bench"
HOST = "127.0.0.1"
PAGE_SIZE = 20


def email_of(index: int) -> str:
    """The email of seeded contact number ``index`` (0-based)."""
    return f"c{index}@bench.example"


BENCH_SITE = f"""
website:
  key: {WEBSITE_KEY}
  title: Portalis bench
  hosts: [{HOST}, localhost]

settings:
  Webapi/case/enabled: true
  Webapi/case/fields: title,status,priority,customer,account,modified
  Webapi/article/enabled: true
  Webapi/article/fields: title,body,published,modified
  Bench/cases: "0"

roles:
  - key: customer
    name: Customers
  - key: customer-admin
    name: Customer administrators

permissions:
  # global: anonymous and signed-in visitors read published knowledge
  - key: articles-for-everyone
    table: article
    scope: global
    privileges: [read]
    roles: [anonymous, authenticated]
  # contact: a customer reads and files its own cases
  - key: own-cases
    table: case
    scope: contact
    relationship: customer
    privileges: [read, write, create, append, append_to]
    roles: [customer]
  # account: an administrator reads its account's cases
  - key: account-cases
    table: case
    scope: account
    relationship: account
    privileges: [read, write, create, append, append_to]
    roles: [customer-admin]
  # parent chains: notes follow the case permission they hang under
  - key: notes-of-own-cases
    table: case_note
    scope: parent
    parent: own-cases
    relationship: case
    privileges: [read, create, append]
  - key: notes-of-account-cases
    table: case_note
    scope: parent
    parent: account-cases
    relationship: case
    privileges: [read, create, append]
  # self: every contact reads and edits its own contact record
  - key: own-contact
    table: contact
    scope: self
    privileges: [read, write]
    roles: [authenticated]
  # account scope on the account table itself: my own account
  - key: own-account
    table: account
    scope: account
    privileges: [read]
    roles: [customer-admin]
  # account scope on contacts: my colleagues
  - key: colleagues
    table: contact
    scope: account
    relationship: account
    privileges: [read]
    roles: [customer-admin]

lists:
  - key: cases
    title: Cases
    table: case
    columns: [title, status, priority, modified]
    sort: modified desc
    page_size: {PAGE_SIZE}
    search: [title, description]
  - key: notes
    title: Notes
    table: case_note
    columns: [body, created]
    sort: created desc
    page_size: {PAGE_SIZE}
  - key: articles
    title: Knowledge base
    table: article
    columns: [title, modified]
    sort: title
    filter: published eq true
    page_size: {PAGE_SIZE}
    search: [title, body]
"""

HEADER_NOTE = ("load-test sign-in: X-Bench-Contact header → one indexed contact lookup + "
               "principal_for_contact (2 queries), the cost of a session lookup")
