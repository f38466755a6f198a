"""Staff attendance at the gate: camera frames → recognised staff → screened → clock-in/out.

Wiring: the scanner thread hands every frame to :meth:`AttendanceService.offer`, which only
keeps the newest one (frames arriving while one is processed are dropped); a worker thread
runs the face pipeline on it (so face work never slows QR scanning). dlib itself — detection,
landmarks, encoding — runs in the face worker *process*
(:class:`~kiosk.faces.remote.FaceWorker`): it holds the GIL for ~100 ms per encoding, which in
this process would stall the thermometer's read deadline and the watchdog. The thread here
waits for its answers with the GIL released; matching (sub-millisecond) stays here with the
gallery. When a staff member has been followed long enough the thread measures their
temperature through the gate's own thermometer path (:meth:`GateService.screen`), checks
liveness and hands the visit to the gate's one recorder (:mod:`kiosk.services.recorder`),
which decides with :func:`kiosk.domain.attendance.decide_staff` and records the gate entry
(kind ``staff``, never a citizen slot) and the attendance mark in one transaction — or
journals both while a shared database is away, to be uploaded once it returns. Only then
are the gate outputs driven, as for any other decision.

Status: ``disabled`` (``attendance.enabled = false``), ``unavailable`` (the face stack could
not be loaded, or its worker process died and is being restarted with backoff: the reason is
in ``error``; the gate works on), or ``ok``. Enrolment through the admin pages uses the worker
too (started on first use when attendance is disabled), so no dlib call runs in the gate's
process.
"""

from __future__ import annotations

import logging
import threading
import time
from collections.abc import Callable
from typing import Any

from drivers.base import Frame
from kiosk.config import Config
from kiosk.domain.admission import Kind, Visit
from kiosk.domain.attendance import passed_checks
from kiosk.domain.temperature import TemperatureReading
from kiosk.errors import EXPECTED_ERRORS, InputError, StorageError
from kiosk.faces.engine import FaceStack, FaceStackUnavailable
from kiosk.faces.images import frame_to_rgb
from kiosk.faces.liveness import Motion, MotionPolicy
from kiosk.faces.pins import MinuteLimit, PinGuard
from kiosk.faces.pipeline import Candidate, FacePipeline, PipelineSettings
from kiosk.faces.registry import FaceRegistry
from kiosk.faces.remote import FaceWorker
from kiosk.faces.report import attendance_policy
from kiosk.services.gate import GateResult, GateService
from kiosk.services.recorder import Request
from kiosk.services.staffmarks import StaffVisit
from kiosk.storage import repository as repo
from kiosk.storage import staff as staff_store

log = logging.getLogger(__name__)

PIN_ATTEMPTS_PER_MINUTE = 12
"""PIN attempts checked per minute at one gate, all staff numbers together."""


class PinRefused(InputError):
    """A PIN attempt refused: ``code`` is ``refused`` (generic), ``locked`` or ``busy``."""

    def __init__(self, code: str, message: str) -> None:
        super().__init__(message)
        self.code = code


def pipeline_settings(config: Config) -> PipelineSettings:
    a = config.attendance
    return PipelineSettings(
        detect_width=a.detect_width,
        tolerance=a.tolerance,
        margin=a.margin,
        motion=MotionPolicy(
            frames=a.liveness_frames,
            window_s=a.liveness_window_s,
            min_motion=a.liveness_min_motion,
            max_step=a.liveness_max_step,
        ),
    )


class AttendanceService:
    def __init__(
        self,
        config: Config,
        db: Any,
        gate: GateService,
        *,
        registry: FaceRegistry | None = None,
        status: str = "disabled",
        error: str | None = None,
        monotonic: Callable[[], float] = time.monotonic,
        faces: FaceWorker | None = None,
    ) -> None:
        self.config = config
        self.db = db
        self.gate = gate
        self.faces = faces
        """The face worker process (``None``: not started, or a registry with its own engine)."""
        self._faces_lock = threading.Lock()
        self.registry = registry or FaceRegistry(
            config, db, engine=faces, engine_loader=self._face_stack
        )
        self._status = status
        self._error = error
        self.policy = attendance_policy(config)
        self.pipeline: FacePipeline | None = None
        if status == "ok":
            self.pipeline = FacePipeline(
                faces if faces is not None else self.registry.engine,
                pipeline_settings(config),
                gallery=self.registry.gallery,
            )
        self.pins = PinGuard()
        self.pin_rate = MinuteLimit(PIN_ATTEMPTS_PER_MINUTE)
        self._monotonic = monotonic
        self._frame: Frame | None = None
        self._latest: tuple[float, Frame] | None = None  # for enrolment at the gate (memory only)
        self._wake = threading.Condition()
        self._stopping = False
        self._thread: threading.Thread | None = None
        self.last_result: GateResult | None = None

    @classmethod
    def start(cls, config: Config, db: Any, gate: GateService) -> AttendanceService:
        """Start the face worker now (not at the first face) and wait until it has loaded the
        models or failed; never lets the face stack end the gate's process."""
        if not config.attendance.enabled:
            return cls(config, db, gate, status="disabled")
        faces = FaceWorker(config.attendance.models_dir or None).start()
        service = cls(config, db, gate, status="ok", faces=faces)
        try:
            service.registry.cipher(create=True)
            service.registry.gallery(max_age_s=0)
        except EXPECTED_ERRORS as exc:
            log.error("staff face attendance unavailable: %s", exc)
            faces.close()
            service.faces, service.pipeline = None, None
            service._status, service._error = "unavailable", str(exc)
        return service

    @property
    def status(self) -> str:
        """``disabled``, ``unavailable`` or ``ok`` (the face worker's state while it runs)."""
        if self._status == "ok" and self.faces is not None and self.faces.status != "ok":
            return "unavailable"
        return self._status

    @property
    def error(self) -> str | None:
        if self._status == "ok" and self.faces is not None and self.faces.status != "ok":
            return self.faces.error
        return self._error

    def _face_stack(self) -> FaceStack:
        """The registry's engine when attendance is off: the worker, started on first use
        (enrolment ahead of enabling attendance), so dlib never runs in this process."""
        with self._faces_lock:
            if self.faces is None:
                self.faces = FaceWorker(self.config.attendance.models_dir or None).start()
            faces = self.faces
        if faces.status != "ok":
            raise FaceStackUnavailable(faces.error or "the face worker is not running")
        return faces

    def status_json(self) -> dict[str, Any]:
        enrolled = None
        if self.status == "ok":
            try:
                enrolled = self.registry.gallery().people
            except EXPECTED_ERRORS as exc:
                return {"status": "unavailable", "error": str(exc), "enrolled": None}
        return {"status": self.status, "error": self.error, "enrolled": enrolled}

    # -- the worker ------------------------------------------------------------------
    def start_worker(self) -> None:
        if self.pipeline is None or self._thread is not None:
            return
        self._thread = threading.Thread(target=self._run, name="kiosk-faces", daemon=True)
        self._thread.start()

    def stop(self, timeout: float = 5.0) -> None:
        with self._wake:
            self._stopping = True
            self._wake.notify_all()
        if self._thread is not None and self._thread is not threading.current_thread():
            self._thread.join(timeout)
        if self.faces is not None:
            self.faces.close()

    def offer(self, frame: Frame) -> None:
        """A new camera frame (called by the scanner thread; returns at once)."""
        if self.pipeline is None:
            return
        with self._wake:
            self._frame = frame
            self._latest = (self._monotonic(), frame)
            self._wake.notify()

    def capture(self, max_age_s: float = 2.0) -> Frame:
        """The gate camera's latest frame as RGB, for enrolling a staff member standing at the
        gate (kept in memory only). :class:`InputError` when no recent frame arrived."""
        with self._wake:
            latest = self._latest
        if latest is None or self._monotonic() - latest[0] > max_age_s:
            raise InputError(
                "no recent frame from the gate camera (attendance must be enabled and the "
                "camera working) — upload photos instead"
            )
        return frame_to_rgb(latest[1])

    def _run(self) -> None:
        while True:
            with self._wake:
                while self._frame is None and not self._stopping:
                    self._wake.wait()
                if self._stopping:
                    return
                frame, self._frame = self._frame, None
            if frame is None:
                continue
            try:
                self.process_frame(frame, self._monotonic())
            except FaceStackUnavailable:  # the worker was lost; it logged why and restarts
                if self.pipeline is not None:
                    self.pipeline.reset()
            except Exception:
                log.exception("face attendance: a frame failed; going on")

    def process_frame(self, frame: Frame, t: float) -> GateResult | None:
        """Run one frame through the pipeline; a decision when a staff member was ready."""
        if self.pipeline is None:
            return None
        if (self.faces is not None and self.faces.status != "ok") or len(
            self.registry.gallery()
        ) == 0:
            self.pipeline.reset()
            return None
        outcome = self.pipeline.process(frame, t)
        if outcome.candidate is None:
            return None
        return self.admit_face(outcome.candidate)

    # -- decisions -------------------------------------------------------------------
    def admit_face(self, candidate: Candidate) -> GateResult:
        """A followed, matched face: measure, check liveness, decide, record, signal."""
        staff_id = candidate.match.staff_id
        assert staff_id is not None
        reading = self.gate.screen()
        checks = passed_checks(reading, candidate.motion is Motion.NATURAL, self.policy)
        passed = ",".join(sorted(checks))
        note = (
            f"staff #{staff_id} by face; liveness passed: {passed or 'none'} "
            f"(motion {candidate.motion}); d={candidate.match.distance:.3f}"
        )
        staff = StaffVisit(
            staff_id,
            "face",
            checks=checks,
            distance=candidate.match.distance,
            name=self._name(staff_id),
        )
        return self._record(staff, reading, note)

    def clock_with_pin(self, staff_id: int, pin: str) -> GateResult:
        """A staff member without face data types their number and PIN at the gate.

        Refusals (:class:`PinRefused`) never say whether the staff number exists: an unknown
        number, one without a PIN and a wrong PIN get the same answer after the same hash
        check, and each typed number is locked for 5 minutes after five wrong PINs in a row
        (whether it exists or not). At most :data:`PIN_ATTEMPTS_PER_MINUTE` attempts a
        minute are checked at this gate. Every attempt is audited. A right PIN is screened
        like everyone (fever rule) and recorded like a face recognition.
        """
        if not self.pin_rate.take():
            self._audit_pin(staff_id, "throttled")
            raise PinRefused("busy", "too many PIN attempts at this gate — wait a minute")
        if self.pins.locked(staff_id):
            self._audit_pin(staff_id, "locked")
            raise PinRefused("locked", "too many wrong PINs — wait 5 minutes or see the officer")
        if not self.registry.pin_matches(staff_id, pin):
            self.pins.failed(staff_id)
            self._audit_pin(staff_id, "wrong")
            raise PinRefused("refused", "wrong staff number or PIN")
        self.pins.succeeded(staff_id)
        self._audit_pin(staff_id, "accepted")
        reading = self.gate.screen()
        staff = StaffVisit(staff_id, "pin", name=self._name(staff_id))
        return self._record(staff, reading, f"staff #{staff_id} by pin")

    def _audit_pin(self, staff_number: int, verdict: str) -> None:
        """One audit row per PIN attempt (the typed number, never the PIN)."""
        try:
            with self.db.transaction() as conn:
                repo.add_audit(
                    conn, "gate", f"staff_pin_{verdict}", subject=f"staff:{staff_number}"
                )
        except StorageError as exc:  # the gate works on; the log keeps the attempt
            log.warning(
                "PIN attempt for staff #%s (%s) not audited: %s", staff_number, verdict, exc
            )

    def _name(self, staff_id: int) -> str | None:
        """The staff member's name for the greeting (None while the database is away)."""
        try:
            with self.db.transaction(write=False) as conn:
                person = staff_store.get_staff(conn, staff_id)
        except StorageError:
            return None
        return person.name if person is not None else None

    def _record(
        self, staff: StaffVisit, reading: TemperatureReading | None, note: str
    ) -> GateResult:
        """Through the gate's one recorder: decided, stored (or journalled) and signalled."""
        visit = Visit(Kind.STAFF, note=note)
        result = self.gate.recorder.record(Request(visit, reading, staff=staff))
        d = result.decision
        log.info(
            "staff #%s by %s: %s/%s, mark %s, liveness passed: %s",
            staff.staff_id,
            staff.method,
            d.outcome.value,
            d.reason.value,
            d.detail.get("mark", "-"),
            ",".join(sorted(staff.checks or ())) or "none",
        )
        self.last_result = result
        return result


__all__ = ["AttendanceService", "PinRefused", "pipeline_settings"]
