"""One referral takes one decision, enforced in the service; "other" needs the officer's note."""

from __future__ import annotations

from concurrent.futures import ThreadPoolExecutor
from typing import Any

import pytest

from kiosk.errors import AlreadyDecided, InputError
from kiosk.services.runtime import Kiosk
from kiosk.storage import repository as repo
from tests.test_officer import audit_actions, refer_with_fever, today


def priority_admissions(kiosk: Kiosk) -> list[repo.Entry]:
    entries = repo.entries_on(kiosk.db.connection(), kiosk.config.site.office_id, today(kiosk))
    return [e for e in entries if e.kind == "priority"]


def test_other_with_an_empty_note_is_refused_even_for_a_referral(
    officer_client: Any, kiosk: Kiosk
) -> None:
    referred = refer_with_fever(officer_client, kiosk)
    for note in (None, "", "   "):
        body: dict[str, Any] = {"reason": "other", "entry_id": referred}
        if note is not None:
            body["note"] = note
        res = officer_client.post("/officer/api/priority", json=body)
        assert res.status_code == 400, (note, res.get_json())
        assert "note" in res.get_json()["error"]
    assert priority_admissions(kiosk) == []
    assert referred in kiosk.gate.pending_referrals()  # still waiting for a decision


def test_a_second_admit_anyway_for_the_same_referral_is_refused(
    officer_client: Any, kiosk: Kiosk
) -> None:
    referred = refer_with_fever(officer_client, kiosk)
    body = {"reason": "medical_bpjs", "note": "rujukan", "entry_id": referred}
    first = officer_client.post("/officer/api/priority", json=body)
    assert first.status_code == 200 and first.get_json()["decision"] == "admitted"
    second = officer_client.post("/officer/api/priority", json=body)
    assert second.status_code == 409
    assert "already decided" in second.get_json()["error"]
    assert len(priority_admissions(kiosk)) == 1
    # Nor any other decision afterwards.
    deny = officer_client.post("/officer/api/deny", json={"entry_id": referred})
    assert deny.status_code == 409
    clinical = officer_client.post(
        "/officer/api/clinical", json={"entry_id": referred, "celsius": 36.8}
    )
    assert clinical.status_code == 409
    assert ("officer", "referral_decided", f"entry:{referred}") in audit_actions(kiosk)


def test_a_denied_referral_cannot_be_admitted_or_measured_clinically(
    officer_client: Any, kiosk: Kiosk
) -> None:
    referred = refer_with_fever(officer_client, kiosk)
    assert officer_client.post("/officer/api/deny", json={"entry_id": referred}).status_code == 200
    res = officer_client.post(
        "/officer/api/priority", json={"reason": "medical_bpjs", "entry_id": referred}
    )
    assert res.status_code == 409
    res = officer_client.post("/officer/api/clinical", json={"entry_id": referred, "celsius": 36.8})
    assert res.status_code == 409
    assert priority_admissions(kiosk) == []


def test_after_a_clinical_reading_nothing_else_decides_the_referral(
    officer_client: Any, kiosk: Kiosk
) -> None:
    referred = refer_with_fever(officer_client, kiosk)
    ok = officer_client.post("/officer/api/clinical", json={"entry_id": referred, "celsius": 36.8})
    assert ok.status_code == 200
    again = officer_client.post(
        "/officer/api/clinical", json={"entry_id": referred, "celsius": 36.8}
    )
    assert again.status_code == 409
    res = officer_client.post(
        "/officer/api/priority", json={"reason": "medical_bpjs", "entry_id": referred}
    )
    assert res.status_code == 409


def test_the_rule_survives_a_restart_through_the_audit_log(
    officer_client: Any, kiosk: Kiosk
) -> None:
    referred = refer_with_fever(officer_client, kiosk)
    kiosk.gate.admit_priority("officer", "medical_bpjs", entry_id=referred)
    kiosk.gate.referrals._decided.clear()  # what a new process would remember
    with pytest.raises(AlreadyDecided):
        kiosk.gate.admit_priority("officer", "medical_bpjs", entry_id=referred)
    assert len(priority_admissions(kiosk)) == 1


def test_two_officers_at_once_make_one_admission(officer_client: Any, kiosk: Kiosk) -> None:
    referred = refer_with_fever(officer_client, kiosk)

    def admit(name: str) -> str:
        try:
            kiosk.gate.admit_priority(name, "medical_bpjs", entry_id=referred)
        except AlreadyDecided:
            return "refused"
        return "admitted"

    with ThreadPoolExecutor(max_workers=4) as pool:
        outcomes = sorted(pool.map(admit, ["a", "b", "c", "d"]))
    assert outcomes == ["admitted", "refused", "refused", "refused"]
    assert len(priority_admissions(kiosk)) == 1


def test_admit_anyway_names_an_existing_entry_that_was_not_admitted(
    officer_client: Any, kiosk: Kiosk
) -> None:
    with pytest.raises(InputError, match="no entry"):
        kiosk.gate.admit_priority("officer", "medical_bpjs", entry_id=987654)
    refused = officer_client.post(
        "/api/sim/present", json={"qr": "BK-NOSUCH", "temperature_c": 36.6}
    )
    entry_id = refused.get_json()["entry_id"]
    result = kiosk.gate.admit_priority("officer", "elderly_disabled", entry_id=entry_id)
    assert result.decision.outcome.value == "admitted"
    with pytest.raises(InputError, match="admitted already"):
        kiosk.gate.admit_priority("officer", "elderly_disabled", entry_id=result.entry_id)


def test_in_simulation_a_walkin_stands_at_the_thermometer(
    officer_client: Any, kiosk: Kiosk
) -> None:
    res = officer_client.post("/officer/api/walkin", json={"note": "lansia"})
    body = res.get_json()
    assert (body["decision"], body["code"]) == ("admitted", "walkin")
    assert body["temperature"]["estimated_c"] == pytest.approx(36.6, abs=0.05)
    # The panel's body temperature decides the next walk-in.
    assert officer_client.post("/api/sim/body", json={"temperature_c": 39.4}).status_code == 200
    body = officer_client.post("/officer/api/walkin", json={}).get_json()
    assert (body["decision"], body["code"]) == ("refer", "fever")
    assert kiosk.simulator is not None and kiosk.simulator.body_c is None  # stepped away
