"""Admin pages: entry log (filters, search, paging), CSV export, report, settings, users, audit."""

from __future__ import annotations

import csv
import inspect
import io
import re
from datetime import UTC, date, datetime, timedelta
from typing import Any

import pytest

from kiosk.services.runtime import Kiosk
from kiosk.storage import Booking, Entry, entry_log
from kiosk.storage import repository as repo
from tests.conftest import STAFF_PASSWORD, login, web_client
from tests.test_api import add_booking, present

DAY = date(2026, 11, 20)  # a past business day (the fixture clock is on 2026-11-23)


def seed(kiosk: Kiosk, day: date = DAY, count: int = 120) -> None:
    """``count`` entries on ``day`` between 08:00 and 10:00 WIB (01:00–03:00 UTC)."""
    office = kiosk.config.site.office_id
    start = datetime(day.year, day.month, day.day, 1, 0, tzinfo=UTC)
    with kiosk.db.transaction() as conn:
        for i in range(count):
            booking_id = f"BK-SEED{i:04d}"
            repo.insert_booking(
                conn, Booking(id=booking_id, office_id=office, date=day, name=f"Warga {i:04d}")
            )
            outcome = ("admitted", "denied", "refer")[i % 3]
            repo.insert_entry(
                conn,
                Entry(
                    ts=start + timedelta(minutes=i),
                    business_date=day,
                    office_id=office,
                    gate_id="gate-1" if i % 2 else "gate-2",
                    kind="booking" if i % 5 else "walkin",
                    outcome=outcome,
                    reason={"admitted": "admitted", "denied": "booking_used", "refer": "fever"}[
                        outcome
                    ],
                    uses_slot=outcome == "admitted",
                    booking_id=booking_id,
                    temp_estimated_c=36.5,
                    note='=HYPERLINK("http://x")' if i == 7 else None,
                ),
            )


def ids_on(page: str) -> list[int]:
    return [int(x) for x in re.findall(r'data-entry-id="(\d+)"', page)]


def audits(kiosk: Kiosk, action: str) -> list[entry_log.AuditRow]:
    rows, _ = entry_log.audit_page(kiosk.db.connection(), limit=1000)
    return [r for r in rows if r.action == action]


# -- entry log ------------------------------------------------------------------
def test_log_pages_through_a_past_day_with_keyset_links(admin_client: Any, kiosk: Kiosk) -> None:
    seed(kiosk)
    page = admin_client.get(f"/admin/log?day={DAY}").get_data(as_text=True)
    first = ids_on(page)
    assert len(first) == 50 and first == sorted(first, reverse=True)
    assert 'data-total="120"' in page
    older = re.search(r'id="page-older" href="([^"]+)"', page)
    assert older and 'id="page-newer"' not in page
    seen = list(first)
    url = older.group(1).replace("&amp;", "&")
    while url:
        page = admin_client.get(url).get_data(as_text=True)
        seen += ids_on(page)
        m = re.search(r'id="page-older" href="([^"]+)"', page)
        url = m.group(1).replace("&amp;", "&") if m else ""
    assert sorted(seen, reverse=True) == seen and len(set(seen)) == 120
    newer = re.search(r'id="page-newer" href="([^"]+)"', page)
    assert newer
    back = admin_client.get(newer.group(1).replace("&amp;", "&")).get_data(as_text=True)
    assert ids_on(back) == seen[50:100]


@pytest.mark.parametrize(
    ("query", "expected"),
    [
        ("outcome=admitted", 40),
        ("outcome=refer&kind=walkin", 8),
        ("kind=walkin", 24),
        ("gate=gate-2", 60),
        ("from=08:30&to=09:00", 30),
        ("q=bk-seed011", 10),
        ("q=warga%200042", 1),
        ("q=100%25", 0),
    ],
)
def test_log_filters_and_search(admin_client: Any, kiosk: Kiosk, query: str, expected: int) -> None:
    seed(kiosk)
    page = admin_client.get(f"/admin/log?day={DAY}&{query}").get_data(as_text=True)
    assert f'data-total="{expected}"' in page


@pytest.mark.parametrize(
    ("query", "hint"),
    [
        ("day=23-11-2026", "day must be a date"),
        ("outcome=maybe", "outcome must be one of"),
        ("from=9am", "from must be a time"),
        ("before=abc", "before must be a whole number"),
    ],
)
def test_bad_log_filters_say_what_is_wrong(admin_client: Any, query: str, hint: str) -> None:
    res = admin_client.get(f"/admin/log?{query}")
    assert res.status_code == 400 and hint in res.get_data(as_text=True)


def test_log_counts_and_hourly_chart(admin_client: Any, kiosk: Kiosk) -> None:
    seed(kiosk)
    page = admin_client.get(f"/admin/log?day={DAY}").get_data(as_text=True)
    bars = dict(re.findall(r'data-hour="(\d+)" data-count="(\d+)"', page))
    assert bars["8"] == "20" and bars["9"] == "20" and bars["10"] == "0"
    assert re.search(r'id="count-admitted">40<', page)
    assert "<svg" in page


def test_reading_the_log_is_audited(admin_client: Any, kiosk: Kiosk) -> None:
    admin_client.get(f"/admin/log?day={DAY}&q=siti")
    row = audits(kiosk, "entry_log_viewed")[0]
    assert (
        row.actor == "admin"
        and f"day={DAY}" in (row.details or "")
        and "siti" in (row.details or "")
    )


# -- CSV export ------------------------------------------------------------------
def test_csv_export_streams_with_bom_and_local_times(admin_client: Any, kiosk: Kiosk) -> None:
    seed(kiosk)
    res = admin_client.get(f"/admin/log.csv?day={DAY}&outcome=admitted")
    assert res.status_code == 200 and res.is_streamed
    assert res.mimetype == "text/csv" and "attachment" in res.headers["Content-Disposition"]
    raw = res.get_data()
    assert raw.startswith(b"\xef\xbb\xbf")
    rows = list(csv.DictReader(io.StringIO(raw.decode("utf-8-sig"))))
    assert len(rows) == 40
    first = rows[0]
    assert first["local_time"] == f"{DAY} 08:00:00"  # 01:00 UTC in Asia/Jakarta
    assert first["name"] == "Warga 0000" and first["outcome"] == "admitted"
    assert [r["entry_id"] for r in rows] == sorted((r["entry_id"] for r in rows), key=int)
    assert audits(kiosk, "entries_exported")[0].actor == "admin"


def test_csv_cells_cannot_become_spreadsheet_formulas(admin_client: Any, kiosk: Kiosk) -> None:
    seed(kiosk, count=10)
    text = admin_client.get(f"/admin/log.csv?day={DAY}").get_data().decode("utf-8-sig")
    note = next(r["note"] for r in csv.DictReader(io.StringIO(text)) if r["note"])
    assert note.startswith("'=HYPERLINK")


def test_csv_export_is_a_generator_over_batches(admin_client: Any, kiosk: Kiosk) -> None:
    from ui.admin import csv_lines, log_filter

    seed(kiosk, count=30)
    app = admin_client.application
    with app.test_request_context(f"/admin/log.csv?day={DAY}"):
        chunks = csv_lines(log_filter(), batch=7)
        assert inspect.isgenerator(chunks)
        first = next(chunks)
        assert first.startswith("\ufeffentry_id,")
        rest = list(chunks)
    assert len(rest) == 5  # 30 rows in batches of 7: 4 full chunks and one rest
    assert sum(chunk.count("\n") for chunk in rest) == 30


# -- daily report ------------------------------------------------------------------
def test_daily_report_is_printable_and_audited(
    admin_client: Any, officer_client: Any, kiosk: Kiosk
) -> None:
    code = add_booking(kiosk)
    entry_id = present(officer_client, code).get_json()["entry_id"]
    officer_client.post("/officer/api/undo", json={"entry_id": entry_id, "reason": "salah"})
    page = admin_client.get("/admin/report").get_data(as_text=True)
    assert 'id="daily-report"' in page and 'id="print-report"' in page
    assert 'data-action="admission_undone">Penerimaan dibatalkan<' in page and "officer" in page
    assert re.search(r'id="count-undone">1<', page)
    assert "/static/admin.css" in page  # holds the @media print rules
    assert audits(kiosk, "daily_report_viewed")


# -- settings ------------------------------------------------------------------
def settings_form(**changes: Any) -> dict[str, Any]:
    form: dict[str, Any] = {
        "admission.daily_cap": "50",
        "admission.fever_threshold_c": "37.5",
        "admission.opens": "00:00",
        "admission.closes": "24:00",
        "admission.open_days": ["mon", "tue", "wed", "thu", "fri", "sat", "sun"],
        "admission.undo_window_minutes": "10",
        "retention.days": "30",
    }
    form.update(changes)
    return form


def test_settings_apply_to_the_running_kiosk(admin_client: Any, kiosk: Kiosk) -> None:
    res = admin_client.post(
        "/admin/settings",
        data=settings_form(**{"admission.daily_cap": "2", "retention.days": "60"}),
    )
    assert res.status_code == 303
    assert kiosk.gate.policy.daily_cap == 2 and kiosk.config.retention.days == 60
    assert admin_client.get("/api/today").get_json()["cap"] == 2
    codes = [add_booking(kiosk, f"BK-SET0000{i}") for i in range(3)]
    assert [present(admin_client, c).get_json()["code"] for c in codes] == [
        "admitted",
        "admitted",
        "cap_reached",
    ]
    changed = {r.subject for r in audits(kiosk, "setting_changed")}
    assert changed == {"admission.daily_cap", "retention.days"}


def test_stored_settings_survive_a_restart(admin_client: Any, kiosk: Kiosk) -> None:
    admin_client.post("/admin/settings", data=settings_form(**{"admission.daily_cap": "7"}))
    restarted = Kiosk.start(kiosk.config.replace(admission={"daily_cap": 50}))
    try:
        web_client(restarted)
        assert restarted.gate.policy.daily_cap == 7
    finally:
        restarted.close()


@pytest.mark.parametrize(
    ("field", "value", "message"),
    [
        ("admission.daily_cap", "0", "Kuota harian (warga per hari): minimal 1"),
        ("admission.daily_cap", "lots", "Kuota harian (warga per hari): harus bilangan bulat"),
        ("admission.fever_threshold_c", "40", "Batas suhu tinggi (°C): maksimal 39"),
        ("admission.opens", "25:00", "Buka (JJ:MM): nilai tidak sah (expected HH:MM"),
        ("admission.open_days", [], "Hari buka: pilih paling sedikit 1"),
        ("retention.days", "0", "Simpan data warga (hari): minimal 1"),
    ],
)
def test_settings_validation_errors_name_the_field(
    admin_client: Any, kiosk: Kiosk, field: str, value: Any, message: str
) -> None:
    res = admin_client.post("/admin/settings", data=settings_form(**{field: value}))
    assert res.status_code == 400
    page = res.get_data(as_text=True)
    error = re.search(r'id="settings-error"[^>]*>([^<]*)<', page)
    assert error and message in error.group(1).replace("&#39;", "'")
    assert kiosk.gate.policy.daily_cap == 50  # nothing applied
    assert not audits(kiosk, "setting_changed")


# -- users ------------------------------------------------------------------
def test_admin_manages_users(admin_client: Any, kiosk: Kiosk) -> None:
    form = {"username": "Budi", "role": "officer", "password": STAFF_PASSWORD}
    res = admin_client.post("/admin/users", data={**form, "password2": STAFF_PASSWORD})
    assert res.status_code == 303
    page = admin_client.get("/admin/users").get_data(as_text=True)
    assert 'id="user-budi"' in page and 'class="flash ok"' in page
    budi = web_client(kiosk)
    assert login(budi, "budi").headers["Location"] == "/officer"
    weak = admin_client.post(
        "/admin/users",
        data={**form, "username": "ani", "password": "qwerty123456", "password2": "qwerty123456"},
        follow_redirects=True,
    )
    text = weak.get_data(as_text=True)
    assert "urutan tombol keyboard" in text or "terlalu umum" in text
    admin_client.post("/admin/users/budi/role", data={"role": "admin"})
    assert login(web_client(kiosk), "budi").headers["Location"] == "/admin"
    admin_client.post("/admin/users/budi/disable")
    assert login(web_client(kiosk), "budi").status_code == 401
    admin_client.post("/admin/users/budi/enable")
    assert login(web_client(kiosk), "budi").status_code == 302
    actions = {r.action for r in entry_log.audit_page(kiosk.db.connection(), limit=100)[0]}
    assert {"user_added", "user_role", "user_disabled", "user_enabled"} <= actions


def test_the_last_administrator_cannot_be_disabled(admin_client: Any, kiosk: Kiosk) -> None:
    res = admin_client.post("/admin/users/admin/disable", follow_redirects=True)
    assert "administrator terakhir" in res.get_data(as_text=True)
    assert admin_client.get("/admin").status_code == 200


# -- audit, health ------------------------------------------------------------------
def test_audit_log_pages(admin_client: Any, kiosk: Kiosk) -> None:
    with kiosk.db.transaction() as conn:
        for i in range(130):
            repo.add_audit(conn, "tester", "poke", subject=f"n:{i}")
    page = admin_client.get("/admin/audit?actor=tester").get_data(as_text=True)
    assert page.count('data-audit-id="') == 100
    older = re.search(r'id="audit-older" href="([^"]+)"', page)
    assert older
    rest = admin_client.get(older.group(1).replace("&amp;", "&")).get_data(as_text=True)
    assert rest.count('data-audit-id="') == 30 and 'id="audit-older"' not in rest


def test_health_page_shows_checks_and_calibration(admin_client: Any, kiosk: Kiosk) -> None:
    page = admin_client.get("/admin/health").get_data(as_text=True)
    for check in ("clock", "disk", "database", "scanner", "thermometer"):
        assert f'data-check="{check}"' in page
    assert "Not calibrated" in page or "Belum" in page or 'id="calibration"' in page
    with kiosk.db.transaction() as conn:
        repo.add_calibration(
            conn,
            repo.Calibration(
                ts=datetime(2026, 11, 1, tzinfo=UTC),
                gate_id=kiosk.config.site.gate_id,
                operator="Teknisi A",
                offset_c=0.4,
                ambient_gain=0.2,
                pairs=8,
                rms_residual_c=0.12,
            ),
        )
    assert "Teknisi A" in admin_client.get("/admin/health").get_data(as_text=True)


def test_csv_export_of_a_range_of_days(admin_client: Any, kiosk: Kiosk) -> None:
    seed(kiosk, DAY, count=5)
    with kiosk.db.transaction() as conn:
        repo.insert_entry(
            conn,
            Entry(
                ts=datetime(2026, 11, 21, 3, tzinfo=UTC),
                business_date=DAY + timedelta(days=1),
                office_id=kiosk.config.site.office_id,
                gate_id="gate-1",
                kind="walkin",
                outcome="denied",
                reason="no_reading",
            ),
        )
    one = admin_client.get(f"/admin/log.csv?day={DAY}").get_data().decode("utf-8-sig")
    both = admin_client.get(f"/admin/log.csv?day={DAY}&until={DAY + timedelta(days=1)}")
    assert len(one.splitlines()) == 1 + 5
    assert len(both.get_data().decode("utf-8-sig").splitlines()) == 1 + 6
    bad = admin_client.get(f"/admin/log.csv?day={DAY}&until={DAY - timedelta(days=1)}")
    assert bad.status_code == 400 and "until must be" in bad.get_json()["error"]
