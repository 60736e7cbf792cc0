"""The one clock: ``now()`` in UTC and ``today(coc)`` in a CoC's time zone.

Nothing else in ``app`` reads the machine's clock or its ``TZ`` (a test fails on a bare
``date.today()`` / ``datetime.now()``). A CoC's day is the one its staff live in: a record made
at 23:30 in Chicago is dated that evening's date even though it is already tomorrow in UTC.
Code that needs "today" takes it from ``today(actor)`` once and passes the date on explicitly.
"""

from __future__ import annotations

from datetime import UTC, date, datetime, time
from functools import cache
from typing import Protocol
from zoneinfo import ZoneInfo, ZoneInfoNotFoundError, available_timezones

DEFAULT_TIME_ZONE = "America/Chicago"
# Files in the zone database that are not places: the machine's own zone and placeholders.
_NOT_PLACES = frozenset({"localtime", "posixrules", "Factory"})


class HasTimeZone(Protocol):
    """A CoC, or anything that knows its CoC's time zone (``Actor``, ``ActingOrganization``)."""

    @property
    def time_zone(self) -> str: ...


def now() -> datetime:
    """The current instant, timezone-aware, in UTC."""
    return datetime.now(UTC)


def zone(coc: HasTimeZone | str) -> ZoneInfo:
    return ZoneInfo(coc if isinstance(coc, str) else coc.time_zone)


def today(coc: HasTimeZone | str) -> date:
    """The CoC's local date now (``coc`` may also be an IANA zone name)."""
    return now().astimezone(zone(coc)).date()


def local_noon(day: date, coc: HasTimeZone | str) -> datetime:
    """A moment on ``day`` in the CoC's time zone (noon: the same date in every zone)."""
    return datetime.combine(day, time(12), tzinfo=zone(coc))


@cache
def _known_zones() -> frozenset[str]:
    return frozenset(available_timezones()) - _NOT_PLACES


def check_time_zone(name: str) -> str:
    """``name`` if it is an IANA time zone name (e.g. ``America/Chicago``); else ValueError."""
    if name not in _known_zones():
        raise ValueError(f"'{name}' is not an IANA time zone name (e.g. America/Chicago)")
    try:
        ZoneInfo(name)
    except (ZoneInfoNotFoundError, ValueError):
        raise ValueError(f"'{name}' is not an IANA time zone name (e.g. America/Chicago)")
    return name
