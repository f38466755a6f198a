"""Daily and monthly attendance reports, as rows (admin page) and as CSV (Excel, LibreOffice).

CSV details that make a spreadsheet open it cleanly: UTF-8 with a byte-order mark (Excel then
reads names with accents correctly), CRLF line ends, dates as ``YYYY-MM-DD`` and times as
``HH:MM`` in the office's zone (never UTC), ``yes``/``no`` flags,
and any cell starting with ``= + - @`` prefixed with ``'`` so a name is never run as a formula.
Every export is audited (attendance is personal data).
"""

from __future__ import annotations

import csv
import io
from dataclasses import dataclass
from datetime import date, datetime, timedelta
from typing import Any

from kiosk.config import Config
from kiosk.domain.attendance import (
    AttendancePolicy,
    DayRecord,
    MarkRecord,
    day_records,
    month_days,
    month_records,
)
from kiosk.errors import InputError
from kiosk.storage import repository as repo
from kiosk.storage import staff as store

HEADER = (
    "date",
    "staff_id",
    "name",
    "first_in",
    "last_out",
    "late",
    "on_duty",
    "absent_on_duty",
    "refused",
    "shift",
    "early_leave",
)
"""Columns; ``shift`` is ``HH:MM-HH:MM`` for a timed roster entry (empty for a whole-day
duty or none), ``early_leave`` compares the last clock-out with the shift's end."""

NEAR = timedelta(days=1)
"""Marks and shifts read around a period: a night shift clocks out on the next calendar day."""


def attendance_policy(config: Config) -> AttendancePolicy:
    a = config.attendance
    return AttendancePolicy(
        zone=config.site.zone,
        work_starts_minute=a.work_starts_minute,
        late_grace_minutes=a.late_grace_minutes,
        repeat_minutes=a.repeat_minutes,
        skin_above_ambient_c=a.skin_above_ambient_c,
    )


@dataclass(frozen=True)
class Report:
    title: str
    first: date
    last: date
    rows: list[DayRecord]
    policy: AttendancePolicy

    def local_time(self, instant: datetime | None) -> str:
        return "" if instant is None else instant.astimezone(self.policy.zone).strftime("%H:%M")

    def table(self) -> list[tuple[str, ...]]:
        return [
            (
                r.day.isoformat(),
                str(r.staff_id),
                r.name,
                self.local_time(r.first_in),
                self.local_time(r.last_out),
                _yes(r.late),
                _yes(r.on_duty),
                _yes(r.absent_on_duty),
                str(r.refused),
                r.shift.label() if r.shift else "",
                _yes(r.early_leave),
            )
            for r in self.rows
        ]

    def totals(self) -> list[dict[str, Any]]:
        """Per staff member: days present, late, on duty and absent on duty."""
        out: dict[int, dict[str, Any]] = {}
        for r in self.rows:
            t = out.setdefault(
                r.staff_id,
                {
                    "staff_id": r.staff_id,
                    "name": r.name,
                    "present": 0,
                    "late": 0,
                    "on_duty": 0,
                    "absent_on_duty": 0,
                    "early_leave": 0,
                },
            )
            t["present"] += r.present
            t["late"] += r.late
            t["on_duty"] += r.on_duty
            t["absent_on_duty"] += r.absent_on_duty
            t["early_leave"] += r.early_leave
        return sorted(out.values(), key=lambda t: (str(t["name"]).casefold(), t["staff_id"]))

    def csv_bytes(self) -> bytes:
        buffer = io.StringIO()
        writer = csv.writer(buffer, lineterminator="\r\n")
        writer.writerow(HEADER)
        for row in self.table():
            writer.writerow([_cell(v) for v in row])
        return ("\ufeff" + buffer.getvalue()).encode("utf-8")


def _yes(flag: bool) -> str:
    return "yes" if flag else "no"


def _cell(value: str) -> str:
    return "'" + value if value[:1] in ("=", "+", "-", "@") else value


def _marks(rows: list[store.AttendanceMark]) -> list[MarkRecord]:
    return [MarkRecord(m.staff_id, m.ts, m.kind) for m in rows]


def day_report(config: Config, db: Any, day: date, *, actor: str) -> Report:
    policy = attendance_policy(config)
    with db.transaction() as conn:
        names = store.staff_names(conn)
        marks = _marks(store.marks_between(conn, day - NEAR, day + NEAR))
        duty = [sid for _, sid in store.roster_between(conn, day, day)]
        shifts = store.shifts_between(conn, day - NEAR, day + NEAR)
        repo.add_audit(conn, actor, "attendance_report", details=f"day {day.isoformat()}")
    rows = day_records(day, names, marks, duty, policy, shifts)
    return Report(f"attendance {day.isoformat()}", day, day, rows, policy)


def parse_month(text: str) -> tuple[int, int]:
    try:
        year, month = (int(p) for p in text.split("-"))
        date(year, month, 1)
    except ValueError:
        raise InputError(f"month must be YYYY-MM, got {text!r}") from None
    return year, month


def month_report(config: Config, db: Any, year: int, month: int, *, actor: str) -> Report:
    policy = attendance_policy(config)
    days = month_days(year, month)
    with db.transaction() as conn:
        names = store.staff_names(conn)
        marks = _marks(store.marks_between(conn, days[0] - NEAR, days[-1] + NEAR))
        roster = store.roster_between(conn, days[0], days[-1])
        shifts = store.shifts_between(conn, days[0] - NEAR, days[-1] + NEAR)
        repo.add_audit(conn, actor, "attendance_report", details=f"month {year:04d}-{month:02d}")
    rows = month_records(year, month, names, marks, roster, policy, shifts)
    return Report(f"attendance {year:04d}-{month:02d}", days[0], days[-1], rows, policy)


def board(config: Config, db: Any, day: date) -> list[dict[str, Any]]:
    """Today's board for the live admin page: who is in, out, late or absent on duty.

    Read-only and not audited (the page polls it every few seconds; the reports that can be
    downloaded are audited)."""
    policy = attendance_policy(config)
    with db.transaction(write=False) as conn:
        names = store.staff_names(conn)
        marks = _marks(store.marks_between(conn, day - NEAR, day + NEAR))
        duty = [sid for _, sid in store.roster_between(conn, day, day)]
        shifts = store.shifts_between(conn, day - NEAR, day + NEAR)
    out = []
    for r in day_records(day, names, marks, duty, policy, shifts):
        if r.absent_on_duty:
            state = "absent_on_duty"
        elif r.first_in is None:
            state = "refused"
        elif r.last_out is None:
            state = "in"
        else:
            state = "out"
        out.append(
            {
                "staff_id": r.staff_id,
                "name": r.name,
                "state": state,
                "in": _hhmm(r.first_in, policy),
                "out": _hhmm(r.last_out, policy),
                "late": r.late,
                "early_leave": r.early_leave,
                "shift": r.shift.label() if r.shift else None,
                "on_duty": r.on_duty,
                "refused": r.refused,
            }
        )
    return out


def _hhmm(instant: datetime | None, policy: AttendancePolicy) -> str | None:
    return None if instant is None else instant.astimezone(policy.zone).strftime("%H:%M")
