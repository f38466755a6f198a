"""``kiosk doctor``: is this gate ready to run? One check per part, each failure with a fix.

Every check returns a :class:`Check` and never raises. In simulation the same
checks run on the simulated twins (the real MLX90614 driver on the fake bus,
the simulated camera, gpiozero's ``MockFactory``), so an installer can see what
a fault looks like with ``kiosk doctor --sim --inject-fault nack``. In real
mode each device is opened on its own, so one missing device does not hide the
others; run it with ``kiosk.service`` stopped (the service holds the GPIO pins).

Everything the checks read from the machine goes through :class:`Host`, which
tests replace part by part. Fix texts live in :data:`FIX`, one concrete next step each.
The checks of configuration, clock, disk and database live in :mod:`kiosk.doctor_system`
(re-exported here); this module runs them all and checks the devices.
"""

from __future__ import annotations

import errno
import shutil
import threading
import time
from collections.abc import Callable, Iterator
from contextlib import contextmanager
from dataclasses import dataclass, replace
from datetime import UTC, datetime
from pathlib import Path
from typing import Any

from kiosk.config import Config
from kiosk.doctor_fixes import FIX, Check, fail
from kiosk.doctor_system import (
    check_clock,
    check_config,
    check_database,
    check_disk,
    check_shared_database,
    config_failure,
)
from kiosk.errors import CameraError, DeviceError, SensorError

I2C_SYSFS = Path("/sys/class/i2c-adapter")
CAMERA_TIMEOUT_S = 5.0
AMBIENT_SANE_C = (0.0, 50.0)  # the MLX90614's specified ambient range
MAX_I2C_HZ = 100_000


_ERRNO_KIND = {
    errno.EREMOTEIO: "nack",
    errno.ENXIO: "nack",
    errno.EIO: "eio",
    errno.ETIMEDOUT: "eio",
    errno.EBADMSG: "bad_pec",
}


def _open_i2c_bus(number: int) -> Any:
    import smbus2

    return smbus2.SMBus(number)


def _open_camera(source: str) -> Any:
    from drivers.camera_factory import open_camera

    return open_camera(source)


@dataclass
class Host:
    """The parts of the machine the checks look at (tests replace any of them)."""

    timesync_marker: Path | None = None  # None: the configuration's clock.sync_flag
    i2c_sysfs: Path = I2C_SYSFS
    disk_usage: Callable[[Path], Any] = shutil.disk_usage
    open_i2c_bus: Callable[[int], Any] = _open_i2c_bus
    open_camera: Callable[[str], Any] = _open_camera
    pin_factory: Any = None  # None: the factory gpiozero would choose
    camera_timeout_s: float = CAMERA_TIMEOUT_S


def default_host() -> Host:
    return Host()


def run_checks(
    config: Config, *, devices: Any = None, now: datetime | None = None, host: Host | None = None
) -> list[Check]:
    """Run every check, in order. ``devices``: already-open
    :class:`~kiosk.services.devices.Devices` (sim: from ``open_devices``, so injected faults
    show); without them sim mode opens its own twins and real mode opens each device on its
    own, closing everything afterwards."""
    host = host or default_host()
    now = now or datetime.now(UTC)
    checks = [
        _guarded("config", lambda: check_config(config)),
        _guarded("clock", lambda: check_clock(config, now, host.timesync_marker)),
        _guarded(
            "disk",
            lambda: check_disk(config.data_dir, host.disk_usage, config.retention.min_free_percent),
        ),
        _guarded("database", lambda: check_database(config.database_target)),
    ]
    with _sim_devices(config, devices) as devs:
        checks += [
            _guarded("thermometer", lambda: check_thermometer(config, devs, host)),
            *_helper_checks(config, devs),
            _guarded("camera", lambda: check_camera(config, devs, host)),
            _guarded("gpio", lambda: check_gpio(config, devs, host)),
        ]
    return checks


@contextmanager
def _sim_devices(config: Config, devices: Any) -> Iterator[Any]:
    if devices is not None or config.hardware.mode != "sim":
        yield devices
        return
    from kiosk.services.devices import open_devices

    opened = open_devices(config)
    try:
        yield opened
    finally:
        opened.close()


def _guarded(name: str, check: Callable[[], Check]) -> Check:
    try:
        return check()
    except Exception as exc:  # a doctor reports; it does not crash
        return fail(name, f"check crashed: {exc!r}", "crashed")


# -- thermometer ------------------------------------------------------------------------------


def check_thermometer(config: Config, devices: Any = None, host: Host | None = None) -> Check:
    """The MLX90614 answers with valid PEC and a sane ambient (0–50 °C)."""
    from drivers.mlx90614 import MLX90614

    hw, host = config.hardware, host or default_host()
    where = f"at 0x{hw.i2c_address:02X} on I2C bus {hw.i2c_bus}"
    if devices is not None:
        sim = devices.simulator
        if sim:
            sim_where = f"at 0x{hw.i2c_address:02X} on the simulated bus"
            return _read_thermometer(devices.thermometer, sim.bus, config, sim_where)
        result = _read_thermometer(devices.thermometer, None, config, where)
        return _with_bus_speed(result, host.i2c_sysfs, hw.i2c_bus)
    path = f"/dev/i2c-{hw.i2c_bus}"
    try:
        bus = host.open_i2c_bus(hw.i2c_bus)
    except FileNotFoundError:
        return fail("thermometer", f"no I2C bus {path}", "enable_i2c")
    except PermissionError:
        return fail("thermometer", f"no permission to open {path}", "i2c_group")
    except OSError as exc:
        return fail("thermometer", f"cannot open {path}: {exc}", "enable_i2c")
    try:
        driver = MLX90614(bus, hw.i2c_address, check_pec=hw.check_pec, bus_number=hw.i2c_bus)
        result = _read_thermometer(driver, bus, config, where)
    finally:
        bus.close()
    return _with_bus_speed(result, host.i2c_sysfs, hw.i2c_bus)


def _read_thermometer(thermometer: Any, bus: Any, config: Config, where: str) -> Check:
    """Read through the driver; on failure, or with PEC checks off, look at the wire."""
    hw = config.hardware
    fill = {"bus": hw.i2c_bus, "addr": hw.i2c_address}
    try:
        ambient = thermometer.ambient_temperature()
        obj = thermometer.object_temperature()
    except SensorError as exc:
        if bus is None:  # a running kiosk's driver: no bus of ours to look at
            kind, evidence = "sensor_error", str(exc)
        else:
            failed = ("intermittent", "the driver's reads failed, a direct read worked")
            kind, evidence = _diagnose(bus, hw.i2c_address) or failed
        return fail("thermometer", f"{kind}: {evidence} {where}", kind, **fill)
    if not hw.check_pec and bus is not None and (found := _diagnose(bus, hw.i2c_address)):
        kind, evidence = found
        return fail("thermometer", f"{kind}: {evidence} {where} (check_pec is off)", kind, **fill)
    lo, hi = AMBIENT_SANE_C
    if not lo <= ambient <= hi:
        detail = f"ambient_range: sensor die reads {ambient:.1f} °C (expected {lo:.0f}–{hi:.0f})"
        return fail("thermometer", f"{detail} {where}", "ambient_range")
    pec = "PEC verified" if hw.check_pec else "PEC not checked (hardware.check_pec = false)"
    detail = f"ambient {ambient:.1f} °C, object {obj:.1f} °C {where}, {pec}"
    return Check("thermometer", True, f"{detail}; {config.thermometer.describe()}")


def _helper_checks(config: Config, devices: Any) -> list[Check]:
    """The configured distance / room sensors answer (see kiosk.services.helper_sensors)."""
    from kiosk.services.helper_sensors import probe_helpers

    return [
        Check(
            name, ok, detail, None if ok else FIX["i2c_helper"].format(bus=config.hardware.i2c_bus)
        )
        for name, ok, detail in probe_helpers(config, devices)
    ]


def _diagnose(bus: Any, address: int) -> tuple[str, str] | None:
    """One raw read of Ta and Tobj1 with PEC, to name what is wrong on the wire."""
    from smbus2 import i2c_msg

    from drivers.mlx90614 import ERROR_FLAG, RAM_AMBIENT, RAM_OBJECT1, crc8_pec

    for command in (RAM_AMBIENT, RAM_OBJECT1):
        request, answer = i2c_msg.write(address, [command]), i2c_msg.read(address, 3)
        try:
            bus.i2c_rdwr(request, answer)
        except OSError as exc:
            kind = _ERRNO_KIND.get(exc.errno or 0, "bus_error")
            return kind, f"errno {exc.errno} ({exc.strerror or exc})"
        lsb, msb, pec = bytes(answer)
        a = address << 1
        expected = crc8_pec(bytes([a, command, a | 1, lsb, msb]))
        if pec != expected:
            return "bad_pec", f"PEC 0x{pec:02X}, expected 0x{expected:02X}"
        word = lsb | msb << 8
        if word in (0x0000, 0xFFFF):
            return f"word_{word:04x}", f"register 0x{command:02X} answered 0x{word:04X}"
        if command == RAM_OBJECT1 and word & ERROR_FLAG:
            return "error_flag", f"object word 0x{word:04X} has the error bit set"
    return None


def _with_bus_speed(result: Check, sysfs: Path, bus_number: int) -> Check:
    """Fail when the Pi's I2C bus runs faster than the MLX90614 allows (400 kHz breaks it)."""
    node = sysfs / f"i2c-{bus_number}" / "of_node" / "clock-frequency"
    try:
        khz = int.from_bytes(node.read_bytes()[:4], "big") // 1000
    except OSError:
        return result  # not a Pi device tree: speed unknown
    if khz <= MAX_I2C_HZ // 1000:
        return Check(result.name, result.ok, f"{result.detail}, bus {khz} kHz", result.fix)
    detail = f"bus speed {khz} kHz > {MAX_I2C_HZ // 1000} kHz; {result.detail}"
    return fail(result.name, detail, "bus_speed")


# -- camera -----------------------------------------------------------------------------------


def check_camera(config: Config, devices: Any = None, host: Host | None = None) -> Check:
    """A frame arrives within the timeout (5 s); reports its resolution."""
    host = host or default_host()
    source = config.hardware.camera
    timeout = host.camera_timeout_s
    if devices is not None:
        label = "simulated camera" if devices.simulator else f"camera {source!r}"
        return _first_frame(lambda: devices.camera, label, timeout, owned=False)
    return _first_frame(lambda: host.open_camera(source), f"camera {source!r}", timeout, owned=True)


def _first_frame(
    open_cam: Callable[[], Any], label: str, timeout_s: float, *, owned: bool
) -> Check:
    """Open and read in a worker thread, so a camera that blocks cannot stall the doctor."""
    outcome: dict[str, Any] = {}
    stop = threading.Event()

    def worker() -> None:
        start = time.monotonic()
        try:
            camera = open_cam()
        except Exception as exc:
            outcome["open_error"] = exc
            return
        try:
            while not stop.is_set():
                try:
                    outcome["frame"], outcome["seconds"] = camera.read(), time.monotonic() - start
                    return
                except CameraError as exc:
                    outcome["last"] = exc
                    stop.wait(0.1)
        finally:
            if owned:
                camera.close()

    thread = threading.Thread(target=worker, name="doctor-camera", daemon=True)
    thread.start()
    thread.join(timeout_s)
    stop.set()
    if "open_error" in outcome:
        return fail("camera", f"{label}: {outcome['open_error']}", "camera_open")
    frame = outcome.get("frame")
    if frame is None:
        why = f" (last: {outcome['last']})" if "last" in outcome else ""
        return fail("camera", f"{label}: no frame within {timeout_s:g} s{why}", "camera_frames")
    if getattr(frame, "ndim", 0) not in (2, 3) or not frame.size:
        return fail("camera", f"{label}: empty or malformed frame", "camera_frames")
    height, width = frame.shape[:2]
    return Check("camera", True, f"{label}: {width}×{height} frame in {outcome['seconds']:.1f} s")


# -- GPIO -------------------------------------------------------------------------------------


def check_gpio(config: Config, devices: Any = None, host: Host | None = None) -> Check:
    """Which pin factory gpiozero uses; the outputs open and the relay is de-energised."""
    from drivers.gpio_outputs import relay_idle_level
    from kiosk.services.devices import open_outputs

    host = host or default_host()
    if devices is not None:
        return _inspect_outputs(config, devices.outputs)
    hw = config.hardware
    try:  # before the outputs drive it: what holds the relay input when nothing does
        idle = relay_idle_level(
            hw.relay_pin, active_high=hw.relay_active_high, pin_factory=host.pin_factory
        )
    except Exception as exc:
        return fail("gpio", f"cannot claim the output pins: {exc}", "gpio")
    try:
        outputs = open_outputs(config, host.pin_factory)  # the relay starts de-energised
    except DeviceError as exc:
        return fail("gpio", f"cannot claim the output pins: {exc.__cause__ or exc}", "gpio")
    try:
        check = _inspect_outputs(config, outputs, button=True)
    finally:
        outputs.close()  # de-energises the relay and releases every pin
    if not check.ok or idle == "off":
        return replace(check, detail=f"{check.detail}; relay input idles off (pull resistor)")
    rail = "GND" if hw.relay_active_high else "3.3 V (pin 1)"
    fix = "relay_pull_wrong" if idle == "on" else "relay_pull"
    what = "idles at the ON level" if idle == "on" else "floats (no pull resistor)"
    return fail("gpio", f"relay input {what}; {check.detail}", fix, pin=hw.relay_pin, rail=rail)


def _inspect_outputs(config: Config, outputs: Any, *, button: bool = False) -> Check:
    hw = config.hardware
    relay = getattr(outputs, "relay", None)
    if relay is None:
        return fail("gpio", f"outputs are {type(outputs).__name__}, not gpiozero", "gpio")
    factory = type(relay.pin_factory).__name__
    mock = factory == "MockFactory"
    level = "high" if relay.pin.state else "low"
    polarity = "active-high" if hw.relay_active_high else "active-low"
    parts = [
        factory + (" (simulated pins)" if mock else ""),
        f"relay {relay.pin} {'ENERGISED' if relay.value else 'off'} (pin {level}, {polarity})",
        f"green {outputs.green.pin}, red {outputs.red.pin}, buzzer {outputs.buzzer.pin}",
    ]
    if button:
        parts.append(_button_state(hw.button_pin, relay.pin_factory))
    detail = "; ".join(parts)
    if mock and hw.mode == "real":
        return fail("gpio", f"real mode but gpiozero uses MockFactory; {detail}", "gpio_mock")
    if relay.value:
        return fail("gpio", f"relay energised at idle; {detail}", "relay_idle")
    return Check("gpio", True, detail)


def _button_state(pin: int, factory: Any) -> str:
    from gpiozero import Button

    button = Button(pin, pull_up=True, pin_factory=factory)
    try:
        state = "pressed (held, or shorted to GND?)" if button.is_pressed else "released"
        return f"button {button.pin} {state}"
    finally:
        button.close()


__all__ = [
    "FIX",
    "Check",
    "Host",
    "check_camera",
    "check_clock",
    "check_config",
    "check_database",
    "check_disk",
    "check_gpio",
    "check_shared_database",
    "check_thermometer",
    "config_failure",
    "default_host",
    "run_checks",
]
