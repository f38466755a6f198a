"""The one door every gate decision goes through (as pretix's ``perform_checkin``).

Every admission, refusal, officer action and staff attendance is a :class:`Request`
handed to :meth:`Recorder.record`, which

1. decides with every input the domain needs — the visit, the reading, today's count,
   the policy, the instant and whether its date is trusted, safe mode, the devices
   missing (and the liveness checks for staff) — inside the transaction that stores it;
2. stores it online (the configured database), or journals it offline when a shared
   database is unreachable (degraded mode, :mod:`kiosk.services.partition`), with the
   same entry fields and the same audit rows; journalled audit rows and staff marks are
   replayed once when the journal is uploaded (:meth:`Recorder.upload`);
3. signals the outputs and the screens through the one :class:`GateEvents` object.

If nothing could be stored the visitor is referred (``cannot_record``) and the gate
stays closed. A unique-key race lost to another gate (PostgreSQL) is retried in a loop.
"""

from __future__ import annotations

import json
import logging
from collections.abc import Callable
from dataclasses import dataclass, replace
from datetime import UTC, date, datetime
from types import MappingProxyType
from typing import Any

from kiosk import bookings
from kiosk.bookings import LiveAnswer, facts_for_answer
from kiosk.config import Config
from kiosk.domain.admission import BookingFacts, Decision, Kind, Policy, Visit, decide
from kiosk.domain.attendance import Check, decide_staff
from kiosk.domain.bookingcode import KeyRing
from kiosk.domain.clock import business_date
from kiosk.domain.reasons import Outcome, Reason
from kiosk.domain.temperature import TemperatureReading
from kiosk.errors import ConflictError, StorageError
from kiosk.services import places
from kiosk.services.clockguard import ClockGuard
from kiosk.services.events import GateEvents
from kiosk.services.partition import PartitionGuard
from kiosk.services.results import GateResult, result_from_entry
from kiosk.services.staffmarks import StaffVisit, store_staff_mark
from kiosk.storage import Backend, Database, Entry, capacity, reservations
from kiosk.storage import repository as repo

log = logging.getLogger(__name__)

MAX_CONFLICT_RETRIES = 3
"""A unique-key race lost to another gate is retried this often before ``cannot_record``."""


@dataclass(frozen=True)
class OfficerAction:
    """An officer acting on a visit (re-measure, clinical reading): stored and audited."""

    officer: str
    action: str
    note: str | None = None


@dataclass(frozen=True)
class Request:
    visit: Visit
    reading: TemperatureReading | None = None
    text: str | None = None
    """A scanned booking code: its facts are read again under the write lock."""
    idempotency_key: str | None = None
    answer: LiveAnswer | None = None
    action: OfficerAction | None = None
    staff: StaffVisit | None = None
    decides: tuple[int, str] | None = None
    """``(entry id, what the officer did)``: this visit is the one decision of that earlier
    referral; a ``referral_decided`` audit row on it is stored in the same transaction."""


class Recorder:
    def __init__(
        self,
        *,
        config: Callable[[], Config],
        policy: Callable[[], Policy],
        db: Backend,
        clock_guard: ClockGuard,
        partition: PartitionGuard,
        events: GateEvents,
        keyring: KeyRing | None,
        out_of_service: Callable[[Kind], frozenset[str]],
        safe_mode: bool = False,
    ) -> None:
        self._config, self._policy = config, policy
        self.db = db
        self.clock_guard = clock_guard
        self.partition = partition
        self.events = events
        self.keyring = keyring
        self.out_of_service = out_of_service
        self.safe_mode = safe_mode
        self.storage_problem: tuple[datetime, str] | None = None
        """The last failure to record a decision (cleared by the next success)."""
        partition.upload = self.upload

    # -- look-ups before the visitor is measured ---------------------------------------
    def replay(self, key: str) -> GateResult | None:
        """The decision already recorded under idempotency ``key`` (online or journal)."""
        conn = self._journal().connection() if self.partition.degraded else self.db.connection()
        entry = repo.entry_by_idempotency_key(conn, key)
        return result_from_entry(entry) if entry else None

    def booking_facts(
        self, text: str, day: date, answer: LiveAnswer | None = None
    ) -> tuple[BookingFacts, Decision | None]:
        """What the booking list says about ``text``, and a forced decision when degraded."""
        if self.partition.degraded:
            with self._journal().transaction(write=False) as conn:
                return self._offline_facts(conn, text, day)
        with self.db.transaction(write=False) as conn:
            return self._facts(conn, text, day, answer), None

    def _facts(self, conn: Any, text: str, day: date, answer: LiveAnswer | None) -> BookingFacts:
        if answer is None:
            return bookings.lookup_facts(conn, text, business_day=day, keyring=self.keyring)
        return facts_for_answer(conn, text, answer, business_day=day, keyring=self.keyring)[0]

    def _offline_facts(
        self, conn: Any, text: str, day: date
    ) -> tuple[BookingFacts, Decision | None]:
        if bookings.is_signed_code(text):  # verifiable offline with the public keys
            return bookings.lookup_facts(conn, text, business_day=day, keyring=self.keyring), None
        # A plain id needs the shared booking list.
        facts = BookingFacts(booking_id=bookings.parse_plain_code(text))
        return facts, Decision(Outcome.REFER, Reason.DEGRADED)

    # -- the door ------------------------------------------------------------------------
    def record(self, req: Request) -> GateResult:
        """Decide, store (online or journal) and signal one visit; see the module docstring."""
        conflicts = 0
        while True:
            if self.partition.degraded:
                return self._record_offline(req)
            now, trusted = self.clock_guard.now()
            day = business_date(now, self._policy().zone)
            try:
                result = self._record_online(req, now, trusted, day)
            except ConflictError as exc:
                # PostgreSQL: another gate committed the same booking or idempotency key first
                # and ours was rolled back (nothing stored). Run it again: it sees that row.
                conflicts += 1
                if conflicts > MAX_CONFLICT_RETRIES:
                    return self.cannot_record(exc, req, day, now)
                continue
            except StorageError as exc:
                if self.partitioned(exc):
                    return self._record_offline(req)
                return self.cannot_record(exc, req, day, now)
            if result.replayed:
                return result
            self.storage_problem = None
            self.partition.connected()
            if self.partition.reserve:
                self.partition.top_up(day)
            self.events.signal(result)
            return result

    def _record_online(self, req: Request, now: datetime, trusted: bool, day: date) -> GateResult:
        policy = self._policy()
        with self.db.transaction() as conn:
            key = req.idempotency_key
            if key and (earlier := repo.entry_by_idempotency_key(conn, key)):
                return result_from_entry(earlier)
            visit = req.visit
            if visit.kind is Kind.BOOKING and req.text is not None:
                # Fresh facts under the write lock: a concurrent gate may have admitted it.
                facts = self._facts(conn, req.text, day, req.answer)
                visit = Visit(Kind.BOOKING, booking=facts)
            counts = places.counts_for(conn, policy, visit, day)
            decision = self._decide(req, visit, counts, now, trusted)
            if decision.uses_slot and (
                full := places.take_places(
                    conn,
                    policy,
                    visit,
                    day,
                    counts,
                    now,
                    reserve=lambda: self.partition.use_reserve(conn, day),
                )
            ):
                counts = places.refused_counts(policy, visit, counts, full)
                decision = self._decide(req, visit, counts, now, trusted)
            entry = self._entry(req, visit, decision, now, day)
            if places.gets_queue_number(visit, decision):
                entry = replace(entry, queue_number=places.queue_number(conn, policy, visit, day))
            entry_id = repo.insert_entry(conn, entry)
            if trusted:
                self.clock_guard.note_recorded(conn, now)
            for actor, action, details in self._audits(req, visit, decision):
                repo.add_audit(
                    conn, actor, action, subject=f"entry:{entry_id}", details=details, now=now
                )
            if req.decides is not None:
                _referral_decided(conn, req.decides, _actor(req, visit), entry_id, now)
            if req.staff is not None:
                decision = store_staff_mark(
                    conn, self._config(), req.staff, decision, entry_id, entry, now
                )
        return self._result(req, visit, decision, entry_id, now, day, entry.queue_number)

    def _record_offline(self, req: Request) -> GateResult:
        """Decide and journal one visit while the shared database is away (degraded)."""
        journal = self._journal()
        now, trusted = self.clock_guard.now()
        day = business_date(now, self._policy().zone)
        visit, forced = req.visit, None
        with journal.transaction() as conn:
            key = req.idempotency_key
            if key and (earlier := repo.entry_by_idempotency_key(conn, key)):
                return result_from_entry(earlier)
            if visit.kind is Kind.BOOKING and req.text is not None:
                facts, forced = self._offline_facts(conn, req.text, day)
                visit = Visit(Kind.BOOKING, booking=facts)
            # The shared count is unknown: the reserved slots are the limit.
            decision = forced or self._decide(req, visit, places.Counts(0), now, trusted)
            office, gate_id = self._policy().office_id, self._config().site.gate_id
            if decision.uses_slot and not reservations.consume(conn, office, day, gate_id):
                decision = Decision(Outcome.REFER, Reason.DEGRADED)
            entry = self._entry(req, visit, decision, now, day)
            entry = replace(entry, note=_offline_note(entry.note))
            entry_id = repo.insert_entry(conn, entry)
            extras = {
                "audit": [list(a) for a in self._audits(req, visit, decision)],
                "staff": None
                if req.staff is None
                else {"staff_id": req.staff.staff_id, "method": req.staff.method},
                "checks": sorted(req.staff.checks or ()) if req.staff else [],
                "distance": req.staff.distance if req.staff else None,
                "decides": None if req.decides is None else [*req.decides, _actor(req, visit)],
            }
            reservations.add_journal_extras(conn, entry_id, json.dumps(extras))
        result = replace(self._result(req, visit, decision, entry_id, now, day), offline=True)
        self.events.signal(result)
        return result

    def _decide(
        self, req: Request, visit: Visit, counts: places.Counts, now: datetime, trusted: bool
    ) -> Decision:
        policy = self._policy()
        if req.staff is not None and req.staff.checks is not None:
            return decide_staff(
                reading=req.reading,
                checks=req.staff.checks,
                policy=policy,
                now=now,
                date_trusted=trusted,
                safe_mode=self.safe_mode,
            )
        return decide(
            visit=visit,
            reading=req.reading,
            **counts.decide_kwargs(),
            policy=policy,
            now=now,
            date_trusted=trusted,
            safe_mode=self.safe_mode,
            out_of_service=self.out_of_service(visit.kind),
        )

    # -- what is stored --------------------------------------------------------------------
    def _entry(
        self, req: Request, visit: Visit, decision: Decision, now: datetime, day: date
    ) -> Entry:
        reading = req.reading
        first = reading.first if reading else None
        note = visit.note
        if visit.priority is not None:
            note = f"{visit.priority.value}: {note}" if note else visit.priority.value
        officer = visit.officer
        if late := decision.detail.get("late"):
            note = (
                f"{note}; late arrival (window until {late})"
                if note
                else f"late arrival (window until {late})"
            )
        if req.action is not None:
            officer, note = req.action.officer, req.action.note
        return Entry(
            ts=now.astimezone(UTC),
            business_date=day,
            office_id=self._policy().office_id,
            gate_id=self._config().site.gate_id,
            kind=visit.kind.value,
            outcome=decision.outcome.value,
            reason=decision.reason.value,
            uses_slot=decision.uses_slot,
            booking_id=visit.booking.booking_id if visit.booking else None,
            temp_object_c=reading.object_c if reading else None,
            temp_ambient_c=reading.ambient_c if reading else None,
            temp_estimated_c=reading.estimated_c if reading else None,
            temp_source=reading.source if reading and reading.estimated_c is not None else None,
            temp_distance_cm=reading.distance_cm if reading else None,
            temp_first_object_c=first.object_c if first else None,
            temp_first_ambient_c=first.ambient_c if first else None,
            temp_first_estimated_c=first.estimated_c if first else None,
            temp_first_distance_cm=first.distance_cm if first else None,
            temp_recheck_trusted=reading.recheck_trusted if first and reading else None,
            officer=officer,
            note=note,
            idempotency_key=req.idempotency_key,
            service=places.entry_service(self._policy(), visit),
            reentry=int(decision.detail["reentry"]) if "reentry" in decision.detail else None,
        )

    @staticmethod
    def _audits(
        req: Request, visit: Visit, decision: Decision
    ) -> list[tuple[str, str, str | None]]:
        """``(actor, action, details)`` audit rows for this visit (subject: its entry)."""
        rows: list[tuple[str, str, str | None]] = []
        if (act := req.action) is not None:
            details = f"{act.note}; {decision.outcome.value}/{decision.reason.value}"
            rows.append((act.officer, act.action, details))
        if visit.kind in (Kind.PRIORITY, Kind.WALKIN):
            why = " ".join(filter(None, [visit.priority, visit.note])) or None
            rows.append((visit.officer or "?", f"admit_{visit.kind.value}", why))
        return rows

    def _result(
        self,
        req: Request,
        visit: Visit,
        decision: Decision,
        entry_id: int | None,
        now: datetime,
        day: date,
        queue_number: str | None = None,
    ) -> GateResult:
        if req.staff is not None and req.staff.name:
            detail = {**decision.detail, "name": req.staff.name}
            decision = replace(decision, detail=MappingProxyType(detail))
        return GateResult(
            decision,
            entry_id,
            req.reading,
            day,
            now,
            visit.kind,
            visit=visit,
            text=req.text,
            queue_number=queue_number,
            service=places.entry_service(self._policy(), visit),
        )

    # -- failures ----------------------------------------------------------------------------
    def partitioned(self, exc: StorageError) -> bool:
        """A shared database failed: note it; True once the gate counts as degraded."""
        if not self.partition.enabled:
            return False
        self.partition.failed(exc)
        return self.partition.degraded

    def cannot_record(
        self, exc: StorageError, req: Request, day: date, now: datetime
    ) -> GateResult:
        """Nothing was stored: refer to the officer, gate closed, fault signalled."""
        log.error("cannot record a gate decision: %s", exc)
        self.storage_problem = (now, str(exc))
        decision = Decision(Outcome.REFER, Reason.CANNOT_RECORD)
        result = GateResult(decision, None, req.reading, day, now, req.visit.kind)
        self.events.signal(result)
        return result

    def _journal(self) -> Database:
        if self.partition.journal is None:
            raise StorageError("no offline journal (the database is not shared)")
        return self.partition.journal

    # -- back online: the journal's entries, once each ------------------------------------------
    def upload(self, conn: Any, entry: Entry, extras: dict[str, Any]) -> None:
        """Store one journalled entry in the shared database (inside ``conn``'s transaction)."""
        gate_id = self._config().site.gate_id
        policy = self._policy()
        key = entry.idempotency_key or f"offline:{gate_id}:{entry.id}"
        if repo.entry_by_idempotency_key(conn, key) is not None:
            return  # uploaded before a crash, journal row not yet deleted
        uses_slot, note = entry.uses_slot, entry.note
        day = entry.business_date
        if uses_slot:
            if entry.booking_id and reservations.slot_used_by_booking(conn, entry.booking_id, day):
                uses_slot = False
                note = f"{note}; booking already used a slot at another gate"
            elif (
                # Never expected (reserves are never released); stay within the cap anyway.
                not reservations.consume(conn, policy.office_id, day, gate_id)
                and repo.take_slot(conn, policy.office_id, day, policy.daily_cap) is None
            ):
                uses_slot = False
                note = f"{note}; no reserved slot left when reconciled"
            rule = policy.service(entry.service)
            if (
                uses_slot
                and rule is not None
                and not capacity.take_service_slot(
                    conn, policy.office_id, day, rule.code, rule.daily_cap
                )
            ):
                note = f"{note}; {rule.code} was over its cap when reconciled"
        stored = replace(entry, id=None, uses_slot=uses_slot, note=note, idempotency_key=key)
        entry_id = repo.insert_entry(conn, stored)
        for actor, action, details in extras.get("audit") or []:
            repo.add_audit(
                conn, actor, action, subject=f"entry:{entry_id}", details=details, now=entry.ts
            )
        if decides := extras.get("decides"):
            referral, what, actor = decides
            _referral_decided(conn, (int(referral), str(what)), str(actor), entry_id, entry.ts)
        if staff := extras.get("staff"):
            visit = StaffVisit(
                staff_id=int(staff["staff_id"]),
                method=str(staff["method"]),
                checks=frozenset(Check(c) for c in extras.get("checks") or ()),
                distance=extras.get("distance"),
            )
            decision = Decision(Outcome(entry.outcome), Reason(entry.reason))
            store_staff_mark(conn, self._config(), visit, decision, entry_id, stored, entry.ts)
        repo.add_audit(
            conn,
            "system",
            "offline_reconciled",
            subject=f"gate:{gate_id}",
            details=f"{entry.kind} {entry.outcome}/{entry.reason} at {entry.ts.isoformat()}",
        )


def _actor(req: Request, visit: Visit) -> str:
    return req.action.officer if req.action is not None else visit.officer or "?"


def _referral_decided(
    conn: Any, decides: tuple[int, str], actor: str, entry_id: int, now: datetime
) -> None:
    referral, what = decides
    repo.add_audit(
        conn,
        actor,
        "referral_decided",
        subject=f"entry:{referral}",
        details=f"{what}: entry {entry_id}",
        now=now,
    )


def _offline_note(note: str | None) -> str:
    return f"{note}; recorded offline" if note else "recorded offline"
