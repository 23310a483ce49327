"""The per-website IP gate: settings → compiled rules → a decision per request.

Settings (site settings, so a change reaches every process within ``policy_ttl``):

* ``IpRestrictions/Allow`` - addresses and CIDR ranges (IPv4/IPv6), comma or newline
  separated; empty allows everyone not denied;
* ``IpRestrictions/Deny`` - the same; a deny entry wins over the allow list;
* ``IpRestrictions/TrustedProxies`` - the proxies whose forwarding headers are believed;
* ``IpRestrictions/ForwardedHeader`` - ``auto`` (default), ``x-forwarded-for`` or
  ``forwarded``.

A malformed setting fails closed: every request to that website is refused (and the
problem is logged), because a typo in an allow list must not open the portal.
A peer that is not an IP address (a Unix socket, an in-process test client) matches no
rule: it passes only while the allow list is empty.
"""

from __future__ import annotations

import logging
from dataclasses import dataclass
from functools import lru_cache
from typing import Any, Literal, cast

from portalis.plugins.ipfilter.addresses import IPNetwork, IpRules, client_address, parse_networks

__all__ = [
    "SETTING_DEFAULTS",
    "GateConfig",
    "Verdict",
    "config_problems",
    "decide",
    "gate_config",
]

log = logging.getLogger("portalis.ipfilter")

ALLOW = "IpRestrictions/Allow"
DENY = "IpRestrictions/Deny"
TRUSTED = "IpRestrictions/TrustedProxies"
HEADER = "IpRestrictions/ForwardedHeader"

SETTING_DEFAULTS = {ALLOW: "", DENY: "", TRUSTED: "", HEADER: "auto"}
HEADERS = ("auto", "x-forwarded-for", "forwarded")

HeaderChoice = Literal["auto", "x-forwarded-for", "forwarded"]


@dataclass(frozen=True)
class GateConfig:
    """One website's compiled IP settings; ``problem`` is set when they are malformed."""

    rules: IpRules
    trusted: tuple[IPNetwork, ...]
    header: HeaderChoice
    problem: str = ""

    @property
    def inactive(self) -> bool:
        """Nothing to check: no allow and no deny entries, and the settings are sound."""
        return not self.problem and not self.rules.allow and not self.rules.deny


@dataclass(frozen=True)
class Verdict:
    allowed: bool
    address: str  # the client address as resolved ('' if the peer is not an address)
    reason: str  # for logs and administrators, never shown to the visitor


def config_problems(settings: dict[str, str]) -> list[str]:
    """Every problem with the IP settings in ``settings`` (empty list: all good)."""
    problems = []
    for name, label in ((ALLOW, "allow list"), (DENY, "deny list"),
                        (TRUSTED, "trusted proxies")):
        try:
            parse_networks(settings.get(name, ""), label=label)
        except ValueError as exc:
            problems.append(f"{name}: {exc}")
    header = settings.get(HEADER, "auto").strip().lower() or "auto"
    if header not in HEADERS:
        problems.append(f"{HEADER}: {header!r} is not one of {', '.join(HEADERS)}")
    return problems


@lru_cache(maxsize=1024)
def _compile(allow: str, deny: str, trusted: str, header: str) -> GateConfig:
    settings = {ALLOW: allow, DENY: deny, TRUSTED: trusted, HEADER: header}
    problems = config_problems(settings)
    if problems:
        return GateConfig(IpRules(), (), "auto", problem="; ".join(problems))
    return GateConfig(
        IpRules.parse(allow, deny),
        parse_networks(trusted, label="trusted proxies"),
        cast(HeaderChoice, header.strip().lower() or "auto"),
    )


def gate_config(site: Any) -> GateConfig:
    """The compiled settings of ``site`` (cached by their text, so edits apply at once)."""
    return _compile(site.setting(ALLOW), site.setting(DENY), site.setting(TRUSTED),
                    site.setting(HEADER, "auto"))


def decide(config: GateConfig, peer: str | None, headers: Any) -> Verdict:
    """Whether a request from TCP ``peer`` with ``headers`` may pass ``config``."""
    if config.problem:
        return Verdict(False, "", f"the IP restriction settings are malformed: {config.problem}")
    try:
        address = client_address(peer or "", headers, config.trusted, header=config.header)
    except ValueError:
        if config.rules.allow:
            return Verdict(False, "", f"the peer {peer!r} is not an IP address and an "
                                      "allow list is set")
        return Verdict(True, "", f"the peer {peer!r} is not an IP address; no allow list")
    decision = config.rules.decide(address)
    return Verdict(decision.allowed, str(address), decision.reason)
