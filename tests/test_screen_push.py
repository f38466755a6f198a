"""Every change of the day's figures reaches open citizen screens at once as a ``today`` event."""

from __future__ import annotations

from collections.abc import Iterator
from typing import Any

import pytest

from kiosk.services.runtime import Kiosk
from tests.conftest import web_client
from tests.test_officer import admit_booking
from tests.test_sse_events import parse


@pytest.fixture
def stream(kiosk: Kiosk) -> Iterator[Iterator[bytes]]:
    """An open /api/events stream (its own app on the same kiosk), past its first snapshot."""
    screen = web_client(kiosk, KIOSK_EVENT_HEARTBEAT_S=0.01)
    res = screen.get("/api/events")
    chunks = iter(res.response)
    assert [name for name, _ in parse(chunks, 2)] == ["retry", "today"]
    yield chunks
    res.close()


def next_today(chunks: Iterator[bytes], within: int = 400) -> dict[str, Any]:
    """The next ``today`` event (skipping heartbeats, phases and results)."""
    for _ in range(within):
        [(name, data)] = parse(chunks, 1)
        if name == "today":
            return data  # type: ignore[no-any-return]
    raise AssertionError("no today event")


def test_an_undo_pushes_the_new_count(
    officer_client: Any, kiosk: Kiosk, stream: Iterator[bytes]
) -> None:
    entry = admit_booking(officer_client, kiosk, "BK-PUSH0001")
    assert next_today(stream)["admitted"] == 1
    res = officer_client.post("/officer/api/undo", json={"entry_id": entry, "reason": "salah"})
    assert res.status_code == 200
    assert next_today(stream)["admitted"] == 0


def test_a_walkin_pushes_a_today_event(
    officer_client: Any, kiosk: Kiosk, stream: Iterator[bytes]
) -> None:
    assert kiosk.simulator is not None
    kiosk.simulator.walkin_body_c = 36.7
    res = officer_client.post("/officer/api/walkin", json={"note": "lansia"})
    assert res.get_json()["decision"] == "admitted"
    assert next_today(stream)["admitted"] == 1


def test_a_priority_admission_and_a_refusal_push_too(
    officer_client: Any, kiosk: Kiosk, stream: Iterator[bytes]
) -> None:
    officer_client.post("/officer/api/priority", json={"reason": "elderly_disabled"})
    first = next_today(stream)
    officer_client.post("/api/sim/present", json={"qr": "BK-NOSUCH", "temperature_c": 36.6})
    assert next_today(stream)["admitted"] == first["admitted"]


def test_a_settings_change_pushes_the_new_cap(
    admin_client: Any, kiosk: Kiosk, stream: Iterator[bytes]
) -> None:
    kiosk.gate.apply_config(kiosk.config.replace(admission={"daily_cap": 7}))
    pushed = next_today(stream)
    assert pushed["cap"] == 7 and "7" in pushed["count_text"]
