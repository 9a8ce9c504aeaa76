"""Who may do what in the dashboard. A role is a set of capabilities; a page or a form names the one it
needs, and what a role lacks is neither shown nor allowed."""

from enum import StrEnum


class Role(StrEnum):
    ADMIN = "admin"  # settings, API keys, members, webhooks: everything
    OPERATOR = "operator"  # contractors, jobs, assignments, invoices, applications
    FINANCE = "finance"  # billing; reads the rest
    VIEWER = "viewer"  # reads only


class Capability(StrEnum):
    READ = "read"
    OPERATE = "operate"  # contractors, entities, jobs, assignments, invoices, applications
    BILLING = "billing"  # bills (record a payment), billing details and contact
    ADMINISTER = "administer"  # settings, API keys, webhooks, members, the audit log


GRANTS: dict[Role, frozenset[Capability]] = {
    Role.ADMIN: frozenset(Capability),
    Role.OPERATOR: frozenset({Capability.READ, Capability.OPERATE}),
    Role.FINANCE: frozenset({Capability.READ, Capability.BILLING}),
    Role.VIEWER: frozenset({Capability.READ}),
}


def may(role: Role, capability: Capability) -> bool:
    return capability in GRANTS[role]
