"""Live events for the citizen screen: the hub's limits and the /api/events stream."""

from __future__ import annotations

import json
import threading
from collections.abc import Iterator
from typing import Any

import pytest

from kiosk.domain.reasons import Reason
from kiosk.services.runtime import Kiosk, simulate_present
from tests.test_api import add_booking
from ui.events import Event, EventHub, stream_limit


def parse(chunks: Iterator[bytes], count: int) -> list[tuple[str, Any]]:
    """The next ``count`` SSE items from a stream: (event name, data) or ("comment", text)."""
    items: list[tuple[str, Any]] = []
    buffer = ""
    while len(items) < count:
        buffer += next(chunks).decode()
        while "\n\n" in buffer and len(items) < count:
            block, buffer = buffer.split("\n\n", 1)
            fields = dict(line.split(": ", 1) for line in block.splitlines())
            if "event" in fields:
                items.append((fields["event"], json.loads(fields["data"])))
            elif "retry" in fields:
                items.append(("retry", int(fields["retry"])))
            else:
                items.append(("comment", block))
    return items


# -- the hub -------------------------------------------------------------------------------


def test_stream_limit_keeps_half_the_worker_threads_free() -> None:
    assert [stream_limit(n) for n in (2, 3, 8, 64)] == [1, 1, 4, 32]


def test_hub_refuses_subscribers_over_its_limit_and_frees_slots() -> None:
    hub = EventHub(2)
    a, b = hub.subscribe(), hub.subscribe()
    assert a is not None and b is not None
    assert hub.subscribe() is None
    hub.unsubscribe(a)
    assert hub.subscribe() is not None


def test_a_client_that_stops_reading_is_dropped_and_never_blocks_the_gate() -> None:
    hub = EventHub(2, queue_size=3)
    slow, quick = hub.subscribe(), hub.subscribe()
    assert slow is not None and quick is not None
    for i in range(10):  # returns at once although nobody reads `slow`
        hub.publish(Event("phase", ("measuring", i / 10)))
        assert quick.next(0) is not None
    assert slow.closed and hub.subscribers == 1
    assert not quick.closed


def test_stop_ends_every_stream_and_refuses_new_ones(kiosk: Kiosk) -> None:
    hub = EventHub(4, heartbeat_s=30)
    hub.attach(kiosk.gate)
    sub = hub.subscribe()
    assert sub is not None
    chunks = hub.stream(sub, lambda e: ("x", {}), lambda: ("today", {}))
    assert next(chunks).startswith("retry:") and next(chunks).startswith("event: today")
    stopper = threading.Timer(0.05, hub.stop)
    stopper.start()
    assert list(chunks) == []  # the 30 s wait ends as soon as the hub stops
    stopper.join()
    assert hub.subscribe() is None
    assert hub._on_result not in kiosk.gate.listeners


def test_quiet_stream_sends_heartbeats_then_a_fresh_snapshot() -> None:
    hub = EventHub(1, heartbeat_s=0.001)
    sub = hub.subscribe()
    assert sub is not None
    snapshots = iter(range(100))
    chunks = hub.stream(
        sub, lambda e: None, lambda: ("today", {"n": next(snapshots)}), snapshot_every=3
    )
    got = [next(chunks) for _ in range(6)]
    assert got[0].startswith("retry:")
    assert got[1:] == [
        'event: today\ndata: {"n": 0}\n\n',
        ": ping\n\n",
        ": ping\n\n",
        'event: today\ndata: {"n": 1}\n\n',
        ": ping\n\n",
    ]
    chunks.close()
    assert hub.subscribers == 0  # a client that went away frees its slot


def test_stream_ends_after_its_maximum_age() -> None:
    now = [0.0]
    hub = EventHub(1, heartbeat_s=0.001, max_age_s=10)
    sub = hub.subscribe()
    assert sub is not None

    def clock() -> float:
        now[0] += 4
        return now[0]

    chunks = list(hub.stream(sub, lambda e: None, lambda: ("today", {}), clock=clock))
    assert len(chunks) == 4  # retry, snapshot, two heartbeats: then the browser reconnects
    assert hub.subscribers == 0


# -- /api/events ---------------------------------------------------------------------------


@pytest.fixture
def events_app(make_kiosk: Any) -> Any:
    from ui import create_app

    kiosk = make_kiosk(admission={"daily_cap": 1})
    return create_app(kiosk, {"TESTING": True, "KIOSK_EVENT_HEARTBEAT_S": 0.01})


def test_events_stream_follows_a_visit_from_scan_to_result(events_app: Any) -> None:
    kiosk: Kiosk = events_app.extensions["kiosk"]
    res = events_app.test_client().get("/api/events")
    assert res.status_code == 200
    assert res.mimetype == "text/event-stream"
    assert "no-cache" in res.headers["Cache-Control"]
    chunks = iter(res.response)
    (_, retry), (name, today) = parse(chunks, 2)
    assert retry > 0 and name == "today"
    assert today["count_text"] == "Kuota hari ini: 0 dari 1 terpakai"
    assert (today["full"], today["open"]) == (False, True)

    simulate_present(kiosk, add_booking(kiosk), 36.6)
    items = [i for i in parse(chunks, 12) if i[0] != "comment"]
    phases = [d["phase"] for n, d in items if n == "phase"]
    assert phases[0] == "scanning" and "measuring" in phases
    progress = [d["progress"] for n, d in items if n == "phase" and d["phase"] == "measuring"]
    assert progress == sorted(progress) and all(0 <= p <= 100 for p in progress)
    name, result = next(i for i in items if i[0] == "result")
    assert (result["decision"], result["code"]) == ("admitted", "admitted")
    assert result["message"] == "Silakan masuk."
    assert result["temperature"] == "Suhu 36,6 °C"
    assert result["today"]["count_text"] == "Kuota hari ini: 1 dari 1 terpakai"
    assert result["today"]["full"] is True
    res.close()


def test_events_are_worded_in_the_language_of_the_page(events_app: Any) -> None:
    kiosk: Kiosk = events_app.extensions["kiosk"]
    res = events_app.test_client().get("/api/events?lang=en")
    chunks = iter(res.response)
    assert parse(chunks, 2)[1][1]["count_text"] == "Today: 0 / 1 admitted"
    simulate_present(kiosk, add_booking(kiosk, days=1), 36.6)
    result = next(d for n, d in parse(chunks, 3) if n == "result")
    assert result["code"] == "booking_wrong_date"
    assert result["message"].startswith("This booking is for ")
    assert ", 20" in result["message"]  # "November 24, 2026": a local date, not ISO
    assert result["temperature"] is None
    res.close()


def test_a_refusal_never_shows_the_temperature(events_app: Any) -> None:
    kiosk: Kiosk = events_app.extensions["kiosk"]
    res = events_app.test_client().get("/api/events")
    chunks = iter(res.response)
    parse(chunks, 2)
    simulate_present(kiosk, add_booking(kiosk), 39.0)
    items = parse(chunks, 20)
    recheck = [d for n, d in items if n == "phase" and d["phase"] == "recheck"]
    assert recheck and recheck[0]["message"] == "Mohon tunggu sebentar, suhu akan diukur ulang."
    result = next(d for n, d in items if n == "result")
    assert (result["decision"], result["code"], result["temperature"]) == ("refer", "fever", None)
    res.close()


def test_events_over_the_limit_get_503_and_closing_frees_the_slot(make_kiosk: Any) -> None:
    from ui import create_app

    app = create_app(make_kiosk(), {"TESTING": True, "KIOSK_EVENT_STREAMS": 1})
    client = app.test_client()
    first = client.get("/api/events")
    assert first.status_code == 200
    refused = client.get("/api/events")
    assert refused.status_code == 503 and refused.headers["Retry-After"]
    first.close()  # never iterated: the slot is freed all the same
    assert app.extensions["kiosk_events"].subscribers == 0
    again = client.get("/api/events")
    assert again.status_code == 200
    again.close()


def test_interim_and_unknown_events_render_for_the_screen(events_app: Any) -> None:
    from ui.public import render_event

    kiosk: Kiosk = events_app.extensions["kiosk"]
    with events_app.test_request_context("/?lang=en"):
        name, data = render_event(kiosk, Event("interim", Reason.TEMPERATURE_RECHECK), "en")  # type: ignore[misc]
        assert (name, data["phase"]) == ("phase", "recheck")
        assert data["message"] == "Please wait a moment, we will measure again."
        assert render_event(kiosk, Event("other", None), "en") is None


def test_kiosk_close_stops_the_event_hub(events_app: Any) -> None:
    kiosk: Kiosk = events_app.extensions["kiosk"]
    hub: EventHub = events_app.extensions["kiosk_events"]
    assert hub in kiosk.background
    kiosk.close()
    assert hub.stopped


def test_a_new_day_is_pushed_on_the_next_heartbeat() -> None:
    hub = EventHub(1, heartbeat_s=0.001)
    sub = hub.subscribe()
    assert sub is not None
    days = iter(["2026-11-23", "2026-11-23", "2026-11-24", "2026-11-24", "2026-11-24"])
    snapshots = iter(range(10))
    chunks = hub.stream(
        sub,
        lambda e: None,
        lambda: ("today", {"n": next(snapshots)}),
        snapshot_every=1000,
        day=lambda: next(days),
    )
    got = [next(chunks) for _ in range(5)]
    assert got[1] == 'event: today\ndata: {"n": 0}\n\n'
    assert got[2] == ": ping\n\n"  # same day: only a heartbeat
    assert got[3] == 'event: today\ndata: {"n": 1}\n\n'  # midnight: a fresh snapshot at once
    assert got[4] == ": ping\n\n"
    hub.stop()
