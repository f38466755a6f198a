"""The gate service: the thin scan path and the officer's entries, wired to their parts.

camera → QR decode → booking look-up → precheck → screening → the recorder.

* :mod:`kiosk.services.screening` measures (and re-measures an elevated reading);
* :mod:`kiosk.services.recorder` is the one door every decision goes through: it decides,
  stores online or journals offline, and signals outputs and screens through
  :mod:`kiosk.services.events`;
* :mod:`kiosk.services.referrals` keeps the referred visitors and the officer's actions on
  them;
* :mod:`kiosk.services.partition` knows whether a shared database is reachable.

Order of promises: the decision is recorded in one write transaction (together with the
cap counter), the transaction commits, and only then are the outputs driven and the
result returned. If the database cannot record, the visitor is referred to the officer
and the gate stays closed.
"""

from __future__ import annotations

import logging
import time
from collections.abc import Callable
from dataclasses import dataclass, field, replace
from datetime import UTC, date, datetime, timedelta
from typing import Any

from drivers.base import Frame
from kiosk import bookings
from kiosk.bookings import LiveAnswer, LiveLookup, LiveStatus
from kiosk.config import Config
from kiosk.domain.admission import BookingFacts, Kind, PriorityReason, Visit, precheck
from kiosk.domain.bookingcode import KeyRing
from kiosk.domain.clock import business_date
from kiosk.domain.reasons import Outcome, Reason
from kiosk.domain.temperature import EstimationModel, TemperatureReading
from kiosk.errors import InputError, StorageError
from kiosk.keys import load_keyring
from kiosk.services.clockguard import ClockGuard
from kiosk.services.daystatus import day_counts
from kiosk.services.devices import Devices
from kiosk.services.events import GateEvents
from kiosk.services.partition import PartitionGuard
from kiosk.services.recorder import Recorder, Request
from kiosk.services.referrals import REFERRALS_FOR_CLINICAL, Referrals, who_acts
from kiosk.services.results import GateResult, policy_from
from kiosk.services.screening import Screening
from kiosk.storage import Backend, capacity, entry_log
from kiosk.storage import repository as repo
from kiosk.vision.qr import decode_frame

log = logging.getLogger(__name__)


def unknown_counts() -> dict[str, Any]:
    """Today's figures when the database cannot give them (the screens show them as unknown)."""
    return {
        "admitted": None,
        "remaining": None,
        "full": False,
        "outcomes": {},
        "services": {},
        "walkin_places": None,
    }


@dataclass
class GateService:
    config: Config
    db: Backend
    devices: Devices
    clock: Callable[[], datetime] = field(default=lambda: datetime.now(UTC))
    monotonic: Callable[[], float] = field(default=time.monotonic)
    sleep: Callable[[float], None] = field(default=time.sleep)
    safe_mode: bool = False
    """Running on the safe-mode journal (damaged database): officers admit, nothing automatic."""
    camera_missing: Callable[[], bool] = field(default=lambda: False)
    """Whether the camera gives no frames now (the runtime asks the scanner)."""

    def __post_init__(self) -> None:
        self.policy = policy_from(self.config)
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
        self.presence_at: datetime | None = None
        self.clock_guard = ClockGuard(
            self.config, self.db, wall=lambda: self.clock(), mono=lambda: self.monotonic()
        )
        self.events = GateEvents(outputs=lambda: self.devices.outputs)
        self.partition = PartitionGuard(
            self.config, self.db, today=self._business_day, cap=lambda: self.policy.daily_cap
        )
        self.recorder = Recorder(
            config=lambda: self.config,
            policy=lambda: self.policy,
            db=self.db,
            clock_guard=self.clock_guard,
            partition=self.partition,
            events=self.events,
            keyring=self.keyring,
            out_of_service=self.out_of_service,
            safe_mode=self.safe_mode,
        )
        self.screening = Screening(
            config=lambda: self.config,
            policy=lambda: self.policy,
            db=self.db,
            devices=self.devices,
            events=self.events,
            monotonic=lambda: self.monotonic(),
            sleep=lambda s: self.sleep(s),
        )
        self.referrals = Referrals(
            recorder=self.recorder,
            measure=lambda: self.measure(),
            db=self.db,
            events=self.events,
            clock=lambda: self.clock(),
        )

    # -- listeners (the one events object) --------------------------------------
    @property
    def listeners(self) -> list[Callable[[GateResult], None]]:
        return self.events.results

    @property
    def phase_listeners(self) -> list[Callable[[str, float], None]]:
        return self.events.phases

    @property
    def interim_listeners(self) -> list[Callable[[Reason], None]]:
        return self.events.interims

    @property
    def status_listeners(self) -> list[Callable[[], None]]:
        return self.events.statuses

    def status_changed(self) -> None:
        """Tell the screens that ``today()`` changed (a listener must never block the gate)."""
        self.events.status_changed()

    @property
    def last_result(self) -> GateResult | None:
        return self.events.last_result

    @property
    def storage_problem(self) -> tuple[datetime, str] | None:
        return self.recorder.storage_problem

    # -- status ------------------------------------------------------------
    def _business_day(self) -> date:
        now, _ = self.clock_guard.now()
        return business_date(now, self.policy.zone)

    def business_day(self) -> date:
        """Today's business date in the office's time zone (changes at local midnight)."""
        return self._business_day()

    def out_of_service(self, kind: Kind = Kind.BOOKING) -> frozenset[str]:
        """The devices a ``kind`` visit needs that are missing now (empty: in service).

        Booking scans need the camera too; walk-ins (entered by the officer) only the
        thermometer and the gate outputs.
        """
        missing = set(self.devices.missing())
        if kind is Kind.BOOKING and self.camera_missing():
            missing.add("camera")
        return frozenset(missing)

    def today_without_counts(self) -> dict[str, Any]:
        """Today's status when the database cannot be read: the counts are unknown."""
        status = self._status_header()[0]
        status.update(unknown_counts())
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
        try:
            with self.db.transaction(write=False) as conn:
                counts = day_counts(
                    conn,
                    self.policy.office_id,
                    day,
                    gate_id=self.config.site.gate_id,
                    cap=self.policy.daily_cap,
                    policy=self.policy,
                    now=self.clock_guard.now()[0],
                )
        except StorageError as exc:
            if not self.partition.enabled:
                raise
            self.partition.failed(exc)
            # Degraded: the shared count is unknown; say so instead of failing the screen.
            status.update(unknown_counts())
            status["degraded"] = self.partition.degraded
            return status
        status.update(
            admitted=counts.admitted,
            remaining=counts.remaining,
            full=counts.full,
            outcomes=counts.outcomes,
            services=counts.services_json(),
            walkin_places=counts.walkin_places,
        )
        return status

    # -- the scan path -------------------------------------------------------
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
        self.events.phase("scanning", 0.0)
        now, trusted = self.clock_guard.now()
        day = business_date(now, self.policy.zone)
        answer = None
        try:
            if idempotency_key and (earlier := self.recorder.replay(idempotency_key)):
                return earlier
            if not self.partition.degraded:
                # The remote look-up (if any) runs before, never inside, a transaction.
                answer = self._ask_live(text)
            facts, forced = self._booking_facts(text, day, answer)
        except StorageError as exc:
            placeholder = Visit(Kind.BOOKING, booking=BookingFacts(booking_id=None))
            return self.recorder.cannot_record(exc, Request(placeholder, text=text), day, now)
        visit = Visit(Kind.BOOKING, booking=facts)
        refused = forced or precheck(
            visit=visit,
            policy=self.policy,
            now=now,
            date_trusted=trusted,
            safe_mode=self.safe_mode,
            out_of_service=self.out_of_service(visit.kind),
        )
        reading = None if refused else self.screen()
        return self.recorder.record(
            Request(visit, reading, text=text, idempotency_key=idempotency_key, answer=answer)
        )

    def _booking_facts(self, text: str, day: date, answer: LiveAnswer | None) -> Any:
        try:
            return self.recorder.booking_facts(text, day, answer)
        except StorageError as exc:
            if not self.recorder.partitioned(exc):
                raise
            return self.recorder.booking_facts(text, day)  # degraded now: from the journal

    def _ask_live(self, text: str) -> LiveAnswer | None:
        if self.live is None or (booking_id := bookings.parse_plain_code(text)) is None:
            return None
        answer = self.live.lookup(booking_id)
        if answer.status is LiveStatus.UNAVAILABLE:
            log.warning("booking system unavailable (%s): using the local list", answer.reason)
        return answer

    def close(self) -> None:
        self.partition.close()
        if self.live is not None:
            self.live.close()

    # -- the officer's entries ---------------------------------------------------
    def admit_walkin(
        self, officer: str, *, note: str | None = None, service: str | None = None
    ) -> GateResult:
        """An officer enters a walk-in citizen (measured like everyone; uses a slot).

        ``service``: the configured service the citizen came for (its quota is used).
        """
        visit = Visit(
            Kind.WALKIN, officer=who_acts(officer), note=note, service=self._service(service)
        )
        # Nobody is measured on a gate out of service.
        reading = None if self.out_of_service(visit.kind) else self.screen()
        return self.recorder.record(Request(visit, reading))

    def _service(self, code: str | None) -> str:
        """A service chosen by the officer: a configured code, or ``""`` for none."""
        if not (code or "").strip():
            return ""
        rule = self.policy.service(code)
        if rule is None:
            choices = ", ".join(s.code for s in self.policy.services) or "(none configured)"
            raise InputError(f"unknown service {code!r}; choose one of {choices}")
        return rule.code

    def admit_priority(
        self,
        officer: str,
        reason: PriorityReason | str,
        *,
        note: str | None = None,
        service: str | None = None,
        entry_id: int | None = None,
    ) -> GateResult:
        """Officer override with a priority reason; recorded and audited, never hidden.

        With ``entry_id`` the visitor of that refused or referred entry is admitted: one
        referral takes one decision (a second raises :class:`AlreadyDecided`).
        """
        try:
            priority = PriorityReason(reason)
        except ValueError:
            choices = ", ".join(p.value for p in PriorityReason)
            raise InputError(f"priority reason must be one of {choices}") from None
        try:  # validated on the officer's own note ("other" needs one)
            visit = Visit(
                Kind.PRIORITY,
                officer=who_acts(officer),
                priority=priority,
                note=note,
                service=self._service(service),
            )
        except ValueError as exc:
            raise InputError(str(exc)) from None
        if entry_id is None:
            return self.recorder.record(Request(visit, None))
        stored = replace(visit, note=f"entry {entry_id}: {note}" if note else f"entry {entry_id}")
        return self.referrals.admit(entry_id, officer, Request(stored, None))

    # -- screening ------------------------------------------------------------------
    @property
    def model(self) -> EstimationModel:
        return self.screening.model

    @model.setter
    def model(self, model: EstimationModel) -> None:
        self.screening.model = model

    def last_calibration(self) -> repo.Calibration | None:
        return self.screening.last_calibration()

    def current_model(self) -> EstimationModel:
        return self.screening.current_model()

    def measure(self) -> TemperatureReading:
        return self.screening.measure()

    def screen(self) -> TemperatureReading:
        return self.screening.screen()

    # -- referrals -------------------------------------------------------------------
    def pending_referrals(self) -> list[int]:
        return self.referrals.pending()

    def remeasure_last_referral(self, officer: str = "officer-button") -> GateResult | None:
        return self.referrals.remeasure_last(officer)

    def confirm_last_referral(self, officer: str = "officer-button") -> int | None:
        return self.referrals.confirm_last(officer)

    def deny_referral(self, entry_id: int, officer: str, note: str | None = None) -> None:
        self.referrals.deny(entry_id, officer, note)

    def close_referral(self, entry_id: int) -> bool:
        return self.referrals.close(entry_id)

    def clinical_reading(self, entry_id: int, celsius: float, officer: str) -> GateResult:
        return self.referrals.clinical(entry_id, celsius, officer)

    # -- officer console (undo, settings) -------------------------------------------
    def apply_config(self, config: Config) -> None:
        """Run with a changed configuration (admin settings): cap, threshold, hours, undo window."""
        self.config = config
        self.policy = policy_from(config)
        self.status_changed()

    def undo_admission(self, entry_id: int, officer: str, reason: str) -> bool:
        """Undo an admission within ``admission.undo_window_minutes``; True if a slot returned.

        The entry stays (entries are append-only): an undo row records who and
        why, and the day's counter gives the slot back in the same transaction,
        so ``used = slot-using entries − undos that returned a slot`` always.
        """
        who = who_acts(officer)
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
            if returned and entry.service:
                capacity.return_service_slot(
                    conn, entry.office_id, entry.business_date, entry.service
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
        self.status_changed()
        return returned

    def presence(self) -> None:
        """Someone stepped up (presence sensor): only recorded, in ``presence_at``.

        Nothing else follows: the screens never sleep, so there is nothing to wake."""
        self.presence_at = self.clock()


def load_gate_keyring(config: Config) -> KeyRing | None:
    """The public keys for signed codes; ``None`` (signed codes refused) when none exist."""
    path = config.public_keys_path
    if not path.exists():
        log.warning("no public key list at %s: signed booking codes will be refused", path)
        return None
    return load_keyring(path)


__all__ = [
    "REFERRALS_FOR_CLINICAL",
    "BookingFacts",
    "GateResult",
    "GateService",
    "load_gate_keyring",
    "policy_from",
]
