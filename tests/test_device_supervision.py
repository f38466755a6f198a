"""A gate fails closed, a service stays up: devices missing at start, appearing later,
vanishing mid-day.

Real mode runs here with the devices faked at the lowest level the code reaches: the I2C
bus device (``smbus2.SMBus``) opens a register-level MLX90614 twin only while the
thermometer is "plugged in", the GPIO chip is a gpiozero ``MockFactory`` that refuses pins
while "absent", and the camera is a folder of real frames that exists or not.
"""

from __future__ import annotations

import itertools
import time
from collections.abc import Callable, Iterator
from datetime import date
from pathlib import Path
from typing import Any

import cv2
import pytest
import smbus2
from gpiozero import Device
from gpiozero.exc import PinUnsupported
from gpiozero.pins.mock import MockFactory

from drivers.sim_camera import render_scene
from drivers.sim_mlx90614 import FakeMLX90614Bus
from kiosk.config import load_config
from kiosk.datadir import init_data_dir
from kiosk.domain.temperature import EstimationModel
from kiosk.services.runtime import Kiosk
from kiosk.storage import Booking
from kiosk.storage import repository as repo
from tests.conftest import FAST_MEASUREMENT, FakeClock, web_client


class Bench:
    """The hardware on the bench: what is plugged in right now."""

    def __init__(self) -> None:
        self.thermometer = False
        self.thermometer_nacks = False
        self.gpio = False
        self.buses: list[FakeMLX90614Bus] = []
        self.factory = PluggableFactory(self)
        self.model = EstimationModel(1.5, 0.2)

    def smbus(self, bus_number: int) -> FakeMLX90614Bus:
        if not self.thermometer:
            raise FileNotFoundError(2, "No such file or directory", f"/dev/i2c-{bus_number}")
        bus = FakeMLX90614Bus()
        bus.set_ambient(25.0)
        bus.set_object(round(self.model.object_for(36.6, 25.0), 2))
        if self.thermometer_nacks:
            bus.inject("nack")
        self.buses.append(bus)
        return bus

    @property
    def relay(self) -> Any:
        return self.factory.pin(17)


class PluggableFactory(MockFactory):  # type: ignore[misc]
    """gpiozero's mock pins, refused while the GPIO chip is "absent"."""

    def __init__(self, bench: Bench) -> None:
        super().__init__()
        self.bench = bench

    def pin(self, spec: Any, **kwargs: Any) -> Any:
        if not self.bench.gpio:
            raise PinUnsupported("no GPIO chip (/dev/gpiochip0 missing)")
        return super().pin(spec, **kwargs)


@pytest.fixture
def bench(monkeypatch: pytest.MonkeyPatch) -> Iterator[Bench]:
    bench = Bench()
    monkeypatch.setattr(smbus2, "SMBus", bench.smbus)
    previous = Device.pin_factory
    Device.pin_factory = bench.factory
    try:
        yield bench
    finally:
        Device.pin_factory = previous


@pytest.fixture
def real_kiosk(tmp_path: Path, bench: Bench) -> Iterator[Callable[..., Kiosk]]:
    started: list[Kiosk] = []

    def start(**hardware: Any) -> Kiosk:
        config = load_config(init_data_dir(tmp_path / "data"))
        config = config.replace(
            hardware={"mode": "real", "camera": str(tmp_path / "camera"), **hardware},
            temperature={**FAST_MEASUREMENT, "offset_c": 1.5, "ambient_gain": 0.2},
            clock={"trust": "always"},  # clock trust is tested apart
        )
        kiosk = Kiosk.start(config)
        kiosk.gate.clock = FakeClock()
        started.append(kiosk)
        assert kiosk.devices.supervisor is not None
        # Fast retries: the supervisor's schedule is tested through check() below.
        kiosk.devices.supervisor.backoff_initial_s = 0.0
        kiosk.devices.supervisor.backoff_max_s = 0.0
        kiosk.devices.supervisor.probe_interval_s = 0.0
        return kiosk

    yield start
    for kiosk in started:
        kiosk.close()


def add_booking(kiosk: Kiosk, booking_id: str) -> None:
    day = date.fromisoformat(kiosk.gate.today()["date"])
    with kiosk.db.transaction() as conn:
        repo.insert_booking(conn, Booking(booking_id, kiosk.config.site.office_id, day, "Siti"))


def settle(kiosk: Kiosk) -> None:
    assert kiosk.devices.supervisor is not None
    kiosk.devices.supervisor.due_now()
    kiosk.devices.supervisor.check()


def test_nothing_attached_the_kiosk_starts_closed_and_says_why(
    real_kiosk: Callable[..., Kiosk], bench: Bench
) -> None:
    kiosk = real_kiosk()
    assert sorted(kiosk.devices.missing()) == ["gpio", "thermometer"]
    assert kiosk.devices.missing(required_only=False) == ["gpio", "thermometer", "inputs"]
    add_booking(kiosk, "BK-NOHW0001")
    result = kiosk.gate.scan("BK-NOHW0001")
    assert (result.decision.outcome.value, result.decision.reason.value) == (
        "refer",
        "out_of_service",
    )
    assert result.decision.detail["devices"] == "gpio, thermometer"
    assert result.reading is None  # nobody is measured on a gate out of service
    walkin = kiosk.gate.admit_walkin("Rina")
    assert walkin.decision.reason.value == "out_of_service"
    # An officer's priority admission is still recorded (the officer takes responsibility).
    assert kiosk.gate.admit_priority("Rina", "elderly_disabled").decision.admitted

    client = web_client(kiosk)
    health = client.get("/healthz")
    assert health.status_code == 200
    body = health.get_json()
    assert body["status"] == "out_of_service"
    missing = {a["device"] for a in body["alerts"] if a["code"] == "device_missing"}
    assert missing == {"gpio", "thermometer"}
    assert {a["device"] for a in body["alerts"] if a["code"] == "device_optional"} == {"inputs"}
    assert "no I2C bus /dev/i2c-1" in body["devices"]["thermometer"]["error"]
    page = client.get("/")
    assert page.status_code == 200
    html = page.get_data(as_text=True)
    assert '<div id="idle-out">' in html  # the calm out-of-service screen, not hidden
    assert '<div id="idle-open" hidden>' in html


def test_devices_plugged_in_later_open_the_gate_by_itself(
    real_kiosk: Callable[..., Kiosk], bench: Bench
) -> None:
    kiosk = real_kiosk()
    changes: list[str] = []
    kiosk.gate.status_listeners.append(lambda: changes.append("today"))
    add_booking(kiosk, "BK-LATE0001")
    bench.thermometer = True
    settle(kiosk)
    assert kiosk.devices.missing() == ["gpio"]
    assert kiosk.gate.scan("BK-LATE0001").decision.reason.value == "out_of_service"
    bench.gpio = True
    settle(kiosk)
    assert kiosk.devices.missing(required_only=False) == []
    # thermometer, the refused scan (every decision), gpio, inputs: screens told each time
    assert changes == ["today"] * 4
    result = kiosk.gate.scan("BK-LATE0001")
    assert result.decision.reason.value == "admitted"
    assert result.reading is not None and result.reading.estimated_c == pytest.approx(36.6, 0.1)
    assert kiosk.devices.outputs.relay.value == 1  # type: ignore[attr-defined]
    # The officer button works once its GPIO came up: the handlers were applied to it.
    assert kiosk.devices.inputs.on_press == kiosk.gate.remeasure_last_referral


def test_a_thermometer_that_vanishes_mid_day_closes_the_gate_until_it_answers(
    real_kiosk: Callable[..., Kiosk], bench: Bench
) -> None:
    bench.thermometer = bench.gpio = True
    kiosk = real_kiosk()
    assert kiosk.devices.missing() == []
    add_booking(kiosk, "BK-GONE0001")
    add_booking(kiosk, "BK-GONE0002")
    # The cable comes loose: the chip stops answering (NACK), now and on every reopen.
    bench.thermometer_nacks = True
    bench.buses[-1].inject("nack")
    first = kiosk.gate.scan("BK-GONE0001")
    assert first.decision.reason.value == "sensor_fault"  # the visit in progress
    settle(kiosk)  # the failed read made the supervisor probe at once: one failure is enough
    assert kiosk.devices.missing() == ["thermometer"]
    assert kiosk.gate.scan("BK-GONE0002").decision.reason.value == "out_of_service"
    relay = bench.relay
    assert relay.state == 1  # active-low board: high = de-energised, the gate stays closed
    for _ in range(3):
        settle(kiosk)  # retried, still not answering
    assert kiosk.devices.missing() == ["thermometer"]
    bench.thermometer_nacks = False  # re-seated
    settle(kiosk)
    assert kiosk.devices.missing() == []
    assert kiosk.gate.scan("BK-GONE0002").decision.reason.value == "admitted"


def test_probes_notice_a_thermometer_that_vanishes_between_visits(
    real_kiosk: Callable[..., Kiosk], bench: Bench
) -> None:
    bench.thermometer = bench.gpio = True
    kiosk = real_kiosk()
    bench.buses[-1].inject("nack")
    supervisor = kiosk.devices.supervisor
    assert supervisor is not None
    for _ in range(supervisor.probe_failures - 1):
        settle(kiosk)
        assert kiosk.devices.missing() == []  # one bad probe is not a lost device
    settle(kiosk)
    assert kiosk.devices.missing() == ["thermometer"]
    status = kiosk.device_status()["thermometer"]
    assert status["status"] == "missing" and "121" in status["error"]


def test_the_relay_is_never_energised_while_the_gate_is_out_of_service(
    real_kiosk: Callable[..., Kiosk], bench: Bench
) -> None:
    bench.gpio = True
    kiosk = real_kiosk()
    add_booking(kiosk, "BK-RELAY001")
    relay = bench.relay
    opened = len(relay.states)  # (the claim itself is tested with the outputs driver)
    assert kiosk.gate.scan("BK-RELAY001").decision.reason.value == "out_of_service"
    assert relay.state == 1  # active-low board: high = de-energised
    assert all(state for _, state in relay.states[opened:])  # never driven low meanwhile


def test_supervisor_backs_off_and_starts_over(bench: Bench) -> None:
    from kiosk.services.supervisor import DeviceSlot, DeviceSupervisor

    now = [0.0]
    tries: list[float] = []
    held: list[object] = []

    def opener() -> object:
        tries.append(now[0])
        raise OSError("not there")

    slot: DeviceSlot[object] = DeviceSlot(
        "thing", opener=opener, stand_in=lambda why: f"stand-in: {why}", install=held.append
    )
    sup = DeviceSupervisor([slot], backoff_initial_s=1, backoff_max_s=8, mono=lambda: now[0])
    sup.open_all()
    for _ in range(400):
        now[0] += 0.25
        sup.check()
    gaps = [b - a for a, b in itertools.pairwise(tries)]
    assert gaps[:5] == [1.0, 2.0, 4.0, 8.0, 8.0]
    assert held[-1] == "stand-in: not there"
    assert sup.status()["thing"]["status"] == "missing"


# -- `kiosk run` as systemd starts it, with nothing attached ------------------------------


def test_kiosk_run_without_any_device_serves_and_stays_up(tmp_path: Path) -> None:
    """The real command in real mode on a machine with no I2C bus, GPIO chip or camera."""
    import json
    import os
    import socket
    import subprocess
    import sys
    import urllib.request

    config_path = init_data_dir(tmp_path / "data")
    text = config_path.read_text(encoding="utf-8").replace('mode = "sim"', 'mode = "real"')
    config_path.write_text(text, encoding="utf-8")
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        port = s.getsockname()[1]
    env = {**os.environ, "GPIOZERO_PIN_FACTORY": "lgpio"}
    cmd = [sys.executable, "-m", "kiosk.cli", "run", "--config", str(config_path)]
    proc = subprocess.Popen(
        [*cmd, "--port", str(port), "--host", "127.0.0.1"],
        env=env,
        stdout=subprocess.PIPE,
        stderr=subprocess.STDOUT,
        text=True,
    )
    try:
        deadline = time.monotonic() + 30
        body: dict[str, Any] = {}
        while time.monotonic() < deadline:
            assert proc.poll() is None, proc.stdout.read() if proc.stdout else ""
            try:
                with urllib.request.urlopen(f"http://127.0.0.1:{port}/healthz", timeout=2) as r:
                    assert r.status == 200
                    body = json.loads(r.read())
            except OSError:
                time.sleep(0.2)
                continue
            missing = {a.get("device") for a in body["alerts"] if a["code"] == "device_missing"}
            if missing == {"thermometer", "camera", "gpio"}:
                break
            time.sleep(0.2)
        assert {a.get("device") for a in body["alerts"] if a["code"] == "device_missing"} == {
            "thermometer",
            "camera",
            "gpio",
        }, body
        assert body["status"] == "out_of_service"
        with urllib.request.urlopen(f"http://127.0.0.1:{port}/", timeout=5) as r:
            assert r.status == 200
        time.sleep(2)  # retries go on; the process stays up
        assert proc.poll() is None
    finally:
        proc.terminate()
        out = proc.communicate(timeout=20)[0]
    assert proc.returncode == 0, out


def test_camera_appearing_later_is_picked_up_by_the_scanner(
    real_kiosk: Callable[..., Kiosk], bench: Bench, tmp_path: Path
) -> None:
    bench.thermometer = bench.gpio = True
    kiosk = real_kiosk()
    kiosk.start_background()
    assert kiosk.scanner is not None
    deadline = time.monotonic() + 10
    while kiosk.scanner.status != "unavailable":
        assert time.monotonic() < deadline
        time.sleep(0.05)
    assert kiosk.gate.out_of_service() == {"camera"}
    assert not kiosk.in_service()
    frames = tmp_path / "camera"
    frames.mkdir()
    for i in range(200):
        cv2.imwrite(str(frames / f"{i:03d}.png"), render_scene(None))
    deadline = time.monotonic() + 20  # the scanner's back-off is at most 10 s
    while kiosk.scanner.status != "ok":
        assert time.monotonic() < deadline, kiosk.scanner_status()
        time.sleep(0.05)
    assert kiosk.in_service()


def test_the_officer_console_names_the_missing_devices_in_its_language(
    real_kiosk: Callable[..., Kiosk], bench: Bench
) -> None:
    from tests.conftest import add_staff, login

    kiosk = real_kiosk()
    add_staff(kiosk, "admin", "admin")
    add_staff(kiosk, "ani", "officer")
    officer = web_client(kiosk)
    assert login(officer, "ani").status_code == 302
    alerts = officer.get("/officer/api/today?lang=id").get_json()["alerts"]
    titles = {a["device"]: a["title"] for a in alerts if a["code"] == "device_missing"}
    assert titles["thermometer"].endswith(": termometer")
    assert titles["gpio"].endswith(": relai gerbang, lampu dan bel")
