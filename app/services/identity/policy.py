"""Who may manage whom and what in the identity domain -- the named rules, no database.

* Users: a system admin (``users:manage``) manages every account of the CoC; an agency admin
  (``users:manage_own_org``) the users of its own organization, granting only agency-level
  roles, and never an account that holds a role it could not grant (a system or CAS admin);
  only system admins activate or deactivate accounts.
* CoCs: changed by a system admin acting for one of its organizations.
* Projects: ``projects:manage`` everywhere in the CoC, ``projects:manage_own`` in the actor's
  own organization. Coordinated Entry projects (ProjectType 14) belong to the CoC's CAS
  organization and are created or changed only by system and CAS admins
  (``can_manage_ce_projects``): whoever owns a type-14 project would be let in to every client
  enrolled into it.

The services call these and raise (403) with their own explanation; routers keep declaring the
route's permission.
"""

from __future__ import annotations

import uuid
from collections.abc import Iterable

from app.context import Actor
from app.permissions import Permission, Role

# The roles an agency admin may grant (and the only roles of accounts it may change).
AGENCY_GRANTABLE = frozenset({Role.AGENCY_ADMIN, Role.CASE_MANAGER, Role.HOUSING_PROVIDER})


def can_manage_users(actor: Actor) -> bool:
    """Any user management at all (system admins and agency admins)."""
    return actor.can(Permission.USERS_MANAGE) or actor.can(Permission.USERS_MANAGE_OWN_ORG)


def manages_all_users(actor: Actor) -> bool:
    """Every organization's users in the CoC (system admins), not only the actor's own."""
    return actor.can(Permission.USERS_MANAGE)


def can_manage_users_of(actor: Actor, organization_id: uuid.UUID) -> bool:
    return manages_all_users(actor) or organization_id == actor.organization_id


def can_grant(actor: Actor, role: Role) -> bool:
    return manages_all_users(actor) or role in AGENCY_GRANTABLE


def can_change_account(actor: Actor, roles: Iterable[str]) -> bool:
    """Agency admins change their agency's staff, not the CoC's administrators: an account that
    holds (``roles``: all its current roles, any organization) a role an agency admin may not
    grant is changed by system admins only."""
    return manages_all_users(actor) or all(Role(r) in AGENCY_GRANTABLE for r in roles)


def can_change_account_itself(actor: Actor, membership_coc_ids: Iterable[uuid.UUID]) -> bool:
    """The account itself (its name, its activation) is changed only by a CoC that holds all
    of it: an account that also belongs to another CoC's organizations is that CoC's too, and
    deactivating it would lock it out there. Each CoC still manages its own memberships."""
    return all(coc_id == actor.coc_id for coc_id in membership_coc_ids)


def can_change_activation(actor: Actor) -> bool:
    """Activating or deactivating an account."""
    return manages_all_users(actor)


def can_change_coc(actor: Actor, coc_id: uuid.UUID) -> bool:
    """A CoC is changed by someone acting for one of its organizations (the route asks for
    ``cocs:manage``)."""
    return coc_id == actor.coc_id


def can_manage_projects_of(actor: Actor, organization_id: uuid.UUID) -> bool:
    if actor.can(Permission.PROJECTS_MANAGE):
        return True
    return actor.can(Permission.PROJECTS_MANAGE_OWN) and organization_id == actor.organization_id


def can_manage_ce_projects(actor: Actor) -> bool:
    """Creating a Coordinated Entry project (ProjectType 14), or changing one (its type
    included): system and CAS admins, on top of ``can_manage_projects_of``."""
    return actor.is_admin
