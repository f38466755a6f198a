"""The officer console's words for stored codes: outcome, reason, kind and priority reason.

The database and the API keep the codes (``refer`` · ``fever``); the console shows them as
short words in the page's language ("Ke petugas · suhu tinggi"). Reasons, kinds and priority
reasons are the staff pages' own words (:mod:`ui.labels`); the outcomes are worded for the
officer, who is the one a referred visitor goes to. Every code of the enums has a word
(tests/test_officer.py checks), so a new reason cannot appear raw.
"""

from __future__ import annotations

from typing import Any

from flask_babel import lazy_gettext

from kiosk.domain.reasons import Outcome, Reason
from ui import labels
from ui.labels import KINDS, PRIORITY_REASONS

# Reasons the screening work added after ui.labels was written; ui.labels' own words win.
REASONS: dict[str, Any] = {
    Reason.MOVE_CLOSER: lazy_gettext("too far from the thermometer"),
    Reason.MOVE_BACK: lazy_gettext("too close to the thermometer"),
    **labels.REASONS,
}

OUTCOMES: dict[str, Any] = {
    Outcome.ADMITTED: lazy_gettext("Admitted"),
    Outcome.DENIED: lazy_gettext("Refused"),
    Outcome.REFER: lazy_gettext("To the officer"),
}


def words() -> dict[str, dict[str, str]]:
    """Every code's word in the request's language, for the page (the data-words map)."""
    return {
        "outcome": {str(k): str(v) for k, v in OUTCOMES.items()},
        "reason": {str(k): str(v) for k, v in REASONS.items()},
        "kind": {str(k): str(v) for k, v in KINDS.items()},
        "priority": {str(k): str(v) for k, v in PRIORITY_REASONS.items()},
    }


__all__ = ["KINDS", "OUTCOMES", "PRIORITY_REASONS", "REASONS", "words"]
