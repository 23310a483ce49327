from tests.ipfilter.test_gate import *
async def test_dbg(database_url):
    async with ip_portal(database_url, Allow="10.0.0.0/8") as portal:
        r = await portal.get_from("11.0.0.1")
        print(r.status_code, r.text[:200])
        print(portal.services.pm.list_name_plugin())
    assert 0
