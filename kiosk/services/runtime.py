"""The running kiosk: configuration, database, devices and services in one place."""

from __future__ import annotations

import logging
import time
from collections.abc import Callable
from dataclasses import dataclass, field
from datetime import date
from typing import Any

from drivers.base import Camera
from kiosk.bookings import SyncResult, sync_day_list
from kiosk.config import Config
from kiosk.domain.clock import business_date
from kiosk.domain.reasons import Reason
from kiosk.errors import StorageError
from kiosk.services import settings as settings_service
from kiosk.services.attendance import AttendanceService
from kiosk.services.devices import Devices, Simulator, open_devices
from kiosk.services.gate import GateResult, GateService
from kiosk.services.health import alert, device_alerts, gate_alerts
from kiosk.services.receipts import ReceiptService
from kiosk.services.retention import PurgeResult, purge_expired
from kiosk.services.safemode import SafeMode, database_damage, enter_safe_mode
from kiosk.services.scanner import Scanner
from kiosk.services.standins import MissingCamera
from kiosk.services.sync_scheduler import SyncScheduler, daily_slots
from kiosk.storage import Backend, open_database

log = logging.getLogger(__name__)

SETTINGS_RECHECK_S = 10.0
"""How often a running kiosk looks for admin settings changed by another process."""


@dataclass
class Kiosk:
    config: Config
    db: Backend
    devices: Devices
    gate: GateService
    background: list[Any] = field(default_factory=list)
    scanner: Scanner | None = None
    safe_mode: SafeMode | None = None
    """Set when the database was found damaged at start-up (see kiosk.services.safemode)."""
    attendance: AttendanceService | None = None
    """Staff face attendance (status disabled / unavailable / ok; never stops the gate)."""
    base_config: Config | None = None
    """The file's configuration; ``config`` is the effective one (file + admin settings)."""
    receipts: ReceiptService | None = None
    """Queue-number receipts (``None``: no printer); faults are alerts, never gate faults."""
    _settings_version: str | None = field(default=None, repr=False)
    _settings_checked: float = field(default=0.0, repr=False)

    @property
    def simulator(self) -> Simulator | None:
        return self.devices.simulator

    @classmethod
    def start(cls, config: Config) -> Kiosk:
        """Open the database (applying migrations) and every device.

        Raises :class:`~kiosk.errors.KioskError` subclasses with a message
        saying what to fix; nothing is left open on failure.
        """
        db = open_database(config.database_target)
        safe_mode: SafeMode | None = None
        changed: list[Callable[[], None]] = []
        try:
            if (damage := database_damage(db)) is not None:
                db.close()
                db, safe_mode = enter_safe_mode(config, damage)
            applied = db.migrate()
            if applied:
                log.info("database %s migrated to version %s", db.describe(), applied[-1])
            # One effective configuration (file + admin settings), before anything runs.
            base = config
            version, config = _effective(db, base)
            # Never raises for a missing device: real mode retries it (gate closed meanwhile).
            devices = open_devices(config, on_change=lambda: _call_each(changed))
        except BaseException:
            db.close()
            raise
        gate = GateService(config, db, devices, safe_mode=safe_mode is not None)
        changed.append(gate.status_changed)
        devices.on_inputs(
            on_press=gate.remeasure_last_referral,
            on_hold=gate.confirm_last_referral,
            on_presence=gate.presence,
        )
        kiosk = cls(config, db, devices, gate, safe_mode=safe_mode, base_config=base)
        kiosk._settings_version = version
        kiosk.attendance = AttendanceService.start(config, db, gate)  # reports, never raises
        kiosk.receipts = ReceiptService.start(config)
        if kiosk.receipts is not None:
            gate.listeners.append(kiosk.receipts.on_result)
        return kiosk

    def start_background(self) -> None:
        """Start the scanner loop (real cameras) and scheduled jobs of a serving kiosk.

        In simulation the simulator drives the camera and the pipeline directly.
        """
        faces = self.attendance if self.attendance and self.attendance.pipeline else None
        if faces is not None:
            faces.start_worker()
            self.background.append(faces)
        if self.devices.supervisor is not None:
            self.devices.supervisor.start()  # retries missing devices, probes open ones
        if self.simulator is None:
            self.scanner = Scanner(
                self._camera_opener(),
                self._scanned,
                debounce_s=self.config.hardware.scan_debounce_s,
                on_frame=faces.offer if faces is not None else None,
                on_status=self.gate.status_changed,
            )
            scanner = self.scanner
            self.gate.camera_missing = lambda: scanner.status == "unavailable"
            self.scanner.start()
            self.background.append(self.scanner)
        src = self.config.booking_source
        if src.day_list_url:
            scheduler = SyncScheduler(
                self.sync_bookings,
                zone=self.config.site.zone,
                slots=daily_slots(src.sync_times, self.config.admission.minutes("opens")),
            )
            scheduler.start()
            self.background.append(scheduler)
        self.gate.partition.start()  # probes a lost shared database and reconciles
        purge_at = self.config.retention.purge_time
        purger = SyncScheduler(
            lambda _day: self.purge_expired(),
            zone=self.config.site.zone,
            slots=[int(purge_at[:2]) * 60 + int(purge_at[3:])],
            name="retention-purge",
        )
        purger.start()
        self.background.append(purger)

    # -- the one effective configuration ---------------------------------------------------
    def refresh_settings(self, *, max_age_s: float = SETTINGS_RECHECK_S) -> bool:
        """Apply admin settings changed since the last look (by this or another process).

        Looks at most every ``max_age_s`` seconds (0: now); True when something changed.
        """
        mono = time.monotonic()
        if max_age_s and mono - self._settings_checked < max_age_s:
            return False
        self._settings_checked = mono
        try:
            current = settings_service.version(self.db)
        except StorageError:
            return False  # database away: keep running with what we have
        if current == self._settings_version:
            return False
        version, config = _effective(self.db, self.base_config or self.config)
        self._settings_version = version
        self.apply_config(config)
        return True

    def save_settings(self, changes: dict[str, Any], *, who: str, now: Any) -> Config:
        """Validate, store and apply admin settings (raises InputError naming the field)."""
        config = settings_service.save(
            self.db, self.base_config or self.config, changes, who=who, now=now
        )
        self._settings_version = settings_service.version(self.db)
        self.apply_config(config)
        return config

    def apply_config(self, config: Config) -> None:
        """Hand a new effective configuration to every component."""
        self.config = config
        self.gate.apply_config(config)
        if self.attendance is not None:
            self.attendance.config = config
        if self.receipts is not None:
            self.receipts.config = config

    def alerts(self) -> list[dict[str, Any]]:
        """Open problems for the officer console (safe mode, devices, clock, storage, disk)."""
        alerts = device_alerts(self.device_status()) + gate_alerts(self.config, self.gate)
        if self.safe_mode is not None:
            message = (
                f"database damaged ({self.safe_mode.problem}): safe mode — admit by hand only; "
                f"{self.safe_mode.restore_hint}"
            )
            alerts.insert(0, alert("error", "safe_mode", message))
        if self.receipts is not None and (printer := self.receipts.alert()) is not None:
            alerts.append(printer)
        return alerts

    def purge_expired(self) -> PurgeResult | None:
        """Run the retention purge for today's business date, if that date is trusted.

        Uses the effective ``retention.days`` (an administrator's setting wins over the file).
        """
        self.refresh_settings(max_age_s=0)
        now, trusted = self.gate.clock_guard.now()
        if not trusted:
            log.warning(
                "retention purge skipped: the business date awaits an officer's confirmation"
            )
            return None
        today = business_date(now, self.config.site.zone)
        return purge_expired(self.db, today, self.config.retention.days)

    def device_status(self) -> dict[str, dict[str, Any]]:
        """Each device's state for /healthz and the alerts (real mode; empty in simulation)."""
        if self.devices.supervisor is None:
            return {}
        status = self.devices.supervisor.status()
        if self.scanner is not None:
            camera = self.scanner_status()
            status["camera"] = {
                "status": "missing" if camera["status"] == "unavailable" else camera["status"],
                "required": True,
                "error": camera["error"] if camera["status"] == "unavailable" else None,
            }
        return status

    def in_service(self) -> bool:
        """Whether the gate can screen citizens now (every required device answers)."""
        return not self.gate.out_of_service()

    def _camera_opener(self) -> Callable[[], Camera]:
        """The camera already open (if any) first, then a fresh one for every reconnect.

        Real mode opens no camera at start-up: the scanner opens it, and retries by itself.
        """
        first: list[Camera] = []
        if not isinstance(self.devices.camera, MissingCamera):
            first.append(self.devices.camera)

        def opener() -> Camera:
            if first:
                return first.pop()
            from drivers.camera_factory import open_camera

            hw = self.config.hardware
            camera = open_camera(hw.camera, picamera_python=hw.picamera_python)
            self.devices.camera = camera
            return camera

        return opener

    def _scanned(self, text: str) -> None:
        self.gate.scan(text)

    def scanner_status(self) -> dict[str, object]:
        if self.scanner is None:
            return {"status": "simulated" if self.simulator else "stopped", "error": None}
        return {"status": self.scanner.status, "error": self.scanner.last_error}

    def sync_bookings(self, day: date) -> SyncResult:
        src = self.config.booking_source
        result = sync_day_list(
            self.db,
            url=src.day_list_url,
            office_id=self.config.site.office_id,
            day=day,
            connect_timeout=src.connect_timeout_s,
            read_timeout=src.read_timeout_s,
            retries=src.retries,
            state_path=self.config.data_dir / src.sync_state_file,
            services=tuple(self.config.services),
        )
        if result.ok:
            log.info("booking list for %s synced: %s bookings", day, result.total)
        else:
            log.warning("booking sync failed, last good list kept: %s", result.error)
        return result

    def close(self) -> None:
        for job in self.background:
            job.stop()
        self.background.clear()
        if self.attendance is not None:
            self.attendance.stop()  # ends the face worker process
        if self.receipts is not None:
            self.receipts.stop()
        self.devices.close()
        self.gate.close()
        self.db.close()


def _effective(db: Backend, base: Config) -> tuple[str | None, Config]:
    """``(settings version, file + admin settings)``; the file alone if they cannot be read."""
    try:
        return settings_service.version(db), settings_service.effective_config(db, base)
    except StorageError as exc:
        log.warning("admin settings cannot be read (%s): running with the file's values", exc)
        return None, base


def _call_each(callbacks: list[Callable[[], None]]) -> None:
    for callback in callbacks:
        callback()


class NoCodeInView(Exception):
    """The decoder found no QR code in the simulated camera frame."""


def simulate_present(
    kiosk: Kiosk,
    qr: str,
    body_c: float | None,
    *,
    ambient_c: float | None = None,
    idempotency_key: str | None = None,
    distance_cm: float | None = None,
    recheck_c: float | None = None,
    recheck_distance_cm: float | None = None,
) -> GateResult:
    """Sim mode: a person at ``body_c`` shows ``qr`` to the camera; run the real pipeline.

    The frame is rendered, read back from the camera, decoded by the real
    decoder and handed to the gate service exactly as a real frame would be.
    ``distance_cm`` is the forehead's distance (omitted: the working distance);
    ``recheck_c``/``recheck_distance_cm`` are where the visitor is when the gate
    measures again (omitted: unchanged).
    """
    sim = kiosk.simulator
    if sim is None:
        raise RuntimeError("not in simulation mode")

    def step(reason: Reason) -> None:
        if reason is Reason.TEMPERATURE_RECHECK:
            sim.step_to_recheck()

    with sim.lock:
        sim.set_body_temperature(body_c, ambient_c, distance_cm)
        scene = sim.scene
        sim.set_recheck(
            scene.body_c if recheck_c is None else recheck_c,
            scene.distance_cm if recheck_distance_cm is None else recheck_distance_cm,
        )
        kiosk.gate.interim_listeners.append(step)
        sim.present(qr)
        try:
            frame = kiosk.devices.camera.read()
            result = kiosk.gate.handle_frame(frame, idempotency_key=idempotency_key)
        finally:
            kiosk.gate.interim_listeners.remove(step)
            sim.recheck_scene = None
            sim.clear()
            sim.set_body_temperature(None)
    if result is None:
        raise NoCodeInView("no QR code found in the camera frame")
    return result


def simulate_walkin(
    kiosk: Kiosk, officer: str, *, note: str | None = None, service: str | None = None
) -> GateResult:
    """Sim mode: the officer's walk-in stands at the thermometer (the panel's body
    temperature) while the gate measures them, so a walk-in can be tried end to end."""
    sim = kiosk.simulator
    if sim is None:
        raise RuntimeError("not in simulation mode")
    with sim.lock:
        sim.set_body_temperature(sim.walkin_body_c)
        try:
            return kiosk.gate.admit_walkin(officer, note=note, service=service)
        finally:
            sim.set_body_temperature(None)
