"""The one merge rule: how validated booking rows enter the local booking list.

A spreadsheet import (``kiosk booking import``, rows with source ``csv``) and
the booking system's day list (:mod:`kiosk.bookings.sync`, source ``sync``)
both go through :func:`merge_bookings`, inside the caller's transaction.
Row by row, by booking id:

1. An id the kiosk does not hold is **added**.
2. An id the kiosk holds for another office is a **conflict**.
3. A row with the stored date, name, service, status and arrival window is **unchanged**:
   importing the same file or list again is harmless.
4. Any other row is a **change**. Only the booking system is authoritative
   (:data:`AUTHORITATIVE_SOURCES`): its change replaces the stored date,
   name, service, status and arrival window, and the stored ``source`` becomes ``sync``;
   the id, the office and the creation time never change. A spreadsheet
   only adds bookings: a spreadsheet row that differs from a stored booking
   (whoever stored it) is a conflict.

One conflict rejects the whole batch: the caller raises
(:class:`~kiosk.errors.BookingImportError`, :class:`BookingSyncConflict`)
and its transaction rolls back, so nothing is half-merged.

**Cancellation.** A booking-system row with status ``cancelled`` is a change
like any other (rule 4): the booking stays in the list, marked cancelled,
and from then on every scan of it — plain id or signed code, a local
cancelled row wins over a genuine signature — is refused with
``booking_cancelled``. A later ``valid`` row reinstates it. A merge never
deletes: a booking the day list no longer mentions is kept and reported
(:attr:`kiosk.bookings.sync.SyncResult.not_in_remote`). A spreadsheet can
add a booking already cancelled, never cancel a stored one.

**A booking already admitted.** A merge changes the booking row only, never
the entry log: the admission stays recorded and its slot stays used. After
a cancellation a scan is refused with ``booking_cancelled`` (no re-entry,
even within the re-entry window); after a change of date the booking is
valid on its new day, where the earlier admission (recorded on its own
business day) does not make it "already used".
"""

from __future__ import annotations

import sqlite3
from dataclasses import dataclass

from kiosk.errors import BookingImportError
from kiosk.storage import Booking
from kiosk.storage import repository as repo

SYNC_SOURCE = "sync"
"""``Booking.source`` of bookings added or changed by the day-list sync."""
AUTHORITATIVE_SOURCES = frozenset({SYNC_SOURCE})
"""Sources whose rows may change a stored booking (rule 4)."""
_DETAILS = ("date", "name", "service", "status", "arrive_from", "arrive_until")


class BookingSyncConflict(BookingImportError):
    """The booking system's list contradicts bookings the kiosk already holds.

    Nothing was imported. ``errors`` lists ``(row, message)`` pairs.
    """

    def __init__(self, errors: list[tuple[int, str]]) -> None:
        super().__init__(errors)
        lines = "\n".join(f"  row {n}: {msg}" for n, msg in errors)
        self.args = (
            f"{len(errors)} booking(s) from the booking system contradict the kiosk's "
            f"copy; nothing was imported:\n{lines}",
        )


@dataclass(frozen=True)
class MergeResult:
    added: int = 0
    unchanged: int = 0
    updated: int = 0
    conflicts: tuple[tuple[int, str], ...] = ()
    """``(row, message)`` for every row that may not be merged; raise, do not commit."""


def _conflict(existing: Booking, incoming: Booking) -> str | None:
    """Why ``incoming`` may not be merged over ``existing`` (rules 2 and 4), else ``None``."""
    if existing.office_id != incoming.office_id:
        return f"booking id {incoming.id} belongs to office {existing.office_id} on this kiosk"
    if incoming.source in AUTHORITATIVE_SOURCES:
        return None
    changed = [f for f in _DETAILS if getattr(existing, f) != getattr(incoming, f)]
    return f"booking id {incoming.id} already exists with other details ({', '.join(changed)})"


def merge_bookings(conn: sqlite3.Connection, rows: list[tuple[int, Booking]]) -> MergeResult:
    """Apply the merge rule (module docstring) to validated rows inside the caller's transaction.

    Writes the additions and changes; the caller must roll back when
    :attr:`MergeResult.conflicts` is not empty.
    """
    added = unchanged = updated = 0
    conflicts: list[tuple[int, str]] = []
    for ref, booking in rows:
        existing = repo.get_booking(conn, booking.id)
        if existing is None:
            repo.insert_booking(conn, booking)
            added += 1
        elif existing.office_id == booking.office_id and all(
            getattr(existing, f) == getattr(booking, f) for f in _DETAILS
        ):
            unchanged += 1
        elif (problem := _conflict(existing, booking)) is not None:
            conflicts.append((ref, problem))
        else:
            repo.update_booking(conn, booking)
            updated += 1
    return MergeResult(added, unchanged, updated, tuple(conflicts))


def import_bookings(conn: sqlite3.Connection, rows: list[tuple[int, Booking]]) -> tuple[int, int]:
    """Merge spreadsheet rows inside the caller's transaction: ``(added, unchanged)``.

    A row that differs from a stored booking is an error
    (:class:`BookingImportError`, every such line listed); the caller's
    transaction then rolls everything back.
    """
    result = merge_bookings(conn, rows)
    if result.conflicts:
        raise BookingImportError(list(result.conflicts))
    return result.added, result.unchanged
