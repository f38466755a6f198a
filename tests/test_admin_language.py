"""Admin pages in the page's language: words for codes, old → new settings, the Excel
export, a health page that agrees with the gate, and the wording review (issue 13)."""

from __future__ import annotations

import io
import re
from collections.abc import Callable
from datetime import date, time, timedelta
from pathlib import Path
from typing import Any

from openpyxl import load_workbook

import ui
from kiosk.services.runtime import Kiosk
from kiosk.storage import entry_log
from kiosk.storage import repository as repo
from tests.conftest import add_staff, login, web_client
from tests.test_admin import DAY, seed, settings_form
from tests.test_clock_trust import T0, Clocks, gate_with_clocks  # noqa: F401 (fixture)


def cells(page: str, table: str) -> list[list[str]]:
    body = page.split(f'id="{table}"', 1)[1].split("</table>", 1)[0]
    rows = re.findall(r"<tr[^>]*>(.*?)</tr>", body, re.S)
    found = [
        [re.sub(r"<[^>]+>", "", c).strip() for c in re.findall(r"<td[^>]*>(.*?)</td>", r, re.S)]
        for r in rows
    ]
    return [r for r in found if r]


def test_log_and_report_show_words_not_codes(admin_client: Any, kiosk: Kiosk) -> None:
    seed(kiosk, count=10)
    page = admin_client.get(f"/admin/log?day={DAY}").get_data(as_text=True)
    rows = cells(page, "log-table")
    decisions = {r[4] for r in rows}
    assert {"Diterima · booking sah", "Ditolak · booking sudah dipakai"} <= decisions
    assert "Dirujuk ke petugas · suhu tinggi" in decisions
    assert {r[3] for r in rows} == {"Booking", "Tanpa booking"}
    assert {r[2] for r in rows} == {"Gerbang 1", "Gerbang 2"}
    for code in ("refer", "fever", "booking_used", "walkin", "gate-1"):
        assert all(code not in " ".join(r) for r in rows), code
    # The filter's choices are words too; their values stay codes.
    assert '<option value="refer" >Dirujuk ke petugas</option>' in page
    assert '<option value="walkin" >Tanpa booking</option>' in page
    report = admin_client.get(f"/admin/report?day={DAY}").get_data(as_text=True)
    reasons = {tuple(r) for r in cells(report, "report-reasons")}
    assert ("Dirujuk ke petugas", "suhu tinggi", "3") in reasons
    english = admin_client.get(f"/admin/report?day={DAY}&lang=en").get_data(as_text=True)
    assert ("Referred", "elevated temperature", "3") in {
        tuple(r) for r in cells(english, "report-reasons")
    }


def test_wording_review_and_id_cells(admin_client: Any, kiosk: Kiosk) -> None:
    page = admin_client.get("/admin/log").get_data(as_text=True)
    assert "Catatan kunjungan" in page and "Log masuk" not in page
    assert 'id="export-xlsx"' in page
    staff = admin_client.get("/admin/staff").get_data(as_text=True)
    assert "Data wajah (terenkripsi)" in staff and "Enkoding wajah" not in staff
    css = (Path(ui.__file__).parent / "static" / "admin.css").read_text("utf-8")
    assert re.search(r"td\.id[^{]*\{[^}]*white-space: nowrap", css)
    tick = re.search(r"\.chart \.tick, \.chart \.count \{ font-size: (\d+)px", css)
    assert tick and int(tick.group(1)) >= 12
    assert re.search(r"\.chart svg \{ min-width: 536px", css)  # never scaled below 1:1


def test_weekdays_and_roles_are_words(admin_client: Any) -> None:
    page = admin_client.get("/admin/settings").get_data(as_text=True)
    for day in ("Senin", "Selasa", "Rabu", "Kamis", "Jumat", "Sabtu", "Minggu"):
        assert day in page
    assert not re.search(r">\s*(mon|tue|wed)\s*</label>", page)
    users = admin_client.get("/admin/users").get_data(as_text=True)
    assert '<option value="officer">Petugas</option>' in users


def test_audit_shows_actions_as_words_and_settings_old_to_new(
    admin_client: Any, kiosk: Kiosk
) -> None:
    res = admin_client.post(
        "/admin/settings",
        data=settings_form(**{"admission.daily_cap": "40", "admission.open_days": ["mon", "tue"]}),
    )
    assert res.status_code == 303
    page = admin_client.get("/admin/audit").get_data(as_text=True)
    rows = cells(page, "audit-table")
    changes = {(r[3], r[4], r[5]) for r in rows}
    assert ("Pengaturan diubah", "Kuota harian (warga per hari)", "50 → 40") in changes
    days = [r for r in rows if r[4] == "Hari buka"]
    assert days and days[0][5].endswith("→ Senin, Selasa")
    assert 'data-action="setting_changed"' in page and ">setting_changed<" not in page
    # Stored: the codes and both values.
    stored = [
        a
        for a in entry_log.audit_page(kiosk.db.connection(), limit=50)[0]
        if a.subject == "admission.daily_cap"
    ]
    assert stored[0].details == '{"old": 50, "new": 40}'


def test_an_older_setting_audit_row_still_shows(admin_client: Any, kiosk: Kiosk) -> None:
    with kiosk.db.transaction() as conn:
        repo.add_audit(conn, "admin", "setting_changed", subject="retention.days", details="60")
    rows = cells(admin_client.get("/admin/audit").get_data(as_text=True), "audit-table")
    assert ["Pengaturan diubah", "Simpan data warga (hari)", "60"] in [r[3:] for r in rows]


def test_settings_and_password_errors_in_indonesian_and_english(
    admin_client: Any, kiosk: Kiosk
) -> None:
    res = admin_client.post("/admin/settings", data=settings_form(**{"admission.daily_cap": "0"}))
    assert "Kuota harian (warga per hari): minimal 1" in res.get_data(as_text=True)
    res = admin_client.post(
        "/admin/settings?lang=en", data=settings_form(**{"admission.fever_threshold_c": "40"})
    )
    assert "Fever threshold (°C): must be at most 39" in res.get_data(as_text=True)
    form = {"username": "ani", "role": "officer"}
    weak = admin_client.post(
        "/admin/users?lang=id",
        data={**form, "password": "short", "password2": "short"},
        follow_redirects=True,
    )
    assert "kata sandi minimal 12 karakter" in weak.get_data(as_text=True)
    differ = admin_client.post(
        "/admin/users",
        data={**form, "password": "a" * 12, "password2": "b" * 12},
        follow_redirects=True,
    )
    assert "Kedua kata sandi berbeda." in differ.get_data(as_text=True)
    last = admin_client.post("/admin/users/admin/disable", follow_redirects=True)
    assert "administrator terakhir tidak dapat dinonaktifkan" in last.get_data(as_text=True)


def test_the_cli_keeps_english_messages() -> None:
    from kiosk.passwords import password_problem

    assert password_problem("short") == "password must have at least 12 characters"


def test_xlsx_export_has_indonesian_headers_numbers_and_dates(
    admin_client: Any, kiosk: Kiosk
) -> None:
    seed(kiosk, count=9)
    res = admin_client.get(f"/admin/log.xlsx?day={DAY}")
    assert res.status_code == 200
    assert res.headers["Content-Disposition"].endswith(f'-{DAY}.xlsx"')
    book = load_workbook(io.BytesIO(res.get_data()))
    sheet = book.active
    header = [c.value for c in sheet[1]]
    assert header[:4] == ["No. kunjungan", "Tanggal", "Waktu", "Gerbang"]
    assert "Suhu (°C)" in header and "Keputusan" in header
    rows = list(sheet.iter_rows(min_row=2))
    assert len(rows) == 9
    col = {name: header.index(name) for name in header}
    first = rows[0]  # oldest first: 08:00 WIB
    day_cell, time_cell = first[col["Tanggal"]], first[col["Waktu"]]
    assert day_cell.is_date and day_cell.number_format == "dd/mm/yyyy"
    assert day_cell.value.date() == DAY
    assert time_cell.is_date and time_cell.value == time(8, 0)
    temp = first[col["Suhu (°C)"]]
    assert temp.data_type == "n" and temp.value == 36.5 and temp.number_format == "0.0"
    assert {r[col["Keputusan"]].value for r in rows} == {
        "Diterima",
        "Ditolak",
        "Dirujuk ke petugas",
    }
    # A note that looks like a formula stays text.
    note = next(r[col["Catatan"]] for r in rows if r[0].value and r[col["Catatan"]].value)
    assert note.value == '=HYPERLINK("http://x")' and note.data_type == "s"
    exports = [
        a
        for a in entry_log.audit_page(kiosk.db.connection(), limit=50)[0]
        if a.action == "entries_exported"
    ]
    assert exports and "format=xlsx" in (exports[0].details or "")


def test_xlsx_header_follows_the_page_language(admin_client: Any, kiosk: Kiosk) -> None:
    seed(kiosk, count=1)
    res = admin_client.get(f"/admin/log.xlsx?day={DAY}&lang=en")
    sheet = load_workbook(io.BytesIO(res.get_data())).active
    assert [c.value for c in sheet[1]][:3] == ["Visit no.", "Date", "Time"]


def test_health_page_agrees_with_the_gate_clock(
    gate_with_clocks: Callable[..., tuple[Kiosk, Clocks]],
) -> None:
    """Unsynchronised clock: FAIL while the gate refers; once an officer confirms the date the
    gate admits normally and the page says OK (the doctor's sync check alone would still fail)."""
    kiosk, _clocks = gate_with_clocks(wall=T0 - timedelta(hours=14), synced=False)
    add_staff(kiosk, "admin", "admin")
    client = web_client(kiosk)
    assert login(client, "admin").status_code == 302

    def clock_row() -> tuple[str, str]:
        page = client.get("/admin/health").get_data(as_text=True)
        row = re.search(r'data-check="clock"><td>([^<]*)</td>\s*<td>([^<]*)</td>', page)
        assert row, page
        return row.group(2).strip(), page

    result, page = clock_row()
    assert result == "GAGAL" and 'data-alert="clock_unconfirmed"' in page
    assert "Tanggal belum dikonfirmasi" in page
    done = client.post("/officer/api/confirm-date", json={"date": "2026-11-23"})
    assert done.status_code == 200
    assert kiosk.gate.clock_guard.status()["trusted"] is True
    result, page = clock_row()
    assert result == "Oke" and 'data-alert="clock_unconfirmed"' not in page
    assert "dikonfirmasi petugas" in page
    assert date.fromisoformat(kiosk.gate.today()["date"]) == date(2026, 11, 23)


def test_a_used_booking_names_the_gate_in_words() -> None:
    from kiosk.domain.reasons import Reason
    from kiosk.messages import display_message

    detail = {"admitted_at": "09:30", "gate": "gate-1"}
    assert display_message(Reason.BOOKING_USED, detail, "id") == (
        "Booking ini sudah digunakan pukul 09.30 (Gerbang 1)."
    )
    assert "(Gate 1)" in display_message(Reason.BOOKING_USED, detail, "en")
    assert "(pos-A)" in display_message(Reason.BOOKING_USED, {"gate": "pos-A"}, "id")


def test_staff_page_shows_the_attendance_state_in_words(admin_client: Any) -> None:
    page = admin_client.get("/admin/staff").get_data(as_text=True)
    state = re.search(r'<b data-status="([a-z_]+)">([^<]+)</b>', page)
    assert state and state.group(1) != state.group(2)
