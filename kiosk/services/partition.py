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

This module keeps the state (reachable or not, since when), the reserve and the journal,
and runs the probe. Deciding and recording — online or into the journal, with the same
fields and audit rows — is the recorder's job (:mod:`kiosk.services.recorder`), which also
provides :attr:`PartitionGuard.upload`, the one way a journalled entry reaches the shared
database.
"""

from __future__ import annotations

import json
import logging
import threading
import time
from collections.abc import Callable
from datetime import date
from typing import Any

from kiosk.config import Config
from kiosk.errors import StorageError
from kiosk.storage import Backend, Database, Entry, maintenance, reservations

log = logging.getLogger(__name__)

JOURNAL_NAME = "partition-journal.db"

Upload = Callable[[Any, Entry, dict[str, Any]], None]


def _no_upload(_conn: Any, _entry: Entry, _extras: dict[str, Any]) -> None:
    raise StorageError("no recorder attached to upload the journal")


class PartitionGuard:
    def __init__(
        self,
        config: Config,
        db: Backend,
        *,
        today: Callable[[], date],
        cap: Callable[[], int],
        mono: Callable[[], float] = time.monotonic,
    ) -> None:
        self.db = db
        self.enabled = getattr(db, "dialect", "sqlite") != "sqlite"
        self.after_s = config.partition.after_s
        self.reserve = config.partition.reserve_slots
        self.probe_s = config.partition.probe_s
        self.office = config.site.office_id
        self.gate_id = config.site.gate_id
        self._today = today
        self._cap = cap
        self.mono = mono
        self.upload: Upload = _no_upload
        """Stores one journalled entry in the shared database (set by the recorder)."""
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
            return maintenance.entry_count(conn)

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

    # -- while connected -----------------------------------------------------
    def use_reserve(self, conn: Any, day: date) -> bool:
        """At the cap: use one of this gate's own reserved slots (inside the record tx)."""
        return self.reserve > 0 and reservations.consume(conn, self.office, day, self.gate_id)

    def top_up(self, day: date) -> None:
        """Keep ``reserve_slots`` reserved on the shared counter and mirrored in the journal."""
        if not self.enabled or self.journal is None:
            return
        try:
            with self.db.transaction() as conn:
                held = reservations.top_up(
                    conn, self.office, day, self.gate_id, self.reserve, self._cap()
                )
        except StorageError as exc:
            self.failed(exc)
            return
        with self.journal.transaction() as jconn:
            reservations.set_held(jconn, self.office, day, self.gate_id, held)

    # -- back online -----------------------------------------------------------
    def probe(self) -> bool:
        """Try the shared database; on success reconcile the journal and top up the reserve."""
        try:
            with self.db.transaction(write=False) as conn:
                maintenance.ping(conn)
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
                    extras = {
                        e.id: reservations.journal_extras(jconn, e.id)
                        for e in batch
                        if e.id is not None
                    }
                if not batch:
                    break
                for entry in batch:
                    assert entry.id is not None
                    payload = extras.get(entry.id)
                    with self.db.transaction() as conn:
                        self.upload(conn, entry, json.loads(payload) if payload else {})
                    with self.journal.transaction() as jconn:
                        reservations.delete_journal_entry(jconn, entry.id)
                    uploaded += 1
        if uploaded:
            self.reconciled += uploaded
            log.warning("reconciled %s decisions recorded while offline", uploaded)
        return uploaded

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
