"""A staff member's attendance mark, stored with the gate entry of their decision.

Used by the recorder (:mod:`kiosk.services.recorder`) in the decision's own transaction, and
again when a journalled staff entry is uploaded after a partition.
"""

from __future__ import annotations

from dataclasses import dataclass, replace
from datetime import datetime, timedelta
from types import MappingProxyType
from typing import Any

from kiosk.config import Config
from kiosk.domain.admission import Decision
from kiosk.domain.attendance import Check, Mark, classify
from kiosk.domain.reasons import Outcome
from kiosk.faces.report import attendance_policy
from kiosk.storage import Entry
from kiosk.storage import staff as staff_store


@dataclass(frozen=True)
class StaffVisit:
    """A recognised (or PIN-identified) staff member; ``checks`` None = PIN (no liveness)."""

    staff_id: int
    method: str
    checks: frozenset[Check] | None = None
    distance: float | None = None
    name: str | None = None
    """Shown in the greeting on the screens (the result's ``detail.name``); never stored."""


def store_staff_mark(
    conn: Any,
    config: Config,
    staff: StaffVisit,
    decision: Decision,
    entry_id: int,
    entry: Entry,
    now: datetime,
) -> Decision:
    """Store the attendance mark of a staff decision; the decision gains ``mark``."""
    mark = None
    day = entry.business_date
    if decision.outcome is Outcome.ADMITTED:
        earlier = staff_store.counted_marks_since(conn, staff.staff_id, day - timedelta(days=1))
        # A night shift started yesterday owns this morning's clock-out (see attendance).
        shifts = staff_store.shifts_between(
            conn, day - timedelta(days=1), day + timedelta(days=1), staff_id=staff.staff_id
        )
        mark = classify(now, earlier, attendance_policy(config), shifts)
    if mark is not Mark.REPEAT:
        staff_store.add_mark(
            conn,
            staff_store.AttendanceMark(
                staff_id=staff.staff_id,
                ts=now,
                business_date=day,
                gate_id=entry.gate_id,
                kind=mark.value if mark else "refused",
                method=staff.method,
                reason=decision.reason.value,
                checks=",".join(sorted(staff.checks or ())),
                distance=staff.distance,
                temp_estimated_c=entry.temp_estimated_c,
                entry_id=entry_id,
            ),
        )
    if mark is None:
        return decision
    detail = {**decision.detail, "mark": mark.value}
    return replace(decision, detail=MappingProxyType(detail))
