"""External sign-in with SAML 2.0, end to end over HTTP.

The portal is the service provider (SP-initiated: HTTP-Redirect out, HTTP-POST back);
the identity provider is played by the test: it reads the AuthnRequest from the portal's
redirect and posts Responses signed with the test IdP key (tests/identity/saml_idp.py)
to the portal's assertion consumer, with no CSRF token (the IdP cannot have one).
"""

from __future__ import annotations

from dataclasses import replace
from typing import Any
from urllib.parse import urlencode

import httpx
import pytest
from lxml import etree

from portalis.core import InvalidInput
from portalis.core.sitefile import load_site_file
from portalis.plugins.identity.external.sitefile import apply_identities
from portalis.plugins.identity.saml import NAMEID_PERSISTENT, NAMEID_TRANSIENT
from tests.identity.external_support import (
    JSON,
    ExternalPortal,
    Recorder,
    external_portal,
    session_cookie,
    settings_site,
    with_contact,
)
from tests.identity.saml_idp import (
    CLAIMS,
    IDP_ENTITY_ID,
    IDP_SSO_URL,
    KeyPair,
    ResponseSpec,
    b64,
    decode_redirect,
    keypair,
    signed_response,
)

NAME = "idp"
#: Built by the portal from the site's primary host (testserver.local), never from a
#: request's Host header.
ACS = f"https://testserver.local/_auth/saml/{NAME}/acs"
SP_ENTITY = f"https://testserver.local/_auth/saml/{NAME}/metadata"
ALICE = "alice@contoso.example"  # a contact of the cases site


@pytest.fixture(scope="module")
def idp() -> KeyPair:
    return keypair("idp.example.org")


def saml_settings(idp: KeyPair, **extra: str) -> dict[str, str]:
    base = f"Authentication/Saml2/{NAME}/"
    values = {
        base + "IdpEntityId": IDP_ENTITY_ID,
        base + "IdpSsoUrl": IDP_SSO_URL,
        base + "IdpCertificate": idp.cert_pem,
        base + "Caption": "Test IdP",
    }
    for key, value in extra.items():
        values[key if "/" in key else base + key] = value
    return values


def spec_for(request_id: str | None, **changes: Any) -> ResponseSpec:
    """A Response answering ``request_id`` for a persistent subject, addressed to us."""
    spec = ResponseSpec(
        in_response_to=request_id, sc_in_response_to=request_id, destination=ACS,
        recipient=ACS, audiences=[[SP_ENTITY]], name_id="alice-0001",
        name_id_format=NAMEID_PERSISTENT,
        attributes={CLAIMS + "emailaddress": [ALICE], CLAIMS + "givenname": ["Alice"],
                    CLAIMS + "surname": ["Liddell"], "department": ["Wonderland"]})
    return replace(spec, **changes)


async def start(ip: ExternalPortal, return_url: str = "/") -> str:
    """Start a sign-in at the portal; returns the AuthnRequest id it sent to the IdP."""
    r = await ip.portal.get(f"/_auth/saml/{NAME}/login?{urlencode({'return_url': return_url})}",
                            follow_redirects=False)
    assert r.status_code == 303, r.text
    location = r.headers["location"]
    assert location.startswith(IDP_SSO_URL + "?")
    request, params, _query = decode_redirect(location)
    assert request.get("AssertionConsumerServiceURL") == ACS
    assert "RelayState" in params
    return str(request.get("ID"))


async def post(ip: ExternalPortal, xml: str, *, json: bool = False) -> httpx.Response:
    """The IdP's auto-submitted form: a cross-site POST with no CSRF token."""
    return await ip.client.post(f"/_auth/saml/{NAME}/acs", data={"SAMLResponse": b64(xml)},
                                headers=JSON if json else {}, follow_redirects=False)


async def sign_in(ip: ExternalPortal, idp: KeyPair, *, return_url: str = "/", json: bool = False,
                  **changes: Any) -> httpx.Response:
    request_id = await start(ip, return_url)
    return await post(ip, signed_response(spec_for(request_id, **changes), idp), json=json)


async def assertions(ip: ExternalPortal) -> int:
    return int(await ip.fetchval('SELECT COUNT(*) FROM "identity_saml_assertion"'))


# ----------------------------------------------------------------------------- sign-in


async def test_sp_metadata(database_url: str, idp: KeyPair) -> None:
    async with external_portal(database_url) as ip:
        await ip.configure(saml_settings(idp))
        r = await ip.portal.get(f"/_auth/saml/{NAME}/metadata")
        assert r.status_code == 200
        assert r.headers["content-type"].startswith("application/samlmetadata+xml")
        root = etree.fromstring(r.content)
        assert root.get("entityID") == SP_ENTITY
        acs = root.find(".//{urn:oasis:names:tc:SAML:2.0:metadata}AssertionConsumerService")
        assert acs is not None and acs.get("Location") == ACS
        r = await ip.portal.get("/_auth/saml/nobody/metadata", headers=JSON)
        assert r.status_code == 404 and r.json()["error"]["code"] == "unknown_provider"


async def test_first_sign_in_registers_a_contact_and_the_second_reuses_the_link(
        database_url: str, idp: KeyPair) -> None:
    hooks = Recorder()
    async with external_portal(database_url, extra_plugins=(hooks,)) as ip:
        await ip.configure(saml_settings(idp, ClaimsMapping="phone=department"))
        before = await ip.counts()

        r = await sign_in(ip, idp, return_url="/_lists/cases")
        assert r.status_code == 303, r.text
        assert r.headers["location"] == "/_lists/cases"
        assert session_cookie(r)
        contacts, sessions, links = await ip.counts()
        assert (contacts, sessions, links) == (before[0] + 1, before[1] + 1, before[2] + 1)
        link = await ip.fetchrow('SELECT "contact", "provider", "protocol", "issuer", "subject" '
                                 'FROM "identity_external"')
        assert link is not None
        assert (link["provider"], link["protocol"]) == (NAME, "saml")
        assert (link["issuer"], link["subject"]) == (IDP_ENTITY_ID, "alice-0001")
        created = await ip.contact(link["contact"])
        # Not trusted for email: the new contact gets the names, not the address (and
        # the existing contact with that address is left alone).
        assert (created["firstname"], created["lastname"], created["email"]) == (
            "Alice", "Liddell", None)
        assert await ip.fetchval('SELECT "phone" FROM "contact" WHERE "id" = ?',
                                 link["contact"]) == "Wonderland"
        assert hooks.results == [(link["contact"], "external", True)]

        r = await sign_in(ip, idp, json=True)
        assert r.status_code == 200, r.text
        assert r.json()["contact"]["id"] == link["contact"]
        assert r.json()["external"] == {"provider": NAME, "outcome": "signed_in"}
        assert (await ip.counts())[0::2] == (contacts, links)
        assert hooks.attempts[-1] == (link["contact"], "external")
        assert await assertions(ip) == 2


async def test_trusted_email_links_the_existing_contact(database_url: str,
                                                        idp: KeyPair) -> None:
    async with external_portal(database_url) as ip:
        alice = await ip.contact_id(ALICE)
        await ip.configure(saml_settings(
            idp, TrustEmail="true",
            **{"Authentication/Registration/OpenRegistrationEnabled": "false"}))
        before = await ip.counts()
        r = await sign_in(ip, idp, json=True)
        assert r.status_code == 200, r.text
        assert r.json()["contact"]["id"] == alice
        assert r.json()["external"]["outcome"] == "linked"
        assert (await ip.counts())[0] == before[0]
        assert (await ip.contact(alice))["lastname"] == "Archer"  # mapping at registration only

        # The contact holds one identity of this IdP: another subject with the same
        # email is not linked a second time.
        r = await sign_in(ip, idp, json=True, name_id="alice-other")
        assert r.status_code == 409, r.text
        assert r.json()["error"]["code"] == "identity_conflict"


async def test_untrusted_email_with_registration_closed_is_refused(database_url: str,
                                                                   idp: KeyPair) -> None:
    hooks = Recorder()
    async with external_portal(database_url, extra_plugins=(hooks,)) as ip:
        await ip.apply(with_contact("alice2", "alice@example.com", "Alice"))
        await ip.configure(saml_settings(
            idp, **{"Authentication/Registration/OpenRegistrationEnabled": "false"}))
        before = await ip.counts()
        r = await sign_in(ip, idp)  # the email matches Alice, but the IdP is not trusted
        assert r.status_code == 403, r.text
        assert "registration is closed" in r.text
        assert not session_cookie(r)
        assert await ip.counts() == before
        assert hooks.results == [(None, "external", False)]


# ----------------------------------------------------------------------------- refusals


async def test_replayed_assertion_is_refused(database_url: str, idp: KeyPair) -> None:
    async with external_portal(database_url) as ip:
        await ip.configure(saml_settings(idp))
        request_id = await start(ip)
        spec = spec_for(request_id)
        xml = signed_response(spec, idp)
        r = await post(ip, xml, json=True)
        assert r.status_code == 200, r.text
        after = await ip.counts()

        # The same POST again: the login it answered is used up.
        r = await post(ip, xml, json=True)
        assert r.status_code == 400 and r.json()["error"]["code"] == "unsolicited_response"

        # The same assertion (same ID) answering a fresh login of this browser.
        request_id = await start(ip)
        again = signed_response(replace(spec, in_response_to=request_id,
                                         sc_in_response_to=request_id), idp)
        r = await post(ip, again, json=True)
        assert r.status_code == 400, r.text
        assert r.json()["error"]["code"] == "replayed_assertion"
        assert await ip.counts() == after
        assert await assertions(ip) == 1


async def test_unsolicited_response_is_refused(database_url: str, idp: KeyPair) -> None:
    hooks = Recorder()
    async with external_portal(database_url, extra_plugins=(hooks,)) as ip:
        await ip.configure(saml_settings(idp))
        before = await ip.counts()
        # IdP-initiated: no login was started by this browser.
        r = await post(ip, signed_response(spec_for(None), idp))
        assert r.status_code == 400, r.text
        assert "could not be completed (unsolicited_response)" in r.text
        r = await post(ip, signed_response(spec_for("ONELOGIN_some-other-request"), idp),
                       json=True)
        assert r.status_code == 400 and r.json()["error"]["code"] == "unsolicited_response"
        # A login was started, but the response answers another request.
        await start(ip)
        r = await post(ip, signed_response(spec_for("ONELOGIN_some-other-request"), idp),
                       json=True)
        assert r.status_code == 400
        assert r.json()["error"]["code"] == "in_response_to_mismatch"
        assert await ip.counts() == before
        assert await assertions(ip) == 0
        assert hooks.results == [(None, "external", False)] * 3


@pytest.mark.parametrize(("changes", "code"), [
    ({"audiences": [["https://other-sp.example/metadata"]]}, "wrong_audience"),
    ({"destination": "https://testserver.local/_auth/saml/idp/acs-evil"}, "wrong_destination"),
    ({"recipient": "https://evil.example/acs"}, "wrong_recipient"),
    ({"assertion_issuer": "https://evil.example/idp"}, "wrong_issuer"),
    ({"name_id_format": NAMEID_TRANSIENT}, "transient_name_id"),
])
async def test_bad_responses_are_refused(database_url: str, idp: KeyPair,
                                         changes: dict[str, Any], code: str) -> None:
    async with external_portal(database_url) as ip:
        await ip.configure(saml_settings(idp))
        before = await ip.counts()
        r = await sign_in(ip, idp, json=True, **changes)
        assert r.status_code == 400, r.text
        assert r.json()["error"]["code"] == code
        assert not session_cookie(r)
        assert await ip.counts() == before


async def test_response_signed_by_another_key_is_refused(database_url: str,
                                                         idp: KeyPair) -> None:
    async with external_portal(database_url) as ip:
        await ip.configure(saml_settings(idp))
        before = await ip.counts()
        request_id = await start(ip)
        forged = signed_response(spec_for(request_id), keypair("attacker.example"))
        r = await post(ip, forged, json=True)
        assert r.status_code == 400
        assert r.json()["error"]["code"] == "invalid_signature"
        r = await post(ip, "not a saml response", json=True)
        assert r.status_code == 400
        assert await ip.counts() == before
        assert await assertions(ip) == 0


async def test_expired_login_and_lockout_are_refused(database_url: str, idp: KeyPair) -> None:
    hooks = Recorder()
    async with external_portal(database_url, extra_plugins=(hooks,)) as ip:
        await ip.configure(saml_settings(idp))
        before = await ip.counts()
        request_id = await start(ip)
        ip.clock.advance(minutes=11)
        r = await post(ip, signed_response(spec_for(request_id), idp), json=True)
        assert r.status_code == 400 and r.json()["error"]["code"] == "login_expired"

        hooks.refuse = "throttled"
        r = await sign_in(ip, idp, json=True)
        assert r.status_code == 403 and r.json()["error"]["code"] == "signin_refused"
        assert await ip.counts() == before


async def test_lockout_plugin_refuses_a_locked_contact(database_url: str,
                                                       idp: KeyPair) -> None:
    """The real lockout plugin: five wrong passwords lock Alice, and her external sign-in
    is refused while she is locked (every sign-in path goes through the same hooks)."""
    async with external_portal(database_url, plugins=("lockout",)) as ip:
        alice = await ip.contact_id(ALICE)
        await ip.configure(saml_settings(idp, TrustEmail="true"))
        r = await sign_in(ip, idp, json=True)
        assert r.status_code == 200 and r.json()["contact"]["id"] == alice
        sessions = (await ip.counts())[1]
        for _ in range(5):
            r = await ip.portal.send("POST", "/_auth/login",
                                     json={"email": ALICE, "password": "Wrong-pass-1"})
            assert r.status_code == 401, r.text
        r = await sign_in(ip, idp, json=True)
        assert r.status_code == 403, r.text
        assert r.json()["error"]["code"] == "signin_refused"
        assert not session_cookie(r)
        assert (await ip.counts())[1] == sessions


async def test_deactivated_contact_cannot_sign_in(database_url: str, idp: KeyPair) -> None:
    async with external_portal(database_url) as ip:
        await ip.configure(saml_settings(idp))
        r = await sign_in(ip, idp, json=True)
        assert r.status_code == 200, r.text
        contact_id = r.json()["contact"]["id"]
        await ip.execute('UPDATE "contact" SET "state" = \'inactive\' WHERE "id" = ?',
                         contact_id)
        before = await ip.counts()
        r = await sign_in(ip, idp, json=True)
        assert r.status_code == 403, r.text
        assert r.json()["error"]["code"] == "contact_inactive"
        assert not session_cookie(r)
        after = await ip.counts()  # no new contact, no new link, no session
        assert (after[0], after[1], after[2]) == (before[0], 0, before[2])


async def test_site_file_identities_link_contacts(database_url: str, idp: KeyPair) -> None:
    """contacts[].identities of a site file, linked by ``portalis site apply``."""
    async with external_portal(database_url) as ip:
        site = settings_site(saml_settings(idp)).replace(
            "    email: bob@contoso.example\n",
            "    email: bob@contoso.example\n    identities:\n"
            f"      - provider: {NAME}\n        subject: alice-0001\n", 1)
        await ip.apply(site)
        await ip.apply(site)  # idempotent
        assert await ip.fetchval('SELECT COUNT(*) FROM "identity_external"') == 1
        rows = await ip.portal.services.db.fetch(
            'SELECT "id", "key" FROM "contact" WHERE "key" IS NOT NULL')
        ids = {"contact": {row["key"]: row["id"] for row in rows}}
        services = ip.portal.services
        bob = ids["contact"]["bob"]

        r = await sign_in(ip, idp, json=True)  # NameID alice-0001 is Bob's identity now
        assert r.status_code == 200, r.text
        assert r.json()["contact"]["id"] == bob
        assert r.json()["external"]["outcome"] == "signed_in"

        moved = site.replace("  - key: alice\n", "  - key: alice\n"
                             "    identities:\n"
                             f"      - provider: {NAME}\n"
                             "        subject: alice-0001\n", 1)
        with pytest.raises(InvalidInput, match="linked to another contact"):
            await ip.apply(moved)
        assert await ip.fetchval('SELECT COUNT(*) FROM "identity_external"') == 1
        unknown = load_site_file(site.replace(f"provider: {NAME}", "provider: nobody"))
        with pytest.raises(InvalidInput, match="no external sign-in provider"):
            await apply_identities(1, unknown, ids, services)
