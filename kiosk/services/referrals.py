"""Referred visitors waiting for the officer, and what the officer does about them.

A decision that refers a visitor for a health or device reason (fever, sensor fault,
room out of range, re-measure) joins the queue as it is signalled. The officer then
re-measures (the officer button), enters a clinical thermometer reading, confirms the
refusal or admits the visitor another way; every one of these is recorded through the
recorder (a new decision) or audited. The queue lives in this process's memory and keeps
the newest 100.
"""

from __future__ import annotations

from collections import OrderedDict
from collections.abc import Callable
from dataclasses import replace
from datetime import datetime

from kiosk.domain.admission import Visit
from kiosk.domain.reasons import Outcome, Reason
from kiosk.domain.temperature import ReadingState, TemperatureReading
from kiosk.errors import InputError
from kiosk.services.events import GateEvents
from kiosk.services.recorder import OfficerAction, Recorder, Request
from kiosk.services.results import GateResult
from kiosk.storage import Database
from kiosk.storage import repository as repo

REFERRALS_FOR_CLINICAL = frozenset(
    {Reason.FEVER, Reason.SENSOR_FAULT, Reason.AMBIENT_OUT_OF_RANGE, Reason.TEMPERATURE_RECHECK}
)
KEEP = 100


class Referrals:
    def __init__(
        self,
        *,
        recorder: Recorder,
        measure: Callable[[], TemperatureReading],
        db: Database,
        events: GateEvents,
        clock: Callable[[], datetime],
    ) -> None:
        self.recorder, self.measure, self.db, self.clock = recorder, measure, db, clock
        self._waiting: OrderedDict[int, tuple[Visit, str | None]] = OrderedDict()
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
        """Forget a pending referral (the officer admitted the visitor another way)."""
        return self._waiting.pop(entry_id, None) is not None

    def remeasure_last(self, officer: str = "officer-button") -> GateResult | None:
        """The officer asks to measure the last referred visitor again (button press).

        ``None`` when nobody is waiting. The new measurement decides (no further
        re-measure round) and is recorded with the officer and the earlier entry.
        """
        if not self._waiting:
            return None
        entry_id, (visit, text) = self._waiting.popitem(last=True)
        reading = replace(self.measure(), is_recheck=True)
        action = OfficerAction(officer, "remeasure", f"re-measured for entry {entry_id}")
        return self.recorder.record(Request(visit, reading, text=text, action=action))

    def confirm_last(self, officer: str = "officer-button") -> int | None:
        """The officer confirms the last referral (button held): audited, no longer pending."""
        if not self._waiting:
            return None
        entry_id, _ = self._waiting.popitem(last=True)
        with self.db.transaction() as conn:
            repo.add_audit(conn, officer, "referral_confirmed", subject=f"entry:{entry_id}")
        return entry_id

    def deny(self, entry_id: int, officer: str, note: str | None = None) -> None:
        """The officer confirms the refusal of a referred visitor: audited, no longer pending."""
        who = who_acts(officer)
        if self._waiting.pop(entry_id, None) is None:
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

    def clinical(self, entry_id: int, celsius: float, officer: str) -> GateResult:
        """An officer's clinical thermometer value decides a referred visit; recorded and audited."""
        if not 30.0 <= celsius <= 45.0:
            raise InputError("clinical temperature must be between 30 and 45 °C")
        try:
            visit, text = self._waiting.pop(entry_id)
        except KeyError:
            raise InputError(
                f"entry {entry_id} is not a referral awaiting a clinical reading "
                "(or it expired: ask the visitor to scan again)"
            ) from None
        reading = TemperatureReading(
            ReadingState.OK, estimated_c=round(celsius, 2), source="clinical", is_recheck=True
        )
        action = OfficerAction(
            who_acts(officer), "clinical_reading", f"clinical reading for entry {entry_id}"
        )
        return self.recorder.record(Request(visit, reading, text=text, action=action))


def who_acts(officer: str) -> str:
    name = (officer or "").strip()
    if not name or len(name) > 64:
        raise InputError("officer name is required (1–64 characters)")
    return name
