"""Who may export and import HMIS CSV, and whose 4.11 answers an export holds."""

from __future__ import annotations

import uuid

from app.permissions import Role
from app.services.hmis.policy import (
    domestic_violence_organization,
    exports_all_projects,
    may_export_project,
    may_import,
    sees_export,
    sees_import,
)
from tests.support.actors import COC, make_actor


def test_admins_export_every_project_agency_admins_their_own() -> None:
    own = uuid.uuid4()
    for role in (Role.SYSTEM_ADMIN, Role.CAS_ADMIN):
        admin = make_actor(role)
        assert exports_all_projects(admin) and may_export_project(admin, uuid.uuid4())
    agency = make_actor(Role.AGENCY_ADMIN, own)
    assert not exports_all_projects(agency)
    assert may_export_project(agency, own) and not may_export_project(agency, uuid.uuid4())
    for role in (Role.CASE_MANAGER, Role.HOUSING_PROVIDER):
        assert not may_export_project(make_actor(role, own), own)


def test_export_jobs_are_seen_in_their_coc_by_admins_or_the_requesting_organization() -> None:
    own = uuid.uuid4()
    assert sees_export(make_actor(Role.CAS_ADMIN), COC, uuid.uuid4())
    assert not sees_export(make_actor(Role.CAS_ADMIN), uuid.uuid4(), uuid.uuid4())
    agency = make_actor(Role.AGENCY_ADMIN, own)
    assert sees_export(agency, COC, own) and not sees_export(agency, COC, uuid.uuid4())


def test_only_system_admins_import() -> None:
    assert may_import(make_actor(Role.SYSTEM_ADMIN))
    assert sees_import(make_actor(Role.SYSTEM_ADMIN), COC)
    assert not sees_import(make_actor(Role.SYSTEM_ADMIN), uuid.uuid4())
    for role in (Role.CAS_ADMIN, Role.AGENCY_ADMIN, Role.CASE_MANAGER, Role.HOUSING_PROVIDER):
        assert not may_import(make_actor(role))


def test_an_export_holds_the_4_11_answers_its_requester_may_read() -> None:
    assert domestic_violence_organization(make_actor(Role.SYSTEM_ADMIN)) is None
    assert domestic_violence_organization(make_actor(Role.CAS_ADMIN)) is None
    cas_member = make_actor(Role.AGENCY_ADMIN, kind="cas")
    assert domestic_violence_organization(cas_member) is None
    own = uuid.uuid4()
    assert domestic_violence_organization(make_actor(Role.AGENCY_ADMIN, own)) == own
