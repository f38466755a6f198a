"""Referred visitors waiting for the officer, and what the officer does about them.

A decision that refers a visitor for a health or device reason (fever, sensor fault,
room out of range, re-measure) joins the queue as it is signalled. The officer then
re-measures (the officer button), enters a clinical thermometer reading, confirms the
refusal or admits the visitor another way; every one of these is recorded through the
recorder (a new decision) or audited. The queue lives in this process's memory and keeps
the newest 100.

One referral takes one decision: deny, clinical reading, admit anyway, re-measure or
confirm. Each is taken under one lock and marked (in memory and as a ``referral_*`` audit
row about the referred entry, so a restart does not forget it); a second decision on the
same entry raises :class:`AlreadyDecided` (HTTP 409) and stores nothing.
"""

from __future__ import annotations

import threading
from collections import OrderedDict
from collections.abc import Callable
from dataclasses import replace
from datetime import datetime

from kiosk.domain.admission import Visit
from kiosk.domain.reasons import Outcome, Reason
from kiosk.domain.temperature import ReadingState, TemperatureReading
from kiosk.errors import AlreadyDecided, InputError, StorageError
from kiosk.services.events import GateEvents
from kiosk.services.recorder import OfficerAction, Recorder, Request
from kiosk.services.results import GateResult
from kiosk.storage import Backend, entry_log
from kiosk.storage import repository as repo

REFERRALS_FOR_CLINICAL = frozenset(
    {Reason.FEVER, Reason.SENSOR_FAULT, Reason.AMBIENT_OUT_OF_RANGE, Reason.TEMPERATURE_RECHECK}
)
KEEP = 100
DECIDED = ("referral_denied", "referral_confirmed", "referral_decided")
"""Audit actions (subject ``entry:N``) that mean entry N's referral was decided."""


class Referrals:
    def __init__(
        self,
        *,
        recorder: Recorder,
        measure: Callable[[], TemperatureReading],
        db: Backend,
        events: GateEvents,
        clock: Callable[[], datetime],
    ) -> None:
        self.recorder, self.measure, self.db, self.clock = recorder, measure, db, clock
        self._waiting: OrderedDict[int, tuple[Visit, str | None]] = OrderedDict()
        self._decided: OrderedDict[int, None] = OrderedDict()
        self._lock = threading.RLock()
        events.results.insert(0, self._on_result)  # before the screens hear of it

    def _on_result(self, result: GateResult) -> None:
        d = result.decision
        if (
            result.entry_id is not None
            and result.visit is not None
            and d.outcome is Outcome.REFER
            and d.reason in REFERRALS_FOR_CLINICAL
        ):
            self._waiting[result.entry_id] = (result.visit, result.text)
            while len(self._waiting) > KEEP:
                self._waiting.popitem(last=False)

    def pending(self) -> list[int]:
        """Entry ids of referred visitors still waiting for the officer (newest last)."""
        return list(self._waiting)

    def close(self, entry_id: int) -> bool:
        """Forget a pending referral without deciding it; ``True`` if it was pending."""
        with self._lock:
            return self._waiting.pop(entry_id, None) is not None

    def decided(self, entry_id: int) -> bool:
        """Whether entry ``entry_id``'s referral already took its decision."""
        if entry_id in self._decided:
            return True
        try:
            with self.db.transaction(write=False) as conn:
                return bool(entry_log.audit_actions(conn, f"entry:{entry_id}", DECIDED))
        except StorageError:  # database away (degraded): this process's memory decides
            return False

    def _refuse_decided(self, entry_id: int) -> None:
        if self.decided(entry_id):
            raise AlreadyDecided(
                f"entry {entry_id} is not a referral waiting any more: it was already decided "
                "by an officer; nothing was changed"
            )

    def _mark(self, entry_id: int) -> None:
        """Entry ``entry_id`` took its decision: remembered, no longer pending (its audit row
        was stored with the decision, by the recorder)."""
        self._waiting.pop(entry_id, None)
        self._decided[entry_id] = None
        while len(self._decided) > 10 * KEEP:
            self._decided.popitem(last=False)

    def remeasure_last(self, officer: str = "officer-button") -> GateResult | None:
        """The officer asks to measure the last referred visitor again (button press).

        ``None`` when nobody is waiting. The new measurement decides (no further
        re-measure round) and is recorded with the officer and the earlier entry.
        """
        with self._lock:
            if not self._waiting:
                return None
            entry_id, (visit, text) = next(reversed(self._waiting.items()))
            reading = replace(self.measure(), is_recheck=True)
            action = OfficerAction(officer, "remeasure", f"re-measured for entry {entry_id}")
            result = self.recorder.record(
                Request(visit, reading, text=text, action=action, decides=(entry_id, "re-measured"))
            )
            self._mark(entry_id)
            return result

    def confirm_last(self, officer: str = "officer-button") -> int | None:
        """The officer confirms the last referral (button held): audited, no longer pending."""
        with self._lock:
            if not self._waiting:
                return None
            entry_id, _ = self._waiting.popitem(last=True)
            self._decided[entry_id] = None
            with self.db.transaction() as conn:
                repo.add_audit(conn, officer, "referral_confirmed", subject=f"entry:{entry_id}")
            return entry_id

    def deny(self, entry_id: int, officer: str, note: str | None = None) -> None:
        """The officer confirms the refusal of a referred visitor: audited, no longer pending."""
        who = who_acts(officer)
        with self._lock:
            self._refuse_decided(entry_id)
            if entry_id not in self._waiting:
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
            self._waiting.pop(entry_id, None)
            self._decided[entry_id] = None

    def admit(self, entry_id: int, officer: str, request: Request) -> GateResult:
        """Admit the visitor of refused or referred entry ``entry_id`` another way.

        ``request`` (the new admission) is recorded only if the entry exists, was not
        itself an admission and took no decision yet; the entry is then marked decided.
        """
        who_acts(officer)  # an officer's name is required
        with self._lock:
            self._refuse_decided(entry_id)
            if entry_id not in self._waiting:
                with self.db.transaction(write=False) as conn:
                    entry = repo.entry_by_id(conn, entry_id)
                if entry is None:
                    raise InputError(f"there is no entry {entry_id}")
                if entry.outcome == Outcome.ADMITTED.value:
                    raise InputError(f"entry {entry_id} was admitted already")
            result = self.recorder.record(replace(request, decides=(entry_id, "admitted anyway")))
            self._mark(entry_id)
            return result

    def clinical(self, entry_id: int, celsius: float, officer: str) -> GateResult:
        """An officer's clinical thermometer value decides a referred visit; recorded and audited."""
        if not 30.0 <= celsius <= 45.0:
            raise InputError("clinical temperature must be between 30 and 45 °C")
        who = who_acts(officer)
        with self._lock:
            self._refuse_decided(entry_id)
            try:
                visit, text = self._waiting[entry_id]
            except KeyError:
                raise InputError(
                    f"entry {entry_id} is not a referral awaiting a clinical reading "
                    "(or it expired: ask the visitor to scan again)"
                ) from None
            reading = TemperatureReading(
                ReadingState.OK, estimated_c=round(celsius, 2), source="clinical", is_recheck=True
            )
            action = OfficerAction(
                who, "clinical_reading", f"clinical reading for entry {entry_id}"
            )
            decides = (entry_id, "clinical reading")
            result = self.recorder.record(
                Request(visit, reading, text=text, action=action, decides=decides)
            )
            self._mark(entry_id)
            return result


def who_acts(officer: str) -> str:
    name = (officer or "").strip()
    if not name or len(name) > 64:
        raise InputError("officer name is required (1–64 characters)")
    return name
