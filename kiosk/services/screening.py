"""Temperature screening at the gate: sample the thermometer until the measurement policy
gives a reading, and measure an elevated first reading again.

The rules (settling, stable window, skin window, estimate) are pure functions in
:mod:`kiosk.domain.measurement` and :mod:`kiosk.domain.temperature`; this module only
reads the thermometer in time and tells the screens how far the measurement is.
"""

from __future__ import annotations

import logging
import threading
from collections.abc import Callable
from dataclasses import replace

from kiosk.config import Config
from kiosk.domain.admission import Policy
from kiosk.domain.measurement import MeasurementPolicy, Sample, assess
from kiosk.domain.reasons import Reason
from kiosk.domain.temperature import (
    EstimationModel,
    ReadingLimits,
    ReadingState,
    TemperatureReading,
)
from kiosk.errors import SensorError
from kiosk.services.devices import Devices
from kiosk.services.events import GateEvents
from kiosk.storage import Database
from kiosk.storage import repository as repo

log = logging.getLogger(__name__)


class Screening:
    def __init__(
        self,
        *,
        config: Callable[[], Config],
        policy: Callable[[], Policy],
        db: Database,
        devices: Devices,
        events: GateEvents,
        monotonic: Callable[[], float],
        sleep: Callable[[float], None],
    ) -> None:
        self._config, self._policy = config, policy
        self.db, self.devices, self.events = db, devices, events
        self.monotonic, self.sleep = monotonic, sleep
        t = config().temperature
        self.limits = ReadingLimits(t.skin_min_c, t.skin_max_c, t.ambient_min_c, t.ambient_max_c)
        self.measurement = MeasurementPolicy(
            sample_hz=t.sample_hz,
            settle_s=t.settle_s,
            window=t.stable_window,
            max_spread_c=t.max_spread_c,
            timeout_s=t.measure_timeout_s,
        )
        self.model = self.current_model()
        self._lock = threading.Lock()

    def last_calibration(self) -> repo.Calibration | None:
        return repo.latest_calibration(self.db.connection(), self._config().site.gate_id)

    def current_model(self) -> EstimationModel:
        """The newest stored calibration for this gate, else the configured defaults."""
        cal = self.last_calibration()
        if cal is not None:
            return EstimationModel(cal.offset_c, cal.ambient_gain)
        t = self._config().temperature
        return EstimationModel(t.offset_c, t.ambient_gain)

    def measure(self) -> TemperatureReading:
        """Sample until the measurement policy gives a reading (see kiosk.domain.measurement).

        A sensor error becomes a FAULT reading, never an exception.
        """
        policy = self.measurement
        interval = 1.0 / policy.sample_hz
        samples: list[Sample] = []
        expected_s = policy.settle_s + policy.window / policy.sample_hz
        shown = errors = 0
        with self._lock:
            therm = self.devices.thermometer
            started = self.monotonic()
            self.events.phase("measuring", 0.0)
            while True:
                try:
                    ambient = therm.ambient_temperature()
                    obj = therm.object_temperature()
                except SensorError as exc:
                    errors += 1
                    if policy.gives_up(errors, self.monotonic() - started):
                        log.warning("thermometer fault: %s", exc)
                        if self.devices.supervisor is not None:
                            self.devices.supervisor.suspect("thermometer", exc)
                        return TemperatureReading.sensor_fault(str(exc))
                    log.info("thermometer sample failed, sampling on: %s", exc)
                    self.sleep(interval)
                    continue
                errors = 0
                now = self.monotonic()
                samples.append(Sample(now, obj, ambient))
                if (tenth := min(9, int(10 * (now - started) / expected_s))) > shown:
                    shown = tenth
                    self.events.phase("measuring", tenth / 10)
                reading = assess(
                    samples,
                    started=started,
                    now=now,
                    policy=policy,
                    model=self.model,
                    limits=self.limits,
                )
                if reading is not None:
                    return reading
                self.sleep(interval)

    def screen(self) -> TemperatureReading:
        """Measure; an elevated first reading is measured again after a pause."""
        reading = self.measure()
        temperature = self._config().temperature
        if (
            temperature.recheck_elevated
            and reading.estimated_c is not None
            and reading.state is ReadingState.OK
            and reading.estimated_c >= self._policy().fever_threshold_c
        ):
            self.events.interim(Reason.TEMPERATURE_RECHECK)
            self.sleep(temperature.recheck_pause_s)
            reading = replace(self.measure(), is_recheck=True)
        return reading
