"""The VL53L0X and SHT3x drivers on their register-level twins (fake I2C buses)."""

from __future__ import annotations

import pytest

from drivers.i2c_helpers import I2CSensorError
from drivers.sht3x import SHT3x, crc8
from drivers.sim_sht3x import FakeSHT3xBus
from drivers.sim_vl53l0x import FakeVL53L0XBus
from drivers.vl53l0x import VL53L0X


class Clock:
    def __init__(self) -> None:
        self.t = 0.0

    def __call__(self) -> float:
        return self.t

    def sleep(self, s: float) -> None:
        self.t += s


def test_sht3x_crc_matches_the_datasheet_example() -> None:
    assert crc8(bytes([0xBE, 0xEF])) == 0x92


@pytest.mark.parametrize("room", [-10.0, 0.0, 18.3, 25.0, 39.9])
def test_sht3x_reads_the_room(room: float) -> None:
    clock = Clock()
    bus = FakeSHT3xBus(clock=clock)
    bus.set_room(room)
    sensor = SHT3x(bus, sleep=clock.sleep)
    assert sensor.room_temperature() == pytest.approx(room, abs=0.01)
    assert bus.commands == [0x2400]


def test_sht3x_read_before_conversion_is_nacked_and_reported() -> None:
    clock = Clock()
    bus = FakeSHT3xBus(clock=clock)
    sensor = SHT3x(bus, sleep=lambda s: None)  # a driver that does not wait
    with pytest.raises(I2CSensorError, match="not answering at 0x44"):
        sensor.room_temperature()
    assert bus.commands == [0x2400] * 3  # retried


def test_sht3x_wrong_address_or_dead_sensor() -> None:
    clock = Clock()
    bus = FakeSHT3xBus(0x45, clock=clock)
    with pytest.raises(I2CSensorError, match="0x44"):
        SHT3x(bus, sleep=clock.sleep).room_temperature()
    bus.fail()
    with pytest.raises(I2CSensorError, match="check wiring"):
        SHT3x(bus, 0x45, sleep=clock.sleep).room_temperature()


def test_vl53l0x_ranges_and_reports_no_target() -> None:
    bus = FakeVL53L0XBus()
    sensor = VL53L0X(bus)
    sensor.init()
    assert bus.registers[0x88] == 0x00
    assert sensor.distance_cm() is None  # nobody in front
    bus.set_distance(28.6)
    assert sensor.distance_cm() == pytest.approx(28.6)
    assert bus.registers[0x13] == 0  # interrupt cleared after the read
    bus.set_distance(500.0)  # beyond its range
    assert sensor.distance_cm() is None
    assert bus.ranges == 3


def test_vl53l0x_refuses_another_chip_and_a_silent_bus() -> None:
    bus = FakeVL53L0XBus()
    bus.registers[0xC0] = 0xAA  # another device at 0x29
    with pytest.raises(I2CSensorError, match="not a VL53L0X"):
        VL53L0X(bus).init()
    bus.fail()
    with pytest.raises(I2CSensorError, match="not answering at 0x29"):
        VL53L0X(bus).distance_cm()


def test_vl53l0x_times_out_when_no_sample_arrives() -> None:
    clock = Clock()
    bus = FakeVL53L0XBus()
    sensor = VL53L0X(bus, clock=clock, sleep=clock.sleep)
    bus.registers[0x00] = 0x01  # the start bit never clears (a hung chip)
    bus._store = lambda register, value: None  # type: ignore[method-assign]  # it ignores writes
    with pytest.raises(I2CSensorError, match="no range start"):
        sensor.distance_cm()
