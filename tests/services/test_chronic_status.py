"""``chronic_status`` over records arranged in PostgreSQL: enrollments and their 3.917 answers,
current living situations, barriers, exits and Document Check items, in five queries."""

from __future__ import annotations

import uuid
from collections.abc import Iterator
from contextlib import contextmanager
from datetime import UTC, date, datetime, timedelta
from typing import Any

import pytest
from sqlalchemy import event
from sqlalchemy.ext.asyncio import AsyncSession

from app.errors import NotFound
from app.models import Client, Household
from app.models.ce_records import CurrentLivingSituation, Disability
from app.models.documents import DocumentCheck
from app.models.enrollments import Enrollment, Exit
from app.models.organizations import Project
from app.reference.living_situations import LEAVE_SITUATION_ASKED
from app.services.queue.chronic import (
    ChronicResult,
    ChronicStatus,
    chronic_status,
    chronic_statuses,
)
from tests.conftest import World

TODAY = date(2026, 6, 15)
ENTRY = date(2026, 3, 1)


class Arrange:
    """Rows for one client, written straight to the database."""

    @classmethod
    async def new(cls, db: AsyncSession, world: World, *, veteran: bool = False) -> Arrange:
        a = cls(db, world, veteran=veteran)
        await a.add(a.client)
        await a.add(a.household)
        return a

    async def add(self, row: Any) -> None:
        self.db.add(row)
        await self.db.flush()

    def __init__(self, db: AsyncSession, world: World, *, veteran: bool = False) -> None:
        self.db, self.world = db, world
        self.org = world.org_id("cas")
        self.client = Client(
            id=uuid.uuid4(),
            coc_id=world.home.coc.id,
            created_by_organization_id=self.org,
            first_name="Chron",
            last_name="Ic",
            name_data_quality=1,
            veteran_status=1 if veteran else 0,
        )
        self.household = Household(
            id=uuid.uuid4(), coc_id=world.home.coc.id, created_by_organization_id=self.org
        )

    @property
    def id(self) -> uuid.UUID:
        return self.client.id

    async def enrollment(
        self, project: uuid.UUID, entry: date, exit_: date | None = None, **fields: Any
    ) -> Enrollment:
        ce = project == self.world.project_id("ce")
        e = Enrollment(
            id=uuid.uuid4(),
            coc_id=self.world.home.coc.id,
            client_id=self.id,
            project_id=project,
            is_coordinated_entry=ce,
            household_id=self.household.id,
            relationship_to_hoh=1,
            entry_date=entry,
            enrollment_coc="XX-501",
            created_by_organization_id=self.org,
            exit_date=exit_,
            **fields,
        )
        e.household_group_id = e.id
        await self.add(e)
        return e

    async def exit(self, e: Enrollment, destination: int) -> None:
        assert e.exit_date is not None
        await self.add(
            Exit(
                enrollment_id=e.id,
                client_id=self.id,
                exit_date=e.exit_date,
                destination=destination,
                exit_reason="no_longer_needs_permanent_housing",
                created_by_organization_id=self.org,
            )
        )

    async def cls(self, e: Enrollment, on: date, code: int) -> None:
        await self.add(
            CurrentLivingSituation(
                enrollment_id=e.id,
                client_id=self.id,
                created_by_organization_id=self.org,
                information_date=on,
                current_living_situation=code,
                # HUD 4.12.B is asked for these situations; "no" keeps the follow-ups empty.
                leave_situation_14_days=0 if code in LEAVE_SITUATION_ASKED else None,
            )
        )

    async def barrier(
        self, e: Enrollment, kind: int, response: int, indefinite: int | None
    ) -> None:
        await self.add(
            Disability(
                enrollment_id=e.id,
                client_id=self.id,
                created_by_organization_id=self.org,
                information_date=e.entry_date,
                disability_type=kind,
                disability_response=response,
                indefinite_and_impairs=indefinite,
                data_collection_stage=1,
            )
        )

    async def document(
        self,
        item: str,
        document_type: str,
        period: tuple[date, date] | None = None,
        **fields: Any,
    ) -> DocumentCheck:
        category = "disability" if item == "disability" else "homeless"
        file = (
            {
                "storage_key": uuid.uuid4().hex,
                "content_type": "application/pdf",
                "size_bytes": 10,
                "sha256": "0" * 64,
                "comments": "Clinic - letter - 2026",
            }
            if category == "disability"
            else {}
        )
        doc = DocumentCheck(
            id=uuid.uuid4(),
            coc_id=self.world.home.coc.id,
            client_id=self.id,
            category=category,
            item=item,
            document_type=document_type,
            document_type_label=document_type,
            verification_date=ENTRY,
            uploaded_by_organization_id=self.org,
            period_start=period[0] if period else None,
            period_end=period[1] if period else None,
            **file,
            **fields,
        )
        await self.add(doc)
        return doc

    async def chronic_intake(self, *, june: bool = True, **fields: Any) -> Enrollment:
        """A CE enrollment: street since December 2024 (455 days before the entry), disabled,
        a CLS on the street at entry and (``june``) on 1 June."""
        answers: dict[str, Any] = {
            "disabling_condition": 1,
            "living_situation": 116,
            "length_of_stay": 5,
            "date_to_street_essh": date(2024, 12, 1),
            "times_homeless_past_three_years": 1,
            "months_homeless_past_three_years": 113,
        }
        answers.update(fields)
        e = await self.enrollment(self.world.project_id("ce"), ENTRY, **answers)
        await self.cls(e, ENTRY, 116)
        if june:
            await self.cls(e, date(2026, 6, 1), 116)
        return e

    async def documented_year(self) -> None:
        """A current disability letter and June 2025 to May 2026 documented."""
        await self.document("disability", "disability_letter", expiration_date=date(2027, 1, 1))
        await self.document(
            "homeless", "third_party_letter", (date(2025, 6, 1), date(2025, 12, 31))
        )
        await self.document(
            "housing_status", "shelter_letter", (date(2026, 1, 10), date(2026, 5, 20))
        )
        await self.document("identity", "photo_id")
        await self.document("homeless", "self_certification")  # no period: not counted

    async def status(self) -> ChronicStatus:
        await self.db.flush()
        return await chronic_status(self.db, self.id, TODAY)


@contextmanager
def count_queries(db: AsyncSession) -> Iterator[list[str]]:
    statements: list[str] = []
    engine = db.bind.sync_engine  # type: ignore[union-attr]

    def before(*args: Any) -> None:
        statements.append(args[2])

    event.listen(engine, "before_cursor_execute", before)
    try:
        yield statements
    finally:
        event.remove(engine, "before_cursor_execute", before)


NO_DOCUMENTS = ChronicResult(
    False, 0, 0, ("disability_verification", "homelessness_documentation", "homeless_months:12")
)


async def test_chronic_from_the_3917_answers_not_yet_documented(
    db: AsyncSession, world: World
) -> None:
    a = await Arrange.new(db, world)
    await a.chronic_intake()
    status = await a.status()
    # December 2024 to March 2026 from the answers and the entry's CLS, and June's CLS.
    assert status.recorded == ChronicResult(True, 17, 1, ())
    assert status.documented == NO_DOCUMENTS


async def test_documented_twelve_months(db: AsyncSession, world: World) -> None:
    a = await Arrange.new(db, world)
    await a.chronic_intake()
    await a.documented_year()
    # A deleted document counts for nothing.
    await a.document(
        "homeless",
        "shelter_letter",
        (date(2023, 7, 1), date(2025, 5, 31)),
        deleted_at=datetime(2026, 6, 1, tzinfo=UTC),
    )
    status = await a.status()
    assert status.documented == ChronicResult(True, 12, 1, ())


async def test_a_recorded_stay_in_transitional_housing_breaks_the_documented_year(
    db: AsyncSession, world: World
) -> None:
    a = await Arrange.new(db, world)
    await a.chronic_intake()
    await a.documented_year()
    th = Project(
        organization_id=world.org_id("housing_1"),
        name="Bridge Transitional Housing",
        project_type=2,
        funding_source=5,
        operating_start_date=date(2020, 1, 1),
    )
    db.add(th)
    await db.flush()
    stay = await a.enrollment(th.id, date(2025, 9, 10), date(2025, 9, 25))  # 15 nights
    await a.exit(stay, 116)
    status = await a.status()
    # September still has documented days (1-9, 25-30), but the episode now starts 25 September.
    assert status.documented == ChronicResult(
        False, 12, 2, ("document_periods", "continuity_or_episodes")
    )
    # The answers at entry still hold: the break came before the entry.
    assert status.recorded.chronic


async def test_a_veteran_in_va_funded_transitional_housing_stays_chronic(
    db: AsyncSession, world: World
) -> None:
    a = await Arrange.new(db, world, veteran=True)
    await a.chronic_intake()
    await a.documented_year()
    gpd = Project(
        organization_id=world.org_id("housing_2"),
        name="Veterans Bridge Housing (GPD)",
        project_type=2,
        funding_source=37,
        operating_start_date=date(2020, 1, 1),
    )
    db.add(gpd)
    await db.flush()
    await a.enrollment(gpd.id, date(2025, 9, 10), date(2025, 9, 25))
    status = await a.status()
    assert status.documented == ChronicResult(True, 12, 1, ())


async def test_not_homeless_now_and_no_disabling_condition(db: AsyncSession, world: World) -> None:
    a = await Arrange.new(db, world)
    e = await a.chronic_intake(disabling_condition=99)
    await a.cls(e, date(2026, 6, 10), 336)  # staying in a friend's room since
    status = await a.status()
    assert status.recorded == ChronicResult(
        False, 17, 1, ("disabling_condition", "current_living_situation")
    )


async def test_a_disabling_barrier_counts_without_3_08(db: AsyncSession, world: World) -> None:
    a = await Arrange.new(db, world)
    e = await a.chronic_intake(disabling_condition=99)
    await a.barrier(e, 9, 1, 0)  # mental health, not indefinite: not disabling
    assert (await a.status()).recorded.missing == ("disabling_condition",)
    await a.barrier(e, 6, 1, None)  # developmental: disabling when present
    assert (await a.status()).recorded.chronic


@pytest.mark.parametrize(("days_in", "chronic"), [(89, True), (90, False)])
async def test_in_jail_after_the_street(
    db: AsyncSession, world: World, days_in: int, chronic: bool
) -> None:
    a = await Arrange.new(db, world)
    e = await a.chronic_intake(june=False)  # on the street at entry (1 March)
    await a.cls(e, TODAY - timedelta(days=days_in), 207)
    status = await a.status()
    assert status.recorded.chronic is chronic
    if not chronic:
        assert status.recorded.missing == ("current_living_situation",)


async def test_expired_disability_verification_is_missing(db: AsyncSession, world: World) -> None:
    a = await Arrange.new(db, world)
    await a.chronic_intake()
    await a.document("disability", "ssi_awards_letter", expiration_date=date(2026, 6, 14))
    await a.document("homeless", "third_party_letter", (date(2025, 6, 1), date(2026, 5, 31)))
    status = await a.status()
    assert status.documented == ChronicResult(False, 12, 1, ("disability_verification",))


async def test_missing_3917_answers_are_named(db: AsyncSession, world: World) -> None:
    a = await Arrange.new(db, world)
    e = await a.enrollment(
        world.project_id("ce"),
        ENTRY,
        disabling_condition=1,
        living_situation=116,
        length_of_stay=2,
        date_to_street_essh=date(2026, 2, 1),
        times_homeless_past_three_years=8,
        months_homeless_past_three_years=99,
    )
    await a.cls(e, ENTRY, 116)
    status = await a.status()
    assert status.recorded == ChronicResult(
        False, 2, 1, ("times_homeless_past_three_years", "homeless_months:10")
    )


async def test_shelter_stays_and_exits_make_episodes(db: AsyncSession, world: World) -> None:
    """Three shelter stays of 3 months, each followed by two weeks in rapid re-housing, and
    the current one since 15 March; the CE enrollment's answers decide nothing."""
    a = await Arrange.new(db, world)
    shelter = world.project_id("ap2_shelter")
    for first, exited in [
        (date(2023, 7, 1), date(2023, 10, 1)),
        (date(2024, 3, 1), date(2024, 6, 1)),
        (date(2025, 1, 1), date(2025, 4, 1)),
    ]:
        await a.enrollment(shelter, first, exited)
        housed = await a.enrollment(
            world.project_id("h1_rrh"), exited, exited + timedelta(days=14), move_in_date=exited
        )
        await a.exit(housed, 410)
    await a.enrollment(shelter, date(2026, 3, 15))
    ce = await a.enrollment(
        world.project_id("ce"),
        date(2026, 4, 1),
        disabling_condition=1,
        living_situation=101,
        length_of_stay=2,
    )
    await a.cls(ce, date(2026, 4, 1), 101)
    status = await a.status()
    # 3 + 3 + 3 months, and March to June 2026: four episodes, 13 months.
    assert status.recorded == ChronicResult(True, 13, 4, ())


async def test_no_enrollment_at_all(db: AsyncSession, world: World) -> None:
    a = await Arrange.new(db, world)
    status = await a.status()
    assert status.recorded == ChronicResult(
        False,
        0,
        0,
        (
            "disabling_condition",
            "current_living_situation",
            "prior_living_situation",
            "homeless_months:12",
        ),
    )
    assert status.documented == ChronicResult(
        False,
        0,
        0,
        (
            "disability_verification",
            "current_living_situation",
            "homelessness_documentation",
            "homeless_months:12",
        ),
    )


async def test_unknown_client(db: AsyncSession) -> None:
    with pytest.raises(NotFound):
        await chronic_status(db, uuid.uuid4(), TODAY)


async def test_five_queries_whatever_the_history(db: AsyncSession, world: World) -> None:
    a = await Arrange.new(db, world)
    e = await a.chronic_intake()
    await db.flush()
    with count_queries(db) as small:
        await chronic_status(db, a.id, TODAY)
    for n in range(40):
        await a.cls(e, ENTRY + timedelta(days=n), 116)
        await a.document("homeless", "hmis_record", (ENTRY, ENTRY + timedelta(days=n)))
        await a.barrier(e, 5 + n % 5, 0, None)
    shelter = world.project_id("ap2_shelter")
    for n in range(10):
        first = date(2024, 1, 1) + timedelta(days=30 * n)
        await a.enrollment(shelter, first, first + timedelta(days=20), living_situation=116)
    await db.flush()
    with count_queries(db) as large:
        await chronic_status(db, a.id, TODAY)
    assert len(small) == len(large) == 5, large


async def test_many_clients_in_the_same_five_queries(db: AsyncSession, world: World) -> None:
    people = []
    for n in range(6):
        a = await Arrange.new(db, world)
        await a.chronic_intake()
        if n % 2:
            await a.documented_year()
        people.append(a.id)
    with count_queries(db) as statements:
        found = await chronic_statuses(db, [*people, uuid.uuid4()], TODAY)
    assert len(statements) == 5
    assert set(found) == set(people)
    for n, person in enumerate(people):
        assert found[person] == await chronic_status(db, person, TODAY)
        assert found[person].recorded.chronic
        assert found[person].documented.chronic is bool(n % 2)
    assert await chronic_statuses(db, [], TODAY) == {}
