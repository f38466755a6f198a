"""/api/events on the production server (``kiosk run --sim``, waitress): limits, dead clients, SIGTERM."""

from __future__ import annotations

import socket
import time
from collections.abc import Iterator
from pathlib import Path

import pytest
import requests

from tests.browser.server import LiveKiosk, start_kiosk


@pytest.fixture
def two_threads(tmp_path: Path) -> Iterator[LiveKiosk]:
    """A server with the fewest worker threads (2): room for one event stream only."""
    live = start_kiosk(tmp_path / "data", server={"threads": 2})
    yield live
    live.stop()


def events(live: LiveKiosk) -> requests.Response:
    return live.http.get(live.url + "/api/events", stream=True, timeout=(5, 30))


def read_events(res: requests.Response, names: set[str]) -> Iterator[tuple[str, str]]:
    """(event name, data line) for the named events, as they arrive."""
    name = ""
    for line in res.iter_lines(decode_unicode=True):
        if line.startswith("event: "):
            name = line[7:]
        elif line.startswith("data: ") and name in names:
            yield name, line[6:]


def test_stream_shows_a_decision_and_leaves_the_server_answering(two_threads: LiveKiosk) -> None:
    live = two_threads
    stream = events(live)
    assert stream.status_code == 200
    got = read_events(stream, {"today", "result"})
    assert next(got)[0] == "today"
    # The one stream holds one of two threads: everything else is still served.
    assert requests.get(live.url + "/healthz", timeout=5).status_code == 200
    refused = requests.get(live.url + "/api/events", timeout=5)
    assert refused.status_code == 503 and refused.headers["Retry-After"]
    assert live.present(live.add_booking())["decision"] == "admitted"
    name, data = next(got)
    assert name == "result" and '"code": "admitted"' in data and "Silakan masuk." in data
    stream.close()


def test_a_vanished_client_frees_its_stream(two_threads: LiveKiosk) -> None:
    live = two_threads
    with socket.create_connection(("127.0.0.1", live.port), timeout=5) as raw:
        raw.sendall(b"GET /api/events HTTP/1.1\r\nHost: kiosk\r\n\r\n")
        assert raw.recv(4096).startswith(b"HTTP/1.1 200")
    # The socket is gone without a word; the next heartbeat write notices it.
    deadline = time.monotonic() + 30
    while (
        status := requests.get(live.url + "/api/events", stream=True, timeout=5)
    ).status_code != 200:
        status.close()
        assert time.monotonic() < deadline, "the dead client's stream was never freed"
        time.sleep(0.5)
    status.close()


def test_sigterm_with_an_open_stream_closes_the_gate_and_exits(two_threads: LiveKiosk) -> None:
    live = two_threads
    stream = events(live)
    assert next(read_events(stream, {"today"}))[0] == "today"
    out = live.stop(timeout=20)
    assert live.proc.returncode == 0, out
    assert "closing the gate" in out
    stream.close()
