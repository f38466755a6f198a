"""A busy Pi is not a sensor fault: reads on the fake bus while another thread holds the GIL.

dlib's face encoder holds the GIL for ~100 ms per face (more on a Pi). Here a thread holds
it for ~150 ms at random moments — with ``sum(range(n))``, one C call that never lets go of
the GIL (``time.sleep`` would release it) — while the real driver reads the simulated
MLX90614, with a NACK injected now and then so retries happen under stalls too. No read
may fail. Nothing asserts how fast anything ran: the stall length is calibrated once, and
the test only checks that stalls did land inside reads (else it would prove nothing).
"""

from __future__ import annotations

import random
import threading
import time

import pytest

from drivers.mlx90614 import MLX90614
from drivers.sim_mlx90614 import FakeMLX90614Bus, Fault
from kiosk.errors import SensorError

HOLD_S = 0.15
READS = 500
STALLS = 10


def calibrated_count(hold_s: float) -> int:
    """How many integers ``sum(range(n))`` adds in about ``hold_s`` on this machine."""
    n = 200_000
    while True:
        started = time.perf_counter()
        sum(range(n))
        took = time.perf_counter() - started
        if took >= 0.02:
            return max(1, int(n * hold_s / took))
        n *= 4


class GilHog(threading.Thread):
    """Holds the GIL for ``HOLD_S`` at random intervals until stopped."""

    def __init__(self, seed: int) -> None:
        super().__init__(daemon=True, name="gil-hog")
        self.count = calibrated_count(HOLD_S)
        self.random = random.Random(seed)
        self.stalls = 0
        self.stop = threading.Event()

    def run(self) -> None:
        while not self.stop.wait(self.random.uniform(0.005, 0.04)):
            sum(range(self.count))  # one C call: the GIL is not released until it returns
            self.stalls += 1


@pytest.mark.parametrize("check_pec", [True, False], ids=["pec", "no pec"])
def test_a_thread_holding_the_gil_causes_no_sensor_fault(check_pec: bool) -> None:
    bus = FakeMLX90614Bus()
    bus.set_ambient(24.0)
    bus.set_object(35.5)
    driver = MLX90614(bus, bus_number=1, check_pec=check_pec)
    hog = GilHog(seed=10)
    reads, stalled, faults = 0, 0, []
    hog.start()
    try:
        deadline = time.monotonic() + 120  # a bound for a broken hog, not a speed target
        while (reads < READS or hog.stalls < STALLS) and time.monotonic() < deadline:
            if reads % 50 == 25:
                bus.inject(Fault.NACK, count=1)  # a glitch: the read must retry
            started = time.monotonic()
            try:
                ambient = driver.ambient_temperature()
                obj = driver.object_temperature()
            except SensorError as exc:
                faults.append(str(exc))
            else:
                assert (ambient, obj) == (
                    pytest.approx(24.0, abs=0.02),
                    pytest.approx(35.5, abs=0.02),
                )
            if time.monotonic() - started >= HOLD_S / 2:
                stalled += 1
            reads += 1
    finally:
        hog.stop.set()
        hog.join()
    assert faults == []
    assert reads >= READS and hog.stalls >= STALLS
    assert stalled >= 1, "no stall landed inside a read: the test proved nothing"
