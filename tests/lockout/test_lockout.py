"""Lockout rules, through the identity plugin's sign-in hooks (clock moved by hand)."""

from __future__ import annotations

import asyncio
import datetime as dt

from click.testing import CliRunner

from portalis.core.config import Config
from portalis.plugins.lockout.cli import lockout
from portalis.plugins.lockout.policy import REFUSAL, parse_span, unlock
from portalis.plugins.lockout.store import LockoutStore

from .conftest import LockoutPortal

MAX = "Authentication/UserManager/MaxFailedAccessAttemptsBeforeLockout"
SPAN = "Authentication/UserManager/DefaultAccountLockoutTimeSpan"
ENABLED = "Authentication/UserManager/UserLockoutEnabledByDefault"
ADDR_MAX = "Authentication/LoginThrottling/ClientAddressMaxFailures"
ADDR_WINDOW = "Authentication/LoginThrottling/ClientAddressWindow"


async def failures_until_refused(lp: LockoutPortal, contact: int | None, limit: int = 50,
                                 **kw: str) -> int:
    """Wrong attempts until the first refusal; returns how many were checked."""
    for checked in range(limit):
        if await lp.attempt(contact, **kw) is not None:
            return checked
    raise AssertionError(f"still not refused after {limit} attempts")


async def test_defaults_lock_after_five_failures_for_24_hours(lp: LockoutPortal) -> None:
    alice = await lp.contact("alice")
    assert await failures_until_refused(lp, alice) == 5
    # locked: even the right password is not checked, from any address
    assert await lp.claim(alice, ip="198.51.100.9") == REFUSAL
    row = await LockoutStore(lp.services.db).contact_status(alice)
    assert row is not None and row["attempts"] == 5
    assert row["locked_until"] == lp.clock.now + dt.timedelta(hours=24)
    # other contacts are unaffected
    assert await lp.claim(await lp.contact("bob")) is None


async def test_lock_ends_by_itself_after_the_span(lp: LockoutPortal) -> None:
    await lp.settings(**{MAX: 3, SPAN: "00:30:00"})
    alice = await lp.contact("alice")
    assert await failures_until_refused(lp, alice) == 3
    lp.clock.advance(minutes=29, seconds=59)
    assert await lp.claim(alice) == REFUSAL
    lp.clock.advance(seconds=1)
    # a fresh count: three more checks, then locked again
    assert await failures_until_refused(lp, alice) == 3
    lp.clock.advance(minutes=30)
    assert await lp.attempt(alice, success=True) is None
    assert await lp.claim(alice) is None


async def test_success_resets_the_count(lp: LockoutPortal) -> None:
    alice = await lp.contact("alice")
    for _ in range(4):
        assert await lp.attempt(alice) is None
    assert await lp.attempt(alice, success=True) is None
    assert await failures_until_refused(lp, alice) == 5


async def test_success_on_the_last_allowed_attempt_clears_the_pending_lock(
        lp: LockoutPortal) -> None:
    alice = await lp.contact("alice")
    for _ in range(4):
        assert await lp.attempt(alice) is None
    assert await lp.claim(alice) is None  # the fifth: checked, outcome pending
    assert await lp.claim(alice) == REFUSAL  # nothing more while it is being checked
    await lp.report(alice, success=True)
    assert await failures_until_refused(lp, alice) == 5


async def test_admin_unlock_function_and_command(lp: LockoutPortal) -> None:
    alice = await lp.contact("alice")
    assert await failures_until_refused(lp, alice) == 5
    assert await unlock(lp.services, alice) is True
    assert await lp.claim(alice) is None
    assert await unlock(lp.services, await lp.contact("bob")) is False

    assert await failures_until_refused(lp, alice) == 4  # one was claimed just above
    config = Config(database_url=lp.services.config.database_url,
                    plugins=["selfservice", "identity", "lockout"], secret_key="x" * 32)

    def cli(*args: str) -> str:
        result = CliRunner().invoke(lockout, list(args), obj={"config": config})
        assert result.exit_code == 0, result.output
        return result.output

    assert "alice@example.com: 5 attempt(s) counted, locked until" in await asyncio.to_thread(
        cli, "status", "--site", "lock", "alice@example.com")
    assert f"contact {alice}: locked until" in await asyncio.to_thread(
        cli, "list", "--site", "lock")
    assert "unlocked ALICE@example.com" in await asyncio.to_thread(
        cli, "unlock", "--site", "lock", "ALICE@example.com")
    assert await lp.claim(alice) is None
    missing = await asyncio.to_thread(
        CliRunner().invoke, lockout, ["unlock", "--site", "lock", "nobody@example.com"],
        obj={"config": config})
    assert missing.exit_code != 0 and "no contact" in missing.output


async def test_client_address_throttle_stops_spraying(lp: LockoutPortal) -> None:
    await lp.settings(**{ADDR_MAX: 10, ADDR_WINDOW: 600})
    people = [await lp.contact(k) for k in ("alice", "bob", "carol")]
    # one wrong password per account (and unknown emails), round and round: no account
    # reaches its own limit, but the address does
    sprayed = 0
    for i in range(10):
        target = people[i % 3] if i % 4 else None
        assert await lp.attempt(target, ip="203.0.113.7") is None
        sprayed += 1
    assert sprayed == 10
    for target in (*people, None):
        assert await lp.claim(target, ip="203.0.113.7") == REFUSAL
    assert await lp.claim(people[0], ip="203.0.113.8") is None  # another address
    await lp.report(people[0], success=False, ip="203.0.113.8")
    # no account was locked by the spray
    for person in people:
        row = await LockoutStore(lp.services.db).contact_status(person)
        assert row is not None and row["locked_until"] is None
    # the window passes: the address may try again
    lp.clock.advance(seconds=600)
    assert await lp.attempt(people[1], ip="203.0.113.7") is None
    # the throttle also gives nothing away with unlock-address
    assert await LockoutStore(lp.services.db).unlock_address(lp.website_id, "203.0.113.7")


async def test_successful_sign_ins_do_not_use_up_an_address(lp: LockoutPortal) -> None:
    await lp.settings(**{ADDR_MAX: 3})
    alice = await lp.contact("alice")
    for _ in range(20):  # a busy office behind one address
        assert await lp.attempt(alice, success=True, ip="198.51.100.1") is None
    for _ in range(3):
        assert await lp.attempt(None, ip="198.51.100.1") is None
    assert await lp.claim(alice, ip="198.51.100.1") == REFUSAL


async def test_unknown_emails_get_the_same_refusal_and_are_throttled(lp: LockoutPortal) -> None:
    await lp.settings(**{ADDR_MAX: 4})
    alice = await lp.contact("alice")
    assert await failures_until_refused(lp, None, ip="192.0.2.50") == 4
    unknown_refusal = await lp.claim(None, ip="192.0.2.50")
    await lp.settings(**{ADDR_MAX: 100})
    assert await failures_until_refused(lp, alice, ip="192.0.2.51") == 5
    locked_refusal = await lp.claim(alice, ip="192.0.2.51")
    assert unknown_refusal == locked_refusal == REFUSAL
    assert "lock" not in REFUSAL and "exist" not in REFUSAL


async def test_two_factor_counts_with_passwords(lp: LockoutPortal) -> None:
    alice = await lp.contact("alice")
    for _ in range(3):
        assert await lp.attempt(alice) is None
    for _ in range(2):
        assert await lp.attempt(alice, kind="two_factor") is None
    assert await lp.claim(alice, kind="two_factor") == REFUSAL
    assert await lp.claim(alice) == REFUSAL
    lp.clock.advance(hours=24)
    assert await lp.attempt(alice, success=True, kind="two_factor") is None
    assert await failures_until_refused(lp, alice, kind="two_factor") == 5


async def test_reset_requests_and_external_sign_ins_refused_while_locked(
        lp: LockoutPortal) -> None:
    alice = await lp.contact("alice")
    bob = await lp.contact("bob")
    # neither counts towards a lock, and a "successful" reset request clears nothing
    for i in range(8):
        assert await lp.attempt(bob, success=True, kind="reset_request",
                                ip=f"192.0.2.{i + 10}") is None
        assert await lp.attempt(bob, success=False, kind="external") is None
    for _ in range(4):
        assert await lp.attempt(alice) is None
    assert await lp.attempt(alice, success=True, kind="reset_request") is None
    assert await lp.attempt(alice) is None  # the fifth failure: locked
    assert await lp.claim(alice, kind="reset_request") == REFUSAL
    assert await lp.claim(alice, kind="external") == REFUSAL
    lp.clock.advance(hours=24)
    assert await lp.claim(alice, kind="reset_request") is None
    assert await lp.claim(alice, kind="external") is None


async def test_reset_requests_use_up_the_address_throttle(lp: LockoutPortal) -> None:
    await lp.settings(**{ADDR_MAX: 3})
    bob = await lp.contact("bob")
    for _ in range(3):
        assert await lp.attempt(bob, success=True, kind="reset_request") is None
    assert await lp.claim(bob, kind="reset_request") == REFUSAL


async def test_lockout_can_be_switched_off(lp: LockoutPortal) -> None:
    await lp.settings(**{ENABLED: "false", ADDR_MAX: 0})
    alice = await lp.contact("alice")
    for _ in range(30):
        assert await lp.attempt(alice) is None


async def test_lowering_the_limit_locks_with_an_end(lp: LockoutPortal) -> None:
    alice = await lp.contact("alice")
    for _ in range(4):
        assert await lp.attempt(alice) is None
    await lp.settings(**{MAX: 3})
    assert await lp.claim(alice) == REFUSAL
    row = await LockoutStore(lp.services.db).contact_status(alice)
    assert row is not None and row["locked_until"] == lp.clock.now + dt.timedelta(hours=24)
    lp.clock.advance(hours=24)
    assert await lp.claim(alice) is None


def test_time_spans() -> None:
    default = dt.timedelta(hours=1)
    assert parse_span("86400", default) == dt.timedelta(days=1)
    assert parse_span("1.00:00:00", default) == dt.timedelta(days=1)
    assert parse_span("24:00:00", default) == dt.timedelta(days=1)
    assert parse_span("00:05:30", default) == dt.timedelta(minutes=5, seconds=30)
    assert parse_span("00:30", default) == dt.timedelta(minutes=30)
    for bad in ("", "soon", "-5", "0"):
        assert parse_span(bad, default) == default


async def test_sign_in_form_is_locked_and_answers_like_a_wrong_password(
        database_url: str) -> None:
    """End to end through the identity plugin's ``/_auth/login``."""
    from portalis.plugins.lockout import plugin as lockout_plugin
    from portalis.plugins.lockout.policy import state
    from tests.identity.smtp import identity_portal

    async with identity_portal(database_url, extra_plugins=(lockout_plugin,)) as ip:
        state(ip.portal.services).clock = ip.clock
        wrong = []
        for _ in range(5):
            r = await ip.login("alice@contoso.example", "Wrong-pass-9")
            assert r.status_code == 401, r.text
            wrong.append(r.json())
        locked = await ip.login("alice@contoso.example", "Demo-pass-1")  # the right one
        assert locked.status_code == 401
        assert locked.json() == wrong[0]
        unknown = await ip.login("nobody@contoso.example", "Demo-pass-1")
        assert unknown.status_code == 401 and unknown.json() == wrong[0]
        ip.clock.advance(hours=24)
        assert (await ip.login("alice@contoso.example", "Demo-pass-1")).status_code == 200


async def test_purge_keeps_locks_and_recent_counters(lp: LockoutPortal) -> None:
    alice, bob = await lp.contact("alice"), await lp.contact("bob")
    assert await failures_until_refused(lp, alice, ip="192.0.2.60") == 5  # locked 24 h
    assert await lp.attempt(bob, ip="192.0.2.61") is None
    store = LockoutStore(lp.services.db)
    lp.clock.advance(days=2)
    assert await lp.attempt(None, ip="192.0.2.62") is None  # recent
    removed = await store.purge(lp.clock.now, idle=dt.timedelta(days=1))
    # bob's count and the two old addresses go; alice's ended lock too; the recent stays
    assert removed == 4
    assert await store.contact_status(bob) is None
    assert await lp.services.db.fetchval('SELECT COUNT(*) FROM "lockout_counter"') == 1


async def test_locked_account_gets_no_reset_mail_and_the_same_answer(database_url: str) -> None:
    """End to end through ``/_auth/reset/request`` with a real SMTP server."""
    from portalis.plugins.lockout import plugin as lockout_plugin
    from portalis.plugins.lockout.policy import state
    from tests.identity.smtp import identity_portal

    alice, bob = "alice@contoso.example", "bob@contoso.example"
    async with identity_portal(database_url, extra_plugins=(lockout_plugin,)) as ip:
        state(ip.portal.services).clock = ip.clock
        for _ in range(5):
            assert (await ip.login(alice, "Wrong-pass-9")).status_code == 401
        locked = await ip.post("/_auth/reset/request", {"email": alice})
        unlocked = await ip.post("/_auth/reset/request", {"email": bob})
        assert locked.status_code == unlocked.status_code == 202
        assert locked.json() == unlocked.json()
        assert ip.mail.to(bob) and not ip.mail.to(alice)
        ip.clock.advance(hours=24)
        assert (await ip.post("/_auth/reset/request", {"email": alice})).status_code == 202
        assert ip.mail.to(alice)
