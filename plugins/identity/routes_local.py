"""Local accounts: sign-in, registration, sign-out, password change.

``GET/POST /_auth/login``, ``GET/POST /_auth/register``, ``POST /_auth/logout``,
``GET/POST /_auth/password``. Sign-in and registration give an unknown email exactly
the answer a known one gets (status, body, cookies).
"""

from __future__ import annotations

from typing import Any

from litestar import Request, Response, get, post
from litestar.background_tasks import BackgroundTask

from portalis.core import Conflict, Principal
from portalis.core.records import normalise_email
from portalis.core.services import Services
from portalis.core.sites import Site
from portalis.plugins.identity import mailtext
from portalis.plugins.identity.accounts import (
    Settings,
    check_password,
    find_contact,
    hash_password,
    plausible_email,
    policy_problems,
    send_mail,
)
from portalis.plugins.identity.routes import (
    CHECK_EMAIL,
    SIGNIN_FAILED,
    client_ip,
    fail,
    notice_of,
    page,
    read_input,
    redirect,
    reply,
    safe_return,
    signed_in,
)
from portalis.plugins.identity.routes_email import start_two_factor
from portalis.plugins.identity.sessions import clear_cookie, session_id_of
from portalis.plugins.identity.store import Store

__all__ = ["LOCAL_ROUTES"]


@get("/_auth/login", name="identity-login-form")
async def login_form(request: Request[Any, Any, Any], site: Site) -> Response[Any]:
    return page(request, "login.liquid", "Sign in", notice=notice_of(request),
                return_url=safe_return(request.query_params.get("return_url", "/")),
                registration=Settings(site).registration and Settings(site).open_registration,
                reset=Settings(site).reset_enabled)


@post("/_auth/login", name="identity-login")
async def login(request: Request[Any, Any, Any], site: Site,
                services: Services) -> Response[Any]:
    form = await read_input(request)
    cfg = Settings(site)
    return_url = safe_return(form.text("return_url") or "/")
    if not cfg.local_login:
        return fail(request, form, 404, "local_login_disabled",
                    "sign-in with a password is not enabled on this portal",
                    template="login.liquid", title="Sign in")
    contact = await find_contact(services, site, form.text("email", 320))
    checked = await check_password(services, site, contact, form.text("password"),
                                   client_ip(request))
    if checked is None:
        return fail(request, form, 401, "signin_failed", SIGNIN_FAILED, template="login.liquid",
                    title="Sign in", return_url=return_url, reset=cfg.reset_enabled)
    if cfg.requires_confirmation and not checked.credential["email_confirmed"]:
        return fail(request, form, 403, "email_not_confirmed",
                    "Confirm your email address first: open the link we sent you.",
                    template="login.liquid", title="Sign in", return_url=return_url)
    if cfg.two_factor and checked.credential["two_factor"]:
        return await start_two_factor(request, site, services, form, checked.contact,
                                      return_url)
    return await signed_in(request, site, services, form, checked.contact, return_url)


@get("/_auth/register", name="identity-register-form")
async def register_form(request: Request[Any, Any, Any], site: Site) -> Response[Any]:
    cfg = Settings(site)
    return page(request, "register.liquid", "Register",
                closed=not (cfg.registration and cfg.open_registration))


@post("/_auth/register", name="identity-register")
async def register(request: Request[Any, Any, Any], site: Site,
                   services: Services) -> Response[Any]:
    form = await read_input(request)
    cfg = Settings(site)

    def refuse(status: int, code: str, message: str, **context: Any) -> Response[Any]:
        return fail(request, form, status, code, message, template="register.liquid",
                    title="Register", **context)

    if not cfg.registration:
        return refuse(404, "registration_disabled", "registration is not enabled on this portal")
    if not cfg.open_registration:
        return refuse(403, "registration_closed",
                      "registration on this portal needs an invitation")
    email = normalise_email(form.text("email", 320))
    password = form.text("password")
    if not plausible_email(email):
        return refuse(400, "invalid_email", "Enter a valid email address.")
    problems = policy_problems(site, password, email)
    if problems:
        return refuse(400, "weak_password", " ".join(problems), problems=problems)
    # Hash on every path, so a known email costs what a new one costs.
    password_hash = await hash_password(services, password)
    store = Store(services)
    mail: tuple[str, str] | None = None
    existing = await find_contact(services, site, email)
    if existing is None:
        try:
            async with services.db.transaction():
                contact = await services.records.create(
                    Principal.for_system(site.id), "contact",
                    {"email": email, "firstname": form.text("firstname", 100),
                     "lastname": form.text("lastname", 100)})
                await store.set_password(site.id, contact["id"], password_hash, confirmed=False)
        except Conflict:
            contact = None  # created meanwhile, or a duplicate-contact rule refused it
        if contact is not None:
            lifetime = cfg.minutes("EmailConfirmation/TokenLifetimeMinutes")
            token = await store.issue(site.id, contact["id"], "confirm", lifetime, email=email)
            mail = mailtext.confirm_email(site, mailtext.link(site, "/_auth/confirm", token=token),
                                          lifetime.total_seconds() / 60)
    else:
        mail = mailtext.account_exists(site, mailtext.link(site, "/_auth/login"),
                                       mailtext.link(site, "/_auth/reset"))
    task = BackgroundTask(send_mail, services, site, email, *mail) if mail else None
    if form.json:
        return reply({"status": "check_email", "message": CHECK_EMAIL}, 202, background=task)
    return redirect("/_auth/login?registered=1", background=task)


@post("/_auth/logout", name="identity-logout")
async def logout(request: Request[Any, Any, Any], services: Services) -> Response[Any]:
    form = await read_input(request)
    session_id = session_id_of(request)
    if session_id:
        await Store(services).delete_session(session_id)
    response = reply({"signed_out": True}) if form.json else redirect("/")
    response.set_cookie(clear_cookie(request))
    return response


@get("/_auth/password", name="identity-password-form")
async def password_form(request: Request[Any, Any, Any], site: Site, services: Services,
                        principal: Principal) -> Response[Any]:
    if principal.contact_id is None:
        return redirect("/_auth/login?return_url=/_auth/password")
    credential = await Store(services).credential(principal.contact_id)
    return page(request, "password.liquid", "Change password", notice=notice_of(request),
                two_factor_available=Settings(site).two_factor,
                two_factor=bool(credential and credential["two_factor"]))


@post("/_auth/password", name="identity-password")
async def change_password(request: Request[Any, Any, Any], site: Site, services: Services,
                          principal: Principal) -> Response[Any]:
    form = await read_input(request)

    def refuse(status: int, code: str, message: str, **context: Any) -> Response[Any]:
        return fail(request, form, status, code, message, template="password.liquid",
                    title="Change password", **context)

    if principal.contact_id is None:
        return refuse(401, "signin_required", "Sign in to change your password.")
    contact = await services.records.get(Principal.for_system(site.id), "contact",
                                         principal.contact_id, columns=["id", "email"])
    new_password = form.text("new_password")
    problems = policy_problems(site, new_password, contact["email"] or "")
    if problems:
        return refuse(400, "weak_password", " ".join(problems), problems=problems)
    checked = await check_password(services, site, contact, form.text("current_password"),
                                   client_ip(request))
    if checked is None:
        return refuse(400, "wrong_password", "The current password is not correct.")
    store = Store(services)
    new_hash = await hash_password(services, new_password)
    async with services.db.transaction():
        await store.set_password(site.id, contact["id"], new_hash)
        await store.end_sessions(contact["id"])
        await store.revoke(contact["id"], ("reset", "two_factor"))
    return await signed_in(request, site, services, form, contact, "/_auth/password?changed=1",
                           extra={"password_changed": True})


LOCAL_ROUTES = [login_form, login, register_form, register, logout, password_form,
                change_password]
