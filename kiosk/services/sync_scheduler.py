"""Pull the booking system's day list on a schedule: at start-up, at the configured daily
times, and 15 minutes before opening. A failed pull keeps the last good list (see
:func:`kiosk.bookings.sync.sync_day_list`) and is retried at the next slot.
"""

from __future__ import annotations

import logging
import threading
from collections.abc import Callable, Sequence
from datetime import UTC, date, datetime, timedelta
from zoneinfo import ZoneInfo

from kiosk.domain.clock import business_date

log = logging.getLogger(__name__)

BEFORE_OPENING = timedelta(minutes=15)


def daily_slots(times: Sequence[str], opens_minute: int) -> list[int]:
    """Minutes of the local day at which to sync, sorted, without duplicates."""
    slots = {int(t[:2]) * 60 + int(t[3:5]) for t in times}
    before = opens_minute - int(BEFORE_OPENING.total_seconds() // 60)
    if before >= 0 and opens_minute > 0:
        slots.add(before)
    return sorted(slots)


def next_run(now: datetime, zone: ZoneInfo, slots: Sequence[int]) -> datetime:
    """The first slot strictly after the aware instant ``now``, as an aware UTC datetime."""
    if not slots:
        raise ValueError("no sync slots")
    local = now.astimezone(zone)
    for days in (0, 1):
        day = local.date() + timedelta(days=days)
        for minute in slots:
            candidate = datetime(
                day.year, day.month, day.day, minute // 60, minute % 60, tzinfo=zone
            )
            if candidate > local:
                return candidate.astimezone(UTC)
    raise AssertionError("unreachable: a slot exists every day")


class SyncScheduler:
    """Runs ``sync(business_day)`` at start-up and at every slot, in one daemon thread."""

    def __init__(
        self,
        sync: Callable[[date], object],
        *,
        zone: ZoneInfo,
        slots: Sequence[int],
        clock: Callable[[], datetime] = lambda: datetime.now(UTC),
        name: str = "booking-sync",
    ) -> None:
        self._sync, self._zone, self._slots, self._clock = sync, zone, list(slots), clock
        self.name = name
        self._stop = threading.Event()
        self._thread = threading.Thread(target=self._run, name=name, daemon=True)

    def start(self) -> None:
        self._thread.start()

    def stop(self, timeout: float = 5.0) -> None:
        self._stop.set()
        if self._thread.is_alive():
            self._thread.join(timeout)

    def _run(self) -> None:
        while not self._stop.is_set():
            now = self._clock()
            try:
                self._sync(business_date(now, self._zone))
            except Exception:  # a bad pull must not kill the schedule
                log.exception("scheduled job %s failed", self.name)
            wait = (next_run(now, self._zone, self._slots) - self._clock()).total_seconds()
            self._stop.wait(max(1.0, wait))
