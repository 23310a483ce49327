"""Domain verification against a real DNS server (dnslib, UDP, 127.0.0.1)."""

from __future__ import annotations

import time
from collections.abc import Iterator

import pytest

from portalis.plugins.domains.verify import (
    CHALLENGE_LABEL,
    FailureReason,
    VerificationMethod,
    expected_records,
    make_token,
    normalize_domain,
    txt_record_name,
    verify_domain,
)

from .dns_server import ZoneServer, running_zone, silent_udp_socket

PORTAL = "contoso.portal.example.net"
TOKEN = "tok_" + "A1b2C3d4E5f6G7h8I9j0KlMnOpQrStUv"


@pytest.fixture
def zone() -> Iterator[ZoneServer]:
    with running_zone() as zone:
        yield zone


async def check(zone: ZoneServer, domain: str = "www.customer.example", **kwargs):
    kwargs.setdefault("portal_host", PORTAL)
    kwargs.setdefault("token", TOKEN)
    return await verify_domain(domain, nameservers=[zone.address], timeout=2.0, **kwargs)


# --- names and tokens ------------------------------------------------------------------


def test_make_token_is_random_and_long() -> None:
    tokens = {make_token() for _ in range(50)}
    assert len(tokens) == 50
    assert all(len(t) >= 43 and t.isascii() and " " not in t for t in tokens)


def test_txt_record_name() -> None:
    assert CHALLENGE_LABEL == "_portalis-challenge"
    assert txt_record_name("WWW.Customer.Example.") == "_portalis-challenge.www.customer.example"


@pytest.mark.parametrize(
    ("raw", "expected"),
    [
        ("Portal.Example.COM", "portal.example.com"),
        ("  portal.example.com.  ", "portal.example.com"),
        ("bücher.example", "xn--bcher-kva.example"),
        ("BÜCHER.example", "xn--bcher-kva.example"),
        ("xn--bcher-kva.example", "xn--bcher-kva.example"),
        ("a-b.c9.example", "a-b.c9.example"),
    ],
)
def test_normalize_domain_accepts(raw: str, expected: str) -> None:
    assert normalize_domain(raw) == expected


@pytest.mark.parametrize(
    ("raw", "fragment"),
    [
        ("", "empty"),
        ("   ", "empty"),
        ("*.example.com", "wildcard"),
        ("a.*.example.com", "wildcard"),
        ("192.0.2.10", "IP address"),
        ("2001:db8::1", "IP address"),
        ("[2001:db8::1]", "IP address"),
        ("https://portal.example.com/", "URL"),
        ("portal.example.com/path", "URL"),
        ("portal.example.com:8443", "port"),
        ("user@portal.example.com", "'@'"),
        ("portal example.com", "whitespace"),
        ("portal..example.com", "empty label"),
        (".portal.example.com", "empty label"),
        ("-portal.example.com", "letters, digits"),
        ("portal-.example.com", "letters, digits"),
        ("port_al.example.com", "letters, digits"),
        ("a" * 64 + ".example.com", "63"),
        (".".join(["a" * 60] * 5), "253"),
        ("localhost", "fully qualified"),
        ("1.2.3.999", "numeric"),
        ("xn--zzzzzzz-.example", "letters, digits"),
        ("xn--a.example", "punycode"),
    ],
)
def test_normalize_domain_rejects(raw: str, fragment: str) -> None:
    with pytest.raises(ValueError, match="(?i)" + fragment.replace("*", r"\*")):
        normalize_domain(raw)


def test_expected_records() -> None:
    cname, txt = expected_records("WWW.customer.example", portal_host=PORTAL, token=TOKEN)
    assert (cname.type, cname.name, cname.value) == ("CNAME", "www.customer.example", PORTAL)
    assert (txt.type, txt.name, txt.value) == (
        "TXT",
        "_portalis-challenge.www.customer.example",
        TOKEN,
    )


async def test_bad_arguments_raise_before_any_lookup(zone: ZoneServer) -> None:
    with pytest.raises(ValueError, match="wildcard"):
        await check(zone, "*.customer.example")
    with pytest.raises(ValueError, match="token"):
        await check(zone, token="short")
    with pytest.raises(ValueError, match="IP address"):
        await check(zone, portal_host="10.0.0.1")
    with pytest.raises(ValueError, match="not an IP address"):
        await verify_domain("a.example", portal_host=PORTAL, token=TOKEN, nameservers=[("ns", 53)])
    with pytest.raises(ValueError, match="empty"):
        await verify_domain("a.example", portal_host=PORTAL, token=TOKEN, nameservers=[])
    with pytest.raises(ValueError, match="timeout"):
        await verify_domain(
            "a.example", portal_host=PORTAL, token=TOKEN, nameservers=[zone.address], timeout=0
        )
    assert zone.queries == []


# --- passes ----------------------------------------------------------------------------


async def test_cname_to_portal_passes(zone: ZoneServer) -> None:
    zone.add("www.customer.example", "CNAME", PORTAL + ".")
    result = await check(zone)
    assert result.verified
    assert result.method is VerificationMethod.CNAME
    assert result.reason is None
    assert result.cname_target == PORTAL
    assert result.domain == "www.customer.example"
    assert ("www.customer.example", "CNAME") in zone.queries


async def test_cname_comparison_ignores_case_and_trailing_dot(zone: ZoneServer) -> None:
    zone.add("www.customer.example", "CNAME", "Contoso.PORTAL.example.NET.")
    result = await check(zone, "WWW.Customer.Example.", portal_host="contoso.portal.example.net.")
    assert result.method is VerificationMethod.CNAME


async def test_idn_domain_is_looked_up_in_a_label_form(zone: ZoneServer) -> None:
    zone.add("xn--bcher-kva.example", "CNAME", PORTAL)
    result = await check(zone, "bücher.example")
    assert result.method is VerificationMethod.CNAME
    assert result.domain == "xn--bcher-kva.example"


async def test_txt_token_passes(zone: ZoneServer) -> None:
    zone.add("customer.example", "A", "192.0.2.1")
    zone.add(txt_record_name("customer.example"), "TXT", "v=spf1 -all", TOKEN)
    result = await check(zone, "customer.example")
    assert result.verified
    assert result.method is VerificationMethod.TXT
    assert TOKEN in result.txt_values


async def test_txt_token_split_into_several_strings_passes(zone: ZoneServer) -> None:
    zone.add(txt_record_name("customer.example"), "TXT", [TOKEN[:10], TOKEN[10:]])
    result = await check(zone, "customer.example")
    assert result.method is VerificationMethod.TXT


async def test_txt_passes_even_when_cname_points_elsewhere(zone: ZoneServer) -> None:
    zone.add("www.customer.example", "CNAME", "cdn.other.example")
    zone.add(txt_record_name("www.customer.example"), "TXT", TOKEN)
    result = await check(zone)
    assert result.method is VerificationMethod.TXT
    assert result.cname_target == "cdn.other.example"


# --- failures --------------------------------------------------------------------------


async def test_nxdomain(zone: ZoneServer) -> None:
    zone.add("other.example", "A", "192.0.2.1")
    result = await check(zone, "missing.customer.example")
    assert not result.verified
    assert result.method is None
    assert result.reason is FailureReason.NXDOMAIN
    assert "does not exist" in result.message
    assert not result.retryable


async def test_no_record_when_domain_exists_without_cname_or_txt(zone: ZoneServer) -> None:
    zone.add("www.customer.example", "A", "192.0.2.1")
    result = await check(zone)
    assert result.reason is FailureReason.NO_RECORD
    assert "no CNAME" in result.message
    assert txt_record_name("www.customer.example") in result.message
    assert result.cname_target is None and result.txt_values == ()


async def test_cname_to_another_host(zone: ZoneServer) -> None:
    zone.add("www.customer.example", "CNAME", "evil.portal.example.net")
    result = await check(zone)
    assert result.reason is FailureReason.CNAME_MISMATCH
    assert result.cname_target == "evil.portal.example.net"
    assert "evil.portal.example.net" in result.message and PORTAL in result.message


async def test_cname_to_a_subdomain_of_the_portal_host_does_not_pass(zone: ZoneServer) -> None:
    zone.add("www.customer.example", "CNAME", "x." + PORTAL)
    assert (await check(zone)).reason is FailureReason.CNAME_MISMATCH


async def test_wrong_token(zone: ZoneServer) -> None:
    zone.add(txt_record_name("www.customer.example"), "TXT", TOKEN + "x", TOKEN[:-1])
    result = await check(zone)
    assert result.reason is FailureReason.TOKEN_MISMATCH
    assert "2 value(s)" in result.message
    assert result.txt_values == (TOKEN + "x", TOKEN[:-1])


async def test_token_of_another_domain_does_not_pass(zone: ZoneServer) -> None:
    other = make_token()
    zone.add(txt_record_name("www.customer.example"), "TXT", other)
    zone.add(txt_record_name("customer.example"), "TXT", TOKEN)  # right token, wrong name
    result = await check(zone)
    assert result.reason is FailureReason.TOKEN_MISMATCH


async def test_servfail_is_a_retryable_dns_error(zone: ZoneServer) -> None:
    zone.servfail.add("www.customer.example")
    zone.servfail.add(txt_record_name("www.customer.example"))
    result = await check(zone)
    assert result.reason is FailureReason.DNS_ERROR
    assert result.retryable


async def test_timeout() -> None:
    with silent_udp_socket() as address:
        started = time.monotonic()
        result = await verify_domain(
            "www.customer.example",
            portal_host=PORTAL,
            token=TOKEN,
            nameservers=[address],
            timeout=0.4,
        )
        elapsed = time.monotonic() - started
    assert result.reason is FailureReason.TIMEOUT
    assert result.retryable
    assert "did not answer" in result.message
    assert elapsed < 3


async def test_timeout_outranks_a_mismatch(zone: ZoneServer) -> None:
    # The CNAME is wrong, but the TXT lookup never answers: the TXT might be right, so the
    # maker is told to retry rather than to fix a record.
    zone.add("www.customer.example", "CNAME", "cdn.other.example")
    zone.drop.add(txt_record_name("www.customer.example"))
    result = await verify_domain(
        "www.customer.example",
        portal_host=PORTAL,
        token=TOKEN,
        nameservers=[zone.address],
        timeout=0.5,
    )
    assert result.reason is FailureReason.TIMEOUT
    assert result.cname_target == "cdn.other.example"


async def test_dns_error_outranks_a_mismatch(zone: ZoneServer) -> None:
    zone.add("www.customer.example", "CNAME", "cdn.other.example")
    zone.servfail.add(txt_record_name("www.customer.example"))
    result = await check(zone)
    assert result.reason is FailureReason.DNS_ERROR
    assert result.cname_target == "cdn.other.example"


async def test_cname_pass_does_not_wait_for_a_broken_txt_lookup(zone: ZoneServer) -> None:
    zone.add("www.customer.example", "CNAME", PORTAL)
    zone.servfail.add(txt_record_name("www.customer.example"))
    assert (await check(zone)).method is VerificationMethod.CNAME


async def test_result_follows_zone_changes(zone: ZoneServer) -> None:
    assert (await check(zone)).reason is FailureReason.NXDOMAIN
    zone.add("www.customer.example", "CNAME", PORTAL)
    assert (await check(zone)).verified
