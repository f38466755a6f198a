"""Booking ids and the two kinds of scanned code.

A plain booking code is the booking id itself (``BK-7K4Q2M9X``); a signed,
offline-verifiable code starts with ``KB:`` and is checked by
:mod:`kiosk.domain.bookingcode`. This module only tells them apart and makes ids.
"""

from __future__ import annotations

import hashlib
import re
import secrets
from datetime import date

MAX_PAYLOAD_BYTES = 512
"""Longest scanned text considered as a plain code (anything longer is junk)."""
SIGNED_PREFIX = "KB:"
BOOKING_ID = re.compile(r"^[A-Z0-9][A-Z0-9-]{2,39}$")
_ALPHABET = "0123456789ABCDEFGHJKMNPQRSTVWXYZ"  # Crockford base32: no I, L, O, U


def new_booking_id() -> str:
    """A fresh random id, ``BK-`` and eight Crockford base32 characters."""
    return "BK-" + "".join(secrets.choice(_ALPHABET) for _ in range(8))


def derived_booking_id(office_id: str, day: date, name: str, service: str) -> str:
    """A stable id for a CSV row that has none, so re-importing a file adds nothing twice."""
    digest = hashlib.sha256(f"{office_id}|{day}|{name.casefold()}|{service}".encode()).digest()
    number = int.from_bytes(digest[:5], "big")
    return "BK-" + "".join(_ALPHABET[(number >> (5 * i)) & 31] for i in range(8))


def parse_plain_code(text: str) -> str | None:
    """The booking id in a scanned text, or ``None`` if it is not a plain code."""
    if len(text.encode("utf-8", "surrogatepass")) > MAX_PAYLOAD_BYTES:
        return None
    candidate = text.strip()
    return candidate if BOOKING_ID.match(candidate) else None


def is_signed_code(text: str) -> bool:
    """Whether a scanned text claims to be a signed ``KB:`` code (not yet verified)."""
    return text.lstrip()[:3].upper() == SIGNED_PREFIX
