"""The queue's ``referral status`` (filter, sort and caseload column) as matching keeps it.

Matching writes ``queue_entries.referral_status`` on every match change
(``reference.matching.REFERRAL_STATUS_OF``). A park ends by the calendar, not by a write: an
entry whose park has reached its ``parked_until`` reads ``none`` again. ``referral_status_sql``
is the read-time value, for the queue listing to select and filter on (one index probe of
``ix_matches_parked_entry`` per parked row)::

    stmt = select(QueueEntry, referral_status_sql(today).label("referral_status"))
"""

from __future__ import annotations

from datetime import date

from sqlalchemy import ColumnElement, and_, case, exists, or_, select

from app.models.matching import Match
from app.models.queue import QueueEntry
from app.reference.matching import MatchStatus
from app.reference.queue import ReferralStatus


def still_parked(today: date) -> ColumnElement[bool]:
    return exists(
        select(Match.id).where(
            Match.queue_entry_id == QueueEntry.id,
            Match.status == MatchStatus.PARKED.value,
            or_(Match.parked_until.is_(None), Match.parked_until > today),
        )
    )


def referral_status_sql(today: date) -> ColumnElement[str]:
    """The entry's referral status on ``today`` (the CoC's date)."""
    return case(
        (
            and_(
                QueueEntry.referral_status == ReferralStatus.PARKED.value,
                ~still_parked(today),
            ),
            ReferralStatus.NONE.value,
        ),
        else_=QueueEntry.referral_status,
    )


def referral_status_is(status: ReferralStatus, today: date) -> ColumnElement[bool]:
    """A WHERE clause for the queue's ``referral_status`` filter."""
    if status == ReferralStatus.PARKED:
        return and_(QueueEntry.referral_status == status.value, still_parked(today))
    if status == ReferralStatus.NONE:
        return or_(
            QueueEntry.referral_status == status.value,
            and_(
                QueueEntry.referral_status == ReferralStatus.PARKED.value,
                ~still_parked(today),
            ),
        )
    return QueueEntry.referral_status == status.value
