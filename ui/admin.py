"""Admin pages: today's overview, the entry log (any day), CSV export, daily report, audit, health.

Reading personal data (the entry log, its CSV export, the daily report)
writes an audit row with the administrator and what they looked at. The log
pages use keyset paging on the entry id, so a page of a year-old day costs
the same as today's. Settings and users live in :mod:`ui.admin_manage`.
"""

from __future__ import annotations

import csv
import io
from collections.abc import Iterator
from dataclasses import dataclass, field
from datetime import UTC, date, datetime, time, timedelta
from typing import Any

from flask import Blueprint, Flask, Response, render_template, request, stream_with_context

from kiosk.config_office import SERVICE_CODE
from kiosk.domain.admission import Kind
from kiosk.domain.clock import business_date
from kiosk.domain.reasons import Outcome
from kiosk.errors import InputError
from kiosk.services.daystatus import ServiceFigures, day_counts
from kiosk.services.results import policy_from
from kiosk.storage import entry_log
from kiosk.storage import repository as repo
from ui import labels
from ui.helpers import kiosk, parse_day, whole_number
from ui.security import requires, user

bp = Blueprint("admin", __name__, url_prefix="/admin")

PAGE_SIZE = 50
AUDIT_PAGE_SIZE = 100
CSV_COLUMNS = (
    "entry_id",
    "business_date",
    "local_time",
    "gate",
    "kind",
    "outcome",
    "reason",
    "booking_id",
    "name",
    "temperature_c",
    "temperature_source",
    "officer",
    "note",
    "undone_by",
    "undo_reason",
    "service",
    "queue_number",
)


def init_app(app: Flask) -> None:
    from ui import admin_manage

    app.register_blueprint(admin_manage.bp)
    labels.init_app(app)
    admin_manage.init_settings(app)


# -- parsing ----------------------------------------------------------------
def _today() -> date:
    k = kiosk()
    return business_date(k.gate.clock(), k.config.site.zone)


def _day(value: str | None) -> date:
    if not value:
        return _today()
    return parse_day(value)


def _local_time(day: date, value: str | None, name: str) -> datetime | None:
    if not value:
        return None
    try:
        clock = time.fromisoformat(value)
    except ValueError:
        raise InputError(f"{name} must be a time like 09:30, got {value!r}") from None
    return datetime.combine(day, clock, kiosk().config.site.zone).astimezone(UTC)


def _choice(name: str, allowed: list[str]) -> str | None:
    value = request.args.get(name) or None
    if value is not None and value not in allowed:
        raise InputError(f"{name} must be one of {', '.join(allowed)}, got {value!r}")
    return value


def _int(name: str) -> int | None:
    return whole_number(request.args.get(name), name)


MAX_EXPORT_DAYS = 366


def _last_day(day: date) -> date | None:
    value = request.args.get("until")
    if not value:
        return None
    last = parse_day(value, "until")
    if not day <= last <= day + timedelta(days=MAX_EXPORT_DAYS - 1):
        raise InputError(f"until must be on or after day and at most {MAX_EXPORT_DAYS} days later")
    return last


def log_filter(*, allow_range: bool = False) -> entry_log.LogFilter:
    """The entry-log filter from the query string (shared by the page and the CSV export).

    ``until=YYYY-MM-DD`` (CSV export only) extends ``day`` to a range of days.
    """
    args = request.args
    day = _day(args.get("day"))
    search = (args.get("q") or "").strip()[:64] or None
    gate = (args.get("gate") or "").strip()[:32] or None
    return entry_log.LogFilter(
        office_id=kiosk().config.site.office_id,
        day=day,
        outcome=_choice("outcome", [o.value for o in Outcome]),
        kind=_choice("kind", [k.value for k in Kind]),
        gate_id=gate,
        since_utc=_local_time(day, args.get("from"), "from"),
        until_utc=_local_time(day, args.get("to"), "to"),
        search=search,
        last_day=_last_day(day) if allow_range else None,
        service=_service(args.get("service")),
    )


def _service(value: str | None) -> str | None:
    """The ``service`` filter: a service code (any case), empty = all services."""
    code = (value or "").strip().upper()
    if code and not SERVICE_CODE.match(code):
        raise InputError("service must be a service code (1-8 of A-Z 0-9 -)")
    return code or None


def _describe(f: entry_log.LogFilter) -> str:
    parts = [f"day={f.day}" + (f"..{f.last_day}" if f.last_day else "")]
    for name in ("outcome", "kind", "gate_id", "service", "search"):
        if value := getattr(f, name):
            parts.append(f"{name}={value}")
    if f.since_utc or f.until_utc:
        parts.append(f"utc={f.since_utc}..{f.until_utc}")
    return " ".join(parts)


def _audit(action: str, details: str) -> None:
    k = kiosk()
    with k.db.transaction() as conn:
        repo.add_audit(conn, user().username, action, details=details, now=k.gate.clock())


# -- the day's numbers and chart --------------------------------------------
@dataclass(frozen=True)
class Bar:
    hour: int
    count: int
    x: int
    y: int
    height: int


@dataclass(frozen=True)
class DaySummary:
    day: date
    used: int
    cap: int
    outcomes: dict[str, int]
    reasons: list[tuple[str, str, int]]
    bars: list[Bar]
    chart_max: int
    undone: int
    services: list[ServiceFigures] = field(default_factory=list)
    """Per service: admitted / cap (the configured caps today, the stored caps of past days)."""


CHART_HEIGHT = 108
CHART_TOP = 16
BAR_WIDTH = 18
BAR_STEP = 22


def day_summary(day: date) -> DaySummary:
    k = kiosk()
    conn = k.db.connection()
    office = k.config.site.office_id
    is_today = day == _today()
    today_cap = k.config.admission.daily_cap if is_today else None
    counts = day_counts(
        conn,
        office,
        day,
        gate_id=k.config.site.gate_id,
        cap=today_cap,
        policy=policy_from(k.config) if is_today else None,
    )
    used, cap = counts.admitted, counts.cap or k.config.admission.daily_cap
    zone = k.config.site.zone
    hours = [0] * 24
    for instant in entry_log.admitted_times(conn, office, day):
        hours[instant.astimezone(zone).hour] += 1
    top = max(max(hours), 1)
    bars = []
    for hour, count in enumerate(hours):
        height = round(CHART_HEIGHT * count / top)
        bars.append(
            Bar(hour, count, hour * BAR_STEP + 4, CHART_TOP + CHART_HEIGHT - height, height)
        )
    return DaySummary(
        day=day,
        used=used,
        cap=cap,
        outcomes=counts.outcomes,
        reasons=entry_log.reason_counts(conn, office, day),
        bars=bars,
        chart_max=top,
        undone=entry_log.returned_slots(conn, office, day),
        services=list(counts.services.values()),
    )


# -- pages ------------------------------------------------------------------
@bp.get("")
@requires("admin")
def overview() -> str:
    day = _today()
    return render_template(
        "admin/overview.html", summary=day_summary(day), today=kiosk().gate.today()
    )


@bp.get("/log")
@requires("admin")
def log() -> Any:
    try:
        f = log_filter()
        before, after = _int("before"), _int("after")
    except InputError as exc:
        return render_template("admin/log.html", error=str(exc), rows=[], f=None, args={}), 400
    k = kiosk()
    conn = k.db.connection()
    rows, more = entry_log.log_page(conn, f, limit=PAGE_SIZE, before_id=before, after_id=after)
    total = entry_log.log_count(conn, f)
    older = newer = None
    if rows:
        # Keyset links: "older" pages below the last row shown, "newer" above the first.
        older = rows[-1].id if (more if after is None else True) else None
        newer = rows[0].id if (before is not None if after is None else more) else None
    _audit("entry_log_viewed", _describe(f))
    args = {k: v for k, v in request.args.items() if k not in ("before", "after") and v}
    summary = day_summary(f.day)
    return render_template(
        "admin/log.html",
        error=None,
        f=f,
        rows=rows,
        total=total,
        older=older,
        newer=newer,
        args=args,
        gates=entry_log.gates_on(conn, f.office_id, f.day),
        outcomes=[o.value for o in Outcome],
        kinds=[k.value for k in Kind],
        services=sorted({*k.config.services, *(s.code for s in summary.services)}),
        zone=k.config.site.zone,
        summary=summary,
    )


def _csv_safe(value: Any) -> Any:
    """Spreadsheets run cells starting with = + - @ as formulas: quote them."""
    if isinstance(value, str) and value[:1] in ("=", "+", "-", "@", "\t", "\r"):
        return "'" + value
    return value


def csv_lines(f: entry_log.LogFilter, *, batch: int = 500) -> Iterator[str]:
    """The export as text chunks: a UTF-8 BOM, a header, then rows ``batch`` at a time."""
    k = kiosk()
    zone = k.config.site.zone
    buffer = io.StringIO()
    writer = csv.writer(buffer)
    writer.writerow(CSV_COLUMNS)
    yield "\ufeff" + buffer.getvalue()
    buffer.seek(0)
    buffer.truncate()
    with k.db.transaction(write=False) as conn:  # one consistent snapshot
        for n, row in enumerate(entry_log.log_rows(conn, f, batch=batch), start=1):
            local = row.ts.astimezone(zone)
            writer.writerow(
                [
                    row.id,
                    row.business_date.isoformat(),
                    local.strftime("%Y-%m-%d %H:%M:%S"),
                    _csv_safe(row.gate_id),
                    row.kind,
                    row.outcome,
                    row.reason,
                    _csv_safe(row.booking_id or ""),
                    _csv_safe(row.name or ""),
                    "" if row.temp_estimated_c is None else f"{row.temp_estimated_c:.2f}",
                    row.temp_source or "",
                    _csv_safe(row.officer or ""),
                    _csv_safe(row.note or ""),
                    _csv_safe(row.undone_by or ""),
                    _csv_safe(row.undo_reason or ""),
                    _csv_safe(row.service),
                    _csv_safe(row.queue_number or ""),
                ]
            )
            if n % batch == 0:
                yield buffer.getvalue()
                buffer.seek(0)
                buffer.truncate()
    if buffer.tell():
        yield buffer.getvalue()


@bp.get("/log.csv")
@requires("admin")
def export_csv() -> Any:
    f = log_filter(allow_range=True)
    _audit("entries_exported", _describe(f))
    days = f.day.isoformat() + (f"_{f.last_day.isoformat()}" if f.last_day else "")
    name = f"entries-{kiosk().config.site.office_id}-{days}.csv"
    return Response(
        stream_with_context(csv_lines(f)),
        mimetype="text/csv",
        headers={"Content-Disposition": f'attachment; filename="{name}"'},
    )


@bp.get("/report")
@requires("admin")
def report() -> Any:
    day = _day(request.args.get("day"))
    k = kiosk()
    zone = k.config.site.zone
    start = datetime.combine(day, time(0), zone).astimezone(UTC)
    actions = entry_log.audit_between(k.db.connection(), start, start + timedelta(days=1))
    officer_actions = [
        a
        for a in actions
        if a.action.startswith(("admit_", "admission_undone", "referral_", "clinical", "remeasure"))
    ]
    _audit("daily_report_viewed", f"day={day}")
    return render_template(
        "admin/report.html",
        summary=day_summary(day),
        actions=officer_actions,
        zone=zone,
        office=k.config.site,
        printed=k.gate.clock().astimezone(zone),
    )


@bp.get("/audit")
@requires("admin")
def audit() -> Any:
    before = _int("before")
    actor = (request.args.get("actor") or "").strip()[:64] or None
    rows, more = entry_log.audit_page(
        kiosk().db.connection(), limit=AUDIT_PAGE_SIZE, before_id=before, actor=actor
    )
    return render_template(
        "admin/audit.html",
        rows=rows,
        older=rows[-1].id if rows and more else None,
        actor=actor or "",
        zone=kiosk().config.site.zone,
    )


@bp.get("/health")
@requires("admin")
def health() -> Any:
    """What the gate itself sees: its own clock trust and the alerts of /healthz and the
    officer console (a date the gate trusts is never shown as a failed clock)."""
    from kiosk import doctor

    k = kiosk()
    checks = [
        doctor.check_disk(k.config.data_dir, min_free_percent=k.config.retention.min_free_percent),
        doctor.check_database(k.config.database_target),
    ]
    last = k.gate.last_result
    return render_template(
        "admin/health.html",
        clock=k.gate.clock_guard.status(),
        now=k.gate.clock().astimezone(k.config.site.zone),
        alerts=k.alerts(),
        in_service=k.in_service(),
        checks=checks,
        calibration=k.gate.last_calibration(),
        calibration_status=k.gate.screening.calibration_status(),
        optics=k.config.thermometer,
        model=k.gate.model,
        scanner=k.scanner_status(),
        mode=k.config.hardware.mode,
        gate_id=k.config.site.gate_id,
        last=last.as_json("en") if last else None,
        zone=k.config.site.zone,
    )
