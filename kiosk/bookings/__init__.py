"""Bookings: codes, rows, the merge rule, facts for the rules, and the booking system.

Each module imports only the siblings it needs, never this ``__init__``, so
there is no cycle: ``rows`` and ``facts`` import ``codes``; ``merge``,
``http`` and ``state`` import no sibling; ``sync`` imports ``http``,
``merge``, ``rows`` and ``state``; ``live`` imports ``codes``, ``facts``,
``http`` and ``rows``.

* :mod:`~kiosk.bookings.codes` — plain booking ids and signed ``KB:`` codes told apart; new ids.
* :mod:`~kiosk.bookings.rows` — field validation and the one CSV reader
  (``kiosk booking import`` and the day-list sync).
* :mod:`~kiosk.bookings.merge` — the one merge rule (what a remote change or a
  cancellation does, what happens to a booking already admitted).
* :mod:`~kiosk.bookings.facts` — :class:`BookingFacts` for a scan, from the
  local list or a live answer.
* :mod:`~kiosk.bookings.http` — the small HTTP client: retries, deadline, size limit.
* :mod:`~kiosk.bookings.sync` and :mod:`~kiosk.bookings.state` — the day-list
  sync (the last good list is kept on failure) and its state file.
* :mod:`~kiosk.bookings.live` — the live look-up with a deadline and fallback
  to the local list.

This module only re-exports the names the rest of the kiosk uses.
"""

from __future__ import annotations

from kiosk.bookings.codes import (
    BOOKING_ID,
    MAX_PAYLOAD_BYTES,
    SIGNED_PREFIX,
    derived_booking_id,
    is_signed_code,
    new_booking_id,
    parse_plain_code,
)
from kiosk.bookings.facts import (
    CACHE,
    LIVE,
    LiveAnswer,
    LiveStatus,
    RemoteBooking,
    facts_for_answer,
    genuine_facts,
    lookup_facts,
)
from kiosk.bookings.live import MAX_LOOKUP_BYTES, LiveLookup, facts_with_fallback
from kiosk.bookings.merge import BookingSyncConflict, import_bookings, merge_bookings
from kiosk.bookings.rows import (
    STATUSES,
    booking_from_fields,
    check_service,
    clean_name,
    clean_service,
    parse_date,
    parse_window,
    read_booking_csv,
)
from kiosk.bookings.state import SyncState, read_sync_state
from kiosk.bookings.sync import MAX_SYNC_BYTES, SyncResult, sync_day_list

__all__ = [
    "BOOKING_ID",
    "CACHE",
    "LIVE",
    "MAX_LOOKUP_BYTES",
    "MAX_PAYLOAD_BYTES",
    "MAX_SYNC_BYTES",
    "SIGNED_PREFIX",
    "STATUSES",
    "BookingSyncConflict",
    "LiveAnswer",
    "LiveLookup",
    "LiveStatus",
    "RemoteBooking",
    "SyncResult",
    "SyncState",
    "booking_from_fields",
    "check_service",
    "clean_name",
    "clean_service",
    "derived_booking_id",
    "facts_for_answer",
    "facts_with_fallback",
    "genuine_facts",
    "import_bookings",
    "is_signed_code",
    "lookup_facts",
    "merge_bookings",
    "new_booking_id",
    "parse_date",
    "parse_plain_code",
    "parse_window",
    "read_booking_csv",
    "read_sync_state",
    "sync_day_list",
]
