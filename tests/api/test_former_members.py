"""Accounts whose last membership was removed, and the agency-admin rule for administrators'
accounts (issue 8 item 7)."""

from __future__ import annotations

import importlib.util
import uuid
from types import ModuleType

import httpx
from sqlalchemy import func, select, text
from sqlalchemy.ext.asyncio import AsyncSession

from app.models import AuditEvent, EmailMessage, Membership, User
from app.models.membership_history import MembershipHistory
from tests.conftest import ROOT, Auth, World, assert_problem

USERS = "/api/v1/users"


async def _membership(db: AsyncSession, user_id: uuid.UUID, org_id: uuid.UUID) -> Membership:
    m = await db.scalar(
        select(Membership).where(
            Membership.user_id == user_id, Membership.organization_id == org_id
        )
    )
    assert m is not None
    return m


async def _history(db: AsyncSession, user_id: uuid.UUID) -> list[MembershipHistory]:
    return list(
        await db.scalars(select(MembershipHistory).where(MembershipHistory.user_id == user_id))
    )


async def test_system_admin_still_sees_and_re_adds_a_user_without_memberships(
    client: httpx.AsyncClient, auth: Auth, db: AsyncSession, world: World
) -> None:
    admin = await auth.headers("system_admin")
    uid = world.user_id("case_manager2")
    ap2 = world.org_id("access_point_2")
    membership = await _membership(db, uid, ap2)
    r = await client.delete(f"{USERS}/{uid}/memberships/{membership.id}", headers=admin)
    assert r.status_code == 204, r.text

    [former] = await _history(db, uid)
    assert (former.organization_id, former.role) == (ap2, "case_manager")
    assert former.removed_by_user_id == world.user_id("system_admin")
    assert former.member_since == membership.created_at

    r = await client.get(f"{USERS}/{uid}", headers=admin)
    assert r.status_code == 200, r.text
    body = r.json()
    assert body["memberships"] == []
    [shown] = body["former_memberships"]
    assert shown["organization_id"] == str(ap2) and shown["role"] == "case_manager"
    assert shown["organization_name"] and shown["removed_at"]
    listed = await client.get(USERS, headers=admin, params={"limit": 200})
    assert "case_manager2@demo.example" in {u["email"] for u in listed.json()["items"]}

    # Not to another CoC, nor to the admin of an agency the user never belonged to.
    assert_problem(
        await client.get(f"{USERS}/{uid}", headers=await auth.headers("system_admin", coc="other")),
        404,
    )
    assert_problem(
        await client.get(f"{USERS}/{uid}", headers=await auth.headers("agency_admin")), 404
    )

    r = await client.post(
        f"{USERS}/{uid}/memberships",
        headers=admin,
        json={"organization_id": str(ap2), "role": "case_manager"},
    )
    assert r.status_code == 201, r.text
    assert [m["organization_id"] for m in r.json()["memberships"]] == [str(ap2)]
    assert len(r.json()["former_memberships"]) == 1  # the history stays


async def test_agency_admin_sees_and_re_invites_staff_who_left(
    client: httpx.AsyncClient, auth: Auth, db: AsyncSession, world: World
) -> None:
    agency = await auth.headers("agency_admin")
    ap1 = str(world.org_id("access_point_1"))
    invite = {
        "email": "leaver@demo.example",
        "full_name": "Lee Leaver",
        "organization_id": ap1,
        "role": "case_manager",
    }
    r = await client.post(USERS, headers=agency, json=invite)
    assert r.status_code == 201, r.text
    uid = r.json()["id"]
    membership_id = r.json()["memberships"][0]["id"]
    r = await client.delete(f"{USERS}/{uid}/memberships/{membership_id}", headers=agency)
    assert r.status_code == 204, r.text

    r = await client.get(f"{USERS}/{uid}", headers=agency)
    assert r.status_code == 200, r.text
    assert r.json()["memberships"] == [] and r.json()["invitation_pending"] is True
    listed = await client.get(USERS, headers=agency)
    assert "leaver@demo.example" in {u["email"] for u in listed.json()["items"]}

    # Inviting the same address again gives the account its membership back (not a 409) and
    # sends a fresh invitation, since no password was set yet.
    r = await client.post(USERS, headers=agency, json=invite | {"email": "Leaver@demo.example"})
    assert r.status_code == 201, r.text
    assert r.json()["id"] == uid
    assert [(m["organization_id"], m["role"]) for m in r.json()["memberships"]] == [
        (ap1, "case_manager")
    ]
    invitations = await db.scalar(
        select(func.count())
        .select_from(EmailMessage)
        .where(EmailMessage.to_address == "leaver@demo.example")
    )
    assert invitations == 2
    actions = list(
        await db.scalars(
            select(AuditEvent.action)
            .where(AuditEvent.entity_id == uuid.UUID(uid))
            .order_by(AuditEvent.occurred_at)
        )
    )
    assert actions == ["user.invite", "user.reinvite"]

    # An address whose account still belongs somewhere is still a conflict.
    r = await client.post(
        USERS, headers=agency, json=invite | {"email": "case_manager2@demo.example"}
    )
    assert_problem(r, 409)


async def test_staff_still_belonging_elsewhere_are_managed_there(
    client: httpx.AsyncClient, auth: Auth, db: AsyncSession, world: World
) -> None:
    agency = await auth.headers("agency_admin")
    uid = world.user_id("case_manager")  # access point 1 and the CAS organization
    membership = await _membership(db, uid, world.org_id("access_point_1"))
    r = await client.delete(f"{USERS}/{uid}/memberships/{membership.id}", headers=agency)
    assert r.status_code == 204, r.text
    assert len(await _history(db, uid)) == 1
    assert_problem(await client.get(f"{USERS}/{uid}", headers=agency), 404)
    r = await client.get(f"{USERS}/{uid}", headers=await auth.headers("system_admin"))
    assert [m["organization_id"] for m in r.json()["memberships"]] == [str(world.org_id("cas"))]
    assert [m["organization_id"] for m in r.json()["former_memberships"]] == [
        str(world.org_id("access_point_1"))
    ]


async def test_agency_admin_may_not_remove_memberships_of_an_administrator(
    client: httpx.AsyncClient, auth: Auth, db: AsyncSession, world: World
) -> None:
    target = world.user_id("cas_admin")
    extra = Membership(
        user_id=target, organization_id=world.org_id("access_point_1"), role="case_manager"
    )
    db.add(extra)
    await db.flush()
    agency = await auth.headers("agency_admin")
    assert (await client.get(f"{USERS}/{target}", headers=agency)).status_code == 200

    r = await client.delete(f"{USERS}/{target}/memberships/{extra.id}", headers=agency)
    body = assert_problem(r, 403, "forbidden")
    assert "administrators" in body["detail"]
    r = await client.patch(f"{USERS}/{target}", headers=agency, json={"full_name": "Mallory"})
    assert_problem(r, 403, "forbidden")  # the same rule on every path
    r = await client.post(
        f"{USERS}/{target}/memberships",
        headers=agency,
        json={"organization_id": str(world.org_id("access_point_1")), "role": "agency_admin"},
    )
    assert_problem(r, 403, "forbidden")

    assert await db.get(Membership, extra.id, populate_existing=True) is not None
    assert await _history(db, target) == []
    deletes = await db.scalar(
        select(func.count())
        .select_from(AuditEvent)
        .where(AuditEvent.action == "membership.delete", AuditEvent.entity_id == extra.id)
    )
    assert deletes == 0

    r = await client.delete(
        f"{USERS}/{target}/memberships/{extra.id}", headers=await auth.headers("system_admin")
    )
    assert r.status_code == 204, r.text


def _migration() -> ModuleType:
    path = ROOT / "migrations" / "versions" / "0007_membership_history.py"
    spec = importlib.util.spec_from_file_location("migration_0007", path)
    assert spec is not None and spec.loader is not None
    module = importlib.util.module_from_spec(spec)
    spec.loader.exec_module(module)
    return module


async def test_memberships_removed_before_the_history_are_recovered_from_the_audit_trail(
    client: httpx.AsyncClient, auth: Auth, db: AsyncSession, world: World
) -> None:
    """The migration's back-fill: an account that had already lost its last membership (only a
    ``membership.delete`` audit event remains) becomes visible to its admins again."""
    ap1 = world.org_id("access_point_1")
    orphan = User(email="orphan@demo.example", full_name="Olive Orphan", password_hash=None)
    db.add(orphan)
    await db.flush()
    old_id = uuid.uuid4()
    db.add(
        AuditEvent(
            action="membership.delete",
            entity_type="membership",
            entity_id=old_id,
            actor_user_id=world.user_id("agency_admin"),
            coc_id=world.home.coc.id,
            changes={
                "user_id": str(orphan.id),
                "organization_id": str(ap1),
                "role": "case_manager",
            },
        )
    )
    # Events that do not describe a removable membership are left alone.
    db.add(
        AuditEvent(
            action="membership.delete",
            entity_type="membership",
            entity_id=uuid.uuid4(),
            changes={"user_id": "not-a-uuid", "organization_id": str(ap1), "role": "case_manager"},
        )
    )
    await db.flush()
    agency = await auth.headers("agency_admin")
    assert_problem(await client.get(f"{USERS}/{orphan.id}", headers=agency), 404)

    await db.execute(text(_migration().BACKFILL))
    await db.execute(text(_migration().BACKFILL))  # safe to run again

    [former] = await _history(db, orphan.id)
    assert (former.id, former.organization_id, former.role) == (old_id, ap1, "case_manager")
    assert former.member_since is None
    assert former.removed_by_user_id == world.user_id("agency_admin")
    r = await client.get(f"{USERS}/{orphan.id}", headers=agency)
    assert r.status_code == 200, r.text
    [shown] = r.json()["former_memberships"]
    assert shown["member_since"] is None and shown["organization_id"] == str(ap1)


async def test_an_account_that_belongs_to_another_coc_is_managed_there_only(
    client: httpx.AsyncClient, auth: Auth, db: AsyncSession, world: World
) -> None:
    """A former member of this CoC who is now a member (here an administrator) of another CoC
    only: this CoC's admins neither see nor change the account, and inviting its address does
    not take it over. Each request reads only its own CoC's rows; an account's memberships are
    judged in every CoC."""
    target = world.user_id("system_admin", "other")
    db.add(
        MembershipHistory(
            id=uuid.uuid4(),
            user_id=target,
            organization_id=world.org_id("access_point_1"),
            role="case_manager",
        )
    )
    await db.flush()
    for who in ("agency_admin", "system_admin"):
        headers = await auth.headers(who)
        assert_problem(await client.get(f"{USERS}/{target}", headers=headers), 404)
        r = await client.patch(f"{USERS}/{target}", headers=headers, json={"full_name": "Mallory"})
        assert_problem(r, 404)
    email = world.other.users["system_admin"].email
    r = await client.post(
        USERS,
        headers=await auth.headers("agency_admin"),
        json={
            "email": email,
            "full_name": "Mallory",
            "organization_id": str(world.org_id("access_point_1")),
            "role": "case_manager",
        },
    )
    assert r.status_code in (409, 422), r.text
    memberships = (
        await db.scalars(select(Membership.organization_id).where(Membership.user_id == target))
    ).all()
    assert world.org_id("access_point_1") not in memberships


async def test_an_agency_admin_may_not_change_staff_who_administer_another_coc(
    client: httpx.AsyncClient, auth: Auth, db: AsyncSession, world: World
) -> None:
    """A member of this CoC's agency who is a system admin of another CoC: the agency admin
    sees only this CoC's membership, but the account's roles are judged in every CoC, so the
    agency admin changes nothing of it. This CoC's system admin changes this CoC's memberships,
    not the account itself (its name, its activation): it belongs to the other CoC too."""
    target = world.user_id("case_manager")
    ap1, elsewhere = world.org_id("access_point_1"), world.org_id("hmis_lead", "other")
    db.add(Membership(user_id=target, organization_id=elsewhere, role="system_admin"))
    await db.flush()
    own = await _membership(db, target, ap1)
    agency = await auth.headers("agency_admin")
    r = await client.get(f"{USERS}/{target}", headers=agency)
    assert r.status_code == 200, r.text
    shown = {m["organization_id"] for m in r.json()["memberships"]}
    assert shown == {str(ap1), str(world.org_id("cas"))}
    refused = [
        await client.patch(f"{USERS}/{target}", headers=agency, json={"full_name": "Mallory"}),
        await client.post(f"{USERS}/{target}/invitation", headers=agency),
        await client.post(
            f"{USERS}/{target}/memberships",
            headers=agency,
            json={"organization_id": str(ap1), "role": "agency_admin"},
        ),
        await client.delete(f"{USERS}/{target}/memberships/{own.id}", headers=agency),
    ]
    for r in refused:
        assert_problem(r, 403)
    user = await db.get(User, target, populate_existing=True)
    assert user is not None and user.full_name != "Mallory"
    assert await _membership(db, target, ap1) is not None
    admin = await auth.headers("system_admin")
    for change in ({"full_name": "Morgan Case-Smith"}, {"is_active": False}):
        r = await client.patch(f"{USERS}/{target}", headers=admin, json=change)
        assert "another Continuum of Care" in assert_problem(r, 403)["detail"]
    user = await db.get(User, target, populate_existing=True)
    assert user is not None and user.is_active and user.full_name != "Morgan Case-Smith"
    r = await client.delete(f"{USERS}/{target}/memberships/{own.id}", headers=admin)
    assert r.status_code == 204, r.text
