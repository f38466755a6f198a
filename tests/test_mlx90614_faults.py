"""Fault table: the real MLX90614 driver on the fake bus with injected faults."""

from __future__ import annotations

import errno
import threading

import pytest
from smbus2 import i2c_msg

from drivers.mlx90614 import MLX90614, StuckDetector
from drivers.sim_mlx90614 import FakeMLX90614Bus, Fault
from kiosk.errors import SensorError


class FakeClock:
    """A monotonic clock whose ``sleep`` advances it instead of waiting."""

    def __init__(self) -> None:
        self.now = 0.0

    def __call__(self) -> float:
        return self.now

    def sleep(self, seconds: float) -> None:
        self.now += seconds


@pytest.fixture
def bus() -> FakeMLX90614Bus:
    fake = FakeMLX90614Bus()
    fake.set_object(36.8)
    return fake


@pytest.fixture
def sleeps() -> list[float]:
    return []


@pytest.fixture
def driver(bus: FakeMLX90614Bus, sleeps: list[float]) -> MLX90614:
    return MLX90614(bus, bus_number=1, sleep=sleeps.append)


RETRIED_FAULTS = [
    (Fault.NACK, "not answering on I2C bus 1 at 0x5A — check wiring"),
    (Fault.EIO, "I/O error or timeout on I2C bus 1 at 0x5A"),
    (Fault.EBADMSG, r"data corrupted \(PEC mismatch\) on I2C bus 1 at 0x5A .*50 kHz"),
    (Fault.BAD_PEC, r"data corrupted \(PEC mismatch\) on I2C bus 1 at 0x5A .*pull-ups"),
    (Fault.ERROR_FLAG, "internal error flag on I2C bus 1 at 0x5A"),
    (Fault.WORD_FFFF, r"invalid word on I2C bus 1 at 0x5A.*0xFFFF"),
    (Fault.WORD_0000, r"invalid word on I2C bus 1 at 0x5A.*0x0000"),
]


@pytest.mark.parametrize(("fault", "message"), RETRIED_FAULTS)
def test_persistent_fault_is_retried_then_reported_with_its_cause(
    bus: FakeMLX90614Bus, driver: MLX90614, sleeps: list[float], fault: Fault, message: str
) -> None:
    bus.inject(fault)
    with pytest.raises(SensorError, match=message):
        driver.object_temperature()
    assert bus.transaction_count == 3
    assert sleeps == [0.005, 0.01]  # exponential back-off between the three attempts


@pytest.mark.parametrize(("fault", "message"), RETRIED_FAULTS)
def test_transient_fault_recovers_with_the_right_value(
    bus: FakeMLX90614Bus, driver: MLX90614, fault: Fault, message: str
) -> None:
    bus.inject(fault, count=2)
    assert driver.object_temperature() == pytest.approx(36.8, abs=0.02)
    assert bus.transaction_count == 3
    assert [t.faults for t in bus.log] == [(fault,), (fault,), ()]


@pytest.mark.parametrize("retries", [1, 5])
def test_retries_is_the_number_of_attempts(bus: FakeMLX90614Bus, retries: int) -> None:
    bus.inject(Fault.NACK)
    driver = MLX90614(bus, retries=retries, sleep=lambda _s: None)
    with pytest.raises(SensorError, match=f"failed {retries} attempts"):
        driver.ambient_temperature()
    assert bus.transaction_count == retries


def test_wrong_address_is_reported_as_not_answering(bus: FakeMLX90614Bus) -> None:
    driver = MLX90614(bus, 0x5B, bus_number=1, sleep=lambda _s: None)
    with pytest.raises(SensorError, match="not answering on I2C bus 1 at 0x5B"):
        driver.object_temperature()
    assert bus.transaction_count == 3


def test_unexpected_bus_error_is_not_retried(bus: FakeMLX90614Bus, driver: MLX90614) -> None:
    calls: list[object] = []

    def gone(*msgs: object) -> None:
        calls.append(msgs)
        raise OSError(errno.ENODEV, "No such device")

    bus.i2c_rdwr = gone  # type: ignore[method-assign]
    with pytest.raises(SensorError, match="bus error on I2C bus 1 at 0x5A"):
        driver.object_temperature()
    assert len(calls) == 1


def test_error_flag_is_not_applied_to_ambient(bus: FakeMLX90614Bus, driver: MLX90614) -> None:
    bus.inject(Fault.ERROR_FLAG, count=1)
    assert driver.ambient_temperature() == pytest.approx(23.0, abs=0.02)
    with pytest.raises(SensorError, match="error flag"):
        MLX90614(bus, retries=1).object_temperature()


# -- timing -------------------------------------------------------------------------------


def test_late_but_valid_answer_is_accepted(bus: FakeMLX90614Bus) -> None:
    bus.inject(Fault.SLOW, delay_s=0.03)
    driver = MLX90614(bus, bus_number=1, retry_budget_s=0.01, sleep=lambda _s: None)
    assert driver.object_temperature() == pytest.approx(36.8, abs=0.02)
    assert bus.transaction_count == 1


class StallingBus(FakeMLX90614Bus):
    """Every transaction costs ``stall_s`` on the clock: a process paused by another thread."""

    def __init__(self, clock: FakeClock, stall_s: float) -> None:
        super().__init__()
        self.clock, self.stall_s = clock, stall_s

    def i2c_rdwr(self, *msgs: i2c_msg) -> None:
        self.clock.now += self.stall_s
        super().i2c_rdwr(*msgs)


def test_a_retry_after_a_stall_is_still_made_within_the_default_budget() -> None:
    clock = FakeClock()
    bus = StallingBus(clock, stall_s=0.15)  # 150 ms: dlib holding the GIL
    bus.set_object(36.8)
    bus.inject(Fault.NACK, count=1)
    driver = MLX90614(bus, sleep=clock.sleep, clock=clock)
    assert driver.object_temperature() == pytest.approx(36.8, abs=0.02)
    assert bus.transaction_count == 2


def test_one_slow_answer_within_the_budget_is_accepted(
    bus: FakeMLX90614Bus, driver: MLX90614
) -> None:
    bus.inject(Fault.SLOW, count=1, delay_s=0.005)
    assert driver.object_temperature() == pytest.approx(36.8, abs=0.02)


def test_back_off_that_would_overrun_the_budget_stops_retrying(bus: FakeMLX90614Bus) -> None:
    clock = FakeClock()
    bus.inject(Fault.NACK)
    driver = MLX90614(
        bus, bus_number=1, retries=5, retry_budget_s=0.012, sleep=clock.sleep, clock=clock
    )
    with pytest.raises(SensorError, match=r"timeout.*errno 121"):
        driver.object_temperature()
    assert bus.transaction_count == 2  # 5 ms back-off fits, the next 10 ms would not


def test_default_budget_never_cuts_retries_short(bus: FakeMLX90614Bus) -> None:
    clock = FakeClock()
    bus.inject(Fault.EIO)
    driver = MLX90614(bus, retries=6, retry_delay_s=0.05, sleep=clock.sleep, clock=clock)
    with pytest.raises(SensorError, match="failed 6 attempts"):
        driver.object_temperature()
    assert bus.transaction_count == 6


# -- stuck sensor -------------------------------------------------------------------------


def test_frozen_value_is_flagged_after_n_reads_over_t_seconds(bus: FakeMLX90614Bus) -> None:
    clock = FakeClock()
    detector = StuckDetector(max_repeats=3, min_duration_s=1.0)
    driver = MLX90614(bus, bus_number=1, stuck_detector=detector, clock=clock)
    bus.inject(Fault.STUCK)
    for celsius in (36.1, 36.9):
        bus.set_object(celsius)  # the scene changes, the chip does not notice
        assert driver.object_temperature() == pytest.approx(36.8, abs=0.02)
        clock.now += 0.5
    with pytest.raises(SensorError, match=r"frozen .*3 times over 1 s.* on I2C bus 1 at 0x5A"):
        driver.object_temperature()
    assert bus.transaction_count == 6  # object + ambient per read


def test_live_sensor_is_never_flagged_as_frozen(bus: FakeMLX90614Bus) -> None:
    clock = FakeClock()
    detector = StuckDetector(max_repeats=3, min_duration_s=1.0)
    driver = MLX90614(bus, stuck_detector=detector, clock=clock)
    for i in range(10):
        bus.set_object(36.0 + i * 0.02 * (i % 2))
        driver.object_temperature()
        clock.now += 1.0


@pytest.mark.parametrize(
    ("times", "frozen"),
    [
        ([0.0, 0.1, 0.2, 0.3, 0.4, 0.5], False),  # many reads, short time
        ([0.0, 100.0], False),  # long time, too few reads
        ([0.0, 5.0, 10.0], True),
        ([0.0, 5.0, 9.9], False),
    ],
)
def test_stuck_needs_both_enough_reads_and_enough_time(times: list[float], frozen: bool) -> None:
    detector = StuckDetector(max_repeats=3, min_duration_s=10.0)
    results = [detector.observe(0x3AD2, 0x3900, t) for t in times]
    assert results[-1] is frozen


def test_stuck_run_restarts_when_ambient_moves() -> None:
    detector = StuckDetector(max_repeats=2, min_duration_s=0.0)
    assert not detector.observe(0x3AD2, 0x3900, 0.0)
    assert not detector.observe(0x3AD2, 0x3901, 1.0)
    assert detector.observe(0x3AD2, 0x3901, 2.0)


# -- fake bus -----------------------------------------------------------------------------


def test_counted_fault_is_spent_only_on_transactions_it_applies_to(
    bus: FakeMLX90614Bus,
) -> None:
    bus.set_raw(0x07, 0x3AD2)
    bus.inject(Fault.BAD_PEC, count=1)
    assert bus.read_word_data(0x5A, 0x07) == 0x3AD2  # no PEC byte on this path: not spent
    pecs = []
    for _ in range(2):
        answer = i2c_msg.read(0x5A, 3)
        bus.i2c_rdwr(i2c_msg.write(0x5A, [0x07]), answer)
        pecs.append(list(answer)[2])
    assert pecs == [0x30 ^ 0xFF, 0x30]
    assert [t.faults for t in bus.log] == [(), (Fault.BAD_PEC,), ()]


def test_fake_bus_nacks_other_addresses(bus: FakeMLX90614Bus) -> None:
    with pytest.raises(OSError) as excinfo:
        bus.read_word_data(0x5B, 0x07)
    assert excinfo.value.errno == errno.EREMOTEIO


def test_fake_bus_is_thread_safe(bus: FakeMLX90614Bus) -> None:
    bus.inject(Fault.NACK, count=20)
    results: list[float] = []

    def worker() -> None:  # one driver per thread: only the bus is shared
        driver = MLX90614(bus, retries=30, retry_delay_s=0.0, sleep=lambda _s: None)
        for _ in range(50):
            results.append(driver.object_temperature())

    threads = [threading.Thread(target=worker) for _ in range(8)]
    for t in threads:
        t.start()
    for t in threads:
        t.join()
    assert len(results) == 400 and all(abs(r - 36.8) <= 0.02 for r in results)
    assert bus.transaction_count == 420
