"""Temperature screening at the gate: sample the thermometer until the measurement policy
gives a reading, ask a too-far visitor closer, and measure an elevated first reading again.

The rules (settling, stable window, skin window, floor, estimate, when a re-measurement
may clear the first) are pure functions in :mod:`kiosk.domain.measurement` and
:mod:`kiosk.domain.temperature`; this module only reads the sensors in time and tells the
screens how far the measurement is.

The ambient is the room sensor's when one is configured (read once per measurement),
else the thermometer's die less ``temperature.enclosure_offset_c``. With a distance
sensor a sample is used only while the forehead is inside the working range; outside it
the visitor is told "closer" / "a little back" (interim events, shown by the screens).
A stored calibration outside the bounds of :mod:`kiosk.domain.calibration` is not used:
the configured default is, and :meth:`Screening.alerts` says so.
"""

from __future__ import annotations

import logging
import threading
from collections.abc import Callable
from typing import Any, TypeVar

from kiosk.config import Config
from kiosk.domain.admission import Policy
from kiosk.domain.calibration import model_problems
from kiosk.domain.measurement import MeasurementPolicy, RecheckRule, Sample, assess, recheck
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
from kiosk.services.helper_sensors import ambient_from
from kiosk.storage import Backend
from kiosk.storage import repository as repo

log = logging.getLogger(__name__)
T = TypeVar("T")


class Screening:
    def __init__(
        self,
        *,
        config: Callable[[], Config],
        policy: Callable[[], Policy],
        db: Backend,
        devices: Devices,
        events: GateEvents,
        monotonic: Callable[[], float],
        sleep: Callable[[float], None],
    ) -> None:
        self._config, self._policy = config, policy
        self.db, self.devices, self.events = db, devices, events
        self.monotonic, self.sleep = monotonic, sleep
        cfg = config()
        t = cfg.temperature
        self.limits = ReadingLimits(
            t.skin_min_c, t.skin_max_c, t.ambient_min_c, t.ambient_max_c, t.min_estimate_c
        )
        self.measurement = MeasurementPolicy(
            sample_hz=t.sample_hz,
            settle_s=t.settle_s,
            window=t.stable_window,
            max_spread_c=t.max_spread_c,
            timeout_s=t.measure_timeout_s,
        )
        gated = cfg.thermometer.distance_sensor != "none"
        self.distance_range = cfg.thermometer.distance_range_cm if gated else None
        self.recheck_rule = RecheckRule(t.recheck_max_drop_c, self.distance_range)
        self.calibration_problem: str | None = None
        self.calibration: repo.Calibration | None = None
        """The stored calibration read with the model (None: none stored)."""
        self.last_die_c: float | None = None
        self.model = self.current_model()
        self._lock = threading.Lock()

    def last_calibration(self) -> repo.Calibration | None:
        return repo.latest_calibration(self.db.connection(), self._config().site.gate_id)

    def current_model(self) -> EstimationModel:
        """The newest stored calibration for this gate if inside the bounds, else the default."""
        cal = self.last_calibration()
        t = self._config().temperature
        default = EstimationModel(t.offset_c, t.ambient_gain)
        self.calibration = cal
        self.calibration_problem = None
        if cal is None:
            return default
        stored = EstimationModel(cal.offset_c, cal.ambient_gain)
        if problems := model_problems(stored):
            self.calibration_problem = (
                f"the stored calibration of {cal.ts:%Y-%m-%d} is outside the bounds "
                f"({'; '.join(problems)}); the configured default model is used"
            )
            log.warning("%s", self.calibration_problem)
            return default
        return stored

    def calibration_status(self) -> dict[str, Any]:
        """The model in use and where it comes from (no names: this is shown on /healthz).

        Describes the calibration loaded with the model (no query: it answers while the
        database is away)."""
        cal = self.calibration
        source = "default" if cal is None else "stored"
        if self.calibration_problem is not None:
            source = "rejected"
        status: dict[str, Any] = {
            "source": source,
            "offset_c": self.model.offset_c,
            "k": self.model.ambient_gain,
        }
        if cal is not None:
            status.update(
                date=cal.ts.date().isoformat(),
                pairs=cal.pairs,
                rms_c=cal.rms_residual_c,
                stored_offset_c=cal.offset_c,
                stored_k=cal.ambient_gain,
                ambient_c=cal.ambient_mean_c,
                residuals_c=cal.residuals(),
            )
        return status

    def alerts(self) -> list[tuple[str, str, str]]:
        """``(level, code, message)`` for the calibration in use and the ambient's drift."""
        found = []
        if self.calibration_problem is not None:
            found.append(("error", "calibration_rejected", self.calibration_problem))
        cfg = self._config()
        cal = self.calibration
        if (
            cfg.thermometer.room_sensor == "none"
            and self.last_die_c is not None
            and cal is not None
            and cal.ambient_mean_c is not None
        ):
            ambient = self.last_die_c - cfg.temperature.enclosure_offset_c
            drift = ambient - cal.ambient_mean_c
            if drift > cfg.temperature.ambient_drift_alert_c:
                found.append(
                    (
                        "warning",
                        "ambient_drift",
                        f"the thermometer's ambient is {ambient:.1f} °C, {drift:.1f} °C above "
                        f"the calibration's {cal.ambient_mean_c:.1f} °C: the enclosure may be "
                        "heating the sensor (estimates run low) — ventilate it, fit a room "
                        "sensor ([thermometer] room_sensor) or calibrate again",
                    )
                )
        return found

    def measure(self) -> TemperatureReading:
        """Sample until the measurement policy gives a reading (see kiosk.domain.measurement).

        A sensor error becomes a FAULT reading, never an exception.
        """
        with self._lock:
            try:
                return self._measure()
            except SensorError as exc:
                log.warning("screening sensor fault: %s", exc)
                return TemperatureReading.sensor_fault(str(exc))

    def _measure(self) -> TemperatureReading:
        policy = self.measurement
        interval = 1.0 / policy.sample_hz
        samples: list[Sample] = []
        distances: list[float] = []
        expected_s = policy.settle_s + policy.window / policy.sample_hz
        shown = errors = 0
        hint: Reason | None = None
        therm = self.devices.thermometer
        room = (
            self._helper("room_sensor", self.devices.room.room_temperature)
            if self.devices.room
            else None
        )
        offset = self._config().temperature.enclosure_offset_c
        started = self.monotonic()
        self.events.phase("measuring", 0.0)
        while True:
            try:
                die = therm.ambient_temperature()
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
            self.last_die_c = die
            now = self.monotonic()
            placed, where = self._in_place()
            if where is not hint and where is not None:
                self.events.interim(where)
            hint = where
            if placed is not None:
                distances.append(placed)
            if placed is not None or self.distance_range is None:
                samples.append(Sample(now, obj, ambient_from(die, room, offset)))
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
                return self._placed(reading, distances, hint)
            self.sleep(interval)

    def _in_place(self) -> tuple[float | None, Reason | None]:
        """With a distance sensor: (distance if inside the range, what to tell the visitor)."""
        if self.distance_range is None or self.devices.distance is None:
            return None, None
        distance = self._helper("distance", self.devices.distance.distance_cm)
        low, high = self.distance_range
        if distance is None:
            return None, None  # nobody in front: nothing to tell
        if distance > high:
            return None, Reason.MOVE_CLOSER
        if distance < low:
            return None, Reason.MOVE_BACK
        return distance, None

    def _helper(self, slot: str, read: Callable[[], T]) -> T:
        """Read a helper sensor; a failure is the visit's sensor fault and the device is
        suspected (the supervisor probes and re-opens it)."""
        try:
            return read()
        except SensorError as exc:
            if self.devices.supervisor is not None:
                self.devices.supervisor.suspect(slot, exc)
            raise

    @staticmethod
    def _placed(
        reading: TemperatureReading, distances: list[float], hint: Reason | None
    ) -> TemperatureReading:
        if reading.state is ReadingState.NO_PERSON and hint is not None:
            state = ReadingState.TOO_FAR if hint is Reason.MOVE_CLOSER else ReadingState.TOO_CLOSE
            return TemperatureReading(state)
        if distances and reading.state is not ReadingState.FAULT:
            mean = round(sum(distances[-4:]) / len(distances[-4:]), 1)
            return TemperatureReading(
                reading.state,
                reading.object_c,
                reading.ambient_c,
                reading.estimated_c,
                distance_cm=mean,
            )
        return reading

    def screen(self) -> TemperatureReading:
        """Measure; ask a too-far visitor closer; measure an elevated first reading again.

        The re-measurement clears the first only when it is a valid in-place reading
        (:func:`kiosk.domain.measurement.recheck`); otherwise the visitor is referred.
        """
        temperature = self._config().temperature
        reading = self.measure()
        for _ in range(temperature.closer_attempts):
            if not _too_far(reading):
                break
            self.events.interim(Reason.MOVE_CLOSER)
            reading = self.measure()
        if (
            temperature.recheck_elevated
            and reading.estimated_c is not None
            and reading.state is ReadingState.OK
            and reading.estimated_c >= self._policy().fever_threshold_c
        ):
            self.events.interim(Reason.TEMPERATURE_RECHECK)
            self.sleep(temperature.recheck_pause_s)
            reading = recheck(reading, self.measure(), self.recheck_rule)
        return reading


def _too_far(reading: TemperatureReading) -> bool:
    """Skin seen but not filling the view: below the floor, or warmer than the room yet
    below the skin window (a forehead far away, mostly room)."""
    if reading.state is ReadingState.TOO_FAR:
        return True
    obj, amb = reading.object_c, reading.ambient_c
    return (
        reading.state is ReadingState.NO_PERSON
        and obj is not None
        and amb is not None
        and obj - amb >= WARMER_THAN_ROOM_C
    )


WARMER_THAN_ROOM_C = 1.0
"""A "nobody" reading this much warmer than the room is somebody too far away."""
