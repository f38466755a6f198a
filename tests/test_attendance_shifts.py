"""Shifts on the duty roster: business day, late and early leave per shift, over midnight.

Table: (shift, clock-in, clock-out) → (business day, late, early leave), Asia/Jakarta (UTC+7).
"""

from __future__ import annotations

import csv
import io
from datetime import UTC, date, datetime
from pathlib import Path
from typing import Any
from zoneinfo import ZoneInfo

import pytest
from click.testing import CliRunner

from kiosk.cli import main
from kiosk.config import load_config
from kiosk.domain.attendance import (
    AttendancePolicy,
    Mark,
    MarkRecord,
    Shift,
    classify,
    day_of_mark,
    day_records,
    month_records,
    parse_hhmm,
    shift_of,
)
from kiosk.faces.report import board, day_report
from kiosk.storage import Database
from kiosk.storage import staff as store

WIB = ZoneInfo("Asia/Jakarta")
POLICY = AttendancePolicy(zone=WIB, work_starts_minute=8 * 60, late_grace_minutes=5)


def wib(day: int, hh: int, mm: int) -> datetime:
    return datetime(2026, 11, day, hh, mm, tzinfo=WIB).astimezone(UTC)


def shift(day: int, start: str, end: str, staff_id: int = 1) -> Shift:
    return Shift(staff_id, date(2026, 11, day), parse_hhmm(start), parse_hhmm(end))


NIGHT = shift(23, "22:00", "06:00")
DAY = shift(23, "08:00", "16:00")
LATE_EVENING = shift(23, "16:00", "00:00")  # ends exactly at midnight: crosses it
EARLY = shift(23, "00:30", "08:30")  # starts after midnight: no crossing


@pytest.mark.parametrize(
    ("the_shift", "clock_in", "clock_out", "day", "late", "early"),
    [
        # The night shift 22:00–06:00 started on the 23rd: a 06:05 clock-out on the 24th is its.
        (NIGHT, wib(23, 21, 50), wib(24, 6, 5), 23, False, False),
        (NIGHT, wib(23, 22, 5), wib(24, 6, 0), 23, False, False),  # within 5 min grace; on time
        (NIGHT, wib(23, 22, 6), wib(24, 6, 0), 23, True, False),  # late by 6 min
        (NIGHT, wib(23, 22, 0), wib(24, 5, 30), 23, False, True),  # left 30 min early
        (NIGHT, wib(24, 0, 15), wib(24, 6, 10), 23, True, False),  # came after midnight: late
        (NIGHT, wib(23, 21, 0), wib(24, 11, 0), 23, False, False),  # overtime till 11:00
        # A day shift: exactly as before, judged against the shift's own start and end.
        (DAY, wib(23, 7, 58), wib(23, 16, 2), 23, False, False),
        (DAY, wib(23, 8, 30), wib(23, 15, 0), 23, True, True),
        (LATE_EVENING, wib(23, 15, 50), wib(24, 0, 5), 23, False, False),
        (LATE_EVENING, wib(23, 16, 0), wib(23, 23, 40), 23, False, True),
        # Starts at 00:30 on the 23rd: a 23:45 clock-in on the 22nd is already this shift's.
        (EARLY, wib(22, 23, 45), wib(23, 8, 40), 23, False, False),
    ],
)
def test_shift_table(
    the_shift: Shift,
    clock_in: datetime,
    clock_out: datetime,
    day: int,
    late: bool,
    early: bool,
) -> None:
    shifts = [the_shift]
    assert day_of_mark(clock_in, shifts, POLICY) == date(2026, 11, day)
    assert day_of_mark(clock_out, shifts, POLICY) == date(2026, 11, day)
    assert classify(clock_in, [], POLICY, shifts) is Mark.CLOCK_IN
    assert classify(clock_out, [clock_in], POLICY, shifts) is Mark.CLOCK_OUT
    marks = [MarkRecord(1, clock_in, "in"), MarkRecord(1, clock_out, "out")]
    (row,) = day_records(date(2026, 11, day), {1: "Ani"}, marks, [1], POLICY, shifts)
    assert (row.first_in, row.last_out) == (clock_in, clock_out)
    assert (row.late, row.early_leave, row.shift) == (late, early, the_shift)
    # The neighbouring calendar days show nothing of this shift.
    for other in (day - 1, day + 1):
        assert day_records(date(2026, 11, other), {1: "Ani"}, marks, [], POLICY, shifts) == []


def test_without_shifts_the_calendar_day_rules_as_before() -> None:
    # The same 06:05 recognition with no shift is a clock-in of the 24th.
    assert classify(wib(24, 6, 5), [wib(23, 22, 0)], POLICY) is Mark.CLOCK_IN
    assert classify(wib(24, 6, 5), [wib(23, 22, 0)], POLICY, [NIGHT]) is Mark.CLOCK_OUT
    # Late against work_starts; early leave not judged without an end.
    marks = [MarkRecord(1, wib(23, 8, 6), "in"), MarkRecord(1, wib(23, 9, 0), "out")]
    (row,) = day_records(date(2026, 11, 23), {1: "Ani"}, marks, [1], POLICY)
    assert (row.late, row.early_leave, row.shift) == (True, False, None)


def test_back_to_back_shifts_the_nearer_one_wins() -> None:
    night, morning = NIGHT, shift(24, "08:00", "16:00")
    shifts = [night, morning]
    assert shift_of(wib(24, 6, 5), shifts, POLICY) == night  # 5 min after the night's end
    assert shift_of(wib(24, 7, 50), shifts, POLICY) == morning  # 10 min before the start
    # Night shift out at 06:05, morning shift in at 07:50: one mark each, on their own days.
    earlier = [wib(23, 21, 55), wib(24, 6, 5)]
    assert classify(wib(24, 7, 50), earlier, POLICY, shifts) is Mark.CLOCK_IN
    # Far from every shift's window: the calendar date.
    assert shift_of(wib(25, 12, 0), shifts, POLICY) is None
    assert day_of_mark(wib(25, 12, 0), shifts, POLICY) == date(2026, 11, 25)


def test_repeat_rule_holds_across_midnight_within_a_shift() -> None:
    assert classify(wib(24, 0, 3), [wib(23, 23, 58)], POLICY, [NIGHT]) is Mark.REPEAT


def test_absent_on_a_night_shift_and_the_month() -> None:
    shifts = [NIGHT, shift(24, "22:00", "06:00")]
    marks = [MarkRecord(1, wib(24, 21, 58), "in"), MarkRecord(1, wib(25, 6, 1), "out")]
    rows = month_records(2026, 11, {1: "Ani"}, marks, [], POLICY, shifts)
    assert [(r.day.day, r.present, r.absent_on_duty, r.shift) for r in rows] == [
        (23, False, True, shifts[0]),
        (24, True, False, shifts[1]),
    ]


@pytest.mark.parametrize(
    ("text", "minute"), [("06:05", 365), ("6:05", 365), ("00:00", 0), ("23:59", 1439)]
)
def test_parse_hhmm(text: str, minute: int) -> None:
    assert parse_hhmm(text) == minute


@pytest.mark.parametrize("text", ["24:00", "12:60", "1205", "", "ab:cd", "12:5", "-1:00"])
def test_parse_hhmm_refuses(text: str) -> None:
    with pytest.raises(ValueError):
        parse_hhmm(text)


def test_shift_refuses_equal_times() -> None:
    with pytest.raises(ValueError):
        shift(23, "08:00", "08:00")


# -- storage, CLI import and reports ------------------------------------------------------
def invoke(*args: str) -> Any:
    return CliRunner().invoke(main, list(args), catch_exceptions=False)


@pytest.fixture
def config_path(tmp_path: Path) -> Path:
    assert invoke("init", str(tmp_path / "d")).exit_code == 0
    return tmp_path / "d" / "kiosk.toml"


def _staff_and_marks(config_path: Path) -> None:
    db = Database(load_config(config_path).database_path)
    db.migrate()
    with db.transaction() as conn:
        ani = store.add_staff(conn, "Ani")
        budi = store.add_staff(conn, "Budi")
        for staff_id, ts, kind in [
            (ani, wib(23, 22, 10), "in"),  # night shift 22:00–06:00: late
            (ani, wib(24, 5, 40), "out"),  # …and left early, on the 24th's calendar date
            (budi, wib(23, 7, 59), "in"),  # whole-day duty, on time
        ]:
            store.add_mark(
                conn,
                store.AttendanceMark(
                    staff_id=staff_id,
                    ts=ts,
                    business_date=ts.astimezone(WIB).date(),
                    gate_id="gate-1",
                    kind=kind,
                    method="face",
                    reason="staff",
                ),
            )
    db.close()


def test_roster_csv_with_shift_times_and_reports(config_path: Path, tmp_path: Path) -> None:
    _staff_and_marks(config_path)
    roster = tmp_path / "piket.csv"
    roster.write_text(
        "date,name,start,end\n2026-11-23,Ani,22:00,06:00\n2026-11-23,Budi,,\n", encoding="utf-8"
    )
    out = invoke("faces", "roster", "import", "--config", str(config_path), str(roster))
    assert "2 duty day(s) read, 2 new" in out.output
    config = load_config(config_path)
    db = Database(config.database_path)
    try:
        conn = db.connection()
        assert store.roster_between(conn, date(2026, 11, 23), date(2026, 11, 23)) == [
            (date(2026, 11, 23), 1),
            (date(2026, 11, 23), 2),
        ]
        assert store.shifts_between(conn, date(2026, 11, 22), date(2026, 11, 24)) == [
            shift(23, "22:00", "06:00", staff_id=1)
        ]
        report = day_report(config, db, date(2026, 11, 23), actor="admin")
        rows = list(csv.DictReader(io.StringIO(report.csv_bytes().decode("utf-8-sig"))))
        got = {
            r["name"]: (r["first_in"], r["last_out"], r["late"], r["shift"], r["early_leave"])
            for r in rows
        }
        assert got == {
            "Ani": ("22:10", "05:40", "yes", "22:00-06:00", "yes"),
            "Budi": ("07:59", "", "no", "", "no"),
        }
        # The 24th does not see Ani's 05:40 clock-out.
        assert day_report(config, db, date(2026, 11, 24), actor="admin").rows == []
        live = {b["name"]: b for b in board(config, db, date(2026, 11, 23))}
        assert (live["Ani"]["state"], live["Ani"]["shift"], live["Ani"]["early_leave"]) == (
            "out",
            "22:00-06:00",
            True,
        )
    finally:
        db.close()
    # Re-importing a day with other times corrects them (nothing new).
    roster.write_text("date,name,start,end\n2026-11-23,Ani,21:00,05:30\n", encoding="utf-8")
    out = invoke("faces", "roster", "import", "--config", str(config_path), str(roster))
    assert "1 duty day(s) read, 0 new" in out.output
    db = Database(config.database_path)
    try:
        report = day_report(config, db, date(2026, 11, 23), actor="admin")
        ani = next(r for r in report.rows if r.name == "Ani")
        assert (ani.late, ani.early_leave, ani.shift) == (
            True,
            False,
            shift(23, "21:00", "05:30", staff_id=1),
        )
    finally:
        db.close()


def test_roster_csv_bad_times_import_nothing(config_path: Path, tmp_path: Path) -> None:
    _staff_and_marks(config_path)
    roster = tmp_path / "piket.csv"
    roster.write_text(
        "date,name,start,end\n"
        "2026-11-23,Ani,22:00,06:00\n"
        "2026-11-24,Ani,22:00,\n"
        "2026-11-25,Ani,25:00,06:00\n"
        "2026-11-26,Ani,08:00,08:00\n",
        encoding="utf-8",
    )
    result = CliRunner().invoke(
        main, ["faces", "roster", "import", "--config", str(config_path), str(roster)]
    )
    assert result.exit_code == 1
    assert "line 3: a shift needs both start and end" in result.output
    assert "line 4: time must be HH:MM between 00:00 and 23:59" in result.output
    assert "line 5: a shift must end at another time" in result.output
    db = Database(load_config(config_path).database_path)
    assert store.roster_between(db.connection(), date(2026, 1, 1), date(2027, 1, 1)) == []
    db.close()
