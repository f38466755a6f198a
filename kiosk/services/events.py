"""One public events object: how a decision reaches the gate's outputs and every screen.

The recorder calls :meth:`GateEvents.signal` once per recorded (or refused-to-record)
decision: the outputs are driven first (relay, lights, buzzer), then every result
listener is told (the screens' event hub, the referral queue, tests), then every status
listener (the day's figures changed: every screen gets a fresh ``today``). Phases and interim
steps of a visit, and changes of the day's status that are not decisions (a device lost
or back, the camera stopped), go through the same object. A listener must never block
the gate: exceptions are logged and swallowed.
"""

from __future__ import annotations

import logging
from collections.abc import Callable
from typing import TYPE_CHECKING, Any

from kiosk.domain.reasons import Reason

if TYPE_CHECKING:
    from kiosk.services.results import GateResult

log = logging.getLogger(__name__)

FAULT_REASONS = frozenset({Reason.SENSOR_FAULT, Reason.CANNOT_RECORD})
"""Decisions the outputs show as a fault (long buzz) rather than a plain refusal."""


class GateEvents:
    def __init__(self, outputs: Callable[[], Any]) -> None:
        self._outputs = outputs
        self.results: list[Callable[[GateResult], None]] = []
        self.phases: list[Callable[[str, float], None]] = []
        """("scanning", 0.0) once a code is read, then ("measuring", 0.0 … 0.9)."""
        self.interims: list[Callable[[Reason], None]] = []
        """A step that is not a decision (e.g. "we will measure again"): nothing stored."""
        self.statuses: list[Callable[[], None]] = []
        """The day's status changed: after every decision, and without a visit (device lost
        or back, camera, cap, undo, settings)."""
        self.last_result: GateResult | None = None

    def signal(self, result: GateResult) -> None:
        """Drive the outputs for ``result``, then tell every result listener."""
        self.last_result = result
        outcome = result.decision.outcome.value
        if result.decision.reason in FAULT_REASONS:
            outcome = "fault"
        try:
            self._outputs().signal(outcome)
        except Exception:  # the decision is stored; a dead output must not hide it
            log.exception("gate outputs failed")
        _each(self.results, "gate listener", result)
        # Every recorded decision changes the day's figures (or may: a refusal after a
        # cap change, a walk-in, a priority admission): every screen hears of it at once.
        self.status_changed()

    def phase(self, phase: str, progress: float) -> None:
        _each(self.phases, "phase listener", phase, progress)

    def interim(self, reason: Reason) -> None:
        _each(self.interims, "interim listener", reason)

    def status_changed(self) -> None:
        _each(self.statuses, "status listener")


def _each(listeners: list[Any], what: str, *args: Any) -> None:
    for listener in list(listeners):
        try:
            listener(*args)
        except Exception:
            log.exception("%s failed", what)
