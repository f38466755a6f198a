"""Version-3 booking codes (#15): the version-1 fields plus an arrival window.

Old (version-1) codes keep verifying: see tests/test_bookingcode.py, unchanged.
"""

from __future__ import annotations

from datetime import date, time

import pytest

from kiosk.domain.bookingcode import (
    WINDOW_VERSION,
    Accepted,
    Rejected,
    authenticate_code,
    decode_text,
    encode_text,
    sign_code,
)
from kiosk.domain.reasons import Reason
from tests.test_bookingcode import DOC, KEYRING, PRIVATE, VALID

V20 = "KB:AM47OE6QJ27U5PYIGMZTCNBNKNJEOCZSGUYDGMJSFUYDANRQAZFVIUBNIVGAEWACSRK4CH4XAS2I3C6WB4HYUYKNZEWYHCYRR4RTBZ6SOTRGOINPWZA2AIOCP6YKI3TXR4HGBSNT6R4F5WTX7RBTXZJ4W2J3RMZAUDV6NHAI"


def test_window_code_reproduces_the_documented_vector() -> None:
    issued = sign_code(
        office_id="3314-SRG",
        booking_id="250312-0060",
        service="KTP-EL",
        valid_from=date(2025, 3, 12),
        private_key=PRIVATE["B"],
        arrive_from=time(10, 0),
        arrive_until=time(11, 0),
    )
    assert issued == V20
    assert V20 in DOC.read_text(encoding="utf-8")


def test_window_code_carries_service_and_window() -> None:
    result = authenticate_code(V20, keyring=KEYRING)
    assert isinstance(result, Accepted)
    code = result.booking
    assert (code.version, code.service, code.arrive_from, code.arrive_until) == (
        WINDOW_VERSION,
        "KTP-EL",
        time(10, 0),
        time(11, 0),
    )


def test_old_codes_still_verify_without_a_window() -> None:
    result = authenticate_code(VALID, keyring=KEYRING)
    assert isinstance(result, Accepted)
    assert (result.booking.version, result.booking.arrive_from) == (1, None)


def test_one_sided_window_is_kept() -> None:
    text = sign_code(
        office_id="3314-SRG",
        booking_id="B-1",
        service="KK",
        valid_from=date(2025, 3, 12),
        private_key=PRIVATE["B"],
        arrive_from=time(13, 30),
    )
    result = authenticate_code(text, keyring=KEYRING)
    assert isinstance(result, Accepted)
    assert (result.booking.arrive_from, result.booking.arrive_until) == (time(13, 30), None)


@pytest.mark.parametrize(
    "edit",
    [
        lambda p: p[:-68] + p[-64:],  # window cut off
        lambda p: p[:-68] + b"\x05\xa0\x00\x00" + p[-64:],  # minute 1440: outside the day
    ],
)
def test_malformed_window_is_qr_invalid(edit: object) -> None:
    payload = decode_text(V20)
    assert payload is not None
    text = encode_text(edit(payload))  # type: ignore[operator]
    result = authenticate_code(text, keyring=KEYRING)
    assert isinstance(result, Rejected) and result.reason is Reason.QR_INVALID


def test_edited_window_breaks_the_signature() -> None:
    payload = decode_text(V20)
    assert payload is not None
    text = encode_text(payload[:-68] + b"\x01\x2c\x02\x94" + payload[-64:])  # from 05:00
    result = authenticate_code(text, keyring=KEYRING)
    assert isinstance(result, Rejected) and result.reason is Reason.BAD_SIGNATURE
