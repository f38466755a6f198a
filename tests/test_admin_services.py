"""Per-service figures in the admin pages (#15): the log filter by service, the daily report's
admitted / cap per service and the CSV export's service and queue-number columns."""

from __future__ import annotations

import csv
import io
import re
from collections.abc import Callable
from typing import Any

import pytest

from kiosk.services.runtime import Kiosk
from kiosk.storage import Booking
from kiosk.storage import repository as repo
from tests.conftest import FakeClock, web_client

SERVICES = {
    "KTP-EL": {"name": "Perekaman KTP-el", "daily_cap": 3},
    "KK": {"name": "Kartu Keluarga", "daily_cap": 4},
}


@pytest.fixture
def kiosk(make_kiosk: Callable[..., Kiosk]) -> Kiosk:
    """Overrides the shared fixture: an office with two services (admin_client uses it)."""
    return make_kiosk(admission={"daily_cap": 10}, services=SERVICES, clock=FakeClock())


def admit(kiosk: Kiosk, services: list[str]) -> list[dict[str, Any]]:
    day = kiosk.gate.business_day()
    office = kiosk.config.site.office_id
    with kiosk.db.transaction() as conn:
        for i, service in enumerate(services):
            repo.insert_booking(
                conn,
                Booking(
                    id=f"BK-SVC{i:04d}", office_id=office, date=day, name=f"W {i}", service=service
                ),
            )
    client = web_client(kiosk)
    return [
        client.post(
            "/api/sim/present", json={"qr": f"BK-SVC{i:04d}", "temperature_c": 36.6}
        ).get_json()
        for i in range(len(services))
    ]


def test_log_filter_by_service(admin_client: Any, kiosk: Kiosk) -> None:
    answers = admit(kiosk, ["KTP-EL", "KK", "KTP-EL", ""])
    assert [a["queue_number"] for a in answers] == ["KTP-EL-001", "KK-001", "KTP-EL-002", "A-001"]
    page = admin_client.get("/admin/log?service=ktp-el").get_data(as_text=True)
    assert 'data-total="2"' in page
    assert 'id="filter-service"' in page and '<option value="KTP-EL" selected>' in page
    assert "KTP-EL-001" in page and "KTP-EL-002" in page and "KK-001" not in page
    kk = admin_client.get("/admin/log?service=KK").get_data(as_text=True)
    assert 'data-total="1"' in kk and "KK-001" in kk
    everything = admin_client.get("/admin/log").get_data(as_text=True)
    assert 'data-total="4"' in everything
    bad = admin_client.get("/admin/log?service=KTP%20EL!")
    assert bad.status_code == 400 and "service" in bad.get_data(as_text=True)


def test_daily_report_lists_admitted_and_cap_per_service(admin_client: Any, kiosk: Kiosk) -> None:
    admit(kiosk, ["KTP-EL", "KTP-EL", "KK"])
    page = admin_client.get("/admin/report").get_data(as_text=True)
    rows = dict(
        (code, (name, int(n), int(cap)))
        for code, name, n, cap in re.findall(
            r'<tr data-service="([^"]+)"><td>[^<]+</td><td>([^<]+)</td><td>(\d+)</td><td>(\d+)</td>',
            page,
        )
    )
    assert rows == {
        "KTP-EL": ("Perekaman KTP-el", 2, 3),
        "KK": ("Kartu Keluarga", 1, 4),
    }


def test_csv_export_has_service_and_queue_number(admin_client: Any, kiosk: Kiosk) -> None:
    admit(kiosk, ["KK", "KTP-EL"])
    raw = admin_client.get("/admin/log.csv?service=KTP-EL").get_data()
    rows = list(csv.DictReader(io.StringIO(raw.decode("utf-8-sig"))))
    assert [(r["service"], r["queue_number"]) for r in rows] == [("KTP-EL", "KTP-EL-001")]
    everything = admin_client.get("/admin/log.csv").get_data().decode("utf-8-sig")
    all_rows = list(csv.DictReader(io.StringIO(everything)))
    assert [(r["service"], r["queue_number"]) for r in all_rows] == [
        ("KK", "KK-001"),
        ("KTP-EL", "KTP-EL-001"),
    ]
