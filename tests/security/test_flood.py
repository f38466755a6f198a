"""Findings 1 and 6 on the production server (``kiosk run --sim``, waitress, no nginx):
idle and trickling sockets do not stop /healthz, and LAN streams cannot take the screen's."""

from __future__ import annotations

import socket
import time
from collections.abc import Iterator
from contextlib import ExitStack
from pathlib import Path

import pytest
import requests

from tests.browser.server import LiveKiosk, free_port, start_kiosk


@pytest.fixture
def live(tmp_path: Path) -> Iterator[LiveKiosk]:
    server = {"threads": 2, "local_port": free_port(), "channel_timeout_s": 5}
    kiosk = start_kiosk(tmp_path / "data", server={**server, "cleanup_interval_s": 1})
    yield kiosk
    kiosk.stop()


def open_sockets(
    stack: ExitStack, port: int, count: int, first_line: bytes = b""
) -> list[socket.socket]:
    sockets = []
    for _ in range(count):
        sock = stack.enter_context(socket.create_connection(("127.0.0.1", port), timeout=10))
        if first_line:
            sock.sendall(first_line)
        sockets.append(sock)
    return sockets


def healthz_seconds(url: str) -> float:
    started = time.monotonic()
    assert requests.get(url + "/healthz", timeout=2).status_code == 200
    return time.monotonic() - started


def test_150_idle_sockets_do_not_stop_healthz(live: LiveKiosk) -> None:
    with ExitStack() as stack:
        open_sockets(stack, live.port, 150)
        time.sleep(0.5)  # all accepted by now
        assert healthz_seconds(live.url) < 2


def test_trickling_headers_are_cut_off_and_healthz_keeps_answering(live: LiveKiosk) -> None:
    with ExitStack() as stack:
        slow = open_sockets(stack, live.port, 100, b"GET /healthz HTTP/1.1\r\nX-a: 1\r\n")
        assert healthz_seconds(live.url) < 2
        # Silent for longer than channel_timeout_s (5 s): waitress closes the connection.
        slow[0].settimeout(15)
        started = time.monotonic()
        try:
            data = slow[0].recv(4096)
        except ConnectionResetError:
            data = b""
        assert data == b"" and time.monotonic() - started < 12


def test_lan_streams_cannot_take_the_screens_stream(live: LiveKiosk) -> None:
    local = live.config.server.local_port
    with ExitStack() as stack:
        # A LAN client opens the one shared stream slot (2 threads) and never reads.
        hog = open_sockets(stack, live.port, 1, b"GET /api/events HTTP/1.1\r\nHost: k\r\n\r\n")[0]
        assert hog.recv(64).startswith(b"HTTP/1.1 200")
        refused = requests.get(live.url + "/api/events", timeout=5)
        assert refused.status_code == 503
        screen = requests.get(f"http://127.0.0.1:{local}/api/events", stream=True, timeout=5)
        assert screen.status_code == 200
        screen.close()
        # The watchdog's path: /healthz on the local listener.
        assert healthz_seconds(f"http://127.0.0.1:{local}") < 2
