"""The plugin contract: a plugin defined only here adds a table, a route and a
permission-checked list without touching core/; every hook is documented and exercised."""

from __future__ import annotations

import ast
import inspect
import re
from pathlib import Path
from typing import Any

from litestar import get
from piccolo.columns import ForeignKey, Serial, Varchar
from piccolo.table import Table

from portalis.core import Conflict, TableSpec, hookimpl, hookspecs
from portalis.core.principal import Principal
from portalis.core.records import Records
from tests.support.portal import running_portal

ROOT = Path(__file__).resolve().parents[2]

from portalis.core.tables import Contact, Website  # noqa: E402


class Invoice(Table, tablename="test_invoice"):
    id = Serial(primary_key=True)
    website = ForeignKey(Website, index=True, null=False)
    number = Varchar(length=20)
    payer = ForeignKey(Contact, index=True, null=True)


@get("/invoices/mine")
async def my_invoices(records: Records, principal: Principal) -> dict[str, Any]:
    page = await records.list(principal, "invoice", order_by=[("number", False)])
    return {"numbers": [r["number"] for r in page.rows]}


class InvoicePlugin:
    calls: list[str]

    def __init__(self) -> None:
        self.calls = []

    @hookimpl
    def portalis_register_tables(self) -> list[TableSpec]:
        return [TableSpec(Invoice, name="invoice", personal_data=True)]

    @hookimpl
    def portalis_routes(self, app_config: Any) -> list[Any]:
        return [my_invoices]

    @hookimpl
    def portalis_setting_defaults(self) -> dict[str, str]:
        return {"Invoices/Currency": "EUR"}

    @hookimpl
    async def portalis_startup(self, app: Any, services: Any) -> None:
        self.calls.append("startup")
        ddl = 'CREATE TABLE IF NOT EXISTS "test_invoice" ("id" {pk}, "website" INTEGER NOT NULL ' \
              'REFERENCES "portalis_website" ("id"), "number" VARCHAR(20) NOT NULL, ' \
              '"payer" INTEGER REFERENCES "contact" ("id"))'
        pk = "INTEGER PRIMARY KEY" if services.db.dialect == "sqlite" else "SERIAL PRIMARY KEY"
        await services.db.execute(ddl.format(pk=pk))

    @hookimpl
    def portalis_contact_before_create(self, site: Any, values: dict[str, Any],
                                       principal: Any, services: Any) -> None:
        self.calls.append(f"contact:{values.get('email')}")
        if values.get("email") == "blocked@x.example":
            raise Conflict("blocked by the test plugin", code="duplicate_contact")

    @hookimpl
    def portalis_record_before_write(self, action: str, table: str, values: dict[str, Any],
                                     existing: Any, principal: Any, services: Any) -> None:
        if table == "invoice" and action == "create":
            values["number"] = values["number"].upper()

    @hookimpl
    def portalis_record_after_write(self, action: str, table: str, row: dict[str, Any],
                                    principal: Any, services: Any) -> None:
        self.calls.append(f"{action}:{table}:{row['id']}")


SITE = """
website: {key: billing, hosts: [testserver.local]}
roles: [{key: payer}]
contacts:
  - {key: p1, email: p1@x.example, roles: [payer]}
  - {key: p2, email: p2@x.example, roles: [payer]}
permissions:
  - {key: own-invoices, table: invoice, scope: contact, relationship: payer,
     privileges: [read], roles: [payer]}
lists:
  - {key: invoices, table: invoice, columns: [number], sort: number}
records:
  invoice:
    - {key: i1, number: inv-1, payer: p1}
    - {key: i2, number: inv-2, payer: p2}
    - {key: i3, number: inv-3, payer: p1}
"""


async def test_a_plugin_adds_table_route_and_permission_checked_list(database_url: str) -> None:
    plugin = InvoicePlugin()
    async with running_portal(database_url, extra_plugins=(plugin,)) as portal:
        await portal.apply(SITE)
        res = await portal.get("/invoices/mine", who="p1@x.example")
        assert res.json() == {"numbers": ["INV-1", "INV-3"]}
        res = await portal.get("/_lists/invoices", who="p2@x.example",
                               headers={"accept": "application/json"})
        assert [r["number"] for r in res.json()["value"]] == ["INV-2"]
        assert (await portal.get("/invoices/mine")).json() == {"numbers": []}
        site = await portal.services.sites.get(
            await portal.services.sites.website_for_key("billing") or 0)
        assert site.setting("Invoices/Currency") == "EUR"
        assert "startup" in plugin.calls
        assert "contact:p1@x.example" in plugin.calls
        assert sum(c.startswith("create:invoice:") for c in plugin.calls) == 3
        refused = "website: {key: billing}\ncontacts: [{key: b, email: blocked@x.example}]"
        try:
            await portal.apply(refused)
        except Exception as exc:
            assert "blocked by the test plugin" in str(exc)
        else:
            raise AssertionError("the contact hook did not refuse")


def test_every_hook_is_documented_in_code_and_docs() -> None:
    doc = (ROOT / "docs" / "plugin_hooks.md").read_text()
    specs = [name for name, fn in inspect.getmembers(hookspecs, inspect.isfunction)
             if name.startswith("portalis_")]
    assert len(specs) >= 12
    for name in specs:
        fn = getattr(hookspecs, name)
        assert fn.__doc__ and len(fn.__doc__.strip()) > 60, name
        assert re.search(rf"^## `{name}`", doc, re.M), f"{name} missing from docs/plugin_hooks.md"


def test_core_does_not_import_plugins() -> None:
    for path in (ROOT / "core").rglob("*.py"):
        tree = ast.parse(path.read_text())
        for node in ast.walk(tree):
            names = []
            if isinstance(node, ast.Import):
                names = [a.name for a in node.names]
            elif isinstance(node, ast.ImportFrom):
                names = [node.module or ""]
            for name in names:
                assert not name.startswith(("portalis.plugins", "plugins")), (path, name)


PORTAL_SQL = re.compile(r'(FROM|INTO|UPDATE|JOIN)\s+\\?"?(contact|account|case|case_note|'
                        r'article|forum|forum_thread|forum_post)\\?"?[\s\'"]', re.I)


def test_no_plugin_queries_a_portal_table_around_records() -> None:
    offenders = []
    for path in (ROOT / "plugins").rglob("*.py"):
        if "piccolo_migrations" in path.parts:
            continue
        for lineno, line in enumerate(path.read_text().splitlines(), 1):
            if PORTAL_SQL.search(line):
                offenders.append(f"{path.relative_to(ROOT)}:{lineno}: {line.strip()}")
    assert not offenders, "\n".join(offenders)
