"""HTTP API: health, today's status and the simulator's real pipeline."""

from __future__ import annotations

from datetime import timedelta
from typing import Any

import pytest

from kiosk.domain.clock import business_date
from kiosk.services.runtime import Kiosk
from kiosk.storage import Booking
from kiosk.storage import repository as repo
from tests.conftest import web_client


def add_booking(kiosk: Kiosk, booking_id: str = "BK-TEST0001", days: int = 0) -> str:
    day = business_date(kiosk.gate.clock(), kiosk.config.site.zone) + timedelta(days=days)
    with kiosk.db.transaction() as conn:
        repo.insert_booking(
            conn,
            Booking(id=booking_id, office_id=kiosk.config.site.office_id, date=day, name="Siti"),
        )
    return booking_id


def present(client: Any, qr: Any, temperature: Any = 36.6, **extra: Any) -> Any:
    return client.post("/api/sim/present", json={"qr": qr, "temperature_c": temperature, **extra})


def test_healthz(client: Any) -> None:
    res = client.get("/healthz")
    assert res.status_code == 200
    assert res.get_json()["status"] == "ok"


def test_today(client: Any, kiosk: Kiosk) -> None:
    body = client.get("/api/today").get_json()
    assert body["cap"] == 50
    assert body["admitted"] == 0
    assert body["date"] == business_date(kiosk.gate.clock(), kiosk.config.site.zone).isoformat()


def test_present_valid_booking_admits_and_counts(client: Any, kiosk: Kiosk) -> None:
    code = add_booking(kiosk)
    res = present(client, code, 36.6)
    assert res.status_code == 200
    body = res.get_json()
    assert (body["decision"], body["code"]) == ("admitted", "admitted")
    assert body["message"]
    assert body["temperature"]["estimated_c"] == pytest.approx(36.6, abs=0.05)
    assert client.get("/api/today").get_json()["admitted"] == 1
    # Outputs really switched: the relay is energised (gate open) after an admission.
    assert kiosk.simulator is not None
    assert kiosk.simulator.outputs.state()["relay"] is True


def test_present_fever_refers(client: Any, kiosk: Kiosk) -> None:
    body = present(client, add_booking(kiosk), 39.0).get_json()
    assert (body["decision"], body["code"]) == ("refer", "fever")
    assert client.get("/api/today").get_json()["admitted"] == 0


def test_present_unknown_booking(client: Any) -> None:
    body = present(client, "BK-NOSUCH01").get_json()
    assert (body["decision"], body["code"]) == ("denied", "booking_unknown")


def test_present_wrong_date_names_the_date(client: Any, kiosk: Kiosk) -> None:
    body = present(client, add_booking(kiosk, days=1)).get_json()
    assert body["code"] == "booking_wrong_date"
    assert body["detail"]["valid_from"] in body["message"]


def test_cap_reached_over_http(make_kiosk: Any) -> None:
    kiosk = make_kiosk(admission={"daily_cap": 2})
    client = web_client(kiosk)
    codes = [add_booking(kiosk, f"BK-CAP0000{i}") for i in range(3)]
    results = [present(client, c).get_json()["code"] for c in codes]
    assert results == ["admitted", "admitted", "cap_reached"]


def test_idempotency_key_uses_one_slot(client: Any, kiosk: Kiosk) -> None:
    code = add_booking(kiosk)
    first = present(client, code, idempotency_key="k-1").get_json()
    again = present(client, code, idempotency_key="k-1").get_json()
    assert first["entry_id"] == again["entry_id"]
    assert again["replayed"] is True
    assert client.get("/api/today").get_json()["admitted"] == 1


@pytest.mark.parametrize(
    "qr",
    [
        "hello world",
        "x" * 600,  # oversized payload (> 512 bytes) still fits a QR: rejected by the parser
        "\x00\x01\x02binary\x7f",
        "BK-0001'; DROP TABLE entries; --",
        "🙂🙂🙂",
    ],
)
def test_junk_qr_text_is_denied_not_crashing(client: Any, qr: str) -> None:
    res = present(client, qr)
    assert res.status_code == 200
    body = res.get_json()
    assert (body["decision"], body["code"]) == ("denied", "qr_invalid")


@pytest.mark.parametrize(
    "payload, hint",
    [
        ({"temperature_c": 36.6}, "qr is required"),
        ({"qr": 12345, "temperature_c": 36.6}, "qr must be a string"),
        ({"qr": "", "temperature_c": 36.6}, "must not be empty"),
        ({"qr": "BK-1", "temperature_c": "hot"}, "temperature_c must be a number"),
        ({"qr": "BK-1", "temperature_c": True}, "temperature_c must be a number"),
        ({"qr": "BK-1", "temperature_c": 99}, "between"),
        ({"qr": "x" * 5000, "temperature_c": 36.6}, "longer than"),
        ({"qr": ["BK-1"], "temperature_c": 36.6}, "must be a string"),
    ],
)
def test_bad_json_is_a_clear_400(
    client: Any, kiosk: Kiosk, payload: dict[str, Any], hint: str
) -> None:
    res = client.post("/api/sim/present", json=payload)
    assert res.status_code == 400
    assert hint in res.get_json()["error"]
    with kiosk.db.transaction(write=False) as conn:
        assert (
            repo.entries_on(
                conn,
                kiosk.config.site.office_id,
                business_date(kiosk.gate.clock(), kiosk.config.site.zone),
            )
            == []
        )


@pytest.mark.parametrize(
    "data, content_type",
    [
        ("not json", "application/json"),
        ("[1, 2]", "application/json"),
        ("qr=BK-1", "application/x-www-form-urlencoded"),
        (b"\xff\xfe\x00", "application/json"),
    ],
)
def test_non_object_body_is_400(client: Any, data: Any, content_type: str) -> None:
    res = client.post("/api/sim/present", data=data, content_type=content_type)
    assert res.status_code == 400
    assert "JSON object" in res.get_json()["error"]


def test_sensor_fault_refers_and_keeps_gate_closed(client: Any, kiosk: Kiosk) -> None:
    code = add_booking(kiosk)
    assert client.post("/api/sim/fault", json={"fault": "nack"}).status_code == 200
    body = present(client, code).get_json()
    assert (body["decision"], body["code"]) == ("refer", "sensor_fault")
    assert kiosk.simulator is not None
    assert kiosk.simulator.outputs.state()["relay"] is False
    client.post("/api/sim/fault", json={})
    assert present(client, code).get_json()["code"] == "admitted"


def test_unknown_fault_is_400(client: Any) -> None:
    res = client.post("/api/sim/fault", json={"fault": "gremlins"})
    assert res.status_code == 400
    assert "choose one of" in res.get_json()["error"]


def test_sim_routes_404_outside_sim_mode(kiosk: Kiosk) -> None:
    kiosk.devices.simulator = None
    client = web_client(kiosk)
    assert (
        client.post("/api/sim/present", json={"qr": "x", "temperature_c": 36.6}).status_code == 404
    )
    assert client.get("/sim").status_code == 404
    assert client.get("/api/sim/state").status_code == 404


def test_pages_render(client: Any) -> None:
    page = client.get("/")
    assert page.status_code == 200
    assert b'lang="id"' in page.data
    assert b"<script>" not in page.data  # scripts come from static files only
    assert client.get("/sim").status_code == 200


def test_unknown_api_route_is_json_404(client: Any) -> None:
    res = client.get("/api/nope")
    assert res.status_code == 404
    assert "error" in res.get_json()
