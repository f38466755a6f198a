"""`kiosk doctor`: every check passes on a fresh sim folder; every fault names itself and a fix."""

from __future__ import annotations

from collections import namedtuple
from datetime import UTC, datetime
from pathlib import Path
from typing import Any

import pytest
from click.testing import CliRunner
from gpiozero import DigitalOutputDevice
from gpiozero.pins.mock import MockFactory, MockPin

from drivers.sim_camera import SimCamera
from drivers.sim_mlx90614 import FakeMLX90614Bus
from kiosk import doctor
from kiosk.cli import main
from kiosk.config import Config, load_config
from kiosk.datadir import init_data_dir
from kiosk.doctor import Host, run_checks
from kiosk.errors import CameraError, DeviceError
from kiosk.services.devices import open_devices
from kiosk.storage import Database

NOW = datetime(2026, 11, 23, 2, 0, tzinfo=UTC)
Usage = namedtuple("Usage", "total used free")


def roomy_disk(_path: Path) -> Usage:
    return Usage(total=32_000_000_000, used=8_000_000_000, free=24_000_000_000)


@pytest.fixture
def marker(tmp_path: Path) -> Path:
    path = tmp_path / "synchronized"
    path.touch()
    return path


@pytest.fixture
def host(marker: Path, tmp_path: Path) -> Host:
    return Host(timesync_marker=marker, disk_usage=roomy_disk, i2c_sysfs=tmp_path / "no-sysfs")


@pytest.fixture
def config_path(tmp_path: Path) -> Path:
    return init_data_dir(tmp_path / "d")


@pytest.fixture
def config(config_path: Path) -> Config:
    return load_config(config_path)


@pytest.fixture
def cli(monkeypatch: pytest.MonkeyPatch, host: Host, config_path: Path) -> Any:
    """Run `kiosk doctor --config <fresh folder> ARGS` on the test host."""
    monkeypatch.setattr(doctor, "default_host", lambda: host)

    def invoke(*args: str) -> Any:
        return CliRunner().invoke(main, ["doctor", "--config", str(config_path), *args])

    return invoke


def by_name(checks: list[doctor.Check]) -> dict[str, doctor.Check]:
    return {c.name: c for c in checks}


def line_of(output: str, name: str) -> str:
    return next(line for line in output.splitlines() if line.split()[1:2] == [name])


# -- the command -------------------------------------------------------------------------------


def test_fresh_sim_folder_passes_every_check(cli: Any) -> None:
    result = cli("--sim")
    assert result.exit_code == 0, result.output
    lines = result.output.splitlines()
    names = [line.split()[1] for line in lines]
    assert names == ["config", "clock", "disk", "database", "thermometer", "camera", "gpio"]
    assert all(line.startswith("OK    ") for line in lines), result.output
    assert "MockFactory" in line_of(result.output, "gpio")
    assert "640×480" in line_of(result.output, "camera")


@pytest.mark.parametrize(
    ("fault", "kind", "fix_words"),
    [
        ("nack", "nack", "i2cdetect -y 1"),
        ("bad_pec", "bad_pec", "pull-ups"),
        ("ebadmsg", "bad_pec", "pull-ups"),
        ("eio", "eio", "i2c_arm_baudrate=50000"),
        ("error_flag", "error_flag", "power-cycle"),
        ("word_ffff", "word_ffff", "3.3 V supply"),
        ("word_0000", "word_0000", "3.3 V supply"),
    ],
)
def test_injected_thermometer_fault_fails_naming_fault_and_fix(
    cli: Any, fault: str, kind: str, fix_words: str
) -> None:
    result = cli("--sim", "--inject-fault", fault)
    assert result.exit_code == 1
    line = line_of(result.output, "thermometer")
    assert line.startswith("FAIL  ")
    assert f"thermometer  {kind}:" in line
    assert " — fix: " in line and fix_words in line.split(" — fix: ")[1]
    assert all(line_of(result.output, n).startswith("OK") for n in ("camera", "gpio", "database"))


def test_unknown_fault_is_refused_with_the_valid_names(cli: Any) -> None:
    result = cli("--sim", "--inject-fault", "gremlins")
    assert result.exit_code == 1
    assert "unknown fault 'gremlins'" in result.output and "nack" in result.output


def test_fault_injection_needs_simulated_hardware(cli: Any, config_path: Path) -> None:
    text = config_path.read_text(encoding="utf-8").replace('mode = "sim"', 'mode = "real"')
    config_path.write_text(text, encoding="utf-8")
    result = cli("--inject-fault", "nack")
    assert result.exit_code == 2
    assert "--sim" in result.output


def test_invalid_config_is_one_failed_line(cli: Any, config_path: Path) -> None:
    config_path.write_text("[admission]\ndaily_cap = 0\n", encoding="utf-8")
    result = cli()
    assert result.exit_code == 1
    (line,) = result.output.splitlines()
    assert line.startswith("FAIL  config  ") and "admission.daily_cap" in line
    assert "kiosk check-config" in line


def test_missing_timesync_marker_fails_the_command(
    cli: Any, host: Host, tmp_path: Path, config_path: Path
) -> None:
    host.timesync_marker = tmp_path / "never-synced"
    text = config_path.read_text(encoding="utf-8")  # sim mode trusts the clock ("auto")
    config_path.write_text(text.replace('trust = "auto"', 'trust = "ntp"'), encoding="utf-8")
    result = cli("--sim")
    assert result.exit_code == 1
    line = line_of(result.output, "clock")
    assert line.startswith("FAIL") and "timedatectl set-ntp true" in line


def test_corrupted_database_fails_the_command(cli: Any, config: Config) -> None:
    config.database_path.write_bytes(b"this is not a database " * 200)
    for suffix in ("-wal", "-shm"):
        Path(f"{config.database_path}{suffix}").unlink(missing_ok=True)
    result = cli("--sim")
    assert result.exit_code == 1
    line = line_of(result.output, "database")
    assert line.startswith("FAIL") and "restore the latest backup" in line


# -- single checks -----------------------------------------------------------------------------


def test_clock_without_sync_marker_fails_with_fix(config: Config, tmp_path: Path) -> None:
    check = doctor.check_clock(real(config), NOW, tmp_path / "absent")  # real: trust "ntp"
    assert not check.ok
    assert "not synchronised" in check.detail and "2026-11-23" in check.detail
    assert check.fix and "timedatectl" in check.fix


def test_clock_synchronised_reports_the_business_date(config: Config, marker: Path) -> None:
    check = doctor.check_clock(config, NOW, marker)
    assert check.ok and "business date 2026-11-23 (Asia/Jakarta)" in check.detail


def test_clock_far_in_the_past_fails_even_when_marked(config: Config, marker: Path) -> None:
    check = doctor.check_clock(config, datetime(2000, 1, 1, tzinfo=UTC), marker)
    assert not check.ok and "in the past" in check.detail


def test_clock_check_reads_the_sync_flag_from_the_configuration(
    config: Config, tmp_path: Path
) -> None:
    flag = tmp_path / "chrony-synced"
    config = config.model_copy(
        update={"clock": config.clock.model_copy(update={"sync_flag": str(flag), "trust": "ntp"})}
    )
    check = doctor.check_clock(config, NOW)
    assert not check.ok and f"no {flag}" in check.detail
    assert check.fix and str(flag) in check.fix
    flag.touch()
    assert doctor.check_clock(config, NOW).ok


@pytest.mark.parametrize(
    ("clock", "seen"),
    [({"rtc": True}, "battery RTC"), ({"trust": "always"}, "trusted without sync")],
)
def test_clock_trusted_by_the_configuration_passes_unsynchronised(
    config: Config, tmp_path: Path, clock: dict[str, Any], seen: str
) -> None:
    config = config.model_copy(update={"clock": config.clock.model_copy(update=clock)})
    check = doctor.check_clock(config, NOW, tmp_path / "absent")
    assert check.ok and seen in check.detail


def test_disk_threshold_is_retention_min_free_percent(config: Config, host: Host) -> None:
    config = config.model_copy(
        update={"retention": config.retention.model_copy(update={"min_free_percent": 30.0})}
    )
    checks = by_name(run_checks(config, now=NOW, host=host))  # roomy disk: 75 % free
    assert checks["disk"].ok
    host.disk_usage = lambda _p: Usage(total=100, used=75, free=25)
    checks = by_name(run_checks(config, now=NOW, host=host))
    assert not checks["disk"].ok and "below 30 %" in checks["disk"].detail


@pytest.mark.parametrize(("free", "ok"), [(0.5, True), (0.10, True), (0.09, False), (0.0, False)])
def test_disk_fails_below_ten_percent_free(config: Config, free: float, ok: bool) -> None:
    total = 1_000_000_000
    check = doctor.check_disk(
        config.data_dir, lambda _p: Usage(total, total - int(total * free), int(total * free))
    )
    assert check.ok is ok
    assert ok or (check.fix and "journalctl --vacuum-size" in check.fix)


def test_disk_check_on_a_missing_folder(tmp_path: Path) -> None:
    check = doctor.check_disk(tmp_path / "gone", roomy_disk)
    assert not check.ok and check.fix == f"create it: kiosk init {tmp_path / 'gone'}"


def test_database_garbage_fails_with_recovery_fix(config: Config) -> None:
    config.database_path.write_bytes(b"\x00garbage" * 1000)
    Path(f"{config.database_path}-wal").unlink(missing_ok=True)
    check = doctor.check_database(config.database_path)
    assert not check.ok
    assert check.fix and "restore the latest backup" in check.fix and ".recover" in check.fix


def test_database_missing_is_not_created(tmp_path: Path) -> None:
    path = tmp_path / "kiosk.db"
    check = doctor.check_database(path)
    assert not check.ok and check.fix and "kiosk db upgrade" in check.fix
    assert not path.exists()


def test_database_behind_the_migrations_asks_for_upgrade(tmp_path: Path) -> None:
    path = tmp_path / "kiosk.db"
    db = Database(path)
    db.connection()  # an empty, valid SQLite file: schema version 0
    db.close()
    check = doctor.check_database(path)
    assert not check.ok and "schema version 0" in check.detail
    assert check.fix == "apply the migrations: kiosk db upgrade --config FILE"


def test_database_up_to_date(config: Config) -> None:
    check = doctor.check_database(config.database_path)
    assert check.ok and "quick_check ok" in check.detail


@pytest.mark.parametrize(
    ("hardware", "words"),
    [
        ({"red_pin": 17}, "hardware.relay_pin and hardware.red_pin are both GPIO17"),
        ({"buzzer_pin": 2}, "GPIO2 (I2C SDA)"),
        ({"button_pin": 3}, "GPIO3 (I2C SCL)"),
    ],
)
def test_config_pin_clashes_fail(config: Config, hardware: dict[str, int], words: str) -> None:
    check = doctor.check_config(config.replace(hardware=hardware))
    assert not check.ok and words in check.detail
    assert check.fix and "defaults: relay 17" in check.fix


def test_config_missing_private_key_fails(config: Config, tmp_path: Path) -> None:
    check = doctor.check_config(config.replace(bookings={"private_key": str(tmp_path / "k.pem")}))
    assert not check.ok and "k.pem not found" in check.detail


def test_config_key_from_systemd_credentials_is_not_required_here(config: Config) -> None:
    key = "/run/credentials/kiosk.service/booking-signing.pem"
    assert doctor.check_config(config.replace(bookings={"private_key": key})).ok


# -- thermometer through the real driver -------------------------------------------------------


def test_sim_thermometer_with_pec_switched_off_still_reports_bad_pec(config: Config) -> None:
    config = config.replace(hardware={"check_pec": False})
    devices = open_devices(config)
    try:
        devices.simulator.bus.inject("bad_pec")  # the driver's reads skip PEC: they succeed
        check = doctor.check_thermometer(config, devices)
    finally:
        devices.close()
    assert not check.ok
    assert check.detail.startswith("bad_pec:") and "check_pec is off" in check.detail


def test_sim_thermometer_ambient_out_of_range_fails(config: Config) -> None:
    devices = open_devices(config)
    try:
        devices.simulator.bus.set_ambient(61.0)
        check = doctor.check_thermometer(config, devices)
    finally:
        devices.close()
    assert not check.ok and check.detail.startswith("ambient_range: sensor die reads 61.0 °C")


def real(config: Config) -> Config:
    return config.replace(hardware={"mode": "real"})


def test_real_mode_without_i2c_bus_says_how_to_enable_it(config: Config, host: Host) -> None:
    def no_bus(number: int) -> Any:
        raise FileNotFoundError(f"/dev/i2c-{number}")

    host.open_i2c_bus = no_bus
    check = doctor.check_thermometer(real(config), None, host)
    assert not check.ok and check.detail == "no I2C bus /dev/i2c-1"
    assert check.fix and "sudo raspi-config nonint do_i2c 0" in check.fix
    assert "dtparam=i2c_arm_baudrate=50000" in check.fix


def test_real_mode_without_permission_names_the_group(config: Config, host: Host) -> None:
    def denied(number: int) -> Any:
        raise PermissionError(13, "Permission denied")

    host.open_i2c_bus = denied
    check = doctor.check_thermometer(real(config), None, host)
    assert not check.ok and check.fix and "usermod -aG i2c" in check.fix


def test_real_mode_reads_through_the_driver_and_closes_the_bus(config: Config, host: Host) -> None:
    bus = FakeMLX90614Bus()
    bus.set_ambient(24.0)
    bus.set_object(34.5)
    host.open_i2c_bus = lambda _n: bus
    check = doctor.check_thermometer(real(config), None, host)
    assert check.ok, check
    assert "ambient 24.0 °C, object 34.5 °C at 0x5A on I2C bus 1" in check.detail
    assert bus.closed


def test_real_mode_wrong_address_is_a_nack(config: Config, host: Host) -> None:
    host.open_i2c_bus = lambda _n: FakeMLX90614Bus(address=0x5B)
    check = doctor.check_thermometer(real(config), None, host)
    assert not check.ok and check.detail.startswith("nack:")
    assert check.fix and "`i2cdetect -y 1` must list 5a" in check.fix


@pytest.mark.parametrize(("hz", "ok"), [(50_000, True), (100_000, True), (400_000, False)])
def test_i2c_bus_faster_than_100_khz_fails(
    config: Config, host: Host, tmp_path: Path, hz: int, ok: bool
) -> None:
    node = tmp_path / "sysfs" / "i2c-1" / "of_node"
    node.mkdir(parents=True)
    (node / "clock-frequency").write_bytes(hz.to_bytes(4, "big"))
    host.i2c_sysfs = tmp_path / "sysfs"
    host.open_i2c_bus = lambda _n: FakeMLX90614Bus()
    check = doctor.check_thermometer(real(config), None, host)
    assert check.ok is ok
    assert f"{hz // 1000} kHz" in check.detail
    assert ok or (check.fix and "i2c_arm_baudrate=50000" in check.fix)


# -- camera ------------------------------------------------------------------------------------


class NoFrames:
    closed = False

    def read(self) -> Any:
        raise CameraError("camera '0' gives no frames")

    def close(self) -> None:
        self.closed = True


def test_camera_without_frames_fails_after_the_timeout(config: Config, host: Host) -> None:
    camera = NoFrames()
    host.open_camera, host.camera_timeout_s = (lambda _s: camera), 0.3
    check = doctor.check_camera(real(config), None, host)
    assert not check.ok and "no frame within 0.3 s" in check.detail
    assert check.fix and "USB webcam" in check.fix


def test_camera_that_cannot_open_fails_with_fix(config: Config, host: Host) -> None:
    def missing(source: str) -> Any:
        raise DeviceError(f"camera {source!r} cannot be opened")

    host.open_camera = missing
    check = doctor.check_camera(real(config), None, host)
    assert not check.ok and check.fix and "v4l2-ctl --list-devices" in check.fix


def test_camera_reports_resolution_and_is_closed(config: Config, host: Host) -> None:
    camera = SimCamera(width=320, height=240)
    host.open_camera = lambda _s: camera
    check = doctor.check_camera(real(config), None, host)
    assert check.ok and "320×240" in check.detail
    assert camera.closed


# -- GPIO --------------------------------------------------------------------------------------


class BoardPin(MockPin):  # type: ignore[misc]
    """A pin with the board's pull resistor: ``external`` True/False wins over the SoC pull."""

    external: bool | None = None

    def _set_pull(self, value: str) -> None:
        if self.external is None:
            super()._set_pull(value)
        else:  # the board's 10 kΩ outweighs the SoC's ~50 kΩ pull
            self._pull = value
            self._change_state(self.external)


class BenchFactory(MockFactory):
    """Stands in for a real pin factory (its name is not MockFactory); the relay input has
    the 10 kΩ pull-up to 3.3 V the README requires for an active-low board."""

    def __init__(self, relay_pull: bool | None = True) -> None:
        super().__init__(pin_class=BoardPin)
        self.pin(17).external = relay_pull


def test_real_mode_gpio_never_energises_the_relay(config: Config, host: Host) -> None:
    factory = BenchFactory()
    host.pin_factory = factory
    check = doctor.check_gpio(real(config), None, host)
    assert check.ok, check
    assert check.detail.startswith("BenchFactory; relay GPIO17 off (pin high, active-low)")
    assert "button GPIO24 released" in check.detail
    assert check.detail.endswith("relay input idles off (pull resistor)")
    # the resistor holds the input high (= off) and gpiozero drives it high: never low
    assert all(s.state for s in factory.pin(17).states[1:])
    assert doctor.check_gpio(real(config), None, host).ok  # every pin was released


@pytest.mark.parametrize(
    ("pull", "active_high", "seen", "fix"),
    [
        (
            None,
            False,
            "floats (no pull resistor)",
            "10 kΩ resistor from the relay board's IN (GPIO17) to 3.3 V",
        ),
        (
            None,
            True,
            "floats (no pull resistor)",
            "10 kΩ resistor from the relay board's IN (GPIO17) to GND",
        ),
        (False, False, "idles at the ON level", "move the resistor on IN (GPIO17) to 3.3 V"),
        (True, True, "idles at the ON level", "move the resistor on IN (GPIO17) to GND"),
    ],
)
def test_relay_input_without_the_right_pull_resistor_fails_with_fix(
    config: Config, host: Host, pull: bool | None, active_high: bool, seen: str, fix: str
) -> None:
    host.pin_factory = BenchFactory(relay_pull=pull)
    config = real(config).model_copy(
        update={
            "hardware": real(config).hardware.model_copy(update={"relay_active_high": active_high})
        }
    )
    check = doctor.check_gpio(config, None, host)
    assert not check.ok and f"relay input {seen}" in check.detail
    assert check.fix and fix in check.fix


def test_active_high_relay_pulled_to_gnd_passes(config: Config, host: Host) -> None:
    host.pin_factory = BenchFactory(relay_pull=False)
    config = real(config).model_copy(
        update={"hardware": real(config).hardware.model_copy(update={"relay_active_high": True})}
    )
    check = doctor.check_gpio(config, None, host)
    assert check.ok and "relay GPIO17 off (pin low, active-high)" in check.detail


def test_real_mode_on_mock_pins_fails(config: Config, host: Host) -> None:
    host.pin_factory = MockFactory()
    check = doctor.check_gpio(real(config), None, host)
    assert not check.ok and check.fix and "GPIOZERO_PIN_FACTORY" in check.fix


def test_busy_pins_fail_with_fix(config: Config, host: Host) -> None:
    factory = BenchFactory()
    host.pin_factory = factory
    holder = DigitalOutputDevice(17, pin_factory=factory)  # e.g. kiosk.service
    try:
        check = doctor.check_gpio(real(config), None, host)
    finally:
        holder.close()
    assert not check.ok and check.detail.startswith("cannot claim the output pins")
    assert check.fix and "sudo systemctl stop kiosk" in check.fix


# -- whole run ---------------------------------------------------------------------------------


def test_run_checks_in_sim_opens_and_closes_its_own_twins(config: Config, host: Host) -> None:
    checks = by_name(run_checks(config, now=NOW, host=host))
    assert all(c.ok for c in checks.values()), checks
    assert list(checks) == ["config", "clock", "disk", "database", "thermometer", "camera", "gpio"]


def test_a_crashing_check_is_reported_not_raised(config: Config, host: Host) -> None:
    def explode(_path: Path) -> Any:
        raise RuntimeError("statvfs exploded")

    host.disk_usage = explode
    checks = by_name(run_checks(config, now=NOW, host=host))
    assert not checks["disk"].ok and "statvfs exploded" in checks["disk"].detail
    assert checks["gpio"].ok
