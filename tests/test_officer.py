"""Officer console: admit anyway, deny, undo (with the counter invariant), walk-in, clinical."""

from __future__ import annotations

from collections.abc import Callable
from datetime import date, timedelta
from typing import Any

import pytest

from kiosk.services.runtime import Kiosk
from kiosk.storage import entry_log
from kiosk.storage import repository as repo
from tests.conftest import FakeClock, add_staff, login, web_client
from tests.test_api import add_booking, present


def today(kiosk: Kiosk) -> date:
    return date.fromisoformat(kiosk.gate.today()["date"])


def counter_holds(kiosk: Kiosk) -> bool:
    """used = slot-using entries − undos that returned a slot (entries are never changed)."""
    conn = kiosk.db.connection()
    office, day = kiosk.config.site.office_id, today(kiosk)
    used = repo.slots_used(conn, office, day)
    return used == repo.slot_rows(conn, office, day) - entry_log.returned_slots(conn, office, day)


def audit_actions(kiosk: Kiosk) -> list[tuple[str, str, str | None]]:
    rows, _ = entry_log.audit_page(kiosk.db.connection(), limit=500)
    return [(r.actor, r.action, r.subject) for r in reversed(rows)]


def admit_booking(client: Any, kiosk: Kiosk, booking_id: str) -> int:
    body = present(client, add_booking(kiosk, booking_id)).get_json()
    assert body["decision"] == "admitted", body
    return int(body["entry_id"])


def refer_with_fever(client: Any, kiosk: Kiosk, booking_id: str = "BK-FEVER001") -> int:
    body = present(client, add_booking(kiosk, booking_id), 39.2).get_json()
    assert (body["decision"], body["code"]) == ("refer", "fever")
    return int(body["entry_id"])


@pytest.fixture
def sim_body(kiosk: Kiosk) -> None:
    """A visitor stands at the thermometer (walk-ins are measured like everyone)."""
    assert kiosk.simulator is not None
    kiosk.simulator.walkin_body_c = 36.7


def test_console_page_has_the_stable_elements(officer_client: Any) -> None:
    page = officer_client.get("/officer").get_data(as_text=True)
    for element_id in (
        "alerts",
        "business-date",
        "today-admitted",
        "today-cap",
        "referrals",
        "referral-template",
        "referral-alert",
        "walkin-open",
        "walkin-form",
        "undo-form",
        "undo-reason",
        "entries-body",
        "logout",
    ):
        assert f'id="{element_id}"' in page, element_id
    assert '<meta name="csrf-token"' in page
    assert "/static/officer.js" in page


@pytest.mark.parametrize("reason", ["tni_polri", "medical_bpjs", "elderly_disabled"])
def test_admit_anyway_with_a_reason_code_is_recorded_and_audited(
    officer_client: Any, kiosk: Kiosk, reason: str
) -> None:
    res = officer_client.post("/officer/api/priority", json={"reason": reason})
    body = res.get_json()
    assert (res.status_code, body["decision"], body["code"]) == (200, "admitted", "priority")
    entry = repo.entry_by_id(kiosk.db.connection(), body["entry_id"])
    assert entry is not None and entry.officer == "officer" and entry.note == reason
    assert ("officer", "admit_priority", f"entry:{entry.id}") in audit_actions(kiosk)


def test_admit_anyway_other_needs_a_note_and_bad_reasons_are_refused(
    officer_client: Any,
) -> None:
    res = officer_client.post("/officer/api/priority", json={"reason": "other"})
    assert res.status_code == 400 and "note" in res.get_json()["error"]
    res = officer_client.post("/officer/api/priority", json={"reason": "friend"})
    assert res.status_code == 400 and "tni_polri" in res.get_json()["error"]
    res = officer_client.post("/officer/api/priority", json={"reason": "other", "note": "hakim"})
    assert res.get_json()["code"] == "priority"


def test_admit_anyway_for_a_referred_visitor_closes_the_referral(
    officer_client: Any, kiosk: Kiosk
) -> None:
    referred = refer_with_fever(officer_client, kiosk)
    listed = officer_client.get("/officer/api/today").get_json()["entries"]
    assert next(e for e in listed if e["id"] == referred)["pending"] is True
    body = officer_client.post(
        "/officer/api/priority",
        json={"reason": "medical_bpjs", "note": "rujukan RS", "entry_id": referred},
    ).get_json()
    assert body["decision"] == "admitted"
    assert referred not in kiosk.gate.pending_referrals()
    entry = repo.entry_by_id(kiosk.db.connection(), body["entry_id"])
    assert entry is not None and f"entry {referred}" in (entry.note or "")


def test_deny_a_referred_visitor(officer_client: Any, kiosk: Kiosk) -> None:
    referred = refer_with_fever(officer_client, kiosk)
    res = officer_client.post("/officer/api/deny", json={"entry_id": referred, "note": "38.9"})
    assert res.status_code == 200
    assert referred not in kiosk.gate.pending_referrals()
    assert ("officer", "referral_denied", f"entry:{referred}") in audit_actions(kiosk)
    again = officer_client.post("/officer/api/deny", json={"entry_id": referred})
    assert again.status_code == 409 and "already decided" in again.get_json()["error"]


def test_clinical_reading_decides_a_referred_visit(officer_client: Any, kiosk: Kiosk) -> None:
    referred = refer_with_fever(officer_client, kiosk)
    res = officer_client.post("/officer/api/clinical", json={"entry_id": referred, "celsius": 36.8})
    body = res.get_json()
    assert (body["decision"], body["code"]) == ("admitted", "admitted")
    assert body["temperature"]["source"] == "clinical"
    assert ("officer", "clinical_reading", f"entry:{body['entry_id']}") in audit_actions(kiosk)
    bad = officer_client.post("/officer/api/clinical", json={"entry_id": referred, "celsius": 50})
    assert bad.status_code == 400


def test_walkin_is_measured_and_uses_a_slot(
    officer_client: Any, kiosk: Kiosk, sim_body: None
) -> None:
    body = officer_client.post("/officer/api/walkin", json={"note": "lansia"}).get_json()
    assert (body["decision"], body["code"]) == ("admitted", "walkin")
    assert body["temperature"]["estimated_c"] == pytest.approx(36.7, abs=0.1)
    assert kiosk.gate.today()["admitted"] == 1
    assert ("officer", "admit_walkin", f"entry:{body['entry_id']}") in audit_actions(kiosk)
    assert counter_holds(kiosk)


def test_undo_returns_the_slot_records_the_undo_and_keeps_the_entry(
    officer_client: Any, kiosk: Kiosk
) -> None:
    entry_id = admit_booking(officer_client, kiosk, "BK-UNDO0001")
    assert kiosk.gate.today()["admitted"] == 1
    res = officer_client.post("/officer/api/undo", json={"entry_id": entry_id, "reason": "salah"})
    body = res.get_json()
    assert res.status_code == 200 and body["slot_returned"] is True
    assert body["today"]["admitted"] == 0
    entry = repo.entry_by_id(kiosk.db.connection(), entry_id)
    assert entry is not None and entry.outcome == "admitted"  # append-only: still there
    assert entry_log.undo_of(kiosk.db.connection(), entry_id) == ("officer", "salah")
    assert ("officer", "admission_undone", f"entry:{entry_id}") in audit_actions(kiosk)
    listed = officer_client.get("/officer/api/today").get_json()["entries"]
    row = next(e for e in listed if e["id"] == entry_id)
    assert (row["undone_by"], row["undoable"]) == ("officer", False)
    assert counter_holds(kiosk)
    again = officer_client.post("/officer/api/undo", json={"entry_id": entry_id, "reason": "x"})
    assert again.status_code == 400 and "already undone" in again.get_json()["error"]
    assert counter_holds(kiosk)


def test_an_undone_booking_scanned_again_is_used_not_readmitted(
    officer_client: Any, kiosk: Kiosk
) -> None:
    """Re-entry would let it in without a slot after its slot went back: the cap could be beaten."""
    entry_id = admit_booking(officer_client, kiosk, "BK-UNDO0002")
    officer_client.post("/officer/api/undo", json={"entry_id": entry_id, "reason": "salah orang"})
    again = present(officer_client, "BK-UNDO0002").get_json()
    assert again["code"] == "booking_used"
    assert kiosk.gate.today()["admitted"] == 0
    assert counter_holds(kiosk)


def test_undo_frees_a_slot_on_a_full_day(make_kiosk: Callable[..., Kiosk]) -> None:
    kiosk = make_kiosk(admission={"daily_cap": 1})
    add_staff(kiosk, "admin", "admin")
    client = web_client(kiosk)
    login(client, "admin")
    first = admit_booking(client, kiosk, "BK-FULL0001")
    refused = present(client, add_booking(kiosk, "BK-FULL0002")).get_json()
    assert refused["code"] == "cap_reached"
    client.post("/officer/api/undo", json={"entry_id": first, "reason": "pergi lagi"})
    assert present(client, "BK-FULL0002").get_json()["code"] == "admitted"
    assert kiosk.gate.today()["admitted"] == 1
    assert counter_holds(kiosk)


@pytest.mark.parametrize(
    ("minutes_later", "window", "ok"),
    [(9, 10, True), (10, 10, True), (11, 10, False), (1, 0, False)],
)
def test_undo_only_within_the_configured_window(
    make_kiosk: Callable[..., Kiosk], minutes_later: int, window: int, ok: bool
) -> None:
    clock = FakeClock()
    kiosk = make_kiosk(clock=clock, admission={"undo_window_minutes": window})
    add_staff(kiosk, "admin", "admin")
    client = web_client(kiosk)
    login(client, "admin")
    entry_id = admit_booking(client, kiosk, "BK-WIND0001")
    clock.now += timedelta(minutes=minutes_later)
    res = client.post("/officer/api/undo", json={"entry_id": entry_id, "reason": "r"})
    assert (res.status_code == 200) is ok, res.get_json()
    if not ok:
        assert "undo window" in res.get_json()["error"]
    assert counter_holds(kiosk)


def test_undo_refuses_what_is_not_an_admission(officer_client: Any, kiosk: Kiosk) -> None:
    denied = present(officer_client, "BK-NOSUCH01").get_json()["entry_id"]
    for payload, hint in (
        ({"entry_id": denied, "reason": "r"}, "not an admission"),
        ({"entry_id": 999999, "reason": "r"}, "no entry"),
        ({"entry_id": denied}, "reason is required"),
        ({"entry_id": "7", "reason": "r"}, "must be a number"),
    ):
        res = officer_client.post("/officer/api/undo", json=payload)
        assert res.status_code == 400 and hint in res.get_json()["error"], payload


def test_priority_undo_returns_no_slot_when_priority_uses_none(
    officer_client: Any, kiosk: Kiosk
) -> None:
    body = officer_client.post("/officer/api/priority", json={"reason": "tni_polri"}).get_json()
    res = officer_client.post(
        "/officer/api/undo", json={"entry_id": body["entry_id"], "reason": "r"}
    )
    assert res.get_json()["slot_returned"] is False
    assert counter_holds(kiosk)


def test_counter_invariant_over_a_mixed_day(
    officer_client: Any, kiosk: Kiosk, sim_body: None
) -> None:
    admitted = [admit_booking(officer_client, kiosk, f"BK-MIX0000{i}") for i in range(4)]
    walkin = officer_client.post("/officer/api/walkin", json={}).get_json()["entry_id"]
    officer_client.post("/officer/api/priority", json={"reason": "elderly_disabled"})
    for entry_id in (admitted[1], walkin, admitted[3]):
        officer_client.post("/officer/api/undo", json={"entry_id": entry_id, "reason": "r"})
        assert counter_holds(kiosk)
    admit_booking(officer_client, kiosk, "BK-MIX00009")
    assert kiosk.gate.today()["admitted"] == 4 + 1 - 3 + 1
    assert counter_holds(kiosk)


def test_every_action_needs_a_login(kiosk: Kiosk) -> None:
    add_staff(kiosk, "admin", "admin")
    anonymous = web_client(kiosk)
    for url in ("priority", "deny", "undo", "walkin", "clinical"):
        res = anonymous.post(f"/officer/api/{url}", json={})
        assert res.status_code == 401, url


def test_every_code_the_console_shows_has_a_word() -> None:
    from kiosk.domain.admission import Kind, PriorityReason
    from kiosk.domain.reasons import Outcome, Reason
    from ui.officer_words import KINDS, OUTCOMES, PRIORITY_REASONS, REASONS

    assert set(OUTCOMES) == set(Outcome) and set(REASONS) == set(Reason)
    assert set(KINDS) == set(Kind) and set(PRIORITY_REASONS) == set(PriorityReason)


def test_console_words_are_in_the_pages_language(officer_client: Any) -> None:
    import html
    import json
    import re

    page = officer_client.get("/officer").get_data(as_text=True)
    raw = re.search(r"data-words='([^']*)'", page)
    assert raw is not None
    words = json.loads(html.unescape(raw.group(1)))
    assert (words["outcome"]["refer"], words["reason"]["fever"]) == ("Ke petugas", "suhu tinggi")
    assert words["priority"]["elderly_disabled"] == "Lansia atau penyandang disabilitas"
    for code in ("tni_polri", "medical_bpjs", "elderly_disabled", "other"):
        assert f'data-reason="{code}"' in page  # one touch per reason on every referral card
    assert "Pendaftaran TNI/Polri" in page and "Tetap izinkan masuk" in page
    english = officer_client.get("/officer?lang=en").get_data(as_text=True)
    assert "elevated temperature" in english and "To the officer" in english


def test_the_referral_alert_is_a_short_wav_made_by_the_script(
    officer_client: Any, tmp_path: Any
) -> None:
    import wave
    from pathlib import Path

    from tools.make_sounds import OFFICER_TUNES, write

    static = Path(__file__).resolve().parent.parent / "ui" / "static" / "sounds"
    committed = static / "referral-alert.wav"
    with wave.open(str(committed)) as w:
        assert 0.3 < w.getnframes() / w.getframerate() < 1.5
    assert write("referral-alert", OFFICER_TUNES["referral-alert"], tmp_path).read_bytes() == (
        committed.read_bytes()
    )
    page = officer_client.get("/officer").get_data(as_text=True)
    assert 'src="/static/sounds/referral-alert.wav"' in page
    with officer_client.get("/static/sounds/referral-alert.wav") as res:
        assert res.status_code == 200
