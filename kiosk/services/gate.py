"""The gate service: camera → QR decode → booking → temperature → decide → store → outputs.

Order of promises: the decision is recorded in one write transaction
(together with the cap counter), the transaction commits, and only then are
the outputs driven and the result returned. If the database cannot record,
the visitor is referred to the officer and the gate stays closed.
"""

from __future__ import annotations

import logging
import sqlite3
import threading
import time
from collections import OrderedDict
from collections.abc import Callable
from dataclasses import dataclass, field, replace
from datetime import UTC, date, datetime, timedelta
from typing import Any

from drivers.base import Frame
from kiosk import bookings
from kiosk.booking_sources import LiveAnswer, LiveLookup, LiveStatus, facts_for_answer
from kiosk.config import Config
from kiosk.domain.admission import (
    BookingFacts,
    Decision,
    Kind,
    Policy,
    PriorityReason,
    Visit,
    decide,
    precheck,
)
from kiosk.domain.bookingcode import KeyRing
from kiosk.domain.clock import business_date
from kiosk.domain.measurement import MeasurementPolicy, Sample, assess
from kiosk.domain.reasons import Outcome, Reason
from kiosk.domain.temperature import (
    EstimationModel,
    ReadingLimits,
    ReadingState,
    TemperatureReading,
)
from kiosk.errors import ConflictError, InputError, SensorError, StorageError
from kiosk.keys import load_keyring
from kiosk.messages import message
from kiosk.services.clockguard import ClockGuard
from kiosk.services.devices import Devices
from kiosk.services.partition import PartitionGuard
from kiosk.storage import Database, Entry, entry_log, reservations
from kiosk.storage import repository as repo
from kiosk.vision.qr import decode_frame

log = logging.getLogger(__name__)


# A unique-key race lost to another gate is retried this often before "cannot record".
MAX_CONFLICT_RETRIES = 3

REFERRALS_FOR_CLINICAL = frozenset(
    {Reason.FEVER, Reason.SENSOR_FAULT, Reason.AMBIENT_OUT_OF_RANGE, Reason.TEMPERATURE_RECHECK}
)


def policy_from(config: Config) -> Policy:
    a = config.admission
    return Policy(
        office_id=config.site.office_id,
        zone=config.site.zone,
        daily_cap=a.daily_cap,
        fever_threshold_c=a.fever_threshold_c,
        reentry_window_minutes=a.reentry_window_minutes,
        priority_uses_slot=a.priority_uses_slot,
        opens_minute=a.minutes("opens"),
        closes_minute=a.minutes("closes"),
        open_days=frozenset(a.open_days),
        recheck_elevated=config.temperature.recheck_elevated,
    )


@dataclass(frozen=True)
class GateResult:
    decision: Decision
    entry_id: int | None
    reading: TemperatureReading | None
    business_date: date
    ts: datetime
    kind: Kind
    replayed: bool = False

    def as_json(self, lang: str = "id") -> dict[str, Any]:
        d = self.decision
        reading = self.reading
        return {
            "decision": d.outcome.value,
            "code": d.reason.value,
            "message": message(d.reason, d.detail, lang),
            "message_en": message(d.reason, d.detail, "en"),
            "detail": dict(d.detail),
            "kind": self.kind.value,
            "entry_id": self.entry_id,
            "business_date": self.business_date.isoformat(),
            "ts": self.ts.isoformat(),
            "temperature": None
            if reading is None
            else {
                "state": reading.state.value,
                "object_c": reading.object_c,
                "ambient_c": reading.ambient_c,
                "estimated_c": reading.estimated_c,
                "source": reading.source,
            },
            "replayed": self.replayed,
        }


@dataclass
class GateService:
    config: Config
    db: Database
    devices: Devices
    clock: Callable[[], datetime] = field(default=lambda: datetime.now(UTC))
    listeners: list[Callable[[GateResult], None]] = field(default_factory=list)
    interim_listeners: list[Callable[[Reason], None]] = field(default_factory=list)
    # Screens follow the visit: ("scanning", 0.0) once a code is read, then
    # ("measuring", 0.0 … 0.9) while the thermometer samples (at most every tenth).
    phase_listeners: list[Callable[[str, float], None]] = field(default_factory=list)
    # The day's status (what ``today()`` returns) changed without a visit: a device
    # vanished or answered again, the camera stopped or resumed.
    status_listeners: list[Callable[[], None]] = field(default_factory=list)

    monotonic: Callable[[], float] = field(default=time.monotonic)
    sleep: Callable[[float], None] = field(default=time.sleep)
    safe_mode: bool = False
    """Running on the safe-mode journal (damaged database): officers admit, nothing automatic."""
    camera_missing: Callable[[], bool] = field(default=lambda: False)
    """Whether the camera gives no frames now (the runtime asks the scanner)."""

    def __post_init__(self) -> None:
        self.policy = policy_from(self.config)
        t = self.config.temperature
        self.limits = ReadingLimits(t.skin_min_c, t.skin_max_c, t.ambient_min_c, t.ambient_max_c)
        self.measurement = MeasurementPolicy(
            sample_hz=t.sample_hz,
            settle_s=t.settle_s,
            window=t.stable_window,
            max_spread_c=t.max_spread_c,
            timeout_s=t.measure_timeout_s,
        )
        self.model = self.current_model()
        self._referrals: OrderedDict[int, tuple[Visit, str | None]] = OrderedDict()
        self._measure_lock = threading.Lock()
        self.keyring = load_gate_keyring(self.config)
        src = self.config.booking_source
        self.live: LiveLookup | None = None
        if src.live_lookup_url:
            self.live = LiveLookup(
                src.live_lookup_url,
                connect_timeout=src.connect_timeout_s,
                read_timeout=src.read_timeout_s,
                retries=src.retries,
                deadline_s=src.live_deadline_s,
            )
        self.last_result: GateResult | None = None
        self.presence_at: datetime | None = None
        self.storage_problem: tuple[datetime, str] | None = None
        """The last failure to record a decision (cleared by the next success)."""
        self.clock_guard = ClockGuard(
            self.config, self.db, wall=lambda: self.clock(), mono=self.monotonic
        )
        self.partition = PartitionGuard(self)

    # -- status ------------------------------------------------------------
    def today_without_counts(self) -> dict[str, Any]:
        """Today's status when the database cannot be read: the counts are unknown."""
        status = self._status_header()[0]
        status.update(admitted=None, remaining=None, full=False, outcomes={})
        return status

    def _status_header(self) -> tuple[dict[str, Any], date]:
        now, trusted = self.clock_guard.now()
        day = business_date(now, self.policy.zone)
        status: dict[str, Any] = {
            "date": day.isoformat(),
            "cap": self.policy.daily_cap,
            "office_id": self.config.site.office_id,
            "office_name": self.config.site.office_name,
            "gate_id": self.config.site.gate_id,
            "open": self.policy.is_open(now),
            "date_trusted": trusted,
            "degraded": self.partition.degraded,
            "safe_mode": self.safe_mode,
            "out_of_service": sorted(self.out_of_service()),
        }
        return status, day

    def today(self) -> dict[str, Any]:
        status, day = self._status_header()
        office, cap = self.policy.office_id, self.policy.daily_cap
        try:
            with self.db.transaction(write=False) as conn:
                used = repo.slots_used(conn, office, day)
                reserved = reservations.total_held(conn, office, day)
                own = reservations.held(conn, office, day, self.config.site.gate_id)
                outcomes = repo.outcome_counts(conn, office, day)
        except StorageError as exc:
            if not self.partition.enabled:
                raise
            self.partition.failed(exc)
            # Degraded: the shared count is unknown; say so instead of failing the screen.
            status.update(admitted=None, remaining=None, full=False, outcomes={})
            status["degraded"] = self.partition.degraded
            return status
        remaining = max(0, cap - used) + own
        status.update(
            admitted=used - reserved,
            remaining=remaining,
            full=remaining == 0,
            outcomes=outcomes,
        )
        return status

    # -- the pipeline ------------------------------------------------------
    def handle_frame(
        self, frame: Frame, *, idempotency_key: str | None = None
    ) -> GateResult | None:
        """Decode a frame; the first code found is one attempt. ``None``: no code in view."""
        texts = decode_frame(frame, thorough=False)
        if not texts:
            return None
        return self.scan(texts[0], idempotency_key=idempotency_key)

    def scan(self, text: str, *, idempotency_key: str | None = None) -> GateResult:
        """A citizen shows a booking code (already decoded to text)."""
        self._notify_phase("scanning", 0.0)
        if self.partition.degraded:
            return self.partition.record_offline(
                Kind.BOOKING, text=text, idempotency_key=idempotency_key
            )
        now, trusted = self.clock_guard.now()
        day = business_date(now, self.policy.zone)
        try:
            if idempotency_key and (earlier := self._replay(idempotency_key)):
                return earlier
            # The remote look-up (if any) runs before, never inside, a transaction.
            answer = self._ask_live(text)
            with self.db.transaction(write=False) as conn:
                facts = self._facts(conn, text, day, answer)
        except StorageError as exc:
            if self._partitioned(exc):
                return self.partition.record_offline(
                    Kind.BOOKING, text=text, idempotency_key=idempotency_key
                )
            return self._cannot_record(exc, Kind.BOOKING, None, day, now)
        visit = Visit(Kind.BOOKING, booking=facts)
        refused = precheck(
            visit=visit,
            policy=self.policy,
            now=now,
            date_trusted=trusted,
            safe_mode=self.safe_mode,
            out_of_service=self.out_of_service(visit.kind),
        )
        reading = None if refused else self.screen()
        return self._record(
            visit, reading, text=text, idempotency_key=idempotency_key, answer=answer
        )

    def _ask_live(self, text: str) -> LiveAnswer | None:
        if self.live is None or (booking_id := bookings.parse_plain_code(text)) is None:
            return None
        answer = self.live.lookup(booking_id)
        if answer.status is LiveStatus.UNAVAILABLE:
            log.warning("booking system unavailable (%s): using the local list", answer.reason)
        return answer

    def _facts(
        self, conn: sqlite3.Connection, text: str, day: date, answer: LiveAnswer | None
    ) -> BookingFacts:
        if answer is None:
            return bookings.lookup_facts(conn, text, business_day=day, keyring=self.keyring)
        return facts_for_answer(conn, text, answer, business_day=day, keyring=self.keyring)[0]

    def close(self) -> None:
        self.partition.close()
        if self.live is not None:
            self.live.close()

    def admit_walkin(self, officer: str, *, note: str | None = None) -> GateResult:
        """An officer enters a walk-in citizen (measured like everyone; uses a slot)."""
        visit = Visit(Kind.WALKIN, officer=_who(officer), note=note)
        if self.out_of_service(visit.kind):
            return self._record(visit, None)  # nobody is measured on a gate out of service
        return self._record(visit, self.screen())

    def out_of_service(self, kind: Kind = Kind.BOOKING) -> frozenset[str]:
        """The devices a ``kind`` visit needs that are missing now (empty: in service).

        Booking scans need the camera too; walk-ins (entered by the officer) only the
        thermometer and the gate outputs.
        """
        missing = set(self.devices.missing())
        if kind is Kind.BOOKING and self.camera_missing():
            missing.add("camera")
        return frozenset(missing)

    def admit_priority(
        self, officer: str, reason: PriorityReason | str, *, note: str | None = None
    ) -> GateResult:
        """Officer override with a priority reason; recorded and audited, never hidden."""
        try:
            priority = PriorityReason(reason)
        except ValueError:
            choices = ", ".join(p.value for p in PriorityReason)
            raise InputError(f"priority reason must be one of {choices}") from None
        try:
            visit = Visit(Kind.PRIORITY, officer=_who(officer), priority=priority, note=note)
        except ValueError as exc:
            raise InputError(str(exc)) from None
        return self._record(visit, None)

    def last_calibration(self) -> repo.Calibration | None:
        return repo.latest_calibration(self.db.connection(), self.config.site.gate_id)

    def current_model(self) -> EstimationModel:
        """The newest stored calibration for this gate, else the configured defaults."""
        cal = self.last_calibration()
        if cal is not None:
            return EstimationModel(cal.offset_c, cal.ambient_gain)
        t = self.config.temperature
        return EstimationModel(t.offset_c, t.ambient_gain)

    def measure(self) -> TemperatureReading:
        """Sample until the measurement policy gives a reading (see kiosk.domain.measurement).

        A sensor error becomes a FAULT reading, never an exception.
        """
        policy = self.measurement
        interval = 1.0 / policy.sample_hz
        samples: list[Sample] = []
        expected_s = policy.settle_s + policy.window / policy.sample_hz
        shown = 0
        with self._measure_lock:
            therm = self.devices.thermometer
            started = self.monotonic()
            self._notify_phase("measuring", 0.0)
            while True:
                try:
                    ambient = therm.ambient_temperature()
                    obj = therm.object_temperature()
                except SensorError as exc:
                    log.warning("thermometer fault: %s", exc)
                    if self.devices.supervisor is not None:
                        self.devices.supervisor.suspect("thermometer", exc)
                    return TemperatureReading.sensor_fault(str(exc))
                now = self.monotonic()
                samples.append(Sample(now, obj, ambient))
                if (tenth := min(9, int(10 * (now - started) / expected_s))) > shown:
                    shown = tenth
                    self._notify_phase("measuring", tenth / 10)
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
        if (
            self.config.temperature.recheck_elevated
            and reading.estimated_c is not None
            and reading.state is ReadingState.OK
            and reading.estimated_c >= self.policy.fever_threshold_c
        ):
            self._notify_interim(Reason.TEMPERATURE_RECHECK)
            self.sleep(self.config.temperature.recheck_pause_s)
            reading = replace(self.measure(), is_recheck=True)
        return reading

    def remeasure_last_referral(self, officer: str = "officer-button") -> GateResult | None:
        """The officer asks to measure the last referred visitor again (button press).

        ``None`` when nobody is waiting. The new measurement decides (no further
        re-measure round) and is recorded with the officer and the earlier entry.
        """
        if not self._referrals:
            return None
        entry_id, (visit, text) = self._referrals.popitem(last=True)
        reading = replace(self.measure(), is_recheck=True)
        return self._record(
            visit, reading, text=text, officer=officer, note=f"re-measured for entry {entry_id}"
        )

    def confirm_last_referral(self, officer: str = "officer-button") -> int | None:
        """The officer confirms the last referral (button held): audited, no longer pending."""
        if not self._referrals:
            return None
        entry_id, _ = self._referrals.popitem(last=True)
        with self.db.transaction() as conn:
            repo.add_audit(conn, officer, "referral_confirmed", subject=f"entry:{entry_id}")
        return entry_id

    # -- officer console (undo, referrals, settings) -------------------------
    def apply_config(self, config: Config) -> None:
        """Run with a changed configuration (admin settings): cap, threshold, hours, undo window."""
        self.config = config
        self.policy = policy_from(config)

    def pending_referrals(self) -> list[int]:
        """Entry ids of referred visitors still waiting for the officer (newest last)."""
        return list(self._referrals)

    def deny_referral(self, entry_id: int, officer: str, note: str | None = None) -> None:
        """The officer confirms the refusal of a referred visitor: audited, no longer pending."""
        who = _who(officer)
        if self._referrals.pop(entry_id, None) is None:
            raise InputError(f"entry {entry_id} is not a referral waiting for the officer")
        with self.db.transaction() as conn:
            repo.add_audit(
                conn,
                who,
                "referral_denied",
                subject=f"entry:{entry_id}",
                details=note,
                now=self.clock(),
            )

    def close_referral(self, entry_id: int) -> bool:
        """Forget a pending referral (the officer admitted the visitor another way)."""
        return self._referrals.pop(entry_id, None) is not None

    def undo_admission(self, entry_id: int, officer: str, reason: str) -> bool:
        """Undo an admission within ``admission.undo_window_minutes``; True if a slot returned.

        The entry stays (entries are append-only): an undo row records who and
        why, and the day's counter gives the slot back in the same transaction,
        so ``used = slot-using entries − undos that returned a slot`` always.
        """
        who = _who(officer)
        why = (reason or "").strip()
        if not why or len(why) > 200:
            raise InputError("say why the admission is undone (1–200 characters)")
        window = self.config.admission.undo_window_minutes
        now = self.clock()
        with self.db.transaction() as conn:
            entry = repo.entry_by_id(conn, entry_id)
            if entry is None or entry.office_id != self.policy.office_id:
                raise InputError(f"there is no entry {entry_id}")
            if entry.outcome != Outcome.ADMITTED.value:
                raise InputError(f"entry {entry_id} was not an admission, nothing to undo")
            if done := entry_log.undo_of(conn, entry_id):
                raise InputError(f"entry {entry_id} was already undone by {done[0]}")
            if window == 0 or now - entry.ts > timedelta(minutes=window):
                raise InputError(
                    f"entry {entry_id} is older than the undo window ({window} minutes)"
                )
            returned = (
                entry.uses_slot
                and entry_log.return_slot(conn, entry.office_id, entry.business_date) is not None
            )
            entry_log.insert_undo(
                conn,
                entry_id=entry_id,
                office_id=entry.office_id,
                day=entry.business_date,
                officer=who,
                reason=why,
                returned_slot=returned,
                now=now,
            )
            repo.add_audit(
                conn,
                who,
                "admission_undone",
                subject=f"entry:{entry_id}",
                details=f"{why}; slot returned: {'yes' if returned else 'no'}",
                now=now,
            )
        return returned

    def presence(self) -> None:
        """Someone stepped up (presence sensor): screens wake up."""
        self.presence_at = self.clock()

    def clinical_reading(self, entry_id: int, celsius: float, officer: str) -> GateResult:
        """An officer's clinical thermometer value decides a referred visit; recorded and audited."""
        if not 30.0 <= celsius <= 45.0:
            raise InputError("clinical temperature must be between 30 and 45 °C")
        try:
            visit, text = self._referrals.pop(entry_id)
        except KeyError:
            raise InputError(
                f"entry {entry_id} is not a referral awaiting a clinical reading "
                "(or it expired: ask the visitor to scan again)"
            ) from None
        reading = TemperatureReading(
            ReadingState.OK, estimated_c=round(celsius, 2), source="clinical", is_recheck=True
        )
        return self._record(
            visit,
            reading,
            text=text,
            officer=_who(officer),
            note=f"clinical reading for entry {entry_id}",
        )

    # -- recording ---------------------------------------------------------
    def _replay(self, key: str) -> GateResult | None:
        entry = repo.entry_by_idempotency_key(self.db.connection(), key)
        return _result_from_entry(entry) if entry else None

    def _record(
        self,
        visit: Visit,
        reading: TemperatureReading | None,
        *,
        text: str | None = None,
        idempotency_key: str | None = None,
        officer: str | None = None,
        note: str | None = None,
        answer: LiveAnswer | None = None,
        conflicts: int = 0,
    ) -> GateResult:
        if self.partition.degraded:
            return self._offline(visit, reading, text, idempotency_key)
        now, trusted = self.clock_guard.now()
        day = business_date(now, self.policy.zone)
        try:
            with self.db.transaction() as conn:
                if idempotency_key and (
                    earlier := repo.entry_by_idempotency_key(conn, idempotency_key)
                ):
                    return _result_from_entry(earlier)
                if visit.kind is Kind.BOOKING and text is not None:
                    # Fresh facts under the write lock: a concurrent gate may have admitted it.
                    visit = Visit(Kind.BOOKING, booking=self._facts(conn, text, day, answer))
                used = repo.slots_used(conn, self.policy.office_id, day)
                decision = decide(
                    visit=visit,
                    reading=reading,
                    used_today=used,
                    policy=self.policy,
                    now=now,
                    date_trusted=trusted,
                    safe_mode=self.safe_mode,
                    out_of_service=self.out_of_service(visit.kind),
                )
                if (
                    decision.uses_slot
                    and repo.take_slot(conn, self.policy.office_id, day, self.policy.daily_cap)
                    is None
                    and not self.partition.use_reserve(conn, day)
                ):
                    decision = decide(
                        visit=visit,
                        reading=reading,
                        used_today=self.policy.daily_cap,
                        policy=self.policy,
                        now=now,
                    )
                entry = self._entry(visit, reading, decision, now, day, idempotency_key)
                if officer is not None:
                    entry = replace(entry, officer=officer, note=note)
                entry_id = repo.insert_entry(conn, entry)
                if trusted:
                    self.clock_guard.note_recorded(conn, now)
                if officer is not None:
                    repo.add_audit(
                        conn,
                        officer,
                        "clinical_reading"
                        if reading and reading.source == "clinical"
                        else "remeasure",
                        subject=f"entry:{entry_id}",
                        details=f"{note}; {decision.outcome.value}/{decision.reason.value}",
                        now=now,
                    )
                if visit.kind in (Kind.PRIORITY, Kind.WALKIN):
                    repo.add_audit(
                        conn,
                        visit.officer or "?",
                        f"admit_{visit.kind.value}",
                        subject=f"entry:{entry_id}",
                        details=" ".join(filter(None, [visit.priority, visit.note])) or None,
                        now=now,
                    )
        except ConflictError as exc:
            # PostgreSQL: another gate or thread committed the same booking or idempotency
            # key first and ours was rolled back (nothing stored). Run it again: the retry
            # sees that row and answers as it would have in turn (replay, re-entry, used).
            if conflicts >= MAX_CONFLICT_RETRIES:
                return self._cannot_record(exc, visit.kind, reading, day, now)
            return self._record(
                visit,
                reading,
                text=text,
                idempotency_key=idempotency_key,
                officer=officer,
                note=note,
                answer=answer,
                conflicts=conflicts + 1,
            )
        except StorageError as exc:
            if self._partitioned(exc):
                return self._offline(visit, reading, text, idempotency_key)
            return self._cannot_record(exc, visit.kind, reading, day, now)
        self.storage_problem = None
        self.partition.connected()
        if self.partition.reserve:
            self.partition.top_up(day)
        result = GateResult(decision, entry_id, reading, day, now, visit.kind)
        if decision.outcome is Outcome.REFER and decision.reason in REFERRALS_FOR_CLINICAL:
            self._referrals[entry_id] = (visit, text)
            while len(self._referrals) > 100:
                self._referrals.popitem(last=False)
        self._signal(result)
        return result

    def _partitioned(self, exc: StorageError) -> bool:
        """A shared database failed: note it; True once the gate counts as degraded."""
        if not self.partition.enabled:
            return False
        self.partition.failed(exc)
        return self.partition.degraded

    def _offline(
        self,
        visit: Visit,
        reading: TemperatureReading | None,
        text: str | None,
        idempotency_key: str | None,
    ) -> GateResult:
        if visit.kind is Kind.BOOKING and text is not None:
            return self.partition.record_offline(
                Kind.BOOKING, text=text, reading=reading, idempotency_key=idempotency_key
            )
        return self.partition.record_offline(
            visit.kind, visit=visit, reading=reading, idempotency_key=idempotency_key
        )

    def _cannot_record(
        self,
        exc: StorageError,
        kind: Kind,
        reading: TemperatureReading | None,
        day: date,
        now: datetime,
    ) -> GateResult:
        """Nothing was stored: refer to the officer, gate closed, fault signalled."""
        log.error("cannot record a gate decision: %s", exc)
        self.storage_problem = (now, str(exc))
        decision = Decision(Outcome.REFER, Reason.CANNOT_RECORD)
        result = GateResult(decision, None, reading, day, now, kind)
        self._signal(result)
        return result

    def _notify_phase(self, phase: str, progress: float) -> None:
        """Tell the screens where the visit is (a listener must never block the gate)."""
        for listener in list(self.phase_listeners):
            try:
                listener(phase, progress)
            except Exception:
                log.exception("phase listener failed")

    def status_changed(self) -> None:
        """Tell the screens that ``today()`` changed (a listener must never block the gate)."""
        for listener in list(self.status_listeners):
            try:
                listener()
            except Exception:
                log.exception("status listener failed")

    def _notify_interim(self, reason: Reason) -> None:
        """Tell the screens about a step that is not a decision (nothing is stored)."""
        for listener in list(self.interim_listeners):
            try:
                listener(reason)
            except Exception:
                log.exception("interim listener failed")

    def _entry(
        self,
        visit: Visit,
        reading: TemperatureReading | None,
        decision: Decision,
        now: datetime,
        day: date,
        key: str | None,
    ) -> Entry:
        note = visit.note
        if visit.priority is not None:
            note = f"{visit.priority.value}: {note}" if note else visit.priority.value
        return Entry(
            ts=now,
            business_date=day,
            office_id=self.policy.office_id,
            gate_id=self.config.site.gate_id,
            kind=visit.kind.value,
            outcome=decision.outcome.value,
            reason=decision.reason.value,
            uses_slot=decision.uses_slot,
            booking_id=visit.booking.booking_id if visit.booking else None,
            temp_object_c=reading.object_c if reading else None,
            temp_ambient_c=reading.ambient_c if reading else None,
            temp_estimated_c=reading.estimated_c if reading else None,
            temp_source=reading.source if reading and reading.estimated_c is not None else None,
            officer=visit.officer,
            note=note,
            idempotency_key=key,
        )

    def _signal(self, result: GateResult) -> None:
        self.last_result = result
        outcome = result.decision.outcome.value
        if result.decision.reason in (Reason.SENSOR_FAULT, Reason.CANNOT_RECORD):
            outcome = "fault"
        try:
            self.devices.outputs.signal(outcome)
        except Exception:  # the decision is stored; a dead output must not hide it
            log.exception("gate outputs failed")
        for listener in list(self.listeners):
            try:
                listener(result)
            except Exception:
                log.exception("gate listener failed")


def load_gate_keyring(config: Config) -> KeyRing | None:
    """The public keys for signed codes; ``None`` (signed codes refused) when none exist."""
    path = config.public_keys_path
    if not path.exists():
        log.warning("no public key list at %s: signed booking codes will be refused", path)
        return None
    return load_keyring(path)


def _who(officer: str) -> str:
    name = (officer or "").strip()
    if not name or len(name) > 64:
        raise InputError("officer name is required (1–64 characters)")
    return name


def _result_from_entry(entry: Entry) -> GateResult:
    reading = None
    if entry.temp_estimated_c is not None:
        reading = TemperatureReading(
            ReadingState.OK,
            entry.temp_object_c,
            entry.temp_ambient_c,
            entry.temp_estimated_c,
            source=entry.temp_source or "sensor",
        )
    decision = Decision(Outcome(entry.outcome), Reason(entry.reason), uses_slot=entry.uses_slot)
    return GateResult(
        decision, entry.id, reading, entry.business_date, entry.ts, Kind(entry.kind), replayed=True
    )


__all__ = ["BookingFacts", "GateResult", "GateService", "policy_from"]
