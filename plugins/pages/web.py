"""Serving pages, forms, page edits and web files.

Routes: ``GET /{path}`` (catch-all: pages, then web files), ``GET /`` through the
``portalis_principal_resolved`` hook (Litestar refuses a second handler for ``/``, the
kernel's home), ``POST /_pages/forms/{key}``, ``GET|POST /_pages/edit/{page_id}``,
``POST /_pages/files`` (upload). Portal data shown in pages goes through ``records``.
"""

from __future__ import annotations

import datetime as dt
import hashlib
import logging
from pathlib import Path
from typing import Any
from urllib.parse import quote, urlencode

from liquid.exceptions import LiquidError
from litestar import MediaType, Request, Response, get, post
from litestar.datastructures import UploadFile
from litestar.response import Redirect
from litestar.utils.scope.state import ScopeState
from markupsafe import Markup

from portalis.core import InvalidInput, NotFound, PermissionDenied, PortalisError, Principal
from portalis.core.records import Records
from portalis.core.services import Services
from portalis.core.sites import Site
from portalis.core.web.lists import run_list
from portalis.core.web.pages import render_page
from portalis.plugins.pages.access import can_change, can_read, can_see
from portalis.plugins.pages.files import check_upload
from portalis.plugins.pages.liquidenv import (
    PortalEnvironment,
    TemplateProblem,
    problem_of,
    use_provider,
    use_store,
)
from portalis.plugins.pages.store import FormDef, PageNode, PageTree, Store

__all__ = ["ROUTES", "PagesState", "serve_root", "state_of"]

log = logging.getLogger("portalis.pages")
TEMPLATES = Path(__file__).parent / "templates"
RESERVED = ("/_lists", "/_api", "/_auth", "/_static", "/schema", "/_health", "/_pages")
SECRET_WORDS = ("secret", "password", "key", "token", "credential")
INPUTS = {"int": "number", "float": "number", "bool": "checkbox", "datetime": "datetime-local"}


class TemplateBroken(PortalisError):
    status = 500
    code = "template_error"


class PagesState:
    """Per-app state: the Liquid environment, the file templates, the store."""

    def __init__(self, services: Services, extra_dirs: list[Path] | None = None) -> None:
        self.services = services
        self.env = PortalEnvironment()
        self.store = Store(services.db)
        self.files: dict[str, str] = {}
        for folder in [TEMPLATES, *(extra_dirs or [])]:
            for path in sorted(Path(folder).glob("*.liquid")):
                self.files[path.stem] = path.read_text(encoding="utf-8")

    async def template_store(self, website_id: int) -> dict[str, str]:
        """The website's templates: database rows over file defaults; a row that does
        not parse falls back to its last good version."""
        out = dict(self.files)
        for key, (source, good) in (await self.store.templates(website_id)).items():
            if self.env.check(source, key) is None or not good:
                out[key] = source
            else:
                out[key] = good
        return out


def state_of(services: Services) -> PagesState:
    st = services.extra.get("pages")
    if st is None:
        st = services.extra["pages"] = PagesState(services)
    return st  # type: ignore[no-any-return]


def csrf_token(request: Request[Any, Any, Any]) -> str:
    token = ScopeState.from_scope(request.scope).csrf_token
    return token if isinstance(token, str) else ""


def safe_next(value: Any) -> str:
    text = str(value or "/")
    if not text.startswith("/") or text.startswith("//") or "\\" in text:
        return "/"
    return text


def _plain(value: Any) -> str:
    if value is None:
        return ""
    if isinstance(value, bool):
        return "true" if value else "false"
    if isinstance(value, dt.datetime):
        return value.isoformat(timespec="minutes")
    return str(value)


def _liquid(value: Any) -> Any:
    """Empty texts become nil: in Liquid an empty string is truthy, nil is not."""
    if isinstance(value, dict):
        return {k: _liquid(v) for k, v in value.items()}
    if isinstance(value, list):
        return [_liquid(v) for v in value]
    if isinstance(value, str) and value == "":
        return None
    return value


def _label(name: str) -> str:
    return name.replace("_", " ").capitalize()


class PageRequest:
    """Everything one page render needs; also the provider of lists and forms."""

    def __init__(self, request: Request[Any, Any, Any], services: Services, site: Site,
                 principal: Principal, tree: PageTree,
                 form_state: dict[str, dict[str, Any]] | None = None) -> None:
        self.request = request
        self.services = services
        self.records: Records = services.records
        self.site = site
        self.principal = principal
        self.tree = tree
        self.state = state_of(services)
        self.query = {k: v for k, v in request.query_params.items() if isinstance(v, str)}
        self.form_state = form_state or {}
        self.store: dict[str, str] = {}

    @property
    def roles(self) -> frozenset[int]:
        return self.principal.role_ids

    async def render_template(self, name: str, data: dict[str, Any]) -> str:
        source = self.store.get(name)
        if source is None:
            raise TemplateBroken(f"the site has no web template {name!r}")
        template = self.state.env.parse_cached(source, name)
        return await template.render_async(**_liquid(data))

    # -- provider: lists and forms inside pages ------------------------------
    async def entity_list(self, key: str) -> str:
        ld = self.site.lists.get(key)
        if ld is None:
            return str(Markup('<div class="alert alert-warning">No list {}.</div>').format(key))
        path = self.request.url.path
        search, cursor, sort = (self.query.get(k) or None for k in ("search", "cursor", "sort"))
        error = ""
        try:
            page = await run_list(self.records, self.principal, self.site, ld, search=search,
                                  cursor=cursor, sort=sort, scope_filter=None)
        except InvalidInput as exc:
            error = exc.message
            page = await run_list(self.records, self.principal, self.site, ld, search=None,
                                  cursor=None, sort=None, scope_filter=None)
        table = self.records.s.registry.get(ld.table)
        columns = list(ld.columns) or list(table.columns)
        base = {k: v for k, v in (("search", search), ("sort", sort)) if v}

        def link(cur: str | None) -> str:
            return "" if cur is None else f"{path}?{urlencode({**base, 'cursor': cur})}"

        def sort_url(column: str) -> str:
            flipped = ("-" if sort == column else "") + column
            return f"{path}?{urlencode({**base, 'sort': flipped})}"

        data = {"list": {
            "key": ld.key, "title": ld.title, "action": path, "search": search or "",
            "search_enabled": bool(ld.search_columns or table.search_columns), "error": error,
            "columns": [{"name": c, "label": _label(c), "sort_url": sort_url(c)}
                        for c in columns],
            "rows": [{"id": r["id"], "cells": [_plain(r.get(c)) for c in columns],
                      "url": ld.detail_url.replace("{id}", str(r["id"])) if ld.detail_url else "",
                      "can_write": r["_can_write"], "can_delete": r["_can_delete"]}
                     for r in page.rows],
            "next_url": link(page.next_cursor), "prev_url": link(page.prev_cursor)}}
        return await self.render_template("entitylist", data)

    async def entity_form(self, key: str) -> str:
        fd = await self.state.store.form(self.site.id, key)
        if fd is None:
            return str(Markup('<div class="alert alert-warning">No form {}.</div>').format(key))
        table = self.records.s.registry.get(fd.table)
        state = self.form_state.get(key, {})
        values: dict[str, Any] = dict(state.get("values", {}))
        errors: dict[str, str] = dict(state.get("errors", {}))
        unavailable = ""
        record_id = ""
        if fd.mode in ("edit", "readonly"):
            record_id = self.query.get("id", "") or str(state.get("id", ""))
            privilege = "write" if fd.mode == "edit" else "read"
            if not record_id:
                unavailable = "No record was chosen."
            else:
                try:
                    row = await self.records.get(self.principal, fd.table, record_id,
                                                 privilege=privilege,
                                                 columns=list(fd.fields) or None)
                except (NotFound, InvalidInput):
                    unavailable = ("The record does not exist or you may not "
                                   f"{'change' if fd.mode == 'edit' else 'see'} it.")
                else:
                    for name in fd.fields:
                        values.setdefault(name, _plain(row.get(name)))
        elif not await self.records.can(self.principal, fd.table, "create"):
            unavailable = "You may not create records with this form."
        fields = []
        for name in fd.fields:
            info = table.columns.get(name)
            kind = info.kind if info else "str"
            text_input = "textarea" if kind == "str" and info and info.max_length is None \
                else "text"
            fields.append({
                "name": name, "label": _label(name), "value": _plain(values.get(name, "")),
                "is_required": name in fd.required, "error": errors.get(name, ""),
                "input": INPUTS.get(kind, text_input),
                "options": [str(o) for o in fd.options.get(name, [])]})
        success = (fd.success_message or "Saved.") if self.query.get("saved") == key else ""
        nxt = self.request.url.path
        if record_id:
            nxt += "?" + urlencode({"id": record_id})
        data = {"form": {
            "key": fd.key, "title": fd.title, "mode": fd.mode,
            "action": f"/_pages/forms/{quote(fd.key)}", "fields": fields,
            "errors": [e for e in errors.values() if e], "unavailable": unavailable,
            "success": success, "csrf_token": csrf_token(self.request), "next": nxt,
            "record_id": record_id if fd.mode == "edit" else ""}}
        return await self.render_template("entityform", data)

    # -- the objects templates see ------------------------------------------
    async def user(self) -> dict[str, Any] | None:
        if self.principal.contact_id is None:
            return None
        extra = dict(self.principal.extra)
        user: dict[str, Any] = {"id": self.principal.contact_id,
                                "email": extra.get("email", "")}
        try:
            row = await self.records.get(self.principal, "contact", self.principal.contact_id,
                                         columns=["email", "firstname", "lastname"])
        except (NotFound, InvalidInput):
            row = {}
        for name in ("email", "firstname", "lastname"):
            if row.get(name):
                user[name] = str(row[name])
        user["roles"] = sorted(self.site.roles_by_id[r].name for r in self.roles
                               if r in self.site.roles_by_id)
        return user

    def link(self, page: PageNode) -> dict[str, Any]:
        return {"title": page.title, "url": page.url, "key": page.key}

    async def weblinks(self) -> dict[str, dict[str, Any]]:
        out: dict[str, dict[str, Any]] = {}
        for key, ls in (await self.state.store.link_sets(self.site.id)).items():
            links = []
            for item in ls["links"]:
                if not isinstance(item, dict):
                    continue
                if item.get("page"):
                    target = self.tree.by_key(str(item["page"]))
                    if target is None or not can_see(target, self.roles):
                        continue
                    links.append({"title": str(item.get("title") or target.title),
                                  "url": target.url})
                elif item.get("url"):
                    links.append({"title": str(item.get("title") or item["url"]),
                                  "url": safe_next(item["url"])
                                  if not str(item["url"]).startswith(("http://", "https://"))
                                  else str(item["url"])})
            out[key] = {"title": ls["title"], "links": links}
        return out

    def settings(self) -> tuple[dict[str, str], dict[str, str]]:
        settings, snippets = {}, {}
        for name, value in self.site.settings.items():
            if name.startswith("Snippet/"):
                snippets[name[len("Snippet/"):]] = value
            elif not any(w in name.lower() for w in SECRET_WORDS):
                settings[name] = value
        return settings, snippets

    async def context(self, page: PageNode) -> dict[str, Any]:
        settings, snippets = self.settings()
        weblinks = await self.weblinks()
        if "primary" in weblinks:
            navigation = weblinks["primary"]["links"]
        else:
            home = self.tree.home
            tops = home.children if home else self.tree.roots
            navigation = [self.link(p) for p in tops if p is not home and can_see(p, self.roles)]
        for link in navigation:
            link["active"] = link["url"] != "/" and (
                page.url == link["url"] or page.url.startswith(link["url"].rstrip("/") + "/"))
        crumbs = [self.link(p) for p in page.lineage()
                  if p is page or can_see(p, self.roles)]
        home = self.tree.home
        if home is not None and page is not home and (not crumbs or crumbs[0]["url"] != "/"):
            crumbs.insert(0, self.link(home))
        return {
            "page": {**self.link(page), "id": page.id, "state": page.state,
                     "template": page.template, "can_edit": can_change(page, self.roles),
                     "edit_url": f"/_pages/edit/{page.id}",
                     "parent": self.link(page.parent) if page.parent else None,
                     "children": [self.link(c) for c in page.children
                                  if can_see(c, self.roles)]},
            "user": await self.user(),
            "website": {"id": self.site.id, "key": self.site.key, "title": self.site.title},
            "settings": settings, "snippets": snippets, "weblinks": weblinks,
            "navigation": navigation, "breadcrumbs": crumbs,
            "request": {"path": self.request.url.path, "query": dict(self.query)},
            "stylesheets": [s.strip() for s in settings.get("Pages/Stylesheets", "").split(",")
                            if s.strip().startswith("/")],
            "csrf_token": csrf_token(self.request),
        }

    async def render(self, page: PageNode, status: int = 200,
                     template: str | None = None, extra: dict[str, Any] | None = None
                     ) -> Response[Any]:
        self.store = await self.state.template_store(self.site.id)
        ctx = await self.context(page)
        ctx.update(extra or {})
        ctx = _liquid(ctx)
        store_token = use_store(self.store)
        provider_token = use_provider(self)
        try:
            stage = f"page {page.key}"
            if template is None:
                content = await self.state.env.parse_cached(
                    page.content, f"page:{page.key}").render_async(**ctx)
                stage = page.template
                body = await self.render_template(page.template,
                                                  {**ctx, "content": Markup(content)})
            else:
                stage = template
                body = await self.render_template(template, ctx)
            stage = "layout"
            html = await self.render_template("layout", {**ctx, "body": Markup(body)})
        except LiquidError as err:
            problem = problem_of(err, stage)
            return self.broken(page, problem)
        finally:
            provider_token.var.reset(provider_token)
            store_token.var.reset(store_token)
        return Response(html, status_code=status, media_type=MediaType.HTML)

    def broken(self, page: PageNode, problem: TemplateProblem) -> Response[Any]:
        """A clear error page; the page's makers also see the line and the message."""
        log.warning("page %s of website %s could not be rendered: %s", page.url,
                    self.site.key, problem)
        if can_change(page, self.roles):
            message = f"This page could not be displayed: {problem}"
        else:
            message = ("This page could not be displayed. The site's makers have been told; "
                       "please try again later.")
        html = render_page(self.request, "error.liquid", title="Page unavailable", status=500,
                           heading="Page unavailable", message=message, request_id=None)
        return Response(html, status_code=500, media_type=MediaType.HTML)


def deny(request: Request[Any, Any, Any], principal: Principal) -> Response[Any]:
    if principal.anonymous:
        target = request.url.path + (f"?{request.url.query}" if request.url.query else "")
        query = urlencode({"next": target, "return_url": target})
        return Redirect(f"/_auth/login?{query}", status_code=302)
    raise PermissionDenied("you do not have access to this page", code="page_access_denied")


async def page_for(request: Request[Any, Any, Any], services: Services, site: Site,
                   principal: Principal, path: str) -> tuple[PageRequest, PageNode] | None:
    st = state_of(services)
    tree = await st.store.tree(site.id)
    url = "/" + path.strip("/") if path.strip("/") else "/"
    page = tree.by_url.get(url)
    if page is None:
        return None
    return PageRequest(request, services, site, principal, tree), page


async def serve(request: Request[Any, Any, Any], services: Services, site: Site,
                principal: Principal, path: str) -> Response[Any] | None:
    found = await page_for(request, services, site, principal, path)
    if found is None:
        return None
    pr, page = found
    if not can_read(page, principal.role_ids):
        return deny(request, principal)
    if not can_see(page, principal.role_ids):
        raise NotFound("no such page", code="page_not_found")
    return await pr.render(page)


async def serve_root(request: Request[Any, Any, Any], principal: Principal,
                     services: Services) -> Response[Any] | None:
    """``GET /`` with a root page: answered from the principal hook (see module doc)."""
    if request.method != "GET" or request.url.path != "/":
        return None
    site = request.state.site
    try:
        return await serve(request, services, site, principal, "/")
    except PortalisError as exc:
        from portalis.core.web.errors import portalis_error

        return portalis_error(request, exc)


@get("/{path:path}", name="pages_catch_all", include_in_schema=False)
async def catch_all(request: Request[Any, Any, Any], path: str, services: Services,
                    site: Site, principal: Principal) -> Response[Any]:
    if path.startswith(RESERVED) or path == "/":
        raise NotFound("no such page", code="page_not_found")
    answer = await serve(request, services, site, principal, path)
    if answer is not None:
        return answer
    return await serve_file(request, services, site, principal, path)


# -- web files ------------------------------------------------------------------
async def serve_file(request: Request[Any, Any, Any], services: Services, site: Site,
                     principal: Principal, path: str) -> Response[Any]:
    st = state_of(services)
    row = await st.store.web_file(site.id, path)
    if row is None:
        raise NotFound("no such page", code="page_not_found")
    if row.parent_id is not None:
        tree = await st.store.tree(site.id)
        parent = tree.pages.get(row.parent_id)
        if parent is not None and not can_read(parent, principal.role_ids):
            return deny(request, principal)
    etag = f'"{row.etag}"'
    headers = {"ETag": etag, "Cache-Control": "public, max-age=300, must-revalidate",
               "X-Content-Type-Options": "nosniff"}
    match = request.headers.get("if-none-match", "")
    if etag in [m.strip() for m in match.split(",")] or match.strip() == "*":
        return Response(b"", status_code=304, headers=headers)
    return Response(row.content, media_type=row.content_type, headers=headers)


@post("/_pages/files", name="pages_upload")
async def upload(request: Request[Any, Any, Any], services: Services, site: Site,
                 principal: Principal) -> Response[Any]:
    form = await request.form()
    st = state_of(services)
    tree = await st.store.tree(site.id)
    parent_key = str(form.get("parent") or "")
    parent = tree.by_key(parent_key) if parent_key else tree.home
    if parent is None:
        raise NotFound(f"no page {parent_key!r} to hold the file", code="unknown_page")
    if not can_change(parent, principal.role_ids):
        raise PermissionDenied("uploading web files needs Grant Change on the page",
                               code="upload_denied")
    upload_file = form.get("file")
    if not isinstance(upload_file, UploadFile):
        raise InvalidInput("send the file in the multipart field 'file'", code="no_file")
    path = str(form.get("path") or upload_file.filename or "").strip()
    limit = int(site.number("WebFiles/MaxSize", 1_048_576))
    content = await upload_file.read(limit + 1)
    content_type = check_upload(path, upload_file.content_type, content, limit)
    path = "/" + path.strip("/")
    if path.startswith(RESERVED) or path in tree.by_url:
        raise InvalidInput(f"{path} is taken by the portal or a page", code="path_taken")
    etag = hashlib.sha256(content).hexdigest()[:32]
    await st.store.save_web_file(site.id, str(form.get("key") or path), path, content_type,
                                 content, etag, parent.id)
    return Response({"path": path, "content_type": content_type, "size": len(content),
                     "etag": etag}, status_code=201, media_type=MediaType.JSON)


# -- forms ----------------------------------------------------------------------
def _collect(fd: FormDef, form: Any, table: Any) -> tuple[dict[str, Any], dict[str, str],
                                                          dict[str, str]]:
    """(values for records, submitted texts, errors)."""
    values: dict[str, Any] = {}
    texts: dict[str, str] = {}
    errors: dict[str, str] = {}
    for name in fd.fields:
        info = table.columns.get(name)
        raw = form.get(name)
        if info is not None and info.kind == "bool":
            texts[name] = "true" if raw else "false"
            values[name] = bool(raw)
            continue
        text = raw if isinstance(raw, str) else ""
        texts[name] = text
        if name in fd.required and not text.strip():
            errors[name] = fd.messages.get(name) or f"{_label(name)} is required."
            continue
        options = fd.options.get(name)
        if options and text and text not in [str(o) for o in options]:
            errors[name] = f"{_label(name)} must be one of {', '.join(map(str, options))}."
            continue
        values[name] = text if (info is None or info.kind == "str") else (text or None)
    return values, texts, errors


@post("/_pages/forms/{key:str}", name="pages_form_submit")
async def submit_form(request: Request[Any, Any, Any], key: str, services: Services,
                      site: Site, principal: Principal) -> Response[Any]:
    st = state_of(services)
    fd = await st.store.form(site.id, key)
    if fd is None:
        raise NotFound(f"no form {key!r} on this site", code="unknown_form")
    if fd.mode == "readonly":
        raise InvalidInput("this form is read-only", code="read_only_form")
    form = await request.form()
    nxt = safe_next(form.get("_next"))
    table = services.registry.get(fd.table)
    values, texts, errors = _collect(fd, form, table)
    record_id = str(form.get("id") or "")
    row: dict[str, Any] | None = None
    if not errors:
        try:
            if fd.mode == "insert":
                row = await services.records.create(principal, fd.table, values)
            else:
                if not record_id:
                    raise InvalidInput("no record was chosen", code="no_record")
                row = await services.records.update(principal, fd.table, record_id, values)
        except InvalidInput as exc:
            column = str(exc.detail.get("column") or "")
            if column in fd.fields:
                errors[column] = exc.message
            else:
                errors["_"] = exc.message
    if errors or row is None:
        return await _rerender(request, services, site, principal, nxt, fd, texts, errors,
                               record_id)
    if fd.redirect:
        target = safe_next(fd.redirect.replace("{id}", str(row["id"])))
    else:
        base, _, query = nxt.partition("?")
        params = [(k, v) for k, v in (p.split("=", 1) if "=" in p else (p, "")
                                      for p in query.split("&") if p) if k != "saved"]
        target = f"{base}?{urlencode([*params, ('saved', fd.key)])}"
    return Redirect(target, status_code=303)


async def _rerender(request: Request[Any, Any, Any], services: Services, site: Site,
                    principal: Principal, nxt: str, fd: FormDef, texts: dict[str, str],
                    errors: dict[str, str], record_id: str) -> Response[Any]:
    path = nxt.partition("?")[0]
    found = await page_for(request, services, site, principal, path)
    if found is None or not can_see(found[1], principal.role_ids):
        raise InvalidInput("; ".join(errors.values()) or "the form could not be saved",
                           code="invalid_form")
    pr, page = found
    pr.form_state = {fd.key: {"values": texts, "errors": errors, "id": record_id}}
    pr.query = {"id": record_id} if record_id else {}
    return await pr.render(page, status=400)


# -- editing page content (Grant Change) -----------------------------------------
async def _editable(services: Services, site: Site, principal: Principal,
                    page_id: int) -> tuple[PageTree, PageNode]:
    tree = await state_of(services).store.tree(site.id)
    page = tree.pages.get(page_id)
    if page is None or not can_read(page, principal.role_ids):
        raise NotFound("no such page", code="page_not_found")
    if not can_change(page, principal.role_ids):
        raise PermissionDenied("changing this page needs a Grant Change rule for your role",
                               code="page_change_denied")
    return tree, page


@get("/_pages/edit/{page_id:int}", name="pages_edit_form")
async def edit_form(request: Request[Any, Any, Any], page_id: int, services: Services,
                    site: Site, principal: Principal) -> Response[Any]:
    if principal.anonymous:
        return deny(request, principal)
    tree, page = await _editable(services, site, principal, page_id)
    pr = PageRequest(request, services, site, principal, tree)
    return await pr.render(page, template="page-edit", extra={
        "edit": {"title": page.title, "content": page.content, "state": page.state},
        "problem": ""})


@post("/_pages/edit/{page_id:int}", name="pages_edit_save")
async def edit_save(request: Request[Any, Any, Any], page_id: int, services: Services,
                    site: Site, principal: Principal) -> Response[Any]:
    tree, page = await _editable(services, site, principal, page_id)
    form = await request.form()
    title = str(form.get("title") or page.title).strip()[:200]
    content = str(form.get("content") or "")
    state = str(form.get("state") or page.state)
    if state not in ("draft", "published"):
        raise InvalidInput("state must be draft or published", code="invalid_state")
    st = state_of(services)
    problem = st.env.check(content, f"page:{page.key}")
    if problem is not None:
        pr = PageRequest(request, services, site, principal, tree)
        return await pr.render(page, status=400, template="page-edit", extra={
            "edit": {"title": title, "content": content, "state": state},
            "problem": str(problem)})
    await st.store.update_page(site.id, page.id, {"title": title, "content": content,
                                                  "state": state})
    return Redirect(page.url, status_code=303)


ROUTES = [catch_all, upload, submit_form, edit_form, edit_save]
