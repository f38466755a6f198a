"""MLX90614 driver on its register-level simulated twin: protocol, conversion, EEPROM."""

from __future__ import annotations

import math

import pytest
import smbus2
from smbus2 import i2c_msg

from drivers import mlx90614
from drivers.base import Thermometer
from drivers.mlx90614 import (
    MLX90614,
    EmissivityOutOfRange,
    crc8_pec,
    open_mlx90614,
    raw_to_celsius,
)
from drivers.sim_mlx90614 import FakeMLX90614Bus, Fault
from kiosk.errors import DeviceError, InputError, SensorError

ADDR_W, ADDR_R = 0x5A << 1, 0x5A << 1 | 1


@pytest.fixture
def bus() -> FakeMLX90614Bus:
    return FakeMLX90614Bus()


@pytest.fixture
def sleeps() -> list[float]:
    return []


@pytest.fixture
def driver(bus: FakeMLX90614Bus, sleeps: list[float]) -> MLX90614:
    return MLX90614(bus, bus_number=1, sleep=sleeps.append)


@pytest.mark.parametrize(
    ("frame", "pec"),
    [
        ([ADDR_W, 0x07, ADDR_R, 0xD2, 0x3A], 0x30),  # read Tobj1
        ([ADDR_W, 0x22, 0x07, 0xC8], 0x48),  # write 0xC807 to EEPROM 0x22
        ([ADDR_W, 0xFF], 0xE8),  # sleep command
        ([], 0x00),
    ],
)
def test_pec_matches_datasheet_vectors(frame: list[int], pec: int) -> None:
    assert crc8_pec(bytes(frame)) == pec


@pytest.mark.parametrize(
    ("raw", "celsius"),
    [(0x3AD2, 28.01), (0x0000, -273.15), (0x3AF7, 28.75), (0x7FFF, 382.19)],
)
def test_raw_word_is_fiftieths_of_kelvin(raw: int, celsius: float) -> None:
    assert raw_to_celsius(raw) == pytest.approx(celsius, abs=0.01)


def test_fake_bus_answers_datasheet_frame_with_correct_pec(bus: FakeMLX90614Bus) -> None:
    bus.set_raw(0x07, 0x3AD2)
    answer = i2c_msg.read(0x5A, 3)
    bus.i2c_rdwr(i2c_msg.write(0x5A, [0x07]), answer)
    assert list(answer) == [0xD2, 0x3A, 0x30]


def test_driver_reads_datasheet_word(bus: FakeMLX90614Bus, driver: MLX90614) -> None:
    bus.set_raw(0x07, 0x3AD2)
    assert driver.object_temperature() == pytest.approx(28.01, abs=0.01)
    assert bus.transaction_count == 1


@pytest.mark.parametrize(
    ("setter", "reader", "celsius"),
    [
        ("set_object", "object_temperature", 36.6),
        ("set_object2", "object2_temperature", 35.2),
        ("set_ambient", "ambient_temperature", 21.4),
        ("set_object", "object_temperature", -10.0),
    ],
)
def test_each_register_reads_back_what_the_scene_set(
    bus: FakeMLX90614Bus, driver: MLX90614, setter: str, reader: str, celsius: float
) -> None:
    getattr(bus, setter)(celsius)
    assert getattr(driver, reader)() == pytest.approx(celsius, abs=0.02)  # one LSB


def test_check_pec_off_reads_with_read_word_data(bus: FakeMLX90614Bus) -> None:
    def no_rdwr(*_msgs: object) -> None:
        raise AssertionError("i2c_rdwr must not be used when check_pec=False")

    bus.i2c_rdwr = no_rdwr  # type: ignore[method-assign]
    bus.set_object(37.5)
    driver = MLX90614(bus, check_pec=False)
    assert driver.object_temperature() == pytest.approx(37.5, abs=0.01)


def test_check_pec_off_cannot_see_a_bad_pec(bus: FakeMLX90614Bus) -> None:
    bus.inject(Fault.BAD_PEC)
    bus.set_ambient(20.0)
    assert MLX90614(bus, check_pec=False).ambient_temperature() == pytest.approx(20.0, abs=0.01)


def test_driver_satisfies_thermometer_protocol(driver: MLX90614) -> None:
    assert isinstance(driver, Thermometer)


def test_close_is_idempotent_and_leaves_a_borrowed_bus_open(
    bus: FakeMLX90614Bus, driver: MLX90614
) -> None:
    with driver:
        driver.ambient_temperature()
    driver.close()
    assert not bus.closed


def test_read_after_close_raises_sensor_error(driver: MLX90614) -> None:
    driver.close()
    with pytest.raises(SensorError, match="closed"):
        driver.object_temperature()


def test_helper_opens_the_bus_and_closes_it(monkeypatch: pytest.MonkeyPatch) -> None:
    fake = FakeMLX90614Bus()
    opened: list[int] = []
    monkeypatch.setattr(smbus2, "SMBus", lambda n: opened.append(n) or fake)
    with open_mlx90614(1) as driver:
        assert driver.ambient_temperature() == pytest.approx(23.0, abs=0.01)
    driver.close()
    assert opened == [1] and fake.closed


@pytest.mark.parametrize(
    ("error", "advice"),
    [
        (FileNotFoundError(2, "No such file"), "no I2C bus /dev/i2c-1 — enable I2C with raspi"),
        (PermissionError(13, "Permission denied"), "i2c' group"),
    ],
)
def test_missing_or_forbidden_bus_raises_device_error(
    monkeypatch: pytest.MonkeyPatch, error: OSError, advice: str
) -> None:
    def refuse(_n: int) -> None:
        raise error

    monkeypatch.setattr(smbus2, "SMBus", refuse)
    with pytest.raises(DeviceError, match=advice):
        open_mlx90614(1)


def test_probe_turns_a_silent_sensor_into_a_device_error(bus: FakeMLX90614Bus) -> None:
    driver = MLX90614(bus, 0x5B, bus_number=1, sleep=lambda _s: None)
    with pytest.raises(DeviceError, match="not answering on I2C bus 1 at 0x5B"):
        driver.probe()


@pytest.mark.parametrize("kwargs", [{"retries": 0}, {"retry_delay_s": -1.0}, {"address": 0x80}])
def test_constructor_rejects_nonsense(bus: FakeMLX90614Bus, kwargs: dict[str, float]) -> None:
    with pytest.raises(ValueError):
        MLX90614(bus, **kwargs)  # type: ignore[arg-type]


# -- EEPROM -------------------------------------------------------------------------------


def test_factory_emissivity_is_one(driver: MLX90614) -> None:
    assert driver.read_emissivity() == 1.0


@pytest.mark.parametrize("value", [0.98, 0.95, 0.1, 1.0])
def test_emissivity_round_trips_through_eeprom(
    bus: FakeMLX90614Bus, driver: MLX90614, value: float
) -> None:
    driver.write_emissivity(0.5)
    driver.write_emissivity(value)
    assert bus.eeprom(0x24) == round(value * 65535)
    assert driver.read_emissivity() == pytest.approx(value, abs=1 / 65535)


def test_emissivity_write_erases_waits_writes_waits_verifies(
    bus: FakeMLX90614Bus, driver: MLX90614, sleeps: list[float]
) -> None:
    driver.write_emissivity(0.98)
    ops = [(t.op, t.command, t.word) for t in bus.log]
    assert ops == [
        ("read", 0x24, 0xFFFF),
        ("write", 0x24, 0x0000),
        ("write", 0x24, round(0.98 * 65535)),
        ("read", 0x24, round(0.98 * 65535)),
    ]
    assert sleeps == [0.02, 0.02]


def test_emissivity_already_stored_is_not_rewritten(bus: FakeMLX90614Bus, driver: MLX90614) -> None:
    driver.write_emissivity(1.0)
    assert [t.op for t in bus.log] == ["read"]


@pytest.mark.parametrize("value", [0, 0.0, 0.09, 1.5, -0.5, math.nan, math.inf, True, "0.9"])
def test_emissivity_outside_range_is_refused(
    bus: FakeMLX90614Bus, driver: MLX90614, value: object
) -> None:
    with pytest.raises(EmissivityOutOfRange, match="emissivity"):
        driver.write_emissivity(value)  # type: ignore[arg-type]
    assert bus.transaction_count == 0
    assert issubclass(EmissivityOutOfRange, InputError)
    assert issubclass(EmissivityOutOfRange, ValueError)


def test_emissivity_read_back_mismatch_raises_sensor_error(
    bus: FakeMLX90614Bus, driver: MLX90614
) -> None:
    bus.inject(Fault.DROP_WRITE, count=1)  # the erase is lost: 0xFFFF | value stays 0xFFFF
    with pytest.raises(SensorError, match=r"emissivity write failed.*read back 0xFFFF"):
        driver.write_emissivity(0.98)


def test_eeprom_write_without_erase_corrupts_the_cell(bus: FakeMLX90614Bus) -> None:
    pec = crc8_pec(bytes([ADDR_W, 0x22, 0x07, 0xC8]))
    bus.i2c_rdwr(i2c_msg.write(0x5A, [0x22, 0x07, 0xC8, pec]))
    assert bus.eeprom(0x22) == 0x0201 | 0xC807


@pytest.mark.parametrize(("use_pec", "stored"), [(False, 0xFFFF), (True, 0x0000)])
def test_fake_performs_a_write_only_with_a_valid_pec(
    bus: FakeMLX90614Bus, use_pec: bool, stored: int
) -> None:
    bus.pec = use_pec
    bus.write_word_data(0x5A, 0x24, 0x0000)
    assert bus.eeprom(0x24) == stored


def test_corrupt_emissivity_cell_is_reported(bus: FakeMLX90614Bus, driver: MLX90614) -> None:
    bus.set_raw(0x24, 0x0000)
    with pytest.raises(SensorError, match="implausible 0x0000"):
        driver.read_emissivity()


def test_module_documents_wiring_and_bus_speed() -> None:
    doc = mlx90614.__doc__ or ""
    assert "pin 3" in doc and "pin 5" in doc and "50000" in doc
