"""Hooks the identity plugin publishes for other plugins (lockout, invitations, audit).

Every sign-in path — password form, JSON login, email two-factor code, password-reset
request, external (OpenID Connect / SAML) sign-in — calls these, so a plugin such as
lockout covers all of them. Like the kernel's hooks these are never ``firstresult``:
the identity plugin awaits every result and takes the first non-``None``.
"""

from __future__ import annotations

from typing import Any

from portalis.core.hookspecs import hookspec

__all__ = ["portalis_signin_attempt", "portalis_signin_result"]


@hookspec
def portalis_signin_attempt(site: Any, contact_id: int | None, kind: str, client_ip: str,
                            services: Any) -> Any:
    """Claim the right to check a secret, BEFORE it is checked.

    Runs once per attempt. ``kind`` is ``password``, ``two_factor``, ``reset_request`` or
    ``external``; ``contact_id`` is ``None`` when the email matched no contact (the
    attempt is still throttled per client address, and the answer must not reveal that
    the account does not exist). Return ``None`` to allow the check, or a short refusal
    text (e.g. "locked") to refuse it without checking the secret. The first refusal
    wins. An implementation must claim atomically (N app processes behave as one).
    """


@hookspec
def portalis_signin_result(site: Any, contact_id: int | None, kind: str, success: bool,
                           client_ip: str, services: Any) -> Any:
    """Report the outcome of an attempt that :func:`portalis_signin_attempt` allowed.

    Runs once per checked attempt. A success resets counters; a failure may lock.
    Return value ignored.
    """
