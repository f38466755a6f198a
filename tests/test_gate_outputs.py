"""Gate outputs through gpiozero on MockFactory: pin sequences, timings, fail-closed."""

from __future__ import annotations

import multiprocessing as mp
import os
import signal
import time
from collections.abc import Iterator
from typing import Any

import pytest
from gpiozero.pins.mock import MockFactory

from drivers.gpio_outputs import BUZZER, GpioGateOutputs

PINS = {"relay_pin": 17, "green_pin": 22, "red_pin": 27, "buzzer_pin": 23}


@pytest.fixture
def outputs() -> Iterator[tuple[GpioGateOutputs, MockFactory]]:
    factory = MockFactory()
    out = GpioGateOutputs(**PINS, open_seconds=0.3, refusal_seconds=0.5, pin_factory=factory)
    factory.setup_marks = {p: len(factory.pin(p).states) for p in PINS.values()}  # type: ignore[attr-defined]
    yield out, factory
    out.close()
    factory.close()


def levels(factory: MockFactory, pin: int) -> list[bool]:
    """The pin's levels from the end of set-up on, repeats collapsed."""
    history = factory.pin(pin).states
    start = getattr(factory, "setup_marks", {}).get(pin, 1)
    states = [bool(s.state) for s in history[start - 1 :]]
    return [s for i, s in enumerate(states) if i == 0 or s != states[i - 1]]


def test_idle_gate_is_closed_and_red(outputs: tuple[GpioGateOutputs, MockFactory]) -> None:
    out, factory = outputs
    assert out.state() == {"relay": False, "green": False, "red": True, "buzzer": False}
    # Active-low relay board: de-energised means the pin is held HIGH.
    assert factory.pin(17).state is True


def wait_for(predicate: Any, timeout: float = 10.0) -> None:
    deadline = time.monotonic() + timeout
    while not predicate():
        assert time.monotonic() < deadline, "timed out"
        time.sleep(0.01)


def test_admit_opens_for_the_configured_time(outputs: tuple[GpioGateOutputs, MockFactory]) -> None:
    out, factory = outputs
    out.signal("admitted")
    wait_for(lambda: out.state()["relay"])
    assert factory.pin(17).state is False  # active-low: energised = LOW
    assert out.state()["red"] is False  # switched off before signal() returned
    wait_for(lambda: out.state()["green"])  # its own blink thread: may lag the relay's
    wait_for(lambda: not out.state()["relay"] and out.state()["red"])
    assert levels(factory, 17) == [True, False, True]
    states = factory.pin(17).states[factory.setup_marks[17] :]  # type: ignore[attr-defined]
    opened = next(s.timestamp for s in states if not s.state)
    closed = next(s.timestamp for s in states if s.state and s.timestamp > opened)
    assert closed - opened >= 0.29  # never shorter than open_seconds (0.3)
    assert closed - opened <= 1.5  # and not stuck open (generous: loaded CI machines)
    wait_for(lambda: levels(factory, 23) == [False, True, False])  # one beep


@pytest.mark.parametrize("outcome, beeps", [("denied", 2), ("refer", 3), ("fault", 2)])
def test_refusals_never_touch_the_relay(
    outputs: tuple[GpioGateOutputs, MockFactory], outcome: str, beeps: int
) -> None:
    out, factory = outputs
    out.signal(outcome)
    wait_for(lambda: levels(factory, 23).count(True) == beeps and not out.state()["buzzer"])
    assert levels(factory, 17) == [True]  # relay never energised
    assert levels(factory, 22) == [False]  # green never on


@pytest.mark.parametrize("outcome", ["admitted", "denied", "refer", "fault"])
def test_every_signal_returns_to_a_steady_closed_red_gate(
    outputs: tuple[GpioGateOutputs, MockFactory], outcome: str
) -> None:
    out, factory = outputs
    out.signal(outcome)
    beeps = BUZZER[outcome][2]
    wait_for(lambda: levels(factory, 23).count(True) == beeps and not out.state()["buzzer"])
    idle = {"relay": False, "green": False, "red": True, "buzzer": False}
    wait_for(lambda: out.state() == idle)
    time.sleep(0.6)  # steady: no blink thread left running
    assert out.state() == idle


def test_a_refusal_while_open_closes_the_gate_at_once(
    outputs: tuple[GpioGateOutputs, MockFactory],
) -> None:
    out, _factory = outputs
    out.signal("admitted")
    assert out.state()["relay"]
    out.signal("denied")
    assert not out.state()["relay"] and not out.state()["green"]


def test_close_is_idempotent_and_releases_the_relay(
    outputs: tuple[GpioGateOutputs, MockFactory],
) -> None:
    out, factory = outputs
    out.signal("admitted")
    time.sleep(0.05)
    out.close()
    out.close()
    assert factory.pin(17).state is True  # de-energised
    out.signal("admitted")  # after close: ignored, not an error
    assert factory.pin(17).state is True


def _serve_until_sigterm(conn: Any, folder: str) -> None:
    """Child: a sim kiosk admits (relay on), then waits for SIGTERM like `kiosk run`."""
    from pathlib import Path

    from kiosk.cli.run import install_shutdown
    from kiosk.config import load_config
    from kiosk.datadir import init_data_dir
    from kiosk.services.runtime import Kiosk

    config = load_config(init_data_dir(Path(folder) / "d")).replace(
        temperature={"sample_hz": 1000.0, "settle_s": 0.0, "stable_window": 2},
        hardware={"relay_open_seconds": 30.0},
    )
    kiosk = Kiosk.start(config)
    install_shutdown(kiosk)
    relay_pin = kiosk.devices.outputs.relay.pin  # type: ignore[attr-defined]
    kiosk.simulator.set_body_temperature(36.6)  # type: ignore[union-attr]
    result = kiosk.gate.admit_walkin("ani")
    conn.send(("admitted", result.decision.admitted, relay_pin.state))
    deadline = time.monotonic() + 20
    while not kiosk.devices._closed and time.monotonic() < deadline:
        time.sleep(0.01)
    conn.send(("after", kiosk.devices._closed, relay_pin.state))


def test_sigterm_leaves_the_relay_de_energised(tmp_path: Any) -> None:
    ctx = mp.get_context("spawn")
    parent, child = ctx.Pipe()
    proc = ctx.Process(target=_serve_until_sigterm, args=(child, str(tmp_path)))
    proc.start()
    try:
        assert parent.poll(60)
        tag, admitted, level = parent.recv()
        assert (tag, admitted, level) == ("admitted", True, False)  # energised (active-low)
        os.kill(proc.pid, signal.SIGTERM)
        assert parent.poll(20)
        tag, closed, level = parent.recv()
        assert (tag, closed, level) == ("after", True, True)  # closed, relay released
    finally:
        proc.join(20)
        if proc.is_alive():
            proc.kill()
    assert proc.exitcode == 0


def test_relay_off_command_de_energises_a_real_mode_relay(
    tmp_path: Any, monkeypatch: pytest.MonkeyPatch
) -> None:
    """`kiosk relay-off` (systemd ExecStopPost) on a relay left energised by a dead process."""
    from click.testing import CliRunner
    from gpiozero import Device

    from kiosk.cli import main
    from kiosk.datadir import init_data_dir

    path = init_data_dir(tmp_path / "d")
    path.write_text(path.read_text().replace('mode = "sim"', 'mode = "real"'))
    factory = MockFactory()
    monkeypatch.setattr(Device, "pin_factory", factory)
    stuck = factory.pin(17)
    stuck.function = "output"
    stuck.state = False  # energised (active-low) and left so by a dead process
    result = CliRunner().invoke(main, ["relay-off", "--config", str(path)])
    assert result.exit_code == 0, result.output
    assert factory.pin(17).state is True
    factory.close()


def test_officer_button_press_remeasures_and_hold_confirms(make_kiosk: Any) -> None:
    kiosk = make_kiosk(hardware={"button_hold_seconds": 0.5})
    sim = kiosk.simulator
    sim.set_body_temperature(39.0)
    referred = kiosk.gate.admit_walkin("ani")
    assert referred.decision.reason.value == "fever"
    results: list[Any] = []
    kiosk.gate.listeners.append(results.append)
    sim.set_body_temperature(36.7)  # it was the sun outside
    sim.press_button()
    deadline = time.monotonic() + 5
    while not results and time.monotonic() < deadline:
        time.sleep(0.02)
    assert [r.decision.reason.value for r in results] == ["walkin"]
    row = (
        kiosk.db.connection()
        .execute("SELECT officer, note FROM entries WHERE id = ?", (results[0].entry_id,))
        .fetchone()
    )
    assert tuple(row) == ("officer-button", f"re-measured for entry {referred.entry_id}")

    sim.set_body_temperature(39.0)
    second = kiosk.gate.admit_walkin("ani")
    before = len(results)
    sim.press_button(hold=True)
    audit = (
        kiosk.db.connection()
        .execute("SELECT subject FROM audit_log WHERE action = 'referral_confirmed'")
        .fetchall()
    )
    assert [r[0] for r in audit] == [f"entry:{second.entry_id}"]
    assert len(results) == before  # holding did not re-measure


def test_presence_sensor_wakes_the_screen(make_kiosk: Any) -> None:
    kiosk = make_kiosk(hardware={"presence_pin": 5})
    assert kiosk.gate.presence_at is None
    kiosk.devices.inputs.presence.pin.drive_high()
    deadline = time.monotonic() + 2
    while kiosk.gate.presence_at is None and time.monotonic() < deadline:
        time.sleep(0.01)
    assert kiosk.gate.presence_at is not None
