from tests.support.portal import Portal
async def test_smoke(site: Portal) -> None:
    for who in (None, "alice@contoso.example"):
        for url in ["/", "/knowledge", "/cases", "/cases/new", "/cases/view?id=1", "/partners", "/css/site.css", "/nope"]:
            r = await site.get(url, who=who)
            print(who, url, r.status_code, r.headers.get("location"), r.text[:3000] if url in ("/", "/cases/view?id=1") and who else "")
