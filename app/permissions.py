"""Roles and the code-defined role -> permission map (DOMAIN 2).

Permissions are not stored in the database: changing what a role may do is a code change,
reviewed like any other.
"""

from __future__ import annotations

from enum import StrEnum


class Role(StrEnum):
    SYSTEM_ADMIN = "system_admin"
    CAS_ADMIN = "cas_admin"
    AGENCY_ADMIN = "agency_admin"
    CASE_MANAGER = "case_manager"
    HOUSING_PROVIDER = "housing_provider"


ROLES: tuple[str, ...] = tuple(r.value for r in Role)

# Roles that see everything in their CoC (DOMAIN 3).
ADMIN_ROLES: frozenset[Role] = frozenset({Role.SYSTEM_ADMIN, Role.CAS_ADMIN})


class Permission(StrEnum):
    COCS_MANAGE = "cocs:manage"
    ORGANIZATIONS_MANAGE = "organizations:manage"
    PROJECTS_MANAGE = "projects:manage"
    PROJECTS_MANAGE_OWN = "projects:manage_own"
    USERS_MANAGE = "users:manage"
    USERS_MANAGE_OWN_ORG = "users:manage_own_org"
    AUDIT_READ = "audit:read"
    CLIENTS_READ = "clients:read"
    CLIENTS_WRITE = "clients:write"
    CLIENTS_SSN_READ = "clients:ssn_read"
    CLIENTS_MERGE = "clients:merge"
    ENROLLMENTS_READ = "enrollments:read"
    ENROLLMENTS_WRITE = "enrollments:write"
    DOCUMENTS_READ = "documents:read"
    DOCUMENTS_WRITE = "documents:write"
    # The CoC's checklist of acceptable document types (Document Check).
    DOCUMENTS_CONFIGURE = "documents:configure"
    QUEUE_READ = "queue:read"
    QUEUE_MANAGE = "queue:manage"
    # Intake status moves (DOMAIN 7): the CAS review, and the case manager's Case Manager Review.
    QUEUE_REVIEW = "queue:review"
    QUEUE_CASE_MANAGER_REVIEW = "queue:case_manager_review"
    REFERRALS_MANAGE = "referrals:manage"
    REFERRALS_RESPOND = "referrals:respond"
    # Housing inventory (DOMAIN 8): units and their events (check-in/out, reservations,
    # offline/online), by the project's organization and admins.
    INVENTORY_MANAGE = "inventory:manage"
    # HUD conformance (issue 11): approving Access Points (seed 000: the Director of CAS),
    # voiding an intake recorded in error, the duplicate report and the data-quality report.
    ACCESS_POINTS_APPROVE = "organizations:approve_access_points"
    ENROLLMENTS_VOID = "enrollments:void"
    CLIENTS_DUPLICATES_READ = "clients:duplicates_read"
    DATA_QUALITY_READ = "data_quality:read"
    # Notifications (issue 14): the background jobs and their dead letter (system admins),
    # partner webhook subscriptions, a housing provider's CAS contact.
    JOBS_MANAGE = "jobs:manage"
    WEBHOOKS_MANAGE = "webhooks:manage"
    NOTIFICATIONS_CONFIGURE = "notifications:configure"
    # HUD HMIS CSV (issue 15): exports (admins; agency admins of their own projects) and
    # scripted imports (the HMIS lead's system admins).
    HMIS_EXPORT = "hmis:export"
    HMIS_IMPORT = "hmis:import"


P = Permission

_CLIENT_WORK = {
    P.CLIENTS_READ,
    P.CLIENTS_WRITE,
    P.CLIENTS_SSN_READ,
    P.ENROLLMENTS_READ,
    P.ENROLLMENTS_WRITE,
    P.DOCUMENTS_READ,
    P.DOCUMENTS_WRITE,
    P.QUEUE_READ,
}

ROLE_PERMISSIONS: dict[Role, frozenset[Permission]] = {
    Role.SYSTEM_ADMIN: frozenset(Permission),
    Role.CAS_ADMIN: frozenset(
        _CLIENT_WORK
        | {
            P.QUEUE_MANAGE,
            P.QUEUE_REVIEW,
            P.REFERRALS_MANAGE,
            P.INVENTORY_MANAGE,
            P.PROJECTS_MANAGE_OWN,
            P.DOCUMENTS_CONFIGURE,
            P.ACCESS_POINTS_APPROVE,
            P.ENROLLMENTS_VOID,
            P.CLIENTS_DUPLICATES_READ,
            P.DATA_QUALITY_READ,
            P.WEBHOOKS_MANAGE,
            P.NOTIFICATIONS_CONFIGURE,
            P.HMIS_EXPORT,
        }
    ),
    Role.AGENCY_ADMIN: frozenset(
        _CLIENT_WORK
        | {
            P.USERS_MANAGE_OWN_ORG,
            P.PROJECTS_MANAGE_OWN,
            P.WEBHOOKS_MANAGE,
            P.NOTIFICATIONS_CONFIGURE,
            P.HMIS_EXPORT,
            P.INVENTORY_MANAGE,
        }
    ),
    Role.CASE_MANAGER: frozenset(_CLIENT_WORK | {P.QUEUE_CASE_MANAGER_REVIEW}),
    # Client Files are readable by whoever can see the client; Document Check stays limited to
    # the CAS organization and admins by its own rule (app.services.documents.core).
    Role.HOUSING_PROVIDER: frozenset(
        {
            P.CLIENTS_READ,
            P.ENROLLMENTS_READ,
            P.ENROLLMENTS_WRITE,
            P.REFERRALS_RESPOND,
            P.INVENTORY_MANAGE,
            P.DOCUMENTS_READ,
        }
    ),
}


def permissions_for(role: str) -> frozenset[Permission]:
    return ROLE_PERMISSIONS.get(Role(role), frozenset())
