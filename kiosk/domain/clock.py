"""Business dates: which day's cap an instant counts against.

The business day is the calendar date in the office's configured zone
(Asia/Jakarta by default), computed from an aware instant. The host's ``TZ``
never matters, so a Pi left on UTC counts the same day as one set to WIB.
"""

from __future__ import annotations

from datetime import date, datetime
from zoneinfo import ZoneInfo


def business_date(now: datetime, zone: ZoneInfo) -> date:
    """The business date of the aware instant ``now`` in ``zone``.

    Raises :class:`ValueError` for a naive datetime: a naive value would be
    interpreted in the host zone, which is exactly the bug this avoids.
    """
    if now.tzinfo is None or now.utcoffset() is None:
        raise ValueError("business_date needs an aware datetime (got a naive one)")
    return now.astimezone(zone).date()


def minute_of_day(now: datetime, zone: ZoneInfo) -> int:
    """Minutes since local midnight in ``zone`` (0–1439)."""
    local = now.astimezone(zone)
    return local.hour * 60 + local.minute


def weekday_name(now: datetime, zone: ZoneInfo) -> str:
    """``mon`` … ``sun`` for the local date of ``now`` in ``zone``."""
    return ("mon", "tue", "wed", "thu", "fri", "sat", "sun")[now.astimezone(zone).weekday()]
