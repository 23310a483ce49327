"""``portalis perms explain``: which grants apply to a contact on a table, and the SQL."""

from __future__ import annotations

from portalis.core.errors import InvalidInput, NotFound
from portalis.core.permissions import PRIVILEGES
from portalis.core.records import normalise_email
from portalis.core.services import Services

__all__ = ["explain"]


async def explain(services: Services, site_key: str | None, email: str | None,
                  table: str) -> str:
    ids = await services.sites.all_ids()
    if site_key is not None:
        website_id = await services.sites.website_for_key(site_key)
        if website_id is None:
            raise NotFound(f"no website {site_key!r}")
    elif len(ids) == 1:
        website_id = ids[0]
    else:
        raise InvalidInput("several websites exist: name one with --site")
    site = await services.sites.get(website_id)
    services.registry.get(table)
    if email:
        contact = await services.db.fetchrow(
            'SELECT "id" FROM "contact" WHERE "website" = ? AND "email" = ? '
            "AND \"state\" = 'active'", website_id, normalise_email(email))
        if contact is None:
            raise NotFound(f"no active contact {email!r} on {site.key}")
        principal = await services.principal_for_contact(site, contact["id"])
        assert principal is not None
        who = f"contact {email} (id {principal.contact_id}, account {principal.account_id})"
    else:
        principal = services.anonymous(site)
        who = "an anonymous visitor"
    role_names = sorted(site.roles_by_id[r].name for r in principal.role_ids
                        if r in site.roles_by_id)
    lines = [f"{who} on website {site.key!r}", f"web roles: {', '.join(role_names) or 'none'}",
             f"table: {table}", ""]
    any_grant = False
    for grant in site.policy.by_table.get(table, []):
        roles = site.policy.effective_roles(grant)
        applies = bool(roles & principal.role_ids)
        any_grant = any_grant or applies
        chain = []
        g = grant
        while g.scope == "parent":
            parent = site.policy.grants[g.parent_id or 0]
            chain.append(f"{g.relationship or '?'} → {parent.table} ({parent.key}, "
                         f"{parent.scope})")
            g = parent
        role_list = ", ".join(sorted(site.roles_by_id[r].name for r in roles
                                     if r in site.roles_by_id))
        lines.append(
            f"{'APPLIES ' if applies else 'ignored '} {grant.key}: scope {grant.scope}"
            f"{' via ' + grant.relationship if grant.relationship else ''}"
            f"{' [' + '; '.join(chain) + ']' if chain else ''}"
            f", privileges {', '.join(p for p in PRIVILEGES if p in grant.privileges)}"
            f", roles {role_list or 'none'}")
    if not any_grant:
        lines.append("no permission applies: every privilege is denied (default deny)")
    lines.append("")
    for privilege in PRIVILEGES:
        pred = services.compiler.predicate(site.policy, principal, table, privilege)
        shown = pred.sql
        for value in pred.bind(principal):
            shown = shown.replace("?", repr(value), 1)
        lines.append(f"{privilege:9} WHERE {shown}")
    return "\n".join(lines)
