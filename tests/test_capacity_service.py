"""Capacity by service through the real gate (#15): the recorder's counters and queue
numbers, ``/api/sim/present`` and ``/api/today``, concurrency on SQLite and PostgreSQL."""

from __future__ import annotations

import threading
from collections import Counter
from collections.abc import Callable
from datetime import UTC, datetime, timedelta
from pathlib import Path
from typing import Any

import pytest
from click.testing import CliRunner

from kiosk.cli import main
from kiosk.config import load_config
from kiosk.datadir import init_data_dir
from kiosk.domain.clock import business_date
from kiosk.services.runtime import Kiosk
from kiosk.storage import Booking, capacity, open_database
from kiosk.storage import repository as repo
from tests.conftest import FAST_MEASUREMENT, FakeClock, web_client

NOW = datetime(2026, 11, 23, 2, 0, tzinfo=UTC)  # 09:00 WIB, a Monday
SERVICES = {
    "KTP-EL": {"name": "Perekaman KTP-el", "daily_cap": 3},
    "KK": {"name": "Kartu Keluarga", "daily_cap": 4, "closed_weekdays": ["sat"]},
}


def _write_config(folder: Path, **sections: Any) -> Path:
    """A data folder whose kiosk.toml has ``[services.…]`` tables, as an office writes it."""
    from kiosk.datadir import render_config

    path = init_data_dir(folder)
    config = load_config(path).replace(**sections)
    path.write_text(render_config(config), encoding="utf-8")
    return path


def _add_booking(path: Path, day: str, service: str) -> str:
    result = CliRunner().invoke(
        main,
        [
            "booking",
            "add",
            "--config",
            str(path),
            "--date",
            day,
            "--name",
            "Siti",
            "--service",
            service,
        ],
        catch_exceptions=False,
    )
    assert result.exit_code == 0, result.output
    return result.output.strip().splitlines()[-1]


@pytest.fixture
def office(tmp_path: Path) -> Path:
    return _write_config(
        tmp_path / "data",
        admission={"daily_cap": 10},
        services=SERVICES,
        temperature=FAST_MEASUREMENT,
    )


def test_services_tables_in_the_config_file(office: Path) -> None:
    text = office.read_text(encoding="utf-8")
    assert "[services.KTP-EL]" in text and 'name = "Perekaman KTP-el"' in text
    config = load_config(office)
    assert config.services["KTP-EL"].daily_cap == 3
    assert config.services["KK"].closed_weekdays == ("sat",)


def test_present_gives_queue_numbers_and_today_counts_per_service(office: Path) -> None:
    day = business_date(NOW, load_config(office).site.zone).isoformat()
    codes = [_add_booking(office, day, "KTP-EL") for _ in range(4)]
    general = _add_booking(office, day, "")
    kiosk = Kiosk.start(load_config(office))
    kiosk.gate.clock = FakeClock(NOW)
    try:
        client = web_client(kiosk)
        answers = [
            client.post("/api/sim/present", json={"qr": c, "temperature_c": 36.6}).get_json()
            for c in [*codes, general]
        ]
        today = client.get("/api/today").get_json()
    finally:
        kiosk.close()
    assert [a["decision"] for a in answers] == ["admitted"] * 3 + ["denied", "admitted"]
    assert [a["queue_number"] for a in answers] == [
        "KTP-EL-001",
        "KTP-EL-002",
        "KTP-EL-003",
        None,
        "A-001",
    ]
    assert answers[3]["code"] == "service_full"
    assert "Perekaman KTP-el" in answers[3]["message_en"]
    assert today["services"]["KTP-EL"] == {
        "name": "Perekaman KTP-el",
        "admitted": 3,
        "cap": 3,
        "remaining": 0,
        "open": True,
        "held": 1,
        "walkin_places": 0,
    }
    assert {k: today["services"]["KK"][k] for k in ("admitted", "cap", "remaining")} == {
        "admitted": 0,
        "cap": 4,
        "remaining": 4,
    }
    assert today["admitted"] == 4
    assert today["walkin_places"] == 6


def test_three_scans_within_a_minute_open_the_gate_once(office: Path) -> None:
    day = business_date(NOW, load_config(office).site.zone).isoformat()
    code = _add_booking(office, day, "KTP-EL")
    clock = FakeClock(NOW)
    kiosk = Kiosk.start(load_config(office))
    kiosk.gate.clock = clock
    opened: list[str] = []
    kiosk.gate.listeners.append(lambda r: opened.append(r.decision.outcome.value))
    try:
        client = web_client(kiosk)
        answers = []
        for seconds in (0, 20, 40):
            clock.now = NOW + timedelta(seconds=seconds)
            reply = client.post("/api/sim/present", json={"qr": code, "temperature_c": 36.6})
            answers.append(reply.get_json())
        # after reentry_min_minutes: one re-entry, marked; then the day's re-entries are used
        clock.now = NOW + timedelta(minutes=30)
        again = client.post("/api/sim/present", json={"qr": code, "temperature_c": 36.6})
        clock.now = NOW + timedelta(minutes=60)
        third = client.post("/api/sim/present", json={"qr": code, "temperature_c": 36.6})
    finally:
        kiosk.close()
    assert [a["decision"] for a in answers] == ["admitted", "denied", "denied"]
    assert [a["code"] for a in answers[1:]] == ["reentry_too_soon"] * 2
    assert opened[:3] == ["admitted", "denied", "denied"]
    assert again.get_json()["code"] == "readmitted"
    assert again.get_json()["detail"]["reentry"] == "1"
    assert third.get_json()["code"] == "reentry_limit"


def test_walkin_chooses_a_service_and_held_places_release(tmp_path: Path) -> None:
    path = _write_config(
        tmp_path / "data",
        admission={"daily_cap": 10, "walkin_release_time": "11:00"},
        services=SERVICES,
        temperature=FAST_MEASUREMENT,
    )
    day = business_date(NOW, load_config(path).site.zone).isoformat()
    for _ in range(3):
        _add_booking(path, day, "KTP-EL")
    clock = FakeClock(NOW)
    kiosk = Kiosk.start(load_config(path))
    kiosk.gate.clock = clock
    assert kiosk.simulator is not None
    kiosk.simulator.set_body_temperature(36.6)
    try:
        held = kiosk.gate.admit_walkin("Budi", service="KTP-EL")
        kk = kiosk.gate.admit_walkin("Budi", service="kk")
        status_before = kiosk.gate.today()
        clock.now = NOW + timedelta(hours=2)  # 11:00 WIB: no-shows release their places
        released = kiosk.gate.admit_walkin("Budi", service="KTP-EL")
    finally:
        kiosk.close()
    assert (held.decision.reason.value, held.queue_number) == ("places_held", None)
    assert (kk.decision.reason.value, kk.queue_number) == ("walkin", "KK-001")
    assert status_before["walkin_places"] == 10 - 1 - 3
    assert status_before["services"]["KTP-EL"]["walkin_places"] == 0
    assert (released.decision.reason.value, released.queue_number) == ("walkin", "KTP-EL-001")


def test_undo_returns_the_service_place(office: Path) -> None:
    kiosk = Kiosk.start(load_config(office))
    kiosk.gate.clock = FakeClock(NOW)
    assert kiosk.simulator is not None
    kiosk.simulator.set_body_temperature(36.6)
    try:
        result = kiosk.gate.admit_walkin("Budi", service="KTP-EL")
        assert result.entry_id is not None
        assert kiosk.gate.undo_admission(result.entry_id, "Budi", "wrong person")
        day = result.business_date
        with kiosk.db.transaction(write=False) as conn:
            assert capacity.service_used(conn, "OFFICE", day) == {"KTP-EL": 0}
    finally:
        kiosk.close()


# -- concurrency: per-service caps and the building cap exact together --------------------
CONCURRENT_SERVICES = {
    "KTP-EL": {"name": "Perekaman KTP-el", "daily_cap": 4},
    "KK": {"name": "Kartu Keluarga", "daily_cap": 4},
}
BUILDING_CAP = 10
ATTEMPTS = 36  # 12 per series: KTP-EL, KK and none


def _gates(path: Path, url: str | None) -> list[Kiosk]:
    sections: dict[str, Any] = {"hardware": {"relay_open_seconds": 0.5}}
    if url:
        sections["paths"] = {"database_url": url}
    gates = []
    for g in range(3):
        config = load_config(path).replace(site={"gate_id": f"gate-{g + 1}"}, **sections)
        kiosk = Kiosk.start(config)
        kiosk.gate.clock = FakeClock(NOW)
        assert kiosk.simulator is not None
        kiosk.simulator.set_body_temperature(36.6)
        gates.append(kiosk)
    return gates


def _together(n: int, attempt: Callable[[int], Any]) -> tuple[list[Any], list[str]]:
    results: list[Any] = []
    errors: list[str] = []
    start = threading.Barrier(n, timeout=120)
    lock = threading.Lock()

    def run(i: int) -> None:
        try:
            start.wait()
            r = attempt(i)
            with lock:
                results.append(r)
        except BaseException as exc:
            with lock:
                errors.append(repr(exc))

    threads = [threading.Thread(target=run, args=(i,)) for i in range(n)]
    for t in threads:
        t.start()
    for t in threads:
        t.join(180)
    return results, errors


@pytest.mark.slow
@pytest.mark.parametrize("backend", ["sqlite", "postgresql"])
def test_service_caps_and_building_cap_exact_under_concurrent_gates(
    tmp_path: Path, backend: str, request: pytest.FixtureRequest
) -> None:
    url = request.getfixturevalue("pg_url") if backend == "postgresql" else None
    path = _write_config(
        tmp_path / "data",
        admission={"daily_cap": BUILDING_CAP},
        services=CONCURRENT_SERVICES,
        temperature=FAST_MEASUREMENT,
    )
    if url:
        db = open_database(url)
        try:
            db.migrate()
        finally:
            db.close()
    gates = _gates(path, url)
    series = ["KTP-EL", "KK", ""]
    try:
        for kiosk in gates:
            kiosk.db.connection()

        def attempt(i: int) -> tuple[str, str, str | None]:
            service = series[i % 3]
            r = gates[i % 3].gate.admit_walkin(f"officer-{i % 3}", service=service)
            return service, r.decision.reason.value, r.queue_number

        results, errors = _together(ATTEMPTS, attempt)
        day = business_date(NOW, gates[0].config.site.zone)
        with gates[0].db.transaction(write=False) as conn:
            used = repo.slots_used(conn, "OFFICE", day)
            per_service = capacity.service_used(conn, "OFFICE", day)
            entries = repo.entries_on(conn, "OFFICE", day, limit=1000)
    finally:
        for kiosk in gates:
            kiosk.close()
    assert errors == []
    reasons = Counter(reason for _, reason, _ in results)
    assert set(reasons) <= {"walkin", "service_full", "cap_reached"}, reasons
    admitted = Counter(service for service, reason, _ in results if reason == "walkin")
    assert sum(admitted.values()) == BUILDING_CAP == used
    assert admitted["KTP-EL"] <= 4 and admitted["KK"] <= 4
    assert per_service.get("KTP-EL", 0) == admitted["KTP-EL"]
    assert per_service.get("KK", 0) == admitted["KK"]
    assert sum(e.uses_slot for e in entries) == BUILDING_CAP
    # queue numbers: unique and gap-free per series
    for code, prefix in (("KTP-EL", "KTP-EL"), ("KK", "KK"), ("", "A")):
        numbers = sorted(q for s, reason, q in results if s == code and q is not None)
        assert numbers == [f"{prefix}-{n:03d}" for n in range(1, admitted[code] + 1)]
    stored = [e.queue_number for e in entries if e.queue_number]
    assert len(stored) == len(set(stored)) == BUILDING_CAP


def test_queue_numbers_restart_each_business_day(office: Path) -> None:
    clock = FakeClock(NOW)
    kiosk = Kiosk.start(load_config(office))
    kiosk.gate.clock = clock
    assert kiosk.simulator is not None
    kiosk.simulator.set_body_temperature(36.6)
    try:
        first = kiosk.gate.admit_walkin("Budi", service="KK")
        clock.now = NOW + timedelta(days=1)
        second = kiosk.gate.admit_walkin("Budi", service="KK")
    finally:
        kiosk.close()
    assert first.queue_number == "KK-001"
    assert second.business_date != first.business_date
    assert second.queue_number == "KK-001"


def test_booking_sync_row_and_replay_keep_the_queue_number(office: Path) -> None:
    kiosk = Kiosk.start(load_config(office))
    kiosk.gate.clock = FakeClock(NOW)
    assert kiosk.simulator is not None
    kiosk.simulator.set_body_temperature(36.6)
    day = business_date(NOW, kiosk.config.site.zone)
    try:
        with kiosk.db.transaction() as conn:
            repo.insert_booking(conn, Booking("BK-Q1", "OFFICE", day, "Siti", "KTP-EL"))
        first = kiosk.gate.scan("BK-Q1", idempotency_key="k1")
        replay = kiosk.gate.scan("BK-Q1", idempotency_key="k1")
    finally:
        kiosk.close()
    assert first.queue_number == replay.queue_number == "KTP-EL-001"
    assert replay.replayed


def test_officer_console_walkin_with_service_and_marks(office: Path) -> None:
    from tests.conftest import add_staff, login

    kiosk = Kiosk.start(load_config(office))
    kiosk.gate.clock = FakeClock(NOW)
    assert kiosk.simulator is not None
    kiosk.simulator.set_body_temperature(36.6)
    try:
        add_staff(kiosk, "admin", "admin")
        add_staff(kiosk, "budi", "officer")
        client = web_client(kiosk)
        assert login(client, "budi").status_code == 302
        page = client.get("/officer").get_data(as_text=True)
        assert 'id="walkin-service"' in page and "Perekaman KTP-el (KTP-EL)" in page
        answer = client.post("/officer/api/walkin", json={"service": "KTP-EL"}).get_json()
        unknown = client.post("/officer/api/walkin", json={"service": "NOPE"})
        listing = client.get("/officer/api/today").get_json()
        screen = client.get("/?lang=en").get_data(as_text=True)
    finally:
        kiosk.close()
    assert (answer["code"], answer["queue_number"], answer["service"]) == (
        "walkin",
        "KTP-EL-001",
        "KTP-EL",
    )
    assert unknown.status_code == 400
    row = listing["entries"][0]
    assert (row["queue_number"], row["service"]) == ("KTP-EL-001", "KTP-EL")
    assert listing["today"]["services"]["KTP-EL"]["admitted"] == 1
    assert "Perekaman KTP-el: 2 left" in screen
    assert "Places for walk-ins now: 9" in screen
