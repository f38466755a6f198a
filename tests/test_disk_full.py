"""Disk full (PRAGMA max_page_count) and low disk space: a clean "cannot record", nothing partial."""

from __future__ import annotations

import shutil
from collections import namedtuple
from pathlib import Path
from typing import Any

import pytest

from kiosk.services.health import disk_alert
from kiosk.services.runtime import Kiosk
from kiosk.storage import repository as repo


def add_bookings(kiosk: Kiosk, n: int) -> list[str]:
    today = kiosk.gate.today()["date"]
    from datetime import date

    ids = [f"DF-{i:04d}" for i in range(n)]
    with kiosk.db.transaction() as conn:
        for booking_id in ids:
            repo.insert_booking(
                conn,
                repo.Booking(
                    booking_id, kiosk.config.site.office_id, date.fromisoformat(today), "W"
                ),
            )
    return ids


def counts(kiosk: Kiosk) -> tuple[int, int, int]:
    today = kiosk.gate.today()["date"]
    with kiosk.db.transaction(write=False) as conn:
        entries = conn.execute("SELECT COUNT(*) FROM entries").fetchone()[0]
        slots = conn.execute(
            "SELECT COUNT(*) FROM entries WHERE uses_slot = 1 AND business_date = ?", (today,)
        ).fetchone()[0]
        used = conn.execute(
            "SELECT COALESCE(SUM(used), 0) FROM day_counters WHERE business_date = ?", (today,)
        ).fetchone()[0]
    return entries, slots, used


def test_a_full_disk_gives_a_clean_refusal_and_no_partial_rows(
    make_kiosk: Any, tmp_path: Path
) -> None:
    from tests.conftest import web_client

    kiosk = make_kiosk(admission={"daily_cap": 5000})
    codes = add_bookings(kiosk, 400)
    client = web_client(kiosk)
    # The test client serves requests on this thread, so this is the connection the gate uses.
    conn = kiosk.db.connection()
    pages = conn.execute("PRAGMA page_count").fetchone()[0]
    conn.execute(f"PRAGMA max_page_count = {pages}")
    replies = []
    for code in codes:
        reply = client.post("/api/sim/present", json={"qr": code, "temperature_c": 36.6})
        assert reply.status_code == 200, reply.get_data(as_text=True)
        replies.append(reply.get_json())
        if reply.get_json()["code"] == "cannot_record":
            break
    last = replies[-1]
    assert last["code"] == "cannot_record", "the database never filled up"
    assert last["decision"] == "refer"
    assert kiosk.db.integrity_ok()
    entries, slots, used = counts(kiosk)
    assert entries == len(replies) - 1  # every acknowledged decision, nothing of the failed one
    assert slots == used == len(replies) - 1  # the counter moved only with stored entries
    alerts = {a["code"]: a for a in kiosk.alerts()}
    assert "full" in alerts["cannot_record"]["message"]
    assert "kiosk doctor" in alerts["cannot_record"]["message"]
    # Space comes back: the gate records again and the alert clears.
    conn.execute(f"PRAGMA max_page_count = {pages * 100}")
    reply = client.post("/api/sim/present", json={"qr": codes[len(replies)], "temperature_c": 36.6})
    assert reply.get_json()["code"] == "admitted"
    assert "cannot_record" not in {a["code"] for a in kiosk.alerts()}


Usage = namedtuple("Usage", "total used free")


def test_low_disk_space_warns_below_the_threshold(
    monkeypatch: pytest.MonkeyPatch, tmp_path: Path
) -> None:
    monkeypatch.setattr(
        shutil, "disk_usage", lambda _p: Usage(1000 * 2**20, 950 * 2**20, 50 * 2**20)
    )
    alert = disk_alert(tmp_path, 10.0)
    assert alert is not None and alert["code"] == "disk_low"
    assert "5.0 %" in alert["message"] and "kiosk db purge" in alert["message"]
    monkeypatch.setattr(shutil, "disk_usage", lambda _p: Usage(1000, 500, 500))
    assert disk_alert(tmp_path, 10.0) is None
