"""The gate's view of "today": wall clock, synchronisation and officer confirmation.

Wraps the pure rules of :mod:`kiosk.domain.clocktrust` with the real inputs
(wall clock, monotonic clock, systemd-timesyncd's flag file, the configured
RTC) and the persisted high-water mark. Every clock event is logged and
written to the audit log; the officer console shows the open alerts and asks
for a date confirmation while the date is suspended.
"""

from __future__ import annotations

import logging
import threading
from collections import deque
from collections.abc import Callable
from datetime import UTC, date, datetime, timedelta
from pathlib import Path
from typing import Any

from kiosk.config import Config
from kiosk.domain.clocktrust import ClockObservation, ClockState, confirm, observe
from kiosk.errors import InputError, StorageError
from kiosk.storage import Backend, maintenance
from kiosk.storage import repository as repo

log = logging.getLogger(__name__)

MAX_CONFIRM_DAYS = 400  # an officer confirming a date further than this from the clock is a typo


class ClockGuard:
    def __init__(
        self,
        config: Config,
        db: Backend,
        *,
        wall: Callable[[], datetime],
        mono: Callable[[], float],
    ) -> None:
        self.zone = config.site.zone
        self.gate_id = config.site.gate_id
        trust = config.clock.trust
        if trust == "auto":
            trust = "always" if config.hardware.mode == "sim" else "ntp"
        self.trust_always = trust == "always"
        self.sync_flag = Path(config.clock.sync_flag)
        self.rtc = config.clock.rtc
        self.max_jump_s = config.clock.max_jump_s
        self.wall = wall
        self.mono = mono
        self.db = db
        self.alerts: deque[dict[str, Any]] = deque(maxlen=20)
        self._lock = threading.Lock()
        self.state = ClockState(high_water=self._load_high_water())

    def _load_high_water(self) -> datetime | None:
        try:
            with self.db.transaction(write=False) as conn:
                return maintenance.high_water(conn, self.gate_id)
        except StorageError as exc:
            log.error("cannot read the clock high-water mark: %s", exc)
            return None

    def synchronised(self) -> bool:
        return self.rtc or self.sync_flag.exists()

    def _observation(self) -> ClockObservation:
        return ClockObservation(self.wall(), self.mono(), self.synchronised())

    def now(self) -> tuple[datetime, bool]:
        """``(instant, trusted)``: the instant whose business date counts, and whether it may.

        While the date awaits confirmation, the instant keeps the last trusted
        business date when there is one (so "today" on screens does not move).
        """
        with self._lock:
            obs = self._observation()
            self.state, events = observe(
                self.state,
                obs,
                zone=self.zone,
                max_jump_s=self.max_jump_s,
                trust_always=self.trust_always,
            )
            state = self.state
        self._report(events, obs.wall)
        instant = obs.wall + timedelta(days=state.offset_days)
        if state.problem is not None and state.day is not None:
            local = instant.astimezone(self.zone)
            shift = (state.day - local.date()).days
            instant = instant + timedelta(days=shift)
        return instant, state.problem is None

    def confirm(self, day: date, officer: str) -> None:
        """An officer confirms today's business date (audited)."""
        with self._lock:
            obs = self._observation()
            wall_day = obs.wall.astimezone(self.zone).date()
            if abs((day - wall_day).days) > MAX_CONFIRM_DAYS:
                raise InputError(
                    f"{day} is more than {MAX_CONFIRM_DAYS} days from the clock's date {wall_day} — "
                    "check the date you entered"
                )
            self.state, events = confirm(self.state, obs, day, zone=self.zone)
            high_water = self.state.high_water
        try:
            with self.db.transaction() as conn:
                if high_water is not None:
                    maintenance.set_high_water(conn, self.gate_id, high_water)
                repo.add_audit(
                    conn, officer, "confirm_date", subject=day.isoformat(), details=events[0].detail
                )
        except StorageError as exc:
            log.error("date confirmed but not stored in the audit log: %s", exc)
        self._report(events, obs.wall, audited=True)

    def note_recorded(self, conn: Any, instant: datetime) -> None:
        """Inside the transaction that records a decision: raise the high-water mark."""
        maintenance.raise_high_water(conn, self.gate_id, instant)

    def status(self) -> dict[str, Any]:
        _instant, trusted = self.now()
        state = self.state
        return {
            "trusted": trusted,
            "problem": state.problem.value if state.problem else None,
            "business_date": state.day.isoformat() if state.day else None,
            "clock_date": self.wall().astimezone(self.zone).date().isoformat(),
            "offset_days": state.offset_days,
            "synchronised": self.synchronised(),
            "trust": "always" if self.trust_always else "ntp",
            "alerts": list(self.alerts),
        }

    def _report(self, events: list[Any], wall: datetime, *, audited: bool = False) -> None:
        for event in events:
            level = logging.INFO if event.kind in ("resolved", "confirmed") else logging.WARNING
            log.log(level, "clock %s: %s", event.kind, event.detail)
            self.alerts.append(
                {
                    "ts": datetime.now(UTC).isoformat(timespec="seconds"),
                    "kind": event.kind,
                    "detail": event.detail,
                }
            )
            if audited:
                continue
            try:
                with self.db.transaction() as conn:
                    repo.add_audit(conn, "system", f"clock_{event.kind}", details=event.detail)
            except StorageError as exc:
                log.error("clock event not stored in the audit log: %s", exc)
