"""The household facts of a queue entry (pure rules) and the nights homeless counted."""

from __future__ import annotations

import uuid
from datetime import UTC, date, datetime

from app.reference.chronic import Stay, StayKind, homeless_history
from app.reference.queue import (
    DocumentStatus,
    HouseholdType,
    Member,
    document_status,
    household_facts,
)

TODAY = date(2026, 6, 15)


def _m(age: int | None, *, head: bool = False, rel: int = 1, veteran: int = 0) -> Member:
    dob = None if age is None else date(TODAY.year - age, 1, 1)
    return Member(uuid.uuid4(), head, rel if not head else 1, dob, veteran)


def test_a_single_adult() -> None:
    facts = household_facts([_m(40, head=True)], TODAY)
    assert (facts.size, facts.household_type) == (1, HouseholdType.ADULTS_ONLY)
    assert not (facts.veteran or facts.family_with_children or facts.youth)


def test_a_family_with_children_counts_the_head_and_adults_only() -> None:
    head, partner, child = _m(35, head=True), _m(33, rel=3), _m(4, rel=2)
    facts = household_facts([head, partner, child], TODAY)
    assert facts.household_type == HouseholdType.ADULTS_AND_CHILDREN
    assert facts.family_with_children and facts.size == 3
    assert facts.counted == (head.client_id, partner.client_id)


def test_a_veteran_is_an_adult_veteran() -> None:
    assert household_facts([_m(40, head=True), _m(30, rel=3, veteran=1)], TODAY).veteran
    # A child's answer does not make the household a veteran household.
    assert not household_facts([_m(40, head=True), _m(10, rel=2, veteran=1)], TODAY).veteran


def test_youth_headed_households() -> None:
    assert household_facts([_m(18, head=True)], TODAY).youth
    assert household_facts([_m(24, head=True), _m(1, rel=2)], TODAY).youth
    assert not household_facts([_m(25, head=True)], TODAY).youth
    assert not household_facts([_m(17, head=True)], TODAY).youth
    # Anyone 25 or older in the household: not youth-headed.
    assert not household_facts([_m(22, head=True), _m(26, rel=3)], TODAY).youth


def test_ages_on_the_day_of_the_birthday() -> None:
    head = Member(uuid.uuid4(), True, 1, date(2001, 6, 15), 0)  # 25 today
    assert not household_facts([head], TODAY).youth
    head = Member(uuid.uuid4(), True, 1, date(2001, 6, 16), 0)  # 24 until tomorrow
    assert household_facts([head], TODAY).youth


def test_unknown_ages() -> None:
    facts = household_facts([_m(None, head=True)], TODAY)
    assert facts.household_type == HouseholdType.UNKNOWN
    # The head always counts; a member without a birth date counts unless a child of the head.
    head, spouse, child = _m(None, head=True), _m(None, rel=3), _m(None, rel=2)
    assert household_facts([head, spouse, child], TODAY).counted == (
        head.client_id,
        spouse.client_id,
    )
    known = household_facts([_m(40, head=True), _m(3, rel=2), _m(None, rel=4)], TODAY)
    assert known.household_type == HouseholdType.ADULTS_AND_CHILDREN


def test_children_only_and_parenting_minors() -> None:
    facts = household_facts([_m(16, head=True), _m(1, rel=2)], TODAY)
    assert facts.household_type == HouseholdType.CHILDREN_ONLY
    assert facts.family_with_children and not facts.youth
    assert not household_facts([_m(16, head=True)], TODAY).family_with_children


def test_last_activity_is_the_latest_contact_of_any_member() -> None:
    early = datetime(2026, 1, 1, tzinfo=UTC)
    late = datetime(2026, 5, 1, tzinfo=UTC)
    members = [
        Member(uuid.uuid4(), True, 1, None, 0, early),
        Member(uuid.uuid4(), False, 2, date(2020, 1, 1), 0, late),
    ]
    assert household_facts(members, TODAY).last_activity_at == late
    assert household_facts([_m(40, head=True)], TODAY).last_activity_at is None


def test_document_status() -> None:
    assert document_status([]) == DocumentStatus.NONE
    assert document_status(["identity"]) == DocumentStatus.INCOMPLETE
    every = ["housing_status", "identity", "homeless", "disability"]
    assert document_status(every) == DocumentStatus.COMPLETE


def test_nights_homeless_in_the_last_three_years() -> None:
    today = date(2026, 3, 1)
    # The window is the nights after 2023-03-01 up to today: 1096 nights (2024 is a leap year).
    always = homeless_history([Stay(StayKind.HOMELESS, date(2020, 1, 1), today)], today)
    assert always.nights == (today - date(2023, 3, 1)).days == 1096
    # A break (7 nights housed) is not counted; 6 nights elsewhere count neither way.
    broken = homeless_history(
        [
            Stay(StayKind.HOMELESS, date(2026, 1, 1), date(2026, 1, 31)),
            Stay(StayKind.NOT_HOMELESS, date(2026, 2, 1), date(2026, 2, 7)),
            Stay(StayKind.HOMELESS, date(2026, 2, 8), today),
        ],
        today,
    )
    assert broken.nights == 31 + (today - date(2026, 2, 8)).days + 1
    short = homeless_history(
        [
            Stay(StayKind.HOMELESS, date(2026, 2, 1), date(2026, 2, 10)),
            Stay(StayKind.NOT_HOMELESS, date(2026, 2, 11), date(2026, 2, 16)),
        ],
        today,
    )
    assert short.nights == 10
    # Nights before the window are not counted.
    old = homeless_history([Stay(StayKind.HOMELESS, date(2022, 1, 1), date(2022, 12, 31))], today)
    assert old.nights == 0
