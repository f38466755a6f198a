"""Retention: citizen entries, temperatures and bookings are kept ``retention.days`` days.

An entry of business date D is kept through D + days and purged from the
next day on (at the daily purge time, and at start-up). The purge runs only
on a trusted business date: a clock that jumped forward must not erase
records that are still within their period. Each purge writes an audit row
with the counts (never the data).
"""

from __future__ import annotations

import logging
from dataclasses import dataclass
from datetime import UTC, date, datetime, timedelta
from typing import Any

from kiosk.storage import Backend, maintenance
from kiosk.storage import accounts as accounts_store
from kiosk.storage import repository as repo

log = logging.getLogger(__name__)


@dataclass(frozen=True)
class PurgeResult:
    cutoff: date
    entries: int
    bookings: int


def cutoff_for(today: date, days: int) -> date:
    """Entries with a business date before this are expired."""
    return today - timedelta(days=days)


def purge_expired(db: Backend, today: date, days: int, *, actor: str = "system") -> PurgeResult:
    """Delete expired entries and bookings in one transaction; audited."""
    cutoff = cutoff_for(today, days)
    with db.transaction() as conn:
        entries = maintenance.purge_entries_before(conn, cutoff)
        bookings = maintenance.purge_bookings_before(conn, cutoff)
        logins = purge_logins(conn, datetime.now(UTC))
        repo.add_audit(
            conn,
            actor,
            "retention_purge",
            subject=f"before:{cutoff.isoformat()}",
            details=f"{entries} entries, {bookings} bookings ({days}-day retention)",
        )
    log.info(
        "retention purge before %s: %s entries, %s bookings, %s login records",
        cutoff,
        entries,
        bookings,
        logins,
    )
    return PurgeResult(cutoff, entries, bookings)


LOGIN_ATTEMPTS_KEPT = timedelta(days=2)
"""Longer than the login throttle looks back (a day)."""
SESSIONS_KEPT = timedelta(days=2)
"""Longer than any session lives (at most 24 hours)."""


def purge_logins(conn: Any, now: datetime) -> int:
    """Delete old login attempts and ended or expired sessions (a flood leaves no trace)."""
    attempts = accounts_store.purge_attempts_before(conn, now - LOGIN_ATTEMPTS_KEPT)
    sessions = accounts_store.purge_sessions_before(conn, now - SESSIONS_KEPT)
    return attempts + sessions
