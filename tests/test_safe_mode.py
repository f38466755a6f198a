"""A damaged database at start-up: safe mode instead of a crash loop."""

from __future__ import annotations

from pathlib import Path

import pytest

from kiosk.config import load_config
from kiosk.datadir import init_data_dir
from kiosk.services.runtime import Kiosk, simulate_present
from kiosk.storage import Database
from kiosk.storage import repository as repo
from tests.conftest import FAST_MEASUREMENT


def damaged_kiosk_config(tmp_path: Path, how: str) -> object:
    config = load_config(init_data_dir(tmp_path / "data")).replace(temperature=FAST_MEASUREMENT)
    db = Database(config.database_path)
    with db.transaction() as conn:  # some real content, so there are pages to damage
        for i in range(300):
            repo.add_audit(conn, "test", "filler", subject=str(i), details="x" * 200)
    db.close()
    raw = bytearray(config.database_path.read_bytes())
    if how == "header":
        raw[:16] = b"not a database!!"
    else:  # scribble over the middle pages (b-tree pages of the tables)
        start = 4096 * 3
        raw[start : start + 4096 * 4] = b"\xa5" * (4096 * 4)
    config.database_path.write_bytes(bytes(raw))
    return config


@pytest.mark.parametrize("how", ["header", "pages"])
def test_damaged_database_starts_in_safe_mode(tmp_path: Path, how: str) -> None:
    config = damaged_kiosk_config(tmp_path, how)
    damaged_bytes = config.database_path.read_bytes()  # type: ignore[attr-defined]
    kiosk = Kiosk.start(config)  # type: ignore[arg-type]
    try:
        assert kiosk.safe_mode is not None
        assert "restore" in kiosk.safe_mode.restore_hint
        # Automatic admission refuses; nothing counts against the cap.
        result = simulate_present(kiosk, "ANY-BOOKING-1", 36.6)
        assert (result.decision.outcome.value, result.decision.reason.value) == (
            "refer",
            "safe_mode",
        )
        # The officer admits by hand, recorded in the journal.
        assert kiosk.simulator is not None
        kiosk.simulator.set_body_temperature(36.6)  # the walk-in is measured like everyone
        walkin = kiosk.gate.admit_walkin("officer-ani", note="safe mode")
        assert walkin.decision.outcome.value == "admitted"
        priority = kiosk.gate.admit_priority("officer-ani", "elderly_disabled")
        assert priority.decision.outcome.value == "admitted"
        with kiosk.db.transaction(write=False) as conn:
            kinds = [r[0] for r in conn.execute("SELECT kind FROM entries ORDER BY id").fetchall()]
        assert kinds == ["booking", "walkin", "priority"]
        assert kiosk.alerts()[0]["code"] == "safe_mode"
    finally:
        kiosk.close()
    # The damaged file was left exactly as found, for `kiosk db restore`.
    assert config.database_path.read_bytes() == damaged_bytes  # type: ignore[attr-defined]


def test_a_healthy_database_is_not_safe_mode(kiosk: Kiosk) -> None:
    assert kiosk.safe_mode is None
    assert all(a["code"] != "safe_mode" for a in kiosk.alerts())


def test_safe_mode_shows_a_banner_and_the_officer_console_works(tmp_path: Path) -> None:
    from tests.conftest import add_staff, login, web_client

    config = damaged_kiosk_config(tmp_path, "header")
    kiosk = Kiosk.start(config)  # type: ignore[arg-type]
    try:
        health = web_client(kiosk).get("/healthz")
        assert health.status_code == 200  # the watchdog must not restart-loop a safe-mode kiosk
        assert health.get_json()["status"] == "safe_mode"
        assert "kiosk db restore" in health.get_json()["safe_mode"]["restore"]
        assert 'id="kiosk-banner"' in web_client(kiosk).get("/").get_data(as_text=True)
        add_staff(kiosk, "admin", "admin")
        add_staff(kiosk, "ani", "officer")
        officer = web_client(kiosk)
        assert login(officer, "ani").status_code == 302
        assert 'id="kiosk-banner"' in officer.get("/officer").get_data(as_text=True)
        data = officer.get("/officer/api/today").get_json()
        assert data["alerts"][0]["code"] == "safe_mode"
        assert kiosk.simulator is not None
        kiosk.simulator.set_body_temperature(36.6)
        walkin = officer.post("/officer/api/walkin", json={"note": "manual"})
        assert walkin.status_code == 200, walkin.get_data(as_text=True)
        assert walkin.get_json()["decision"] == "admitted"
    finally:
        kiosk.close()
