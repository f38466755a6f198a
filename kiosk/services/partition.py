"""Network partitions on a shared (PostgreSQL) database: degraded mode and reconciliation.

When the shared database has been unreachable for ``partition.after_s``
seconds, the gate is *degraded* (visible on the officer console, /healthz
and every result): it decides locally against a journal database in its data
folder and

* admits a signed-code booking (verifiable offline) or an officer's walk-in
  only by using one of the slots it *reserved* from the shared cap while it
  was connected (``partition.reserve_slots``, default 0);
* refers everyone else to the officer (reason ``degraded``): plain booking
  ids cannot be checked offline, and without reserved slots nothing is
  admitted automatically — it never admits without limit.

Reserved slots are taken from the shared day counter with the same
conditional UPDATE as admissions, so they are already inside the cap; a
connected gate that meets the cap uses its own reserve first, so no slot is
wasted. A background probe notices the server's return and *reconciles*: each
journal entry is uploaded once (idempotency key ``offline:<gate>:<id>``, so a
crash mid-way uploads nothing twice), a slot-using entry consumes one reserved
slot, and a booking that meanwhile used a slot at another gate is stored
without a second slot. The global total therefore stays ≤ cap.
"""

from __future__ import annotations

import logging
import threading
import time
from collections.abc import Callable
from dataclasses import replace
from datetime import date
from typing import TYPE_CHECKING, Any

from kiosk import bookings
from kiosk.domain.admission import BookingFacts, Decision, Kind, Visit, decide, precheck
from kiosk.domain.clock import business_date
from kiosk.domain.reasons import Outcome, Reason
from kiosk.domain.temperature import TemperatureReading
from kiosk.errors import StorageError
from kiosk.storage import Database, reservations
from kiosk.storage import repository as repo

if TYPE_CHECKING:
    from kiosk.services.gate import GateResult, GateService

log = logging.getLogger(__name__)

JOURNAL_NAME = "partition-journal.db"


class PartitionGuard:
    def __init__(self, gate: GateService, *, mono: Callable[[], float] = time.monotonic) -> None:
        config = gate.config
        self.gate = gate
        self.enabled = getattr(gate.db, "dialect", "sqlite") != "sqlite"
        self.after_s = config.partition.after_s
        self.reserve = config.partition.reserve_slots
        self.probe_s = config.partition.probe_s
        self.office = config.site.office_id
        self.gate_id = config.site.gate_id
        self.mono = mono
        self.unreachable_since: float | None = None
        self.last_error: str | None = None
        self.reconciled = 0
        self._lock = threading.RLock()
        self._stop = threading.Event()
        self._thread: threading.Thread | None = None
        self.journal: Database | None = None
        if self.enabled:
            self.journal = Database(config.data_dir / JOURNAL_NAME)
            self.journal.migrate()

    # -- state ---------------------------------------------------------------
    @property
    def degraded(self) -> bool:
        since = self.unreachable_since
        return self.enabled and since is not None and self.mono() - since >= self.after_s

    def failed(self, exc: StorageError) -> None:
        with self._lock:
            if self.unreachable_since is None:
                self.unreachable_since = self.mono()
                log.error("shared database unreachable: %s", exc)
            self.last_error = str(exc)

    def connected(self) -> None:
        with self._lock:
            if self.unreachable_since is not None:
                log.warning("shared database reachable again")
            self.unreachable_since = None
            self.last_error = None

    def pending(self) -> int:
        if self.journal is None:
            return 0
        with self.journal.transaction(write=False) as conn:
            return int(conn.execute("SELECT COUNT(*) FROM entries").fetchone()[0])

    def status(self) -> dict[str, Any]:
        mirror = 0
        if self.journal is not None:
            with self.journal.transaction(write=False) as conn:
                mirror = reservations.held(conn, self.office, self._today(), self.gate_id)
        return {
            "enabled": self.enabled,
            "degraded": self.degraded,
            "error": self.last_error,
            "reserved_slots": mirror,
            "pending_upload": self.pending(),
            "reconciled": self.reconciled,
        }

    def _today(self) -> date:
        now, _ = self.gate.clock_guard.now()
        return business_date(now, self.gate.policy.zone)

    # -- while connected -----------------------------------------------------
    def use_reserve(self, conn: Any, day: date) -> bool:
        """At the cap: use one of this gate's own reserved slots (inside the record tx)."""
        return self.reserve > 0 and reservations.consume(conn, self.office, day, self.gate_id)

    def top_up(self, day: date) -> None:
        """Keep ``reserve_slots`` reserved on the shared counter and mirrored in the journal."""
        if not self.enabled or self.journal is None:
            return
        try:
            with self.gate.db.transaction() as conn:
                held = reservations.top_up(
                    conn, self.office, day, self.gate_id, self.reserve, self.gate.policy.daily_cap
                )
        except StorageError as exc:
            self.failed(exc)
            return
        with self.journal.transaction() as jconn:
            reservations.set_held(jconn, self.office, day, self.gate_id, held)

    # -- while partitioned ---------------------------------------------------
    def record_offline(
        self,
        kind: Kind,
        *,
        text: str | None = None,
        visit: Visit | None = None,
        reading: TemperatureReading | None = None,
        idempotency_key: str | None = None,
    ) -> GateResult:
        """Decide and record one visit against the journal (the gate is degraded)."""
        from kiosk.services.gate import GateResult, _result_from_entry

        assert self.journal is not None
        gate = self.gate
        now, trusted = gate.clock_guard.now()
        day = business_date(now, gate.policy.zone)
        forced: Decision | None = None
        with self.journal.transaction(write=False) as conn:
            if idempotency_key and (
                earlier := repo.entry_by_idempotency_key(conn, idempotency_key)
            ):
                return _result_from_entry(earlier)
            if kind is Kind.BOOKING:
                assert text is not None
                if bookings.is_signed_code(text):
                    facts = bookings.lookup_facts(
                        conn, text, business_day=day, keyring=gate.keyring
                    )
                else:  # a plain id needs the shared booking list
                    facts = BookingFacts(booking_id=bookings.parse_plain_code(text))
                    forced = Decision(Outcome.REFER, Reason.DEGRADED)
                visit = Visit(Kind.BOOKING, booking=facts)
        assert visit is not None
        measure = forced is None and reading is None and kind is not Kind.PRIORITY
        if measure and not precheck(visit=visit, policy=gate.policy, now=now, date_trusted=trusted):
            reading = gate.screen()
        with self.journal.transaction() as conn:
            decision = forced or decide(
                visit=visit,
                reading=reading,
                used_today=0,  # the shared count is unknown: the reserve is the limit
                policy=gate.policy,
                now=now,
                date_trusted=trusted,
            )
            if decision.uses_slot and not reservations.consume(
                conn, self.office, day, self.gate_id
            ):
                decision = Decision(Outcome.REFER, Reason.DEGRADED)
            entry = gate._entry(visit, reading, decision, now, day, idempotency_key)
            entry_id = repo.insert_entry(conn, replace(entry, note=_offline_note(entry.note)))
        result = GateResult(decision, entry_id, reading, day, now, visit.kind)
        gate._signal(result)
        return result

    # -- back online -----------------------------------------------------------
    def probe(self) -> bool:
        """Try the shared database; on success reconcile the journal and top up the reserve."""
        try:
            with self.gate.db.transaction(write=False) as conn:
                conn.execute("SELECT 1").fetchone()
        except StorageError as exc:
            self.failed(exc)
            return False
        try:
            self.reconcile()
        except StorageError as exc:
            self.failed(exc)
            return False
        self.connected()
        if self.reserve:
            self.top_up(self._today())
        return True

    def reconcile(self) -> int:
        """Upload journal entries to the shared database; returns how many were uploaded."""
        if self.journal is None:
            return 0
        uploaded = 0
        with self._lock:
            while True:
                with self.journal.transaction(write=False) as jconn:
                    batch = reservations.journal_entries(jconn)
                if not batch:
                    break
                for entry in batch:
                    assert entry.id is not None
                    self._upload(entry)
                    with self.journal.transaction() as jconn:
                        reservations.delete_journal_entry(jconn, entry.id)
                    uploaded += 1
        if uploaded:
            self.reconciled += uploaded
            log.warning("reconciled %s decisions recorded while offline", uploaded)
        return uploaded

    def _upload(self, entry: repo.Entry) -> None:
        key = entry.idempotency_key or f"offline:{self.gate_id}:{entry.id}"
        with self.gate.db.transaction() as conn:
            if repo.entry_by_idempotency_key(conn, key) is not None:
                return  # uploaded before a crash, journal row not yet deleted
            uses_slot, note = entry.uses_slot, entry.note
            day = entry.business_date
            if uses_slot:
                if entry.booking_id and reservations.slot_used_by_booking(
                    conn, entry.booking_id, day
                ):
                    uses_slot = False
                    note = f"{note}; booking already used a slot at another gate"
                elif (
                    # Never expected (reserves are never released); stay within the cap anyway.
                    not reservations.consume(conn, self.office, day, self.gate_id)
                    and repo.take_slot(conn, self.office, day, self.gate.policy.daily_cap) is None
                ):
                    uses_slot = False
                    note = f"{note}; no reserved slot left when reconciled"
            repo.insert_entry(
                conn, replace(entry, id=None, uses_slot=uses_slot, note=note, idempotency_key=key)
            )
            repo.add_audit(
                conn,
                "system",
                "offline_reconciled",
                subject=f"gate:{self.gate_id}",
                details=f"{entry.kind} {entry.outcome}/{entry.reason} at {entry.ts.isoformat()}",
            )

    # -- background probe --------------------------------------------------------
    def start(self) -> None:
        if not self.enabled or self._thread is not None:
            return
        self._thread = threading.Thread(target=self._run, name="partition-probe", daemon=True)
        self._thread.start()

    def stop(self, timeout: float = 5.0) -> None:
        self._stop.set()
        if self._thread is not None and self._thread.is_alive():
            self._thread.join(timeout)

    def _run(self) -> None:
        while not self._stop.wait(self.probe_s):
            try:
                if self.unreachable_since is not None or self.pending():
                    self.probe()
            except Exception:  # the probe must outlive any surprise
                log.exception("partition probe failed")

    def close(self) -> None:
        self.stop()
        if self.journal is not None:
            self.journal.close()


def _offline_note(note: str | None) -> str:
    return f"{note}; recorded offline" if note else "recorded offline"
