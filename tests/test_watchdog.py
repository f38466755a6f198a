"""sd_notify client: real AF_UNIX datagram sockets stand in for systemd."""

from __future__ import annotations

import os
import socket
import uuid
from collections.abc import Iterator
from pathlib import Path

import pytest

from kiosk import watchdog
from kiosk.watchdog import Watchdog, notify, watchdog_interval


@pytest.fixture
def systemd(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> Iterator[socket.socket]:
    """A datagram socket where systemd's would be; $NOTIFY_SOCKET points at it."""
    path = tmp_path / "notify"
    if len(os.fsencode(path)) > 100:  # sun_path holds 108 bytes
        pytest.skip(f"temporary path too long for a unix socket: {path}")
    sock = socket.socket(socket.AF_UNIX, socket.SOCK_DGRAM)
    sock.bind(str(path))
    sock.settimeout(2.0)
    monkeypatch.setenv("NOTIFY_SOCKET", str(path))
    yield sock
    sock.close()


def received(sock: socket.socket) -> str:
    return sock.recv(4096).decode("utf-8")


def test_notify_ready_sends_ready_and_status(systemd: socket.socket) -> None:
    assert watchdog.notify_ready("serving on 127.0.0.1:8080")
    assert received(systemd) == "READY=1\nSTATUS=serving on 127.0.0.1:8080"


def test_notify_watchdog_and_stopping(systemd: socket.socket) -> None:
    assert watchdog.notify_watchdog()
    assert received(systemd) == "WATCHDOG=1"
    assert watchdog.notify_stopping()
    assert received(systemd) == "STOPPING=1"


def test_abstract_namespace_socket(monkeypatch: pytest.MonkeyPatch) -> None:
    name = f"kiosk-test-{uuid.uuid4().hex}"
    with socket.socket(socket.AF_UNIX, socket.SOCK_DGRAM) as sock:
        sock.bind("\0" + name)
        sock.settimeout(2.0)
        monkeypatch.setenv("NOTIFY_SOCKET", "@" + name)
        assert watchdog.notify_ready()
        assert received(sock).startswith("READY=1")


def test_outside_systemd_every_call_is_a_noop(monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.delenv("NOTIFY_SOCKET", raising=False)
    assert not watchdog.notify_ready()
    assert not watchdog.notify_watchdog()


def test_unreachable_socket_is_reported_not_raised(tmp_path: Path) -> None:
    assert not notify("READY=1", env={"NOTIFY_SOCKET": str(tmp_path / "nobody-listens")})
    assert not notify("READY=1", env={"NOTIFY_SOCKET": "vsock:2:1234"})


@pytest.mark.parametrize(
    ("env", "expected"),
    [
        ({"WATCHDOG_USEC": "30000000"}, 30.0),
        ({"WATCHDOG_USEC": "500000", "WATCHDOG_PID": str(os.getpid())}, 0.5),
        ({"WATCHDOG_USEC": "30000000", "WATCHDOG_PID": "1"}, None),  # for another process
        ({"WATCHDOG_USEC": "0"}, None),
        ({"WATCHDOG_USEC": "soon"}, None),
        ({}, None),
    ],
)
def test_watchdog_interval_from_the_environment(
    env: dict[str, str], expected: float | None
) -> None:
    assert watchdog_interval(env) == expected


def test_watchdog_pings_at_half_the_interval_while_healthy(systemd: socket.socket) -> None:
    env = {"NOTIFY_SOCKET": os.environ["NOTIFY_SOCKET"], "WATCHDOG_USEC": "100000"}
    dog = Watchdog(lambda: True, env=env)
    assert dog.interval_s == 0.05
    assert dog.start()
    try:
        assert [received(systemd) for _ in range(3)] == ["WATCHDOG=1"] * 3
    finally:
        dog.stop()


def test_unhealthy_kiosk_is_not_pinged(systemd: socket.socket) -> None:
    def failing() -> bool:
        raise RuntimeError("camera loop stalled")

    env = {"NOTIFY_SOCKET": os.environ["NOTIFY_SOCKET"]}
    for probe in (lambda: False, failing):
        dog = Watchdog(probe, interval_s=0.02, env=env)
        assert dog.start()
        systemd.settimeout(0.2)
        try:
            with pytest.raises(TimeoutError):
                systemd.recv(4096)
        finally:
            dog.stop()


def test_without_a_systemd_watchdog_nothing_starts() -> None:
    dog = Watchdog(lambda: True, env={})
    assert dog.interval_s is None
    assert not dog.start()
    dog.stop()  # harmless
