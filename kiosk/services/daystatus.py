"""Today's figures, from one query: used by the gate, ``kiosk today``, the screens and the
admin pages alike, so they can never disagree.

``used`` is the shared day counter (every slot taken, including slots that gates have
reserved for a network partition); ``admitted`` is what people were let in on slots
(``used`` − the reserved slots not yet spent); ``remaining`` is what this gate may still
admit: the free part of the cap plus its own reserve.
"""

from __future__ import annotations

from dataclasses import dataclass
from datetime import date
from typing import Any

from kiosk.storage import entry_log, reservations
from kiosk.storage import repository as repo


@dataclass(frozen=True)
class DayCounts:
    day: date
    cap: int
    used: int
    reserved: int
    own_reserve: int
    outcomes: dict[str, int]

    @property
    def admitted(self) -> int:
        return self.used - self.reserved

    @property
    def remaining(self) -> int:
        return max(0, self.cap - self.used) + self.own_reserve

    @property
    def full(self) -> bool:
        return self.remaining == 0


def day_counts(
    conn: Any, office_id: str, day: date, *, gate_id: str, cap: int | None = None
) -> DayCounts:
    """The day's figures; ``cap`` None = the cap stored with the day (past days)."""
    counter = entry_log.day_counter(conn, office_id, day)
    if cap is None:
        cap = counter[1] if counter else 0
    return DayCounts(
        day=day,
        cap=cap,
        used=repo.slots_used(conn, office_id, day),
        reserved=reservations.total_held(conn, office_id, day),
        own_reserve=reservations.held(conn, office_id, day, gate_id),
        outcomes=repo.outcome_counts(conn, office_id, day),
    )
