"""Email flows: confirmation, password reset, email two-factor sign-in.

``GET/POST /_auth/confirm``, ``POST /_auth/confirm/resend``, ``GET /_auth/reset``,
``POST /_auth/reset/request``, ``POST /_auth/reset``, ``POST /_auth/two-factor``,
``POST /_auth/two-factor/settings``. Links point at the website's configured host; a
GET on a link only shows a form, and the POST it makes uses the token up (mail
scanners that fetch links do not burn them).
"""

from __future__ import annotations

import secrets
from typing import Any

from litestar import Request, Response, get, post
from litestar.background_tasks import BackgroundTask

from portalis.core import NotFound, Principal
from portalis.core.services import Services
from portalis.core.sites import Site
from portalis.plugins.identity import mailtext
from portalis.plugins.identity.accounts import (
    Settings,
    claim,
    find_contact,
    hash_password,
    policy_problems,
    report,
    send_mail,
)
from portalis.plugins.identity.routes import (
    CHECK_EMAIL,
    NOTICES,
    Input,
    client_ip,
    fail,
    page,
    read_input,
    redirect,
    reply,
    safe_return,
    signed_in,
)
from portalis.plugins.identity.store import Store

__all__ = ["EMAIL_ROUTES", "start_two_factor"]

BAD_LINK = "This link is invalid, has expired or has been used already."
RESET_SENT = NOTICES["sent"]


async def _active_contact(services: Any, site: Any, contact_id: int) -> dict[str, Any] | None:
    try:
        contact = await services.records.get(Principal.for_system(site.id), "contact",
                                             contact_id, columns=["id", "email", "state"])
    except NotFound:
        return None
    return contact if contact["state"] == "active" else None


# -- email confirmation -----------------------------------------------------------------


@get("/_auth/confirm", name="identity-confirm-form")
async def confirm_form(request: Request[Any, Any, Any]) -> Response[Any]:
    return page(request, "confirm.liquid", "Confirm your email address",
                token=request.query_params.get("token", "")[:100])


@post("/_auth/confirm", name="identity-confirm")
async def confirm(request: Request[Any, Any, Any], site: Site,
                  services: Services) -> Response[Any]:
    form = await read_input(request)
    store = Store(services)
    row = await store.consume(site.id, "confirm", form.text("token", 100))
    contact = await _active_contact(services, site, row["contact"]) if row else None
    if row is None or contact is None or contact["email"] != row["email"]:
        return fail(request, form, 400, "invalid_token", BAD_LINK, template="confirm.liquid",
                    title="Confirm your email address")
    await store.set_flag(site.id, contact["id"], "email_confirmed", True)
    if form.json:
        return reply({"email_confirmed": True})
    return redirect("/_auth/login?confirmed=1")


@post("/_auth/confirm/resend", name="identity-confirm-resend")
async def resend_confirmation(request: Request[Any, Any, Any], site: Site,
                              services: Services) -> Response[Any]:
    """Send a new confirmation link; the same answer whether or not the email is known."""
    form = await read_input(request)
    contact = await find_contact(services, site, form.text("email", 320))
    task = None
    if contact is not None:
        store = Store(services)
        credential = await store.credential(contact["id"])
        if credential is not None and not credential["email_confirmed"]:
            lifetime = Settings(site).minutes("EmailConfirmation/TokenLifetimeMinutes")
            token = await store.issue(site.id, contact["id"], "confirm", lifetime,
                                      email=contact["email"])
            mail = mailtext.confirm_email(site, mailtext.link(site, "/_auth/confirm", token=token),
                                          lifetime.total_seconds() / 60)
            task = BackgroundTask(send_mail, services, site, contact["email"], *mail)
    if form.json:
        return reply({"status": "check_email", "message": CHECK_EMAIL}, 202, background=task)
    return redirect("/_auth/login?registered=1", background=task)


# -- password reset ---------------------------------------------------------------------


def _reset_enabled(site: Any) -> None:
    if not Settings(site).reset_enabled:
        raise NotFound("password reset is not enabled on this portal", code="reset_disabled")


@get("/_auth/reset", name="identity-reset-form")
async def reset_form(request: Request[Any, Any, Any], site: Site) -> Response[Any]:
    _reset_enabled(site)
    token = request.query_params.get("token", "")[:100]
    if token:
        return page(request, "reset.liquid", "Choose a new password", token=token)
    notice = RESET_SENT if "sent" in request.query_params else ""
    return page(request, "reset_request.liquid", "Reset your password", notice=notice)


@post("/_auth/reset/request", name="identity-reset-request")
async def reset_request(request: Request[Any, Any, Any], site: Site,
                        services: Services) -> Response[Any]:
    """Mail a reset link to a known contact; every email gets the same answer."""
    _reset_enabled(site)
    form = await read_input(request)
    ip = client_ip(request)
    contact = await find_contact(services, site, form.text("email", 320))
    contact_id = contact["id"] if contact else None
    task = None
    if await claim(services, site, contact_id, "reset_request", ip) is None:
        await report(services, site, contact_id, "reset_request", contact is not None, ip)
        if contact is not None:
            lifetime = Settings(site).minutes("ResetPassword/TokenLifetimeMinutes")
            token = await Store(services).issue(site.id, contact["id"], "reset", lifetime,
                                                email=contact["email"])
            mail = mailtext.reset_password(site, mailtext.link(site, "/_auth/reset", token=token),
                                           lifetime.total_seconds() / 60)
            task = BackgroundTask(send_mail, services, site, contact["email"], *mail)
    if form.json:
        return reply({"status": "check_email", "message": RESET_SENT}, 202, background=task)
    return redirect("/_auth/reset?sent=1", background=task)


@post("/_auth/reset", name="identity-reset")
async def reset_password(request: Request[Any, Any, Any], site: Site,
                         services: Services) -> Response[Any]:
    """Set a new password with a reset token: single use; ends every session."""
    _reset_enabled(site)
    form = await read_input(request)
    token = form.text("token", 100)

    def refuse(status: int, code: str, message: str, **context: Any) -> Response[Any]:
        return fail(request, form, status, code, message, template="reset.liquid",
                    title="Choose a new password", token=token, **context)

    store = Store(services)
    row = await store.peek(site.id, "reset", token)
    contact = await _active_contact(services, site, row["contact"]) if row else None
    if row is None or contact is None or contact["email"] != row["email"]:
        return refuse(400, "invalid_token", BAD_LINK)
    password = form.text("password")
    problems = policy_problems(site, password, contact["email"] or "")
    if problems:  # checked before the token is used, so the link still works
        return refuse(400, "weak_password", " ".join(problems), problems=problems)
    new_hash = await hash_password(services, password)
    async with services.db.transaction():
        if await store.consume(site.id, "reset", token) is None:
            return refuse(400, "invalid_token", BAD_LINK)
        await store.set_password(site.id, contact["id"], new_hash, confirmed=True)
        await store.end_sessions(contact["id"])
        await store.revoke(contact["id"], ("reset", "two_factor"))
    if form.json:
        return reply({"password_reset": True})
    return redirect("/_auth/login?reset=1")


# -- email two-factor -------------------------------------------------------------------


async def start_two_factor(request: Request[Any, Any, Any], site: Any, services: Any,
                           form: Input, contact: dict[str, Any],
                           return_url: str) -> Response[Any]:
    """After a correct password: mail a 6-digit code and answer with the challenge."""
    lifetime = Settings(site).minutes("TwoFactor/CodeLifetimeMinutes")
    code = f"{secrets.randbelow(10**6):06d}"
    challenge = await Store(services).issue(site.id, contact["id"], "two_factor", lifetime,
                                            email=contact["email"], code=code)
    subject, body = mailtext.two_factor_code(site, code, lifetime.total_seconds() / 60)
    await services.mailer.send(contact["email"], subject, body, website_id=site.id)
    if form.json:
        return reply({"two_factor_required": True, "challenge": challenge}, 202)
    return page(request, "two_factor.liquid", "Enter your code", challenge=challenge,
                return_url=return_url)


@post("/_auth/two-factor", name="identity-two-factor")
async def two_factor(request: Request[Any, Any, Any], site: Site,
                     services: Services) -> Response[Any]:
    form = await read_input(request)
    challenge = form.text("challenge", 100)
    return_url = safe_return(form.text("return_url") or "/")

    def refuse(code: str, message: str, *, again: bool) -> Response[Any]:
        if again:
            return fail(request, form, 401, code, message, template="two_factor.liquid",
                        title="Enter your code", challenge=challenge, return_url=return_url)
        return fail(request, form, 401, code, message, template="login.liquid",
                    title="Sign in", return_url=return_url)

    store = Store(services)
    row = await store.peek(site.id, "two_factor", challenge)
    expired = "The code has expired or was tried too often. Sign in again."
    if row is None:
        return refuse("code_expired", expired, again=False)
    ip = client_ip(request)
    if await claim(services, site, row["contact"], "two_factor", ip) is not None:
        return refuse("code_wrong", "The code is not correct.", again=True)
    outcome, _ = await store.try_code(site.id, challenge, form.text("code", 20).strip(),
                                      Settings(site).max_code_attempts)
    await report(services, site, row["contact"], "two_factor", outcome == "ok", ip)
    if outcome == "dead":
        return refuse("code_expired", expired, again=False)
    if outcome == "wrong":
        return refuse("code_wrong", "The code is not correct.", again=True)
    contact = await _active_contact(services, site, row["contact"])
    if contact is None:
        return refuse("code_expired", expired, again=False)
    return await signed_in(request, site, services, form, contact, return_url)


@post("/_auth/two-factor/settings", name="identity-two-factor-settings")
async def two_factor_settings(request: Request[Any, Any, Any], site: Site, services: Services,
                              principal: Principal) -> Response[Any]:
    """A signed-in contact turns email two-factor sign-in on or off for itself."""
    form = await read_input(request)
    if not Settings(site).two_factor:
        raise NotFound("two-factor sign-in is not enabled on this portal",
                       code="two_factor_disabled")
    enabled = form.flag("enabled")
    if principal.contact_id is None or enabled is None:
        return fail(request, form, 401 if principal.contact_id is None else 400,
                    "signin_required" if principal.contact_id is None else "invalid_input",
                    "Sign in first." if principal.contact_id is None
                    else "enabled must be true or false",
                    template="password.liquid", title="Change password")
    await Store(services).set_flag(site.id, principal.contact_id, "two_factor", enabled)
    if form.json:
        return reply({"two_factor": enabled})
    return redirect("/_auth/password?twofactor=1")


EMAIL_ROUTES = [confirm_form, confirm, resend_confirmation, reset_form, reset_request,
                reset_password, two_factor, two_factor_settings]
