"""The SAML service provider against generated, signed and then attacked Responses.

The refusal cases mirror python3-saml's own invalid-response fixtures
(tests/data/responses/invalids/), plus the checks the toolkit leaves to applications.
Every refusal asserts its specific `SamlErrorCode` and that no assertion id was stored.
"""

from __future__ import annotations

import base64
import copy
import dataclasses
from dataclasses import replace
from datetime import UTC, datetime, timedelta
from urllib.parse import unquote_plus

import pytest
from cryptography import x509
from cryptography.exceptions import InvalidSignature
from cryptography.hazmat.primitives import hashes
from cryptography.hazmat.primitives.asymmetric import padding
from lxml import etree
from onelogin.saml2.constants import OneLogin_Saml2_Constants as C
from onelogin.saml2.xml_utils import OneLogin_Saml2_XML

from portalis.plugins.identity.saml import (
    MAX_RESPONSE_BYTES,
    NAMEID_PERSISTENT,
    SamlError,
    SamlErrorCode,
    SamlIdentity,
    SamlProviderConfig,
    begin_login,
    complete_login,
    sp_metadata,
)

from .saml_idp import (
    ACS_URL,
    CLAIMS,
    IDP_ENTITY_ID,
    IDP_SSO_URL,
    NS,
    REQUEST_ID,
    SP_ENTITY_ID,
    KeyPair,
    ResponseSpec,
    b64,
    build_response,
    decode_redirect,
    keypair,
    saml_time,
    sign_element,
    sign_with_reference,
    signed_response,
)

Code = SamlErrorCode


class ReplayCache:
    """In-memory stand-in for the identity plugin's unique-keyed table."""

    def __init__(self) -> None:
        self.seen: dict[str, datetime] = {}
        self.calls: list[tuple[str, datetime]] = []

    async def __call__(self, assertion_id: str, retain_until: datetime) -> bool:
        self.calls.append((assertion_id, retain_until))
        if assertion_id in self.seen:
            return False
        self.seen[assertion_id] = retain_until
        return True


@pytest.fixture(scope="session")
def idp() -> KeyPair:
    return keypair("idp.example.org")


@pytest.fixture(scope="session")
def attacker() -> KeyPair:
    return keypair("attacker.example.net")


@pytest.fixture(scope="session")
def sp_keys() -> KeyPair:
    return keypair("portal.example.com")


@pytest.fixture
def config(idp: KeyPair) -> SamlProviderConfig:
    return SamlProviderConfig(
        idp_entity_id=IDP_ENTITY_ID,
        idp_sso_url=IDP_SSO_URL,
        idp_x509_cert=idp.cert_pem,
        sp_entity_id=SP_ENTITY_ID,
        sp_acs_url=ACS_URL,
    )


@pytest.fixture
def cache() -> ReplayCache:
    return ReplayCache()


async def accept(
    config: SamlProviderConfig,
    xml: str,
    cache: ReplayCache,
    *,
    request_id: str | None = REQUEST_ID,
    now: datetime | None = None,
) -> SamlIdentity:
    return await complete_login(
        config, b64(xml), expected_request_id=request_id, remember_assertion=cache, now=now
    )


async def refuse(
    config: SamlProviderConfig,
    xml: str | bytes,
    cache: ReplayCache,
    code: SamlErrorCode,
    *,
    request_id: str | None = REQUEST_ID,
    now: datetime | None = None,
) -> SamlError:
    with pytest.raises(SamlError) as caught:
        await complete_login(
            config, b64(xml), expected_request_id=request_id, remember_assertion=cache, now=now
        )
    assert caught.value.code == code, caught.value.message
    assert cache.calls == [], "a refused response must not reach the replay cache"
    return caught.value


def tree(xml: str) -> etree._Element:
    return etree.fromstring(xml.encode())


def text(root: etree._Element) -> str:
    return etree.tostring(root).decode()


# --- accepted responses ---------------------------------------------------------------


async def test_valid_response_yields_the_identity(config, idp, cache):
    spec = ResponseSpec()
    identity = await accept(config, signed_response(spec, idp), cache)

    assert identity.issuer == IDP_ENTITY_ID
    assert identity.subject == "alice@example.com"
    assert identity.name_id_format == "urn:oasis:names:tc:SAML:1.1:nameid-format:emailAddress"
    assert identity.email == "alice@example.com"
    assert identity.email_verified is False  # trust_email defaults to False
    assert (identity.given_name, identity.family_name) == ("Alice", "Liddell")
    assert identity.attributes["groups"] == ("staff", "portal-admins")
    assert identity.session_index == "_session-1"
    assert identity.assertion_id == spec.assertion_id
    session_end = identity.session_not_on_or_after
    assert session_end is not None and session_end.tzinfo is not None
    assert timedelta(hours=7, minutes=59) < session_end - datetime.now(UTC) <= timedelta(hours=8)
    # Kept until the earlier of the two NotOnOrAfter (both +5 min) plus the clock skew.
    [(stored_id, retain_until)] = cache.calls
    assert stored_id == spec.assertion_id
    expected = datetime.now(UTC) + timedelta(minutes=5) + config.clock_skew
    assert abs(retain_until - expected) < timedelta(seconds=5)


async def test_trusted_email_is_marked_verified_and_falls_back_to_an_email_name_id(
    config, idp, cache
):
    trusted = replace(config, trust_email=True)
    spec = ResponseSpec(name_id="bob@example.com", attributes={"role": ["member"]})
    identity = await accept(trusted, signed_response(spec, idp), cache)
    assert (identity.email, identity.email_verified) == ("bob@example.com", True)
    assert identity.given_name is None and identity.family_name is None


async def test_persistent_name_id_does_not_become_an_email(config, idp, cache):
    spec = ResponseSpec(name_id="8f1e-opaque", name_id_format=NAMEID_PERSISTENT, attributes={})
    identity = await accept(replace(config, trust_email=True), signed_response(spec, idp), cache)
    assert identity.subject == "8f1e-opaque"
    assert (identity.email, identity.email_verified) == (None, False)


async def test_custom_attribute_names_are_mapped(config, idp, cache):
    mapped = replace(
        config,
        email_attribute="mail",
        given_name_attribute="firstname",
        family_name_attribute="lastname",
    )
    spec = ResponseSpec(
        name_id="u-17",
        name_id_format=NAMEID_PERSISTENT,
        attributes={"mail": ["  carol@example.com "], "firstname": ["Carol"], "lastname": ["Ng"]},
    )
    identity = await accept(mapped, signed_response(spec, idp), cache)
    assert (identity.email, identity.given_name, identity.family_name) == (
        "carol@example.com",
        "Carol",
        "Ng",
    )


async def test_full_round_trip_from_begin_login(config, idp, cache):
    url, request_id = begin_login(config, "rs-7")
    request, _, _ = decode_redirect(url)
    spec = ResponseSpec(in_response_to=request.get("ID"), sc_in_response_to=request.get("ID"))
    identity = await accept(config, signed_response(spec, idp), cache, request_id=request_id)
    assert identity.subject == "alice@example.com"


@pytest.mark.parametrize(
    ("sign_algorithm", "digest_algorithm"),
    [(C.RSA_SHA384, C.SHA384), (C.RSA_SHA512, C.SHA512), (C.RSA_SHA512, C.SHA256)],
)
async def test_stronger_than_sha256_is_accepted(
    config, idp, cache, sign_algorithm, digest_algorithm
):
    xml = signed_response(
        ResponseSpec(), idp, sign_algorithm=sign_algorithm, digest_algorithm=digest_algorithm
    )
    assert (await accept(config, xml, cache)).subject == "alice@example.com"


async def test_signed_response_and_assertion_accepted_when_messages_must_be_signed(
    config, idp, cache
):
    strict = replace(config, want_messages_signed=True)
    xml = signed_response(ResponseSpec(), idp, sign_response=True)
    assert tree(xml).find("ds:Signature", NS) is not None
    assert (await accept(strict, xml, cache)).subject == "alice@example.com"


async def test_encrypted_assertion_is_decrypted_and_accepted(config, idp, sp_keys, cache):
    with_key = replace(
        config,
        sp_private_key=sp_keys.key_pem,
        sp_x509_cert=sp_keys.cert_pem,
        want_assertions_encrypted=True,
    )
    xml = signed_response(ResponseSpec(), idp, encrypt_for=sp_keys)
    assert tree(xml).find("saml:Assertion", NS) is None
    assert tree(xml).find("saml:EncryptedAssertion", NS) is not None
    identity = await accept(with_key, xml, cache)
    assert identity.subject == "alice@example.com"


async def test_acs_url_with_port_is_taken_from_config(config, idp, cache):
    acs = "https://portal.example.com:8443/sites/a/saml/acs"
    ported = replace(config, sp_acs_url=acs)
    spec = ResponseSpec(destination=acs, recipient=acs)
    assert (await accept(ported, signed_response(spec, idp), cache)).subject


async def test_conditions_just_expired_within_clock_skew_are_accepted(config, idp, cache):
    spec = ResponseSpec(not_on_or_after=timedelta(seconds=-60))
    assert (await accept(config, signed_response(spec, idp), cache)).subject


# --- comment injection (CVE-2017-11427 family) ---------------------------------------


async def test_comment_in_name_id_never_truncates_the_subject(config, idp, cache):
    # The IdP signs the attacker's own account name; the attacker adds a comment so that a
    # parser reading only the first text node would see the victim's address.
    spec = ResponseSpec(
        name_id="victim@example.com.attacker.net",
        attributes={CLAIMS + "emailaddress": ["victim@example.com.attacker.net"]},
    )
    xml = signed_response(spec, idp)
    injected = xml.replace(
        "victim@example.com.attacker.net", "victim@example.com<!---->.attacker.net"
    )
    assert injected.count("<!---->") == 2
    identity = await accept(config, injected, cache)
    # Accepted (exclusive c14n ignores comments, so the signature holds) with the FULL text.
    assert identity.subject == "victim@example.com.attacker.net"
    assert identity.email == "victim@example.com.attacker.net"


# --- signature wrapping and signature placement --------------------------------------


def _spoofed_assertion(signed_xml: str) -> etree._Element:
    """A copy of the signed assertion with another ID and subject, signature removed."""
    assertion = copy.deepcopy(tree(signed_xml).find("saml:Assertion", NS))
    assertion.remove(assertion.find("ds:Signature", NS))
    assertion.set("ID", "_spoofed")
    assertion.find("saml:Subject/saml:NameID", NS).text = "admin@example.com"
    return assertion


async def test_xsw_unsigned_assertion_before_the_signed_one(config, idp, cache):
    signed = signed_response(ResponseSpec(), idp)
    root = tree(signed)
    root.find("saml:Assertion", NS).addprevious(_spoofed_assertion(signed))
    await refuse(config, text(root), cache, Code.WRONG_ASSERTION_COUNT)


async def test_xsw_signed_assertion_hidden_in_an_unknown_wrapper(config, idp, cache):
    # Shape of the toolkit's signature_wrapping_attack2: spoofed assertion in place, the
    # original signed one moved into a foreign element after it.
    signed = signed_response(ResponseSpec(), idp)
    root = tree(signed)
    original = root.find("saml:Assertion", NS)
    original.addprevious(_spoofed_assertion(signed))
    wrapper = etree.SubElement(root, "XSW_ATTACK")
    wrapper.append(original)
    await refuse(config, text(root), cache, Code.WRONG_ASSERTION_COUNT)


async def test_xsw_signed_assertion_hidden_in_extensions(config, idp, cache):
    signed = signed_response(ResponseSpec(), idp)
    root = tree(signed)
    original = root.find("saml:Assertion", NS)
    original.addprevious(_spoofed_assertion(signed))
    extensions = etree.Element(f"{{{C.NS_SAMLP}}}Extensions")
    root.find("saml:Issuer", NS).addnext(extensions)
    extensions.append(original)
    await refuse(config, text(root), cache, Code.WRONG_ASSERTION_COUNT)


async def test_lone_signed_assertion_nested_below_the_response_is_refused(config, idp, cache):
    root = tree(signed_response(ResponseSpec(), idp))
    original = root.find("saml:Assertion", NS)
    wrapper = etree.SubElement(root, "Wrapper")
    wrapper.append(original)
    await refuse(config, text(root), cache, Code.WRONG_ASSERTION_COUNT)


async def test_xsw_signature_moved_onto_a_forged_assertion(config, idp, cache):
    # One assertion only: forged content carrying the genuine signature and ID.
    signed = signed_response(ResponseSpec(), idp)
    root = tree(signed)
    assertion = root.find("saml:Assertion", NS)
    assertion.find("saml:Subject/saml:NameID", NS).text = "admin@example.com"
    await refuse(config, text(root), cache, Code.INVALID_SIGNATURE)


async def test_xsw_assertion_signature_moved_to_the_response(config, idp, cache):
    signed = signed_response(ResponseSpec(), idp)
    root = tree(signed)
    signature = root.find("saml:Assertion/ds:Signature", NS)
    root.find("saml:Issuer", NS).addnext(signature)
    await refuse(config, text(root), cache, Code.BAD_SIGNATURE_REFERENCE)


async def test_signature_reference_pointing_at_another_element(config, idp, cache):
    # A valid signature by the IdP key, held by the assertion, over the Response's ID.
    spec = ResponseSpec()
    xml = sign_with_reference(build_response(spec), "saml:Assertion", f"#{spec.response_id}", idp)
    await refuse(config, xml, cache, Code.BAD_SIGNATURE_REFERENCE)


async def test_signature_reference_to_the_whole_document(config, idp, cache):
    # URI="" (whole document) skips the toolkit's own reference check.
    xml = sign_with_reference(build_response(ResponseSpec()), "saml:Assertion", "", idp)
    await refuse(config, xml, cache, Code.BAD_SIGNATURE_REFERENCE)


async def test_unsigned_assertion_is_refused(config, idp, cache):
    await refuse(config, build_response(ResponseSpec()), cache, Code.UNSIGNED_ASSERTION)


async def test_signed_response_with_unsigned_assertion_is_refused(config, idp, cache):
    xml = signed_response(ResponseSpec(), idp, sign_assertion=False, sign_response=True)
    await refuse(config, xml, cache, Code.UNSIGNED_ASSERTION)


async def test_unsigned_response_refused_when_messages_must_be_signed(config, idp, cache):
    strict = replace(config, want_messages_signed=True)
    await refuse(strict, signed_response(ResponseSpec(), idp), cache, Code.UNSIGNED_MESSAGE)


async def test_signature_by_a_different_key_is_refused(config, attacker, cache):
    # The attacker's certificate travels in KeyInfo; only the configured one may count.
    xml = signed_response(ResponseSpec(), attacker)
    assert "X509Certificate" in xml
    await refuse(config, xml, cache, Code.INVALID_SIGNATURE)


async def test_attribute_tampered_after_signing_is_refused(config, idp, cache):
    root = tree(signed_response(ResponseSpec(), idp))
    value = root.find(
        "saml:Assertion/saml:AttributeStatement/saml:Attribute/saml:AttributeValue", NS
    )
    assert value.text == "alice@example.com"
    value.text = "admin@example.com"
    await refuse(config, text(root), cache, Code.INVALID_SIGNATURE)


async def test_attribute_added_after_signing_is_refused(config, idp, cache):
    root = tree(signed_response(ResponseSpec(), idp))
    statement = root.find("saml:Assertion/saml:AttributeStatement", NS)
    extra = copy.deepcopy(statement[0])
    extra.set("Name", "role")
    extra[0].text = "administrator"
    statement.append(extra)
    await refuse(config, text(root), cache, Code.INVALID_SIGNATURE)


@pytest.mark.parametrize(
    ("sign_algorithm", "digest_algorithm"),
    [(C.RSA_SHA1, C.SHA1), (C.RSA_SHA256, C.SHA1), (C.RSA_SHA1, C.SHA256)],
)
async def test_sha1_signatures_are_refused(config, idp, cache, sign_algorithm, digest_algorithm):
    xml = signed_response(
        ResponseSpec(), idp, sign_algorithm=sign_algorithm, digest_algorithm=digest_algorithm
    )
    await refuse(config, xml, cache, Code.WEAK_ALGORITHM)


async def test_sha1_response_signature_refused_even_with_a_good_assertion_signature(
    config, idp, cache
):
    # The toolkit's deprecated-algorithm check would catch this one too; the allow-list
    # must not stop at the first signature it finds.
    signed_assertion = signed_response(ResponseSpec(), idp)
    xml = sign_element(signed_assertion, idp, sign_algorithm=C.RSA_SHA1, digest_algorithm=C.SHA1)
    root = tree(xml)
    assert root.find("ds:Signature", NS) is not None
    assert root.find("saml:Assertion/ds:Signature", NS) is not None
    await refuse(config, xml, cache, Code.WEAK_ALGORITHM)


async def test_xpath_transform_is_refused(config, idp, cache):
    root = tree(signed_response(ResponseSpec(), idp))
    transform = root.find(
        "saml:Assertion/ds:Signature/ds:SignedInfo/ds:Reference/ds:Transforms/ds:Transform", NS
    )
    transform.set("Algorithm", "http://www.w3.org/TR/1999/REC-xpath-19991116")
    await refuse(config, text(root), cache, Code.UNSUPPORTED_TRANSFORM)


# --- assertion count and encryption ---------------------------------------------------


async def test_two_validly_signed_assertions_are_refused(config, idp, cache):
    first, second = ResponseSpec(), ResponseSpec(name_id="admin@example.com")
    assertions = [tree(signed_response(s, idp)).find("saml:Assertion", NS) for s in (first, second)]
    xml = build_response(first, [text(a) for a in assertions])
    await refuse(config, xml, cache, Code.WRONG_ASSERTION_COUNT)


async def test_response_without_assertion_is_refused(config, cache):
    await refuse(config, build_response(ResponseSpec(), []), cache, Code.WRONG_ASSERTION_COUNT)


async def test_encrypted_and_plain_assertion_together_are_refused(config, idp, sp_keys, cache):
    with_key = replace(config, sp_private_key=sp_keys.key_pem, sp_x509_cert=sp_keys.cert_pem)
    encrypted = tree(signed_response(ResponseSpec(), idp, encrypt_for=sp_keys))
    plain = tree(signed_response(ResponseSpec(name_id="admin@example.com"), idp))
    encrypted.append(plain.find("saml:Assertion", NS))
    await refuse(with_key, text(encrypted), cache, Code.WRONG_ASSERTION_COUNT)


async def test_encrypted_assertion_without_an_sp_key_is_refused(config, idp, sp_keys, cache):
    xml = signed_response(ResponseSpec(), idp, encrypt_for=sp_keys)
    await refuse(config, xml, cache, Code.UNDECRYPTABLE)


async def test_assertion_encrypted_for_another_key_is_refused(
    config, idp, sp_keys, attacker, cache
):
    with_key = replace(config, sp_private_key=sp_keys.key_pem, sp_x509_cert=sp_keys.cert_pem)
    xml = signed_response(ResponseSpec(), idp, encrypt_for=attacker)
    await refuse(with_key, xml, cache, Code.UNDECRYPTABLE)


async def test_plain_assertion_refused_when_encryption_is_required(config, idp, sp_keys, cache):
    strict = replace(
        config,
        sp_private_key=sp_keys.key_pem,
        sp_x509_cert=sp_keys.cert_pem,
        want_assertions_encrypted=True,
    )
    await refuse(strict, signed_response(ResponseSpec(), idp), cache, Code.ENCRYPTION_REQUIRED)


# --- audience, issuer, destination, recipient -----------------------------------------


@pytest.mark.parametrize(
    "audiences",
    [
        [["https://other-sp.example.com/metadata"]],
        [],
        [[SP_ENTITY_ID], ["https://other-sp.example.com/metadata"]],
        [[SP_ENTITY_ID + "/"]],
    ],
    ids=["other-sp", "no-restriction", "second-restriction-excludes-us", "near-miss"],
)
async def test_invalid_audience_is_refused(config, idp, cache, audiences):
    xml = signed_response(ResponseSpec(audiences=audiences), idp)
    await refuse(config, xml, cache, Code.WRONG_AUDIENCE)


async def test_audience_among_several_in_one_restriction_is_accepted(config, idp, cache):
    spec = ResponseSpec(audiences=[["https://other.example.com", SP_ENTITY_ID]])
    assert (await accept(config, signed_response(spec, idp), cache)).subject


@pytest.mark.parametrize(
    "spec",
    [
        ResponseSpec(assertion_issuer="https://evil-idp.example.net"),
        ResponseSpec(response_issuer="https://evil-idp.example.net"),
    ],
    ids=["assertion-issuer", "response-issuer"],
)
async def test_invalid_issuer_is_refused(config, idp, cache, spec):
    await refuse(config, signed_response(spec, idp), cache, Code.WRONG_ISSUER)


@pytest.mark.parametrize(
    "recipient",
    [
        "https://evil.example.net/acs",
        f"https://evil.example.net/?next={ACS_URL}",  # the toolkit's substring test passes it
        ACS_URL + "/",
        None,
    ],
    ids=["other-host", "contains-acs", "trailing-slash", "missing"],
)
async def test_invalid_recipient_is_refused(config, idp, cache, recipient):
    xml = signed_response(ResponseSpec(recipient=recipient), idp)
    await refuse(config, xml, cache, Code.WRONG_RECIPIENT)


@pytest.mark.parametrize(
    "destination",
    [
        "https://evil.example.net/saml/acs",
        ACS_URL + "-evil",  # the toolkit's startswith test passes it
        ACS_URL + "/../../other",
        None,
    ],
    ids=["other-host", "prefix-extension", "path-suffix", "missing"],
)
async def test_invalid_destination_is_refused(config, idp, cache, destination):
    xml = signed_response(ResponseSpec(destination=destination), idp)
    await refuse(config, xml, cache, Code.WRONG_DESTINATION)


# --- time -----------------------------------------------------------------------------


@pytest.mark.parametrize(
    ("spec", "code"),
    [
        (ResponseSpec(not_on_or_after=timedelta(minutes=-10)), Code.EXPIRED),
        (ResponseSpec(sc_not_on_or_after=timedelta(minutes=-10)), Code.EXPIRED),
        (ResponseSpec(not_before=timedelta(minutes=10)), Code.NOT_YET_VALID),
        (ResponseSpec(sc_not_before=timedelta(minutes=10)), Code.NOT_YET_VALID),
        (ResponseSpec(issue_offset=timedelta(minutes=10)), Code.NOT_YET_VALID),
        (ResponseSpec(session_not_on_or_after=timedelta(seconds=-1)), Code.SESSION_EXPIRED),
    ],
    ids=[
        "conditions-expired",
        "confirmation-expired",
        "conditions-not-before",
        "confirmation-not-before",
        "issued-in-future",
        "session-expired",
    ],
)
async def test_time_window_is_enforced(config, idp, cache, spec, code):
    await refuse(config, signed_response(spec, idp), cache, code)


async def test_confirmation_expired_within_skew_is_still_refused_by_the_toolkit(config, idp, cache):
    # Portalis allows clock_skew, the toolkit allows none on SubjectConfirmationData.
    spec = ResponseSpec(sc_not_on_or_after=timedelta(seconds=-30))
    await refuse(config, signed_response(spec, idp), cache, Code.NO_SUBJECT_CONFIRMATION)


async def test_injected_now_applies_to_portalis_checks(config, idp, cache):
    xml = signed_response(ResponseSpec(), idp)
    later = datetime.now(UTC) + timedelta(hours=1)
    await refuse(config, xml, cache, Code.EXPIRED, now=later)
    assert (await accept(config, xml, cache)).subject  # same document, real time


async def test_conditions_end_is_checked_at_the_injected_now(config, idp, cache):
    # Confirmation still valid at `now`; only Conditions NotOnOrAfter has passed, and the
    # toolkit (system clock) would accept it.
    spec = ResponseSpec(
        not_on_or_after=timedelta(minutes=5), sc_not_on_or_after=timedelta(minutes=30)
    )
    later = datetime.now(UTC) + timedelta(minutes=10)
    await refuse(config, signed_response(spec, idp), cache, Code.EXPIRED, now=later)


async def test_session_end_is_checked_at_the_injected_now(config, idp, cache):
    spec = ResponseSpec(
        not_on_or_after=timedelta(minutes=30),
        sc_not_on_or_after=timedelta(minutes=30),
        session_not_on_or_after=timedelta(minutes=20),
    )
    later = datetime.now(UTC) + timedelta(minutes=25)
    await refuse(config, signed_response(spec, idp), cache, Code.SESSION_EXPIRED, now=later)


async def test_not_before_beyond_our_skew_is_refused_inside_the_toolkit_drift(config, idp, cache):
    # The toolkit tolerates 300 s on Conditions NotBefore; clock_skew here is 120 s.
    spec = ResponseSpec(not_before=timedelta(minutes=4))
    await refuse(config, signed_response(spec, idp), cache, Code.NOT_YET_VALID)


async def test_naive_now_is_a_programming_error(config, idp, cache):
    with pytest.raises(ValueError):
        await accept(config, signed_response(ResponseSpec(), idp), cache, now=datetime.now())


@pytest.mark.parametrize("raw", ["2030-01-01T00:00:00+00:00", "2030-01-01T00:00:00", "tomorrow"])
async def test_timestamps_must_be_utc_with_z(config, idp, cache, raw):
    spec = ResponseSpec(raw_times={"not_on_or_after": raw})
    await refuse(config, signed_response(spec, idp), cache, Code.MALFORMED)


# --- binding to our request -----------------------------------------------------------


async def test_wrong_in_response_to_is_refused(config, idp, cache):
    spec = ResponseSpec(in_response_to="ONELOGIN_other", sc_in_response_to="ONELOGIN_other")
    await refuse(config, signed_response(spec, idp), cache, Code.IN_RESPONSE_TO_MISMATCH)


async def test_wrong_in_response_to_inside_the_signed_assertion_is_refused(config, idp, cache):
    spec = ResponseSpec(sc_in_response_to="ONELOGIN_other")
    await refuse(config, signed_response(spec, idp), cache, Code.IN_RESPONSE_TO_MISMATCH)


async def test_unsolicited_response_is_refused(config, idp, cache):
    spec = ResponseSpec(in_response_to=None, sc_in_response_to=None)
    await refuse(config, signed_response(spec, idp), cache, Code.UNSOLICITED_RESPONSE)


async def test_unsolicited_assertion_rewrapped_with_our_request_id_is_refused(config, idp, cache):
    # An IdP-initiated assertion (no InResponseTo inside the signature) put in a Response
    # whose unsigned InResponseTo names our request.
    spec = ResponseSpec(sc_in_response_to=None)
    await refuse(config, signed_response(spec, idp), cache, Code.UNSOLICITED_RESPONSE)


async def test_response_with_no_login_started_is_refused(config, idp, cache):
    xml = signed_response(ResponseSpec(), idp)
    await refuse(config, xml, cache, Code.UNSOLICITED_RESPONSE, request_id=None)


async def test_replayed_assertion_is_refused_the_second_time(config, idp, cache):
    xml = signed_response(ResponseSpec(), idp)
    await accept(config, xml, cache)
    with pytest.raises(SamlError) as caught:
        await accept(config, xml, cache)
    assert caught.value.code == Code.REPLAYED_ASSERTION
    assert [c[0] for c in cache.calls] == [tree(xml).find("saml:Assertion", NS).get("ID")] * 2


async def test_replay_with_a_fresh_response_envelope_is_refused(config, idp, cache):
    # Same signed assertion, new Response ID around it.
    signed = signed_response(ResponseSpec(), idp)
    await accept(config, signed, cache)
    root = tree(signed)
    root.set("ID", "_fresh-envelope")
    with pytest.raises(SamlError) as caught:
        await accept(config, text(root), cache)
    assert caught.value.code == Code.REPLAYED_ASSERTION


# --- subject, statements, status, conditions ------------------------------------------


@pytest.mark.parametrize(
    ("spec", "code"),
    [
        (
            ResponseSpec(status="urn:oasis:names:tc:SAML:2.0:status:Requester"),
            Code.STATUS_NOT_SUCCESS,
        ),
        (ResponseSpec(name_id=None), Code.MISSING_NAME_ID),
        (
            ResponseSpec(sc_method="urn:oasis:names:tc:SAML:2.0:cm:holder-of-key"),
            Code.NO_SUBJECT_CONFIRMATION,
        ),
        (ResponseSpec(sc_not_on_or_after=None), Code.NO_SUBJECT_CONFIRMATION),
        (
            ResponseSpec(
                extra_conditions='<saml:Condition xmlns:xsi="http://www.w3.org/2001/XMLSchema-instance"'
                ' xsi:type="saml:ConditionAbstractType"/>'
            ),
            Code.UNSUPPORTED_CONDITION,
        ),
    ],
    ids=["status", "no-nameid", "holder-of-key-only", "bearer-without-expiry", "unknown-condition"],
)
async def test_assertion_content_is_enforced(config, idp, cache, spec, code):
    await refuse(config, signed_response(spec, idp), cache, code)


async def test_duplicate_attribute_names_are_refused(config, idp, cache):
    root = tree(build_response(ResponseSpec()))
    statement = root.find("saml:Assertion/saml:AttributeStatement", NS)
    duplicate = copy.deepcopy(statement.find("saml:Attribute[@Name='groups']", NS))
    duplicate[0].text = "administrators"
    statement.append(duplicate)
    xml = signed_assertion_xml(root.find("saml:Assertion", NS), idp)
    await refuse(config, xml, cache, Code.DUPLICATE_ATTRIBUTE)


async def test_multiple_authn_statements_are_refused(config, idp, cache):
    root = tree(build_response(ResponseSpec()))
    assertion = root.find("saml:Assertion", NS)
    statement = assertion.find("saml:AuthnStatement", NS)
    statement.addnext(copy.deepcopy(statement))
    await refuse(config, signed_assertion_xml(assertion, idp), cache, Code.MISSING_AUTHN_STATEMENT)


def signed_assertion_xml(assertion: etree._Element, signer: KeyPair) -> str:
    """Sign an edited assertion and put it back in a fresh default Response."""
    return build_response(ResponseSpec(), [sign_element(text(assertion), signer)])


async def test_schema_invalid_response_is_refused(config, idp, cache):
    root = tree(signed_response(ResponseSpec(), idp))
    root.find("samlp:Status", NS).addnext(etree.Element(f"{{{C.NS_SAMLP}}}Bogus"))
    await refuse(config, text(root), cache, Code.MALFORMED)


# --- malformed input ------------------------------------------------------------------


async def test_not_base64_is_refused(config, cache):
    with pytest.raises(SamlError) as caught:
        await complete_login(
            config, "not*base64!", expected_request_id=REQUEST_ID, remember_assertion=cache
        )
    assert caught.value.code == Code.MALFORMED


@pytest.mark.parametrize(
    "payload",
    [
        b"<samlp:Response",
        b'<?xml version="1.0"?><!DOCTYPE r [<!ENTITY e SYSTEM "file:///etc/passwd">]>'
        b'<samlp:Response xmlns:samlp="urn:oasis:names:tc:SAML:2.0:protocol">&e;</samlp:Response>',
        b"<html/>",
    ],
    ids=["truncated", "external-entity", "not-a-response"],
)
async def test_not_a_saml_response_is_refused(config, cache, payload):
    await refuse(config, payload, cache, Code.MALFORMED)


async def test_oversized_response_is_refused_before_parsing(config, cache):
    with pytest.raises(SamlError) as caught:
        await complete_login(
            config,
            "A" * (MAX_RESPONSE_BYTES + 4),
            expected_request_id=REQUEST_ID,
            remember_assertion=cache,
        )
    assert caught.value.code == Code.MALFORMED


async def test_base64_with_line_breaks_is_accepted(config, idp, cache):
    encoded = b64(signed_response(ResponseSpec(), idp))
    wrapped = "\r\n".join(encoded[i : i + 76] for i in range(0, len(encoded), 76))
    identity = await complete_login(
        config, wrapped, expected_request_id=REQUEST_ID, remember_assertion=cache
    )
    assert identity.subject == "alice@example.com"


# --- AuthnRequest and metadata --------------------------------------------------------


def test_begin_login_builds_a_redirect_authn_request(config):
    url, request_id = begin_login(config, "opaque-token-1")
    assert url.startswith(IDP_SSO_URL + "?")
    request, params, _ = decode_redirect(url)
    assert request.tag == f"{{{C.NS_SAMLP}}}AuthnRequest"
    assert request.get("ID") == request_id
    assert request.get("Destination") == IDP_SSO_URL
    assert request.get("AssertionConsumerServiceURL") == ACS_URL
    assert request.get("ProtocolBinding") == C.BINDING_HTTP_POST
    assert request.find("saml:Issuer", NS).text == SP_ENTITY_ID
    assert request.find("samlp:RequestedAuthnContext", NS) is None
    policy = request.find("samlp:NameIDPolicy", NS)
    assert policy.get("Format") == config.name_id_format
    assert params["RelayState"] == ["opaque-token-1"]
    assert "Signature" not in params and "SigAlg" not in params
    assert begin_login(config, "opaque-token-1")[1] != request_id


def test_begin_login_signs_the_query_when_an_sp_key_is_configured(config, sp_keys):
    signing = replace(config, sp_private_key=sp_keys.key_pem, sp_x509_cert=sp_keys.cert_pem)
    url, _ = begin_login(signing, "rs")
    _, params, query = decode_redirect(url)
    assert params["SigAlg"] == [C.RSA_SHA256]
    parts = dict(part.split("=", 1) for part in query.split("&"))
    signed = "&".join(f"{k}={parts[k]}" for k in ("SAMLRequest", "RelayState", "SigAlg"))
    signature = base64.b64decode(unquote_plus(parts["Signature"]))
    public_key = x509.load_pem_x509_certificate(sp_keys.cert_pem.encode()).public_key()
    public_key.verify(signature, signed.encode(), padding.PKCS1v15(), hashes.SHA256())
    with pytest.raises(InvalidSignature):
        public_key.verify(signature, signed.encode() + b"x", padding.PKCS1v15(), hashes.SHA256())


def test_relay_state_is_limited_to_80_bytes(config):
    begin_login(config, "r" * 80)
    with pytest.raises(ValueError):
        begin_login(config, "r" * 81)


def test_sp_metadata_describes_this_sp(config):
    xml = sp_metadata(config)
    root = OneLogin_Saml2_XML.validate_xml(xml, "saml-schema-metadata-2.0.xsd")
    assert not isinstance(root, str), root
    md = {"md": C.NS_MD, "ds": C.NS_DS}
    assert root.get("entityID") == SP_ENTITY_ID
    descriptor = root.find("md:SPSSODescriptor", md)
    assert descriptor.get("WantAssertionsSigned") == "true"
    assert descriptor.get("AuthnRequestsSigned") == "false"
    acs = descriptor.find("md:AssertionConsumerService", md)
    assert (acs.get("Location"), acs.get("Binding")) == (ACS_URL, C.BINDING_HTTP_POST)
    assert descriptor.find("md:KeyDescriptor", md) is None


def test_sp_metadata_publishes_the_sp_certificate(config, sp_keys):
    signing = replace(
        config,
        sp_private_key=sp_keys.key_pem,
        sp_x509_cert=sp_keys.cert_pem,
        want_assertions_encrypted=True,
    )
    root = etree.fromstring(sp_metadata(signing).encode())
    md = {"md": C.NS_MD, "ds": C.NS_DS}
    descriptor = root.find("md:SPSSODescriptor", md)
    assert descriptor.get("AuthnRequestsSigned") == "true"
    uses = sorted(k.get("use") for k in descriptor.findall("md:KeyDescriptor", md))
    assert uses == ["encryption", "signing"]
    published = descriptor.find("md:KeyDescriptor//ds:X509Certificate", md).text
    body = "".join(sp_keys.cert_pem.strip().splitlines()[1:-1])
    assert "".join(published.split()) == body


# --- configuration --------------------------------------------------------------------


@pytest.mark.parametrize(
    "change",
    [
        {"sp_acs_url": "/saml/acs"},
        {"sp_acs_url": ACS_URL + "?site=a"},
        {"sp_acs_url": "ftp://portal.example.com/acs"},
        {"idp_sso_url": "idp.example.org/sso"},
        {"idp_x509_cert": "not a certificate"},
        {"sp_entity_id": " "},
        {"sp_private_key": "-----BEGIN PRIVATE KEY-----"},
        {"want_assertions_encrypted": True},
        {"clock_skew": timedelta(hours=1)},
    ],
)
def test_invalid_configuration_is_refused(config, change):
    with pytest.raises(ValueError):
        dataclasses.replace(config, **change)


def test_saml_time_helper_matches_the_sp_parser():
    from portalis.plugins.identity.saml_checks import parse_saml_time

    moment = datetime(2030, 5, 6, 7, 8, 9, tzinfo=UTC)
    assert parse_saml_time(saml_time(moment), "t") == moment
    assert parse_saml_time("2030-05-06T07:08:09.250Z", "t") == moment + timedelta(milliseconds=250)
