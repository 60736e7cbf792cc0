"""Demo and bootstrap data: a small CoC with one user per role."""

from __future__ import annotations

import re
import uuid
from dataclasses import dataclass, field
from datetime import date

from sqlalchemy import select
from sqlalchemy.ext.asyncio import AsyncSession

from app.errors import ValidationFailed
from app.models import Coc, Membership, Organization, Project, User
from app.permissions import Role
from app.security import check_password_rules, hash_password

DEMO_COC_CODE = "XX-501"
DEMO_TIME_ZONE = "America/Chicago"
_ID_NAMESPACE = uuid.UUID("0b7f4a5e-3c1d-4f2a-9e6b-8d5c4b3a2f10")


def demo_uuid(coc_code: str, kind: str, key: str) -> uuid.UUID:
    """The id of a seeded record: the same in every database seeded with this CoC code, so the
    contract's examples can name demo organizations, projects and users."""
    return uuid.uuid5(_ID_NAMESPACE, f"{coc_code}/{kind}/{key}")


@dataclass
class SeededCoc:
    coc: Coc
    orgs: dict[str, Organization] = field(default_factory=dict)
    projects: dict[str, Project] = field(default_factory=dict)
    users: dict[str, User] = field(default_factory=dict)
    created: bool = True


# (key, name, kind, flags)
_ORGS = [
    ("hmis_lead", "HMIS Lead Agency", "hmis_lead", {}),
    ("cas", "Coordinated Access System", "cas", {}),
    ("access_point_1", "Bridge Access Point", "agency", {"access_point": True}),
    (
        "access_point_2",
        "Harbor Outreach Center",
        "agency",
        {"access_point": True, "veteran_services": True},
    ),
    ("housing_1", "Hope Housing Partners", "agency", {"housing_provider": True}),
    (
        "housing_2",
        "Veterans Home Alliance",
        "agency",
        {"housing_provider": True, "veteran_services": True},
    ),
    ("vsp", "Safe Harbor DV Services", "agency", {"victim_service_provider": True}),
]

# (key, org key, name, ProjectType, Funder, referrals through CAS)
_PROJECTS = [
    ("ce", "cas", "CAS - Coordinated Entry", 14, 46, False),
    ("ap1_outreach", "access_point_1", "Bridge Street Outreach", 4, 11, False),
    ("ap2_shelter", "access_point_2", "Harbor Emergency Shelter", 0, 8, False),
    ("h1_psh", "housing_1", "Hope Permanent Supportive Housing", 3, 2, True),
    ("h1_rrh", "housing_1", "Hope Rapid Re-Housing", 13, 3, True),
    ("h2_vash", "housing_2", "Veterans Home HUD-VASH", 3, 20, True),
]

# (email local part, full name, [(org key, role)])
_USERS = [
    ("system_admin", "Sam Admin", [("hmis_lead", Role.SYSTEM_ADMIN)]),
    ("cas_admin", "Casey Coordinator", [("cas", Role.CAS_ADMIN)]),
    ("agency_admin", "Alex Agency", [("access_point_1", Role.AGENCY_ADMIN)]),
    (
        "case_manager",
        "Morgan Case",
        [("access_point_1", Role.CASE_MANAGER), ("cas", Role.CASE_MANAGER)],
    ),
    ("case_manager2", "Riley Case", [("access_point_2", Role.CASE_MANAGER)]),
    ("housing_provider", "Harper Housing", [("housing_1", Role.HOUSING_PROVIDER)]),
    ("vsp_case_manager", "Vic Service", [("vsp", Role.CASE_MANAGER)]),
]


async def seed_coc(
    session: AsyncSession,
    *,
    code: str,
    name: str,
    email_domain: str,
    password: str,
    password_hash: str | None = None,
    time_zone: str = DEMO_TIME_ZONE,
) -> SeededCoc:
    """Create the CoC with its organizations, projects and users; a no-op if it exists."""
    existing = await session.scalar(select(Coc).where(Coc.code == code))
    if existing is not None:
        return SeededCoc(coc=existing, created=False)
    coc = Coc(id=demo_uuid(code, "coc", code), code=code, name=name, time_zone=time_zone)
    session.add(coc)
    await session.flush()
    seeded = SeededCoc(coc=coc)
    for key, org_name, kind, flags in _ORGS:
        org = Organization(
            id=demo_uuid(code, "organization", key),
            coc_id=coc.id,
            name=org_name,
            kind=kind,
            **flags,
        )
        session.add(org)
        seeded.orgs[key] = org
    await session.flush()
    for key, org_key, project_name, ptype, funder, via_cas in _PROJECTS:
        project = Project(
            id=demo_uuid(code, "project", key),
            organization_id=seeded.orgs[org_key].id,
            name=project_name,
            project_type=ptype,
            funding_source=funder,
            referrals_through_cas=via_cas,
            operating_start_date=date(2020, 1, 1),
        )
        session.add(project)
        seeded.projects[key] = project
    hashed = password_hash or await hash_password(password)
    for local, full_name, roles in _USERS:
        user = User(
            id=demo_uuid(code, "user", local),
            email=f"{local}@{email_domain}",
            full_name=full_name,
            password_hash=hashed,
        )
        session.add(user)
        seeded.users[local] = user
        await session.flush()
        for org_key, role in roles:
            session.add(
                Membership(
                    user_id=user.id, organization_id=seeded.orgs[org_key].id, role=role.value
                )
            )
    await session.flush()
    return seeded


async def seed_demo(session: AsyncSession, password: str) -> SeededCoc:
    return await seed_coc(
        session,
        code=DEMO_COC_CODE,
        name="Demo Continuum of Care",
        email_domain="demo.example",
        password=password,
    )


DEMO_LOGINS = [f"{local}@demo.example" for local, _, _ in _USERS]


async def create_admin(
    session: AsyncSession, *, email_address: str, password: str, coc_code: str, coc_name: str
) -> User:
    """Bootstrap a system admin (creating the CoC and its HMIS lead organization if needed)."""
    check_password_rules(password, email_address)
    if not re.fullmatch(r"[A-Z]{2}-[0-9]{3}", coc_code):
        raise ValidationFailed("The CoC code must look like XX-999.", field="coc_code")
    coc = await session.scalar(select(Coc).where(Coc.code == coc_code))
    if coc is None:
        coc = Coc(code=coc_code, name=coc_name)
        session.add(coc)
        await session.flush()
    lead = await session.scalar(
        select(Organization)
        .where(Organization.coc_id == coc.id, Organization.kind == "hmis_lead")
        .limit(1)
    )
    if lead is None:
        lead = Organization(coc_id=coc.id, name=f"{coc.name} HMIS Lead", kind="hmis_lead")
        session.add(lead)
        await session.flush()
    user = await session.scalar(select(User).where(User.email == email_address.lower()))
    if user is None:
        user = User(email=email_address.lower(), full_name="System Administrator")
        session.add(user)
    user.password_hash = await hash_password(password)
    user.is_active = True
    await session.flush()
    has = await session.scalar(
        select(Membership.id).where(
            Membership.user_id == user.id, Membership.organization_id == lead.id
        )
    )
    if has is None:
        session.add(
            Membership(user_id=user.id, organization_id=lead.id, role=Role.SYSTEM_ADMIN.value)
        )
    await session.flush()
    return user
