"""The named authorization rules of identity, CE and documents (no database). The rules of
clients (``clients.policy``) and of writing an enrollment have tests of their own."""

from __future__ import annotations

import uuid

import pytest

from app.permissions import Role
from app.services.ce.policy import can_enroll_into, can_set_hud_vash
from app.services.documents.policy import can_delete_document, can_use_document_check
from app.services.identity.policy import (
    can_change_account,
    can_change_activation,
    can_change_coc,
    can_grant,
    can_manage_ce_projects,
    can_manage_projects_of,
    can_manage_users,
    can_manage_users_of,
)
from tests.support.actors import COC, make_actor

OWN = uuid.uuid4()
OTHER = uuid.uuid4()
ADMINS = (Role.SYSTEM_ADMIN, Role.CAS_ADMIN)
STAFF = (Role.AGENCY_ADMIN, Role.CASE_MANAGER, Role.HOUSING_PROVIDER)


# --- identity -----------------------------------------------------------------------------------


def test_users_are_managed_by_system_and_agency_admins() -> None:
    assert can_manage_users(make_actor(Role.SYSTEM_ADMIN))
    assert can_manage_users(make_actor(Role.AGENCY_ADMIN))
    for role in (Role.CAS_ADMIN, Role.CASE_MANAGER, Role.HOUSING_PROVIDER):
        assert not can_manage_users(make_actor(role))


def test_agency_admins_manage_their_own_organization_and_grant_agency_roles_only() -> None:
    agency = make_actor(Role.AGENCY_ADMIN, OWN)
    assert can_manage_users_of(agency, OWN) and not can_manage_users_of(agency, OTHER)
    assert [r for r in Role if can_grant(agency, r)] == list(STAFF)
    system = make_actor(Role.SYSTEM_ADMIN, OWN)
    assert can_manage_users_of(system, OTHER)
    assert all(can_grant(system, r) for r in Role)


@pytest.mark.parametrize(
    ("role", "roles", "allowed"),
    [
        (Role.AGENCY_ADMIN, ["case_manager"], True),
        (Role.AGENCY_ADMIN, ["agency_admin", "housing_provider"], True),
        (Role.AGENCY_ADMIN, [], True),
        (Role.AGENCY_ADMIN, ["case_manager", "cas_admin"], False),
        (Role.AGENCY_ADMIN, ["system_admin"], False),
        (Role.SYSTEM_ADMIN, ["case_manager", "cas_admin"], True),
        (Role.SYSTEM_ADMIN, ["system_admin"], True),
    ],
)
def test_can_change_account(role: Role, roles: list[str], allowed: bool) -> None:
    assert can_change_account(make_actor(role), roles) is allowed


def test_only_system_admins_activate_or_deactivate_accounts() -> None:
    assert [r for r in Role if can_change_activation(make_actor(r))] == [Role.SYSTEM_ADMIN]


def test_a_coc_is_changed_by_someone_acting_in_it() -> None:
    admin = make_actor(Role.SYSTEM_ADMIN)
    assert can_change_coc(admin, COC)
    assert not can_change_coc(admin, uuid.uuid4())


def test_projects_are_managed_everywhere_by_system_admins_else_in_the_own_organization() -> None:
    assert can_manage_projects_of(make_actor(Role.SYSTEM_ADMIN, OWN), OTHER)
    for role in (Role.CAS_ADMIN, Role.AGENCY_ADMIN):
        actor = make_actor(role, OWN)
        assert can_manage_projects_of(actor, OWN) and not can_manage_projects_of(actor, OTHER)
    for role in (Role.CASE_MANAGER, Role.HOUSING_PROVIDER):
        assert not can_manage_projects_of(make_actor(role, OWN), OWN)


# --- Coordinated Entry --------------------------------------------------------------------------


def test_anyone_enrolls_into_coordinated_entry_others_into_their_own_projects() -> None:
    case_manager = make_actor(Role.CASE_MANAGER, OWN)
    assert can_enroll_into(case_manager, OTHER, is_coc_ce_project=True)
    assert can_enroll_into(case_manager, OWN, is_coc_ce_project=False)
    # Another organization's project, whatever its type (a ProjectType 14 that is not the
    # CoC's CE project included).
    assert not can_enroll_into(case_manager, OTHER, is_coc_ce_project=False)
    for role in ADMINS:
        assert can_enroll_into(make_actor(role, OWN), OTHER, is_coc_ce_project=False)


def test_coordinated_entry_projects_are_managed_by_system_and_cas_admins() -> None:
    for role in ADMINS:
        assert can_manage_ce_projects(make_actor(role, OWN))
    for role in (Role.AGENCY_ADMIN, Role.CASE_MANAGER, Role.HOUSING_PROVIDER):
        assert not can_manage_ce_projects(make_actor(role, OWN, kind="cas"))


def test_hud_vash_eligibility_is_set_by_veteran_services_organizations_only() -> None:
    assert can_set_hud_vash(make_actor(Role.CASE_MANAGER, veteran_services=True))
    assert not can_set_hud_vash(make_actor(Role.CASE_MANAGER))
    assert not can_set_hud_vash(make_actor(Role.SYSTEM_ADMIN))


# --- documents ----------------------------------------------------------------------------------


def test_document_check_is_for_the_cas_organization_and_admins() -> None:
    for role in ADMINS:
        assert can_use_document_check(make_actor(role))
    assert can_use_document_check(make_actor(Role.CASE_MANAGER, kind="cas"))
    for role in STAFF:
        assert not can_use_document_check(make_actor(role))


def test_documents_are_deleted_by_the_uploading_organization_or_an_admin() -> None:
    assert can_delete_document(make_actor(Role.CASE_MANAGER, OWN), OWN)
    assert not can_delete_document(make_actor(Role.CASE_MANAGER, OWN), OTHER)
    for role in ADMINS:
        assert can_delete_document(make_actor(role, OWN), OTHER)
