"""Client addresses behind proxies, and allow/deny decisions."""

from __future__ import annotations

from ipaddress import IPv4Address, IPv6Address, ip_address, ip_network

import pytest

from portalis.plugins.ipfilter.addresses import (
    Decision,
    IpRules,
    client_address,
    parse_networks,
)

PROXIES = [ip_network("10.0.0.0/8"), ip_network("fd00::/8")]
EDGE = "10.0.0.2"  # a trusted proxy talking to the app


def addr(peer: str, headers: dict[str, str], trusted=PROXIES, **kwargs) -> str:
    return str(client_address(peer, headers, trusted, **kwargs))


# --- X-Forwarded-For -------------------------------------------------------------------


def test_untrusted_peer_is_the_answer_whatever_the_headers_say() -> None:
    spoof = {"X-Forwarded-For": "10.1.2.3", "Forwarded": "for=10.1.2.3"}
    assert addr("198.51.100.7", spoof) == "198.51.100.7"
    assert addr("198.51.100.7", {}) == "198.51.100.7"


def test_trusted_peer_without_header_is_the_answer() -> None:
    assert addr(EDGE, {}) == EDGE
    assert addr(EDGE, {"X-Forwarded-For": ""}) == EDGE


def test_single_trusted_proxy() -> None:
    assert addr(EDGE, {"X-Forwarded-For": "203.0.113.9"}) == "203.0.113.9"


def test_lookup_is_case_insensitive() -> None:
    assert addr(EDGE, {"x-forwarded-for": "203.0.113.9"}) == "203.0.113.9"
    assert addr(EDGE, {"X-FORWARDED-FOR": "203.0.113.9"}) == "203.0.113.9"


def test_prepended_addresses_do_not_help_a_client() -> None:
    # The client sent "X-Forwarded-For: 10.9.9.9, 192.0.2.1"; the proxy appended the real
    # address. The right-most untrusted entry is the real client.
    headers = {"X-Forwarded-For": "10.9.9.9, 192.0.2.1, 203.0.113.9"}
    assert addr(EDGE, headers) == "203.0.113.9"


def test_multi_hop_chain_of_trusted_proxies() -> None:
    # client -> CDN edge (10.5.0.1) -> load balancer (10.6.0.1) -> ingress (peer)
    headers = {"X-Forwarded-For": "192.0.2.1, 203.0.113.9, 10.5.0.1, 10.6.0.1"}
    assert addr("10.7.0.1", headers) == "203.0.113.9"


def test_untrusted_hop_in_the_middle_stops_the_walk() -> None:
    headers = {"X-Forwarded-For": "10.1.1.1, 198.51.100.50, 10.6.0.1"}
    assert addr(EDGE, headers) == "198.51.100.50"


def test_all_hops_trusted_gives_the_left_most() -> None:
    assert addr(EDGE, {"X-Forwarded-For": "10.1.1.1, 10.2.2.2"}) == "10.1.1.1"


def test_malformed_entry_falls_back_to_last_trusted_hop() -> None:
    assert addr(EDGE, {"X-Forwarded-For": "203.0.113.9, garbage"}) == EDGE
    assert addr(EDGE, {"X-Forwarded-For": "203.0.113.9, not-an-ip, 10.6.0.1"}) == "10.6.0.1"
    assert addr(EDGE, {"X-Forwarded-For": "203.0.113.9,, 10.6.0.1"}) == "10.6.0.1"
    assert addr(EDGE, {"X-Forwarded-For": "unknown"}) == EDGE
    assert addr(EDGE, {"X-Forwarded-For": "203.0.113.9:99x"}) == EDGE
    assert addr(EDGE, {"X-Forwarded-For": "[2001:db8::1"}) == EDGE


def test_xff_entries_with_ports_and_ipv6() -> None:
    assert addr(EDGE, {"X-Forwarded-For": "203.0.113.9:5150"}) == "203.0.113.9"
    assert addr(EDGE, {"X-Forwarded-For": "2001:db8::1"}) == "2001:db8::1"
    assert addr(EDGE, {"X-Forwarded-For": "[2001:db8::1]:443"}) == "2001:db8::1"
    assert addr("fd00::5", {"X-Forwarded-For": "2001:db8::1, fd00::9"}) == "2001:db8::1"


def test_repeated_header_lines_are_joined_in_order() -> None:
    class Pairs(dict):
        """A multi-valued header mapping, as ASGI frameworks expose (items() repeats keys)."""

        def items(self):
            return [
                ("x-forwarded-for", "192.0.2.1"),
                ("X-Forwarded-For", "203.0.113.9, 10.6.0.1"),
            ]

    assert addr(EDGE, Pairs()) == "203.0.113.9"


# --- Forwarded (RFC 7239) --------------------------------------------------------------


@pytest.mark.parametrize(
    ("value", "expected"),
    [
        ("for=203.0.113.9", "203.0.113.9"),
        ("For=203.0.113.9;proto=https;by=10.0.0.2", "203.0.113.9"),
        ('for="203.0.113.9:4711"', "203.0.113.9"),
        ('for="[2001:db8:cafe::17]"', "2001:db8:cafe::17"),
        ('for="[2001:db8:cafe::17]:4711"', "2001:db8:cafe::17"),
        ("for=[2001:db8:cafe::17]", "2001:db8:cafe::17"),  # unquoted, as some proxies send
        ('for="203.0.113.9:_port"', "203.0.113.9"),  # obfuscated port
        ("for=192.0.2.60;proto=http;by=203.0.113.43, for=198.51.100.17", "198.51.100.17"),
        ("for=198.51.100.17, for=10.6.0.1", "198.51.100.17"),
        ('for=203.0.113.9; host="portal.example, with comma"', "203.0.113.9"),
        ('for=203.0.113.9;host="a\\"b"', "203.0.113.9"),  # escaped quote
        ("for=203.0.113.9,", "203.0.113.9"),  # empty list element
        # unknown and obfuscated identifiers stop the walk at the last trusted hop
        ("for=unknown", EDGE),
        ("for=_hidden", EDGE),
        ("for=203.0.113.9, for=_gazonk, for=10.6.0.1", "10.6.0.1"),
        ("proto=https", EDGE),  # an element without for=
        # malformed headers: unusable as a whole, the peer is the last trusted hop
        ('for="203.0.113.9', EDGE),
        ("for=203.0.113.9;for=198.51.100.1", EDGE),
        ("203.0.113.9", EDGE),
        ("for=203.0.113.9 junk", EDGE),
        ("for=", EDGE),
    ],
)
def test_forwarded_header(value: str, expected: str) -> None:
    assert addr(EDGE, {"Forwarded": value}) == expected


def test_forwarded_spoof_from_untrusted_peer_ignored() -> None:
    assert addr("198.51.100.7", {"forwarded": "for=10.1.2.3"}) == "198.51.100.7"


def test_forwarded_prepended_entries_do_not_help() -> None:
    value = "for=10.9.9.9, for=192.0.2.1, for=203.0.113.9"
    assert addr(EDGE, {"Forwarded": value}) == "203.0.113.9"


def test_header_choice() -> None:
    both = {"X-Forwarded-For": "203.0.113.9", "Forwarded": "for=198.51.100.17"}
    assert addr(EDGE, both) == "203.0.113.9"  # auto prefers X-Forwarded-For
    assert addr(EDGE, both, header="forwarded") == "198.51.100.17"
    assert addr(EDGE, both, header="x-forwarded-for") == "203.0.113.9"
    assert addr(EDGE, {"Forwarded": "for=198.51.100.17"}) == "198.51.100.17"
    assert addr(EDGE, {"Forwarded": "for=198.51.100.17"}, header="x-forwarded-for") == EDGE
    assert addr(EDGE, {"X-Forwarded-For": "203.0.113.9"}, header="forwarded") == EDGE


# --- peers, mapped addresses, trusted-proxy forms --------------------------------------


def test_peer_forms() -> None:
    assert addr("198.51.100.7:51000", {}) == "198.51.100.7"
    assert addr("[2001:db8::9]:443", {}) == "2001:db8::9"
    with pytest.raises(ValueError, match="not an IP address"):
        client_address("unix-socket", {}, PROXIES)
    with pytest.raises(ValueError, match="not an IP address"):
        client_address("", {}, PROXIES)


def test_ipv4_mapped_addresses_are_unmapped() -> None:
    # A dual-stack socket reports IPv4 peers as ::ffff:a.b.c.d.
    result = client_address("::ffff:10.0.0.2", {"X-Forwarded-For": "::ffff:203.0.113.9"}, PROXIES)
    assert result == IPv4Address("203.0.113.9")
    assert client_address("::ffff:198.51.100.7", {}, PROXIES) == IPv4Address("198.51.100.7")
    # Trusted proxies given in mapped form match plain IPv4 peers, and vice versa.
    mapped = [ip_network("::ffff:10.0.0.0/104")]
    assert addr(EDGE, {"X-Forwarded-For": "203.0.113.9"}, mapped) == "203.0.113.9"
    assert addr("::ffff:10.0.0.2", {"X-Forwarded-For": "203.0.113.9"}) == "203.0.113.9"


def test_trusted_proxies_as_strings_and_addresses() -> None:
    trusted = ["10.0.0.2", ip_address("10.0.0.3"), "fd00::/8"]
    assert addr(EDGE, {"X-Forwarded-For": "203.0.113.9, 10.0.0.3"}, trusted) == "203.0.113.9"
    # 10.0.0.4 is not in this narrower list, so it is the client.
    assert addr(EDGE, {"X-Forwarded-For": "203.0.113.9, 10.0.0.4"}, trusted) == "10.0.0.4"


def test_no_trusted_proxies_means_headers_are_never_believed() -> None:
    assert addr(EDGE, {"X-Forwarded-For": "203.0.113.9"}, []) == EDGE


def test_result_type() -> None:
    assert isinstance(client_address("2001:db8::1", {}, PROXIES), IPv6Address)


# --- rules -----------------------------------------------------------------------------


def test_empty_allow_list_allows_everyone() -> None:
    decision = IpRules().decide("203.0.113.9")
    assert decision == Decision(True, "203.0.113.9 is allowed: the allow list is empty")
    assert IpRules.parse("", "\n , \n").decide("2001:db8::1").allowed


def test_allow_list() -> None:
    rules = IpRules.parse("192.0.2.0/24, 2001:db8::/32\n198.51.100.7")
    assert rules.decide("192.0.2.77").allowed
    assert rules.decide("198.51.100.7").allowed
    assert not rules.decide("198.51.100.8").allowed
    assert rules.decide("2001:db8:1::5").allowed
    assert not rules.decide("2001:db9::5").allowed
    decision = rules.decide("192.0.2.77")
    assert decision.rule == ip_network("192.0.2.0/24")
    assert "192.0.2.0/24" in decision.reason
    assert rules.decide("203.0.113.1") == Decision(False, "203.0.113.1 is not on the allow list")


def test_deny_wins_over_allow() -> None:
    rules = IpRules.parse(allow="10.0.0.0/8", deny="10.66.0.0/16")
    assert rules.decide("10.1.2.3").allowed
    decision = rules.decide("10.66.1.1")
    assert not decision.allowed
    assert decision.rule == ip_network("10.66.0.0/16")
    assert "denied by 10.66.0.0/16" in decision.reason
    # A deny list alone denies only its entries.
    only_deny = IpRules(deny=["203.0.113.0/24"])
    assert not only_deny.decide("203.0.113.5").allowed
    assert only_deny.decide("203.0.114.5").allowed


def test_mapped_addresses_in_rules_and_decisions() -> None:
    rules = IpRules.parse(allow="::ffff:192.0.2.0/120", deny="::ffff:192.0.2.13")
    assert rules.allow == (ip_network("192.0.2.0/24"),)
    assert rules.deny == (ip_network("192.0.2.13/32"),)
    assert rules.decide("192.0.2.5").allowed
    assert rules.decide("::ffff:192.0.2.5").allowed
    assert not rules.decide("::ffff:192.0.2.13").allowed
    assert not IpRules.parse("192.0.2.0/24").decide(ip_address("::ffff:198.51.100.1")).allowed


def test_ipv4_rule_does_not_match_ipv6_and_back() -> None:
    rules = IpRules.parse(allow="0.0.0.0/0")
    assert rules.decide("192.0.2.1").allowed
    assert not rules.decide("2001:db8::1").allowed
    assert IpRules.parse(allow="::/0").decide("2001:db8::1").allowed


def test_parse_networks_forms_and_comments() -> None:
    text = """
    # office
    192.0.2.0/24, 198.51.100.7   # gateway
    2001:db8::/32,
    [2001:db8:1::1]
    """
    assert parse_networks(text) == (
        ip_network("192.0.2.0/24"),
        ip_network("198.51.100.7/32"),
        ip_network("2001:db8::/32"),
        ip_network("2001:db8:1::1/128"),
    )


@pytest.mark.parametrize(
    ("text", "fragment"),
    [
        ("10.0.0.300", "entry 1 '10.0.0.300': not an IPv4/IPv6 address or CIDR range"),
        ("10.0.0.1/24", "host bits are set; did you mean 10.0.0.0/24?"),
        ("10.0.0.0/33", "/33 is too long for IPv4 (max /32)"),
        ("2001:db8::/129", "/129 is too long for IPv6 (max /128)"),
        ("10.0.0.0/x", "prefix length 'x' is not a number"),
        ("10.0.0.0/", "prefix length '' is not a number"),
        ("192.0.2.1 - 192.0.2.9", "entry 1 '192.0.2.1 - 192.0.2.9'"),
        ("example.com", "not an IPv4/IPv6 address"),
        ("192.0.2.1, nonsense", "entry 2 'nonsense'"),
    ],
)
def test_bad_entries(text: str, fragment: str) -> None:
    with pytest.raises(ValueError) as caught:
        IpRules.parse(allow=text)
    message = str(caught.value)
    assert message.startswith("allow list: ")
    assert fragment in message


def test_every_bad_entry_is_reported() -> None:
    with pytest.raises(ValueError) as caught:
        IpRules.parse(deny="bad1, 192.0.2.0/24\nbad2")
    message = str(caught.value)
    assert message.startswith("deny list: ")
    assert "entry 1 'bad1'" in message and "entry 3 'bad2'" in message


def test_rules_from_objects_and_immutability() -> None:
    rules = IpRules(allow=[ip_network("192.0.2.0/24"), ip_address("198.51.100.7"), "2001:db8::/32"])
    assert rules == IpRules.parse("192.0.2.0/24, 198.51.100.7/32, 2001:db8::/32")
    assert hash(rules) == hash(IpRules.parse("192.0.2.0/24, 198.51.100.7, 2001:db8::/32"))
    assert "192.0.2.0/24" in repr(rules)
    with pytest.raises(AttributeError):
        rules.allow = ()  # type: ignore[misc]
    with pytest.raises(ValueError, match="IPv4 or IPv6"):
        rules.decide("not-an-ip")


def test_client_address_feeds_rules() -> None:
    rules = IpRules.parse(allow="203.0.113.0/24")
    spoofed = client_address("198.51.100.7", {"X-Forwarded-For": "203.0.113.9"}, PROXIES)
    assert not rules.decide(spoofed).allowed
    real = client_address(EDGE, {"X-Forwarded-For": "198.51.100.7, 203.0.113.9"}, PROXIES)
    assert rules.decide(real).allowed
