"""The maker UI at /admin: its own staff login, no access with portal sessions, changes
picked up by the kernel, staff reports, the create-user command."""

from __future__ import annotations

import httpx
from click.testing import CliRunner

from portalis.plugins.admin.cli import create_staff_user
from tests.conftest import CASES_SITE
from tests.support.portal import Portal, running_portal

ALICE = "alice@contoso.example"
PLUGINS = ["selfservice", "admin"]
STAFF = ("staff", "Staff-pass-1")

PASSWORD_SITE = CASES_SITE.replace(
    "    roles: [customer]\n", "    roles: [customer]\n    password: Demo-pass-1\n", 1)


async def staff_login(portal: Portal, username: str = STAFF[0],
                      password: str = STAFF[1]) -> httpx.Response:
    return await portal.send("POST", "/admin/public/login/",
                             json={"username": username, "password": password})


async def test_admin_needs_its_own_staff_login(database_url: str) -> None:
    async with running_portal(database_url, plugins=PLUGINS) as portal:
        await portal.apply(CASES_SITE)
        await create_staff_user(database_url, *STAFF[:1], "staff@example.com", STAFF[1])
        res = await portal.get("/admin")
        assert res.status_code == 307 and res.headers["location"] == "/admin/"
        res = await portal.get("/admin/")
        assert res.status_code == 200 and "<html" in res.text.lower()
        # the kernel's request flow runs for the mount too: a host bound to no portal
        # is refused before the admin sees the request
        res = await portal.get("/admin/public/meta/", headers={"host": "unbound.example"})
        assert res.status_code == 404 and "not bound to any portal" in res.text
        assert (await portal.get("/_kb/search", headers={"host": "unbound.example"})
                ).status_code == 404
        assert (await portal.get("/admin/api/tables/")).status_code == 401
        # a portal contact (the test sign-in) has no access at all
        res = await portal.get("/admin/api/tables/", who=ALICE)
        assert res.status_code == 401
        res = await portal.get("/admin/api/tables/contact/", who=ALICE)
        assert res.status_code == 401 and "alice" not in res.text
        assert (await staff_login(portal, "staff", "wrong-password")).status_code == 401
        assert (await staff_login(portal, ALICE, "Demo-pass-1")).status_code == 401
        portal.client.cookies.set("id", "forged-session-token")
        assert (await portal.get("/admin/api/tables/")).status_code == 401
        portal.client.cookies.delete("id")
        res = await staff_login(portal)
        assert res.status_code == 200, res.text
        tables = (await portal.get("/admin/api/tables/")).json()
        assert {"portalis_website", "contact", "account", "portalis_web_role",
                "portalis_table_permission", "portalis_entity_list"} <= set(tables)
        assert "pages_web_page" not in tables  # the pages plugin is not enabled here
        rows = (await portal.get("/admin/api/tables/contact/")).json()["rows"]
        assert ALICE in [r["email"] for r in rows]


async def test_non_admin_piccolo_user_is_refused(database_url: str) -> None:
    from piccolo.apps.user.tables import BaseUser

    async with running_portal(database_url, plugins=PLUGINS) as portal:
        await portal.apply(CASES_SITE)
        await create_staff_user(database_url, "helper", "h@example.com", "Helper-pass-1")
        await BaseUser.update({BaseUser.admin: False}).where(BaseUser.username == "helper")
        await staff_login(portal, "helper", "Helper-pass-1")
        assert (await portal.get("/admin/api/tables/")).status_code == 401


async def test_portal_session_cookie_gives_no_admin_access(database_url: str) -> None:
    async with running_portal(database_url, plugins=["selfservice", "identity", "admin"]
                              ) as portal:
        await portal.apply(PASSWORD_SITE)
        res = await portal.send("POST", "/_auth/login",
                                json={"email": ALICE, "password": "Demo-pass-1"})
        assert res.status_code in (200, 303), res.text
        assert portal.client.cookies.get("portalis_session")
        cases = await portal.get("/_lists/cases", headers={"accept": "application/json"})
        assert cases.status_code == 200 and cases.json()["value"]  # signed in to the portal
        assert (await portal.get("/admin/api/tables/")).status_code == 401
        assert (await portal.get("/admin/reports/")).status_code == 401


async def test_admin_writes_are_picked_up_by_the_kernel(database_url: str) -> None:
    async with running_portal(database_url, plugins=PLUGINS) as portal:
        website_id = await portal.apply(CASES_SITE)
        await create_staff_user(database_url, *STAFF[:1], "staff@example.com", STAFF[1])
        assert (await portal.get("/_api/article", who=ALICE)).status_code == 200
        version = await portal.services.db.fetchval(
            'SELECT "config_version" FROM "portalis_website" WHERE "id" = ?', website_id)
        setting = await portal.services.db.fetchval(
            'SELECT "id" FROM "portalis_site_setting" WHERE "website" = ? AND "name" = ?',
            website_id, "Webapi/article/enabled")
        await staff_login(portal)
        res = await portal.send("PATCH", f"/admin/api/tables/portalis_site_setting/{setting}/",
                                json={"value": "false"})
        assert res.status_code == 200, res.text
        after = await portal.services.db.fetchval(
            'SELECT "config_version" FROM "portalis_website" WHERE "id" = ?', website_id)
        assert after > version
        assert (await portal.get("/_api/article", who=ALICE)).status_code == 404
        # a role created in the admin is known to the kernel's site snapshot
        res = await portal.send("POST", "/admin/api/tables/portalis_web_role/", json={
            "website": website_id, "key": "partner", "name": "Partners", "builtin": "",
            "description": ""})
        assert res.status_code == 201, res.text
        site = await portal.services.sites.get(website_id)
        assert "partner" in site.roles
        # reads do not bump
        await portal.get("/admin/api/tables/portalis_web_role/")
        assert await portal.services.db.fetchval(
            'SELECT "config_version" FROM "portalis_website" WHERE "id" = ?',
            website_id) == after + 1


async def test_staff_reports_top_searches_and_articles(database_url: str) -> None:
    async with running_portal(database_url, plugins=PLUGINS) as portal:
        await portal.apply(CASES_SITE)
        await create_staff_user(database_url, *STAFF[:1], "staff@example.com", STAFF[1])
        for q in ("password", "password", "case"):
            assert (await portal.get("/_kb/search", params={"q": q}, who=ALICE)).status_code == 200
        hits = (await portal.get("/_kb/search", params={"q": "password"},
                                 headers={"accept": "application/json"})).json()["value"]
        await portal.get(f"/_kb/articles/{hits[0]['id']}", who=ALICE)
        url = "/admin/reports/top-searches?website=cases"
        assert (await portal.get(url, who=ALICE)).status_code == 401
        await staff_login(portal)
        res = await portal.get(url, headers={"accept": "application/json"})
        assert res.status_code == 200
        assert res.json()["value"][0] == {"query": "password", "searches": 3,
                                          "without_results": 0, "contacts": 1}
        res = await portal.get("/admin/reports/top-articles?website=cases",
                               headers={"accept": "application/json"})
        assert res.json()["value"] == [{"article": hits[0]["id"], "views": 1, "contacts": 1,
                                        "title": "How to reset your password"}]
        page = await portal.get("/admin/reports/")
        assert page.status_code == 200 and "top-articles?website=cases" in page.text
        html_report = await portal.get(url)
        assert "<td>password</td>" in html_report.text


async def test_admin_mount_works_beside_the_pages_catch_all(database_url: str) -> None:
    async with running_portal(database_url, plugins=["selfservice", "pages", "admin"]
                              ) as portal:
        await portal.apply(CASES_SITE)
        assert (await portal.get("/admin/public/meta/")).json()["site_name"] == "Portalis admin"
        assert (await portal.get("/admin/api/tables/")).status_code == 401
        await create_staff_user(database_url, *STAFF[:1], "staff@example.com", STAFF[1])
        await staff_login(portal)
        tables = (await portal.get("/admin/api/tables/")).json()
        assert {"pages_web_page", "pages_page_rule", "pages_web_template",
                "pages_web_form"} <= set(tables)
        res = await portal.get("/admin/api/tables/pages_web_page/")
        assert res.status_code == 200 and "rows" in res.json()


async def test_admin_csrf_cookie_stays_valid_for_the_portal(database_url: str) -> None:
    async with running_portal(database_url, plugins=PLUGINS) as portal:
        await portal.apply(CASES_SITE)
        await portal.get("/admin/")  # first visit: the admin sets the CSRF cookie
        token = portal.client.cookies.get("csrftoken")
        assert token and len(token) > 40  # a portal (signed) token, not Piccolo's UUID
        res = await portal.send("POST", "/_cases", who=ALICE, json={"title": "after admin"})
        assert res.status_code == 201, res.text
        # and the admin's own CSRF check still refuses a POST without the token
        res = await portal.send("POST", "/admin/public/login/", csrf=False,
                                json={"username": "x", "password": "y"})
        assert res.status_code == 403


def test_create_user_command(database_url: str, monkeypatch) -> None:  # type: ignore[no-untyped-def]
    from portalis.core.cli import main

    monkeypatch.setenv("PORTALIS_PLUGINS", "selfservice,admin")
    main.add_command(__import__("portalis.plugins.admin.cli", fromlist=["admin"]).admin)
    runner = CliRunner()
    args = ["--database", database_url, "admin", "create-user", "--username", "maker",
            "--email", "maker@example.com", "--password", "Maker-pass-1"]
    res = runner.invoke(main, args)
    assert res.exit_code == 0, res.output
    assert "created staff user 'maker'" in res.output
    again = runner.invoke(main, args)
    assert again.exit_code != 0 and "already exists" in again.output
    short = runner.invoke(main, [*args[:5], "other", "--email", "o@example.com",
                                 "--password", "x"])
    assert short.exit_code != 0


async def test_contact_edits_go_through_records(database_url: str) -> None:
    async with running_portal(database_url, plugins=PLUGINS) as portal:
        website_id = await portal.apply(CASES_SITE)
        await create_staff_user(database_url, *STAFF[:1], "staff@example.com", STAFF[1])
        alice_id = await portal.services.db.fetchval(
            'SELECT "id" FROM "contact" WHERE "email" = ?', ALICE)
        new = {"website": website_id, "email": "  Dave@Contoso.Example ", "firstname": "Dave",
               "lastname": "Doe", "phone": "", "account": None, "state": "active",
               "key": None}
        res = await portal.send("POST", "/admin/api/tables/contact/", json=new)
        assert res.status_code == 401  # not signed in as staff
        await staff_login(portal)
        res = await portal.send("POST", "/admin/api/tables/contact/", json=new, csrf=False)
        assert res.status_code == 403
        res = await portal.send("POST", "/admin/api/tables/contact/", json=new)
        assert res.status_code == 201, res.text
        dave = res.json()[0]["id"]
        assert await portal.services.db.fetchval(
            'SELECT "email" FROM "contact" WHERE "id" = ?', dave) == "dave@contoso.example"
        # the duplicate-contact rule of records applies to admin edits too
        res = await portal.send("PATCH", f"/admin/api/tables/contact/{dave}/",
                                json={"email": ALICE.upper()})
        assert res.status_code == 409, res.text
        res = await portal.send("PATCH", f"/admin/api/tables/contact/{alice_id}/",
                                json={"firstname": "Alicia", "created": "2000-01-01"})
        assert res.status_code == 200 and res.json()["firstname"] == "Alicia"
        res = await portal.send("DELETE", f"/admin/api/tables/contact/{dave}/")
        assert res.status_code == 204
        assert await portal.services.db.fetchval(
            'SELECT COUNT(*) FROM "contact" WHERE "id" = ?', dave) == 0


async def test_role_given_in_the_admin_widens_what_the_contact_sees(database_url: str) -> None:
    async with running_portal(database_url, plugins=PLUGINS) as portal:
        website_id = await portal.apply(CASES_SITE)
        await create_staff_user(database_url, *STAFF[:1], "staff@example.com", STAFF[1])

        async def alice_sees() -> list[str]:
            res = await portal.get("/_lists/cases", who=ALICE,
                                   headers={"accept": "application/json"})
            return sorted(r["title"] for r in res.json()["value"])

        assert await alice_sees() == ["Printer offline in Building 2"]
        db = portal.services.db
        alice_id = await db.fetchval('SELECT "id" FROM "contact" WHERE "email" = ?', ALICE)
        role_id = await db.fetchval('SELECT "id" FROM "portalis_web_role" WHERE "website" = ? '
                                    'AND "key" = ?', website_id, "customer-admin")
        await staff_login(portal)
        res = await portal.send("POST", "/admin/api/tables/portalis_contact_role/",
                                json={"contact": alice_id, "role": role_id})
        assert res.status_code == 201, res.text
        assert await alice_sees() == ["Invoice address is wrong", "Printer offline in Building 2"]
        link = res.json()[0]["id"]
        res = await portal.send("DELETE", f"/admin/api/tables/portalis_contact_role/{link}/")
        assert res.status_code == 204, res.text
        assert await alice_sees() == ["Printer offline in Building 2"]


async def test_ip_restrictions_cover_the_admin(database_url: str) -> None:
    async with running_portal(database_url, plugins=[*PLUGINS, "ipfilter"]) as portal:
        await portal.apply(CASES_SITE.replace(
            "settings:\n", "settings:\n  IpRestrictions/Allow: 10.0.0.0/8\n", 1))
        res = await portal.get("/admin/public/meta/")  # the test client is 127.0.0.1
        assert res.status_code == 403
        res = await portal.get("/_lists/cases")
        assert res.status_code == 403
