"""Caddyfile and nginx rendering for custom-domain bindings."""

from __future__ import annotations

import re

import pytest

from portalis.plugins.domains.proxyconf import (
    Binding,
    normalize_bindings,
    render_caddyfile,
    render_nginx,
)

CERT = "/var/lib/portalis/certs/{}.pem"
KEY = "/var/lib/portalis/keys/{}.key"


def binding(domain: str, upstream: str | None = "127.0.0.1:8000", primary: str | None = None):
    return (domain, upstream, CERT.format(domain), KEY.format(domain), primary)


BINDINGS = [
    binding("www.customer.example"),
    binding("customer.example", None, "www.customer.example"),
    binding("partners.customer.example", "http://10.0.0.7:9000"),
]


def parse_blocks(text: str, opener: str) -> list[list[str]]:
    """Top-level blocks whose first line starts with ``opener``, as lists of inner lines.

    Also checks the text is balanced and, for nginx, that every directive ends in ';'.
    """
    blocks: list[list[str]] = []
    depth = 0
    current: list[str] | None = None
    for raw in text.splitlines():
        line = raw.strip()
        if not line or line.startswith("#"):
            continue
        if depth == 0 and line.startswith(opener) and line.endswith("{"):
            current = [line]
            blocks.append(current)
        elif current is not None and depth > 0:
            current.append(line)
        depth += line.count("{") - line.count("}")
        assert depth >= 0, raw
        if opener == "server" and not line.endswith(("{", "}")):
            assert line.endswith(";"), f"directive without ';': {raw!r}"
    assert depth == 0
    return blocks


def server_blocks(text: str) -> dict[tuple[str, str], list[str]]:
    """nginx server blocks keyed by (server_name, port)."""
    result = {}
    for block in parse_blocks(text, "server"):
        name = next(line.split()[1].rstrip(";") for line in block if line.startswith("server_name"))
        port = "443" if "listen 443 ssl;" in block else "80"
        assert (name, port) not in result
        result[(name, port)] = block
    return result


# --- nginx -----------------------------------------------------------------------------


def test_nginx_proxied_binding() -> None:
    blocks = server_blocks(render_nginx(BINDINGS))
    assert len(blocks) == 6
    tls = blocks[("www.customer.example", "443")]
    assert "listen [::]:443 ssl;" in tls
    assert "ssl_certificate /var/lib/portalis/certs/www.customer.example.pem;" in tls
    assert "ssl_certificate_key /var/lib/portalis/keys/www.customer.example.key;" in tls
    assert "proxy_pass http://127.0.0.1:8000;" in tls
    assert "proxy_set_header Host $host;" in tls
    assert "proxy_set_header X-Forwarded-For $proxy_add_x_forwarded_for;" in tls
    assert "proxy_set_header X-Forwarded-Proto $scheme;" in tls
    assert not any(line.startswith("return") for line in tls)
    plain = blocks[("www.customer.example", "80")]
    assert "return 301 https://www.customer.example$request_uri;" in plain
    assert not any("ssl_certificate" in line for line in plain)
    other = blocks[("partners.customer.example", "443")]
    assert "proxy_pass http://10.0.0.7:9000;" in other


def test_nginx_redirect_to_primary_keeps_path() -> None:
    blocks = server_blocks(render_nginx(BINDINGS))
    tls = blocks[("customer.example", "443")]
    assert "return 301 https://www.customer.example$request_uri;" in tls
    assert "ssl_certificate /var/lib/portalis/certs/customer.example.pem;" in tls
    assert "ssl_certificate_key /var/lib/portalis/keys/customer.example.key;" in tls
    assert not any("proxy_pass" in line for line in tls)
    # Plain HTTP goes straight to the primary, in one hop.
    plain = blocks[("customer.example", "80")]
    assert "return 301 https://www.customer.example$request_uri;" in plain


def test_nginx_websocket_map_is_defined_once() -> None:
    text = render_nginx(BINDINGS)
    assert text.count("map $http_upgrade $portalis_connection_upgrade {") == 1
    assert text.count("proxy_set_header Connection $portalis_connection_upgrade;") == 2


# --- Caddy -----------------------------------------------------------------------------


def test_caddyfile_structure() -> None:
    text = render_caddyfile(BINDINGS)
    blocks = {block[0].split()[0]: block[1:] for block in parse_blocks(text, "")}
    assert set(blocks) == {"customer.example", "partners.customer.example", "www.customer.example"}
    www = blocks["www.customer.example"]
    assert www[0] == (
        "tls /var/lib/portalis/certs/www.customer.example.pem "
        "/var/lib/portalis/keys/www.customer.example.key"
    )
    assert "reverse_proxy http://127.0.0.1:8000" in www
    apex = blocks["customer.example"]
    assert "redir https://www.customer.example{uri} 301" in apex
    assert not any(line.startswith("reverse_proxy") for line in apex)
    assert apex[0].startswith("tls /var/lib/portalis/certs/customer.example.pem")


# --- shared behaviour ------------------------------------------------------------------


@pytest.mark.parametrize("render", [render_nginx, render_caddyfile])
def test_output_is_sorted_and_deterministic(render) -> None:
    text = render(BINDINGS)
    assert text == render(list(reversed(BINDINGS)))
    domains = ("customer.example", "partners.customer.example", "www.customer.example")
    positions = [re.search(rf"(?m)(^|\s){re.escape(d)}[ ;]", text).start() for d in domains]
    assert positions == sorted(positions)
    assert text.startswith("# Generated by Portalis")


@pytest.mark.parametrize("render", [render_nginx, render_caddyfile])
def test_empty_bindings(render) -> None:
    text = render([])
    assert "server_name" not in text and "tls " not in text


def test_normalisation() -> None:
    result = normalize_bindings(
        [
            Binding("Bücher.Example.", "localhost:8000", "/c/b.pem", "/k/b.key"),
            ("v6.example", "[::1]:8000", "/c/v6.pem", "/k/v6.key"),  # a 4-tuple
            binding("tls.example", "https://App.Internal:8443/"),
            binding("old.example", "", "BÜCHER.example"),
        ]
    )
    assert [(b.domain, b.upstream, b.redirect_to_primary) for b in result] == [
        ("old.example", None, "xn--bcher-kva.example"),
        ("tls.example", "https://app.internal:8443", None),
        ("v6.example", "http://[::1]:8000", None),
        ("xn--bcher-kva.example", "http://localhost:8000", None),
    ]
    assert "server_name xn--bcher-kva.example;" in render_nginx(result)


@pytest.mark.parametrize(
    ("bad", "fragment"),
    [
        (binding("evil.example; include x.conf"), "whitespace"),
        (binding("evil.example;"), "letters, digits"),
        (binding("*.customer.example"), "wildcard"),
        (binding("a.example", "127.0.0.1:8000;"), "upstream"),
        (binding("a.example", "127.0.0.1:8000/app"), "paths"),
        (binding("a.example", "127.0.0.1"), "upstream"),
        (binding("a.example", "ftp://127.0.0.1:21"), "upstream"),
        (binding("a.example", "127.0.0.1:99999"), "upstream"),
        (binding("a.example", "http://user:pw@127.0.0.1:80"), "credentials"),
        (binding("a.example", "bad_host:80"), "upstream"),
        (binding("a.example", None), "upstream is required"),
        (binding("a.example", None, "A.example"), "itself"),
        (binding("a.example", None, "*.example"), "wildcard"),
        (("a.example", "127.0.0.1:1", "certs/a.pem", "/k/a.key"), "absolute"),
        (("a.example", "127.0.0.1:1", "/c/a b.pem", "/k/a.key"), "unsafe"),
        (("a.example", "127.0.0.1:1", "/c/a.pem", "/k/a.key;\nroot /"), "unsafe"),
        (("a.example", "127.0.0.1:1", "/c/{a}.pem", "/k/a.key"), "unsafe"),
        (("a.example", "127.0.0.1:1", "/c/$a.pem", "/k/a.key"), "unsafe"),
    ],
)
def test_rejected_bindings(bad: tuple, fragment: str) -> None:
    for render in (render_nginx, render_caddyfile):
        with pytest.raises(ValueError, match=re.escape(fragment)) as caught:
            render([binding("ok.example"), bad])
        assert "binding" in str(caught.value)


def test_duplicate_domains_rejected() -> None:
    with pytest.raises(ValueError, match="bound twice"):
        render_nginx([binding("a.example"), binding("A.Example.")])
