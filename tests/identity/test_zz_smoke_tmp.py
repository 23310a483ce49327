from tests.identity.smtp import identity_portal

async def test_smoke(database_url):
    async with identity_portal(database_url) as ip:
        r = await ip.login("alice@contoso.example")
        print(r.status_code, r.text, r.headers.get_list("set-cookie"))
        print(await ip.cases())
        r = await ip.portal.get("/_auth/login")
        print(r.status_code, r.text[-1500:])
        r = await ip.post("/_auth/register", {"email": "new@x.example", "password": "Gr8-pass-word"})
        print(r.status_code, r.text)
        print([ (ip.mail.subject(m), ip.mail.body(m)) for m in ip.mail.messages])
