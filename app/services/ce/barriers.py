"""Barriers (HUD 3.08 Disabling Condition and the disabilities 5-10): whether the answers make
a disabling condition, and that the enrollment's Disabling Condition agrees with them.
"""

from __future__ import annotations

from collections.abc import Sequence

from sqlalchemy import select
from sqlalchemy.ext.asyncio import AsyncSession

from app.errors import ValidationFailed
from app.models.ce_records import Disability
from app.models.enrollments import Enrollment
from app.reference.ce import DISABILITY_TYPES
from app.schemas.enrollments import BarrierIn

# Barriers that count toward the disabling condition only when indefinite and impairing.
NEEDS_INDEFINITE = frozenset({5, 7, 9, 10})


ALL_BARRIERS = DISABILITY_TYPES


def _present(disability_type: int, response: int) -> bool:
    return response in ((1, 2, 3) if disability_type == 10 else (1,))


def barrier_verdict(answers: Sequence[tuple[int, int, int | None]]) -> tuple[bool, bool]:
    """``(type, response, indefinite_and_impairs)`` answers -> (some condition is disabling,
    every condition is answered and none can be disabling).

    Developmental disability and HIV/AIDS are disabling when present; the others only when
    also indefinite and impairing (DOMAIN 5 step 5, HUD 3.08)."""
    disabling = False
    ruled_out: set[int] = set()
    for kind, response, indefinite in answers:
        present = _present(kind, response)
        if present and (kind not in NEEDS_INDEFINITE or indefinite == 1):
            disabling = True
        if response == 0 or (present and kind in NEEDS_INDEFINITE and indefinite == 0):
            ruled_out.add(kind)
    return disabling, ruled_out == ALL_BARRIERS


def check_disabling_consistency(
    answers: Sequence[tuple[int, int, int | None]],
    disabling_condition: int | None,
    field: str,
    *,
    entry_stage: bool,
) -> None:
    """Disabling Condition agrees with the barriers: Yes (1) when a barrier is disabling (HUD
    3.08: not No, not doesn't know / prefers not / not collected), and (at entry, where it is
    derived from them) not Yes when all six are answered and none is."""
    disabling, none = barrier_verdict(answers)
    if disabling and disabling_condition != 1:
        raise ValidationFailed(
            "HUD 3.08: a disabling barrier is recorded (indefinite and impairing, HIV/AIDS or "
            f"a developmental disability), so disabling_condition must be 1 (Yes), not "
            f"{disabling_condition}; correct the enrollment's disabling condition first.",
            field=field,
        )
    if entry_stage and none and disabling_condition == 1:
        raise ValidationFailed(
            "HUD 3.08: every barrier is answered and none is disabling (present and, where it "
            "applies, indefinite and impairing), so disabling_condition cannot be 1 (Yes).",
            field=field,
        )


def check_barriers(
    barriers: Sequence[BarrierIn],
    disabling_condition: int | None,
    prefix: str = "barriers",
    disabling_field: str = "disabling_condition",
    *,
    entry_stage: bool = False,
) -> None:
    seen: set[int] = set()
    for i, b in enumerate(barriers):
        field = f"{prefix}.{i}"
        if b.disability_type in seen:
            raise ValidationFailed(
                "Each condition may be answered once.", field=f"{field}.disability_type"
            )
        seen.add(b.disability_type)
        positive = _present(b.disability_type, b.disability_response)
        if b.disability_type != 10 and b.disability_response in (2, 3):
            raise ValidationFailed(
                "Responses 2 and 3 are only for substance use (type 10).",
                field=f"{field}.disability_response",
            )
        if b.disability_type in NEEDS_INDEFINITE and positive:
            if b.indefinite_and_impairs is None:
                raise ValidationFailed(
                    "indefinite_and_impairs is required for this condition.",
                    field=f"{field}.indefinite_and_impairs",
                )
        elif b.indefinite_and_impairs is not None:
            raise ValidationFailed(
                "indefinite_and_impairs is asked only for a present physical, chronic health, "
                "mental health or substance use condition.",
                field=f"{field}.indefinite_and_impairs",
            )
    check_disabling_consistency(
        [(b.disability_type, b.disability_response, b.indefinite_and_impairs) for b in barriers],
        disabling_condition,
        disabling_field,
        entry_stage=entry_stage,
    )


async def check_disabling_against_entry_barriers(
    session: AsyncSession, enrollment: Enrollment, disabling_condition: int
) -> None:
    """Editing the entry's Disabling Condition: it must agree with the entry barriers."""
    rows = (
        await session.scalars(
            select(Disability).where(
                Disability.enrollment_id == enrollment.id, Disability.data_collection_stage == 1
            )
        )
    ).all()
    check_disabling_consistency(
        [(d.disability_type, d.disability_response, d.indefinite_and_impairs) for d in rows],
        disabling_condition,
        "disabling_condition",
        entry_stage=True,
    )
