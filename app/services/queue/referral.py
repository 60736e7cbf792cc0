"""The referral status of a queue entry, as the queue reads it (DOMAIN 7 and 9).

Matching (a package above the queue) writes two columns of ``queue_entries`` on every change of
a match: ``referral_status`` (``none``, ``sent``, ``accepted``, ``parked``, ``enrolled``) and,
for a park, ``parked_until`` (blank: parked indefinitely). A park ends by the calendar, not by a
write: on ``parked_until`` the household is back on the queue, in its place. So the queue
derives the status it shows, filters and sorts on from the two columns and the CoC's date,
here, without knowing anything about matches:

* ``still_parked(today)`` -- parked, and the park has not reached its date;
* ``referral_status_sql(today)`` -- the status as of ``today``: a park that ended reads
  ``none``;
* ``referral_status_in(statuses, today)`` -- the list's ``referral_status`` filter;
* ``referral_status_on(status, parked_until, today)`` -- the same rule for one loaded row.

Each is a condition on the entry's own row (no join, no subquery).
"""

from __future__ import annotations

from collections.abc import Iterable
from datetime import date
from typing import Any

from sqlalchemy import ColumnElement, String, and_, case, false, literal, or_

from app.models.queue import QueueEntry
from app.reference.queue import ReferralStatus

q = QueueEntry
PARKED = ReferralStatus.PARKED.value
NONE = ReferralStatus.NONE.value


def still_parked(today: date, entry: Any = q) -> ColumnElement[bool]:
    """The entry is parked on ``today``: until a date still to come, or indefinitely."""
    return and_(
        entry.referral_status == PARKED,
        or_(entry.parked_until.is_(None), entry.parked_until > today),
    )


def park_ended(today: date, entry: Any = q) -> ColumnElement[bool]:
    """The entry was parked and its park's date has come: it is back on the queue."""
    return and_(entry.referral_status == PARKED, entry.parked_until <= today)


def referral_status_sql(today: date, entry: Any = q) -> ColumnElement[str]:
    """The entry's referral status on ``today`` (the CoC's date)."""
    return case(
        (park_ended(today, entry), literal(NONE, String)),
        else_=entry.referral_status,
    )


def referral_status_in(
    statuses: Iterable[ReferralStatus], today: date, entry: Any = q
) -> ColumnElement[bool]:
    """Entries whose status on ``today`` is one of ``statuses``: plain values of the column,
    except that ``parked`` keeps only parks still running and ``none`` takes ended ones."""
    wanted = {s.value for s in statuses}
    plain = wanted - {PARKED, NONE}
    clauses: list[ColumnElement[bool]] = []
    if plain:
        clauses.append(entry.referral_status.in_(sorted(plain)))
    if PARKED in wanted and NONE in wanted:
        clauses.append(entry.referral_status.in_([NONE, PARKED]))
    elif PARKED in wanted:
        clauses.append(still_parked(today, entry))
    elif NONE in wanted:
        clauses.append(or_(entry.referral_status == NONE, park_ended(today, entry)))
    return or_(false(), *clauses) if clauses else false()


def referral_status_on(status: str, parked_until: date | None, today: date) -> ReferralStatus:
    """``referral_status_sql`` for one row already loaded."""
    if status == PARKED and parked_until is not None and parked_until <= today:
        return ReferralStatus.NONE
    return ReferralStatus(status)


def is_parked(status: str, parked_until: date | None, today: date) -> bool:
    """``still_parked`` for one row already loaded."""
    return status == PARKED and (parked_until is None or parked_until > today)
