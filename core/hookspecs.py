"""The plugin contract of Portalis: every hook a plugin may implement.

Plugins are pluggy plugins of the project ``portalis``, found through the entry-point
group ``portalis.plugins`` and enabled by name per deployment (``portalis.toml`` or
``PORTALIS_PLUGINS``). Implement a hook with ``@hookimpl`` from ``portalis.core``.

pluggy has no async support, so no hook here is ``firstresult`` or a wrapper: a hook
implementation may return a value, ``None`` or an awaitable, and the kernel awaits
every result (:func:`portalis.core.plugins.call_hook`). Where "the first result wins",
the kernel takes the first non-``None`` result in pluggy's call order (last registered
first), after awaiting them all.
"""

from __future__ import annotations

from typing import Any

import pluggy

__all__ = ["hookimpl", "hookspec"]

hookspec = pluggy.HookspecMarker("portalis")
hookimpl = pluggy.HookimplMarker("portalis")


# -- start-up: what a plugin contributes ------------------------------------------


@hookspec
def portalis_register_tables() -> Any:
    """Contribute portal tables.

    Runs once at start-up. Return a list of :class:`portalis.core.TableSpec` (a Piccolo
    table with an integer ``id`` and a ``website`` foreign key, plus how portals see
    it). Results of all plugins are combined. Their relationships (foreign keys to
    ``contact``, ``account`` or other registered tables) become available to table
    permissions by name.
    """


@hookspec
def portalis_piccolo_apps() -> Any:
    """Contribute Piccolo apps (dotted paths of modules exporting ``APP_CONFIG``).

    Runs when migrating. Return a list of strings; results are combined. A plugin that
    owns tables owns a Piccolo app with its migrations; ``portalis migrate`` runs the
    kernel's migrations first, then each enabled plugin's.
    """


@hookspec
def portalis_routes(app_config: Any) -> Any:
    """Contribute Litestar route handlers (and controllers, routers).

    Runs once while the app is built; ``app_config`` is the kernel's
    :class:`portalis.core.config.Config`. Return a list; results are combined. Handlers
    reach portal data only through ``records`` (inject ``records`` and ``principal``).
    """


@hookspec
def portalis_setting_defaults() -> Any:
    """Contribute defaults of site settings (name → string value).

    Runs when a website's configuration is loaded. Return a dict; results are merged
    (a website's own SiteSetting rows override them).
    """


@hookspec
def portalis_template_dirs() -> Any:
    """Contribute folders of Liquid templates (searched after the site's own).

    Runs once at start-up. Return a list of paths; results are combined in call order.
    """


@hookspec
def portalis_startup(app: Any, services: Any) -> Any:
    """Run once when the app starts, after the database is connected.

    ``services`` is the :class:`portalis.core.services.Services` bundle (db, records,
    sites, mailer, plugin manager). Return value ignored (may be awaitable).
    """


# -- per request ------------------------------------------------------------------


@hookspec
def portalis_resolve_website(request: Any, services: Any) -> Any:
    """Choose the website (its id) that answers a request, e.g. by custom domain.

    Runs for every request before any handler, gate or principal hook. Return a
    website id, or ``None`` to let others (and finally the kernel's host-name match)
    decide. The first result wins.
    """


@hookspec
def portalis_gate_request(request: Any, site: Any, services: Any) -> Any:
    """Gate a request before the principal is resolved (IP filter, redirects, throttles).

    Runs for every request after the website is known. Return ``None`` to let the
    request through, or a Litestar ``Response`` that answers it instead (e.g. 403 or a
    301 redirect). The first response wins; handlers do not run.
    """


@hookspec
def portalis_resolve_principal(request: Any, site: Any, services: Any) -> Any:
    """Say who is asking: return a :class:`portalis.core.Principal` or ``None``.

    Runs for every request that reaches a handler needing a principal. The identity
    plugin maps a session cookie to a contact and its roles. ``None`` from every
    plugin means an anonymous visitor (the site's Anonymous Users role). The first
    result wins.
    """


@hookspec
def portalis_principal_resolved(request: Any, principal: Any, services: Any) -> Any:
    """React to the resolved principal (audit, per-contact gates).

    Runs once per request after :func:`portalis_resolve_principal`. Return ``None``, or a
    Litestar ``Response`` to answer the request instead (first one wins).
    """


# -- record events ------------------------------------------------------------------


@hookspec
def portalis_contact_before_create(site: Any, values: dict[str, Any], principal: Any,
                                   services: Any) -> Any:
    """Check a contact about to be created on ANY path (registration, invitation, Web API,
    delegated management, site apply), inside the creating transaction.

    ``values`` are the coerced column values (email already normalised); an
    implementation may change them in place. Raise
    :class:`portalis.core.Conflict` to refuse (duplicate contact) with a message that
    names the conflict. Return value ignored.
    """


@hookspec
def portalis_record_before_write(action: str, table: str, values: dict[str, Any],
                                 existing: dict[str, Any] | None, principal: Any,
                                 services: Any) -> Any:
    """Validate or adjust a write before it reaches the database.

    Runs inside the write transaction for ``create``, ``update`` and ``delete`` on any
    registered table, after the permission check. ``values`` may be changed in place;
    raise a :class:`portalis.core.PortalisError` to refuse. Return value ignored.
    """


@hookspec
def portalis_record_after_write(action: str, table: str, row: dict[str, Any],
                                principal: Any, services: Any) -> Any:
    """Observe a committed-to-be write (audit, notifications, search indexing).

    Runs inside the write transaction after the statement succeeded; an exception
    rolls the whole write back. ``row`` is the row after the write (before it, for
    delete). Return value ignored.
    """


@hookspec
def portalis_security_findings(site: Any, services: Any) -> Any:
    """Contribute findings to ``portalis check`` (the security linter) for one website.

    Runs once per website when the linter runs. Return a list of
    :class:`portalis.core.check.Finding` (or dicts with its fields: code, website,
    subject, message, fix); results are combined. Return an empty list when all is well.
    """


# -- commands ----------------------------------------------------------------------


@hookspec
def portalis_cli_commands() -> Any:
    """Contribute ``click`` commands or groups to the ``portalis`` CLI.

    Runs once when the CLI starts. Return a list; results are combined.
    """


@hookspec
def portalis_site_applied(website_id: int, data: dict[str, Any],
                          ids: dict[str, dict[str, int]], services: Any) -> Any:
    """Apply a plugin's part of a site file's kernel sections (e.g. contact passwords).

    Runs inside the ``site apply`` transaction after accounts, contacts, permissions and
    lists, before records. ``data`` is the whole parsed file; ``ids`` maps table → key →
    record id for what was applied. Raise :class:`portalis.core.InvalidInput` naming the
    entry to refuse the file (nothing is applied). Return value ignored.
    """


@hookspec
def portalis_site_file_sections() -> Any:
    """Contribute extra top-level sections to site files.

    Return a dict ``{section: handler}``; ``await handler.apply(website_id, data,
    services, applier)`` runs inside the apply transaction after the kernel sections
    (``applier.ids`` maps table → key → id of what the file applied), and
    ``await handler.export(website_id, services)`` returns the section's data for
    ``portalis site export``. Results are merged.
    """
