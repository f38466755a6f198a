"""Signed booking codes: the QR text a citizen shows at the gate (format version 1).

The office's booking system signs each code with an Ed25519 private key. The gate holds
only public keys (a :class:`KeyRing`), so it can tell offline whether a code is genuine but
can never mint one. ``docs/booking-code.md`` is the specification; this module is its
reference implementation and produced the test vectors printed there.

Pure: no file I/O, no clock (``today`` is passed in). Whether a booking was already used
is decided by storage, not here.

Two entry points, both total (any ``str`` in, a result out, never an exception):

* :func:`authenticate_code` - format, version, key and signature only. The service layer
  uses it before its booking look-up, so that office and date are judged by
  ``kiosk.domain.admission`` in its documented order.
* :func:`verify_code` - the same plus "for this office" and "for today".
"""

from __future__ import annotations

import base64
import binascii
import hashlib
import re
import struct
from collections.abc import Iterable, Iterator
from dataclasses import dataclass
from datetime import date, time, timedelta
from typing import ClassVar, Final, Literal, TypeAlias

from cryptography.exceptions import InvalidSignature
from cryptography.hazmat.primitives.asymmetric.ed25519 import Ed25519PrivateKey, Ed25519PublicKey
from cryptography.hazmat.primitives.serialization import Encoding, PublicFormat

from kiosk.domain.reasons import Reason
from kiosk.errors import InputError

VERSION: Final = 1
WINDOW_VERSION: Final = 3
"""Version 3 = the version-1 layout plus an arrival window (two uint16 minutes of the day).
Version 2 was never issued (it is the "unsupported version" test vector)."""
VERSIONS: Final = (VERSION, WINDOW_VERSION)
NO_MINUTE: Final = 0xFFFF
"""An unset end of the arrival window."""
_WINDOW: Final = struct.Struct(">HH")
PREFIX: Final = "KB:"
"""Text prefix; all QR-alphanumeric characters, like the base32 that follows."""
CONTEXT: Final = b"KIOSK-BOOKING\x00"
"""Domain separation: the signature covers ``CONTEXT + payload-without-signature``."""
MAX_TEXT_LENGTH: Final = 512
"""Longer scanned text is rejected before any decoding."""
KEY_ID_LENGTH: Final = 4
SIGNATURE_LENGTH: Final = 64
EPOCH: Final = date(1970, 1, 1)
LAST_DATE: Final = EPOCH + timedelta(days=0xFFFF)
"""Dates are uint16 days since 1970-01-01: the last one is 2149-06-06."""

_HEADER: Final = struct.Struct(">B4sHH")  # version, key id, valid_from, valid_until
_B32_ALPHABET: Final = frozenset("ABCDEFGHIJKLMNOPQRSTUVWXYZ234567")
_CROCKFORD: Final = "0123456789ABCDEFGHJKMNPQRSTVWXYZ"


@dataclass(frozen=True)
class _TextField:
    name: str
    pattern: re.Pattern[bytes]
    rule: str


_FIELDS: Final = (
    _TextField("office_id", re.compile(rb"[A-Za-z0-9._-]{1,16}"), "1-16 of A-Z a-z 0-9 . _ -"),
    _TextField("booking_id", re.compile(rb"[A-Za-z0-9._-]{1,36}"), "1-36 of A-Z a-z 0-9 . _ -"),
    _TextField("service", re.compile(rb"[A-Z0-9-]{1,8}"), "1-8 of A-Z 0-9 -"),
)
_MIN_PAYLOAD: Final = _HEADER.size + 2 * len(_FIELDS) + SIGNATURE_LENGTH


@dataclass(frozen=True, slots=True)
class BookingCode:
    """The signed fields of a booking code. Dates are inclusive: valid on both ends."""

    key_id: str
    office_id: str
    booking_id: str
    service: str
    valid_from: date
    valid_until: date
    version: int = VERSION
    arrive_from: time | None = None
    arrive_until: time | None = None
    """Optional arrival window (version 3 codes), local business time."""

    @property
    def short_code(self) -> str:
        """The short form printed on the ticket, e.g. ``SRG-7K4Q-2M``."""
        return short_code(self.office_id, self.booking_id)


@dataclass(frozen=True, slots=True)
class Accepted:
    """The code is genuine (and, from :func:`verify_code`, for this office and today)."""

    booking: BookingCode
    ok: ClassVar[Literal[True]] = True


@dataclass(frozen=True, slots=True)
class Rejected:
    """The code is refused for ``reason``.

    ``booking`` is set only when the signature was checked with a trusted key, i.e. for
    ``BOOKING_WRONG_OFFICE`` and ``BOOKING_WRONG_DATE``: the screen can then tell the
    citizen which office and which date(s) the code is for. ``detail`` is English for the
    log and the officer; it never contains the scanned text.
    """

    reason: Reason
    detail: str
    booking: BookingCode | None = None
    ok: ClassVar[Literal[False]] = False


Verification: TypeAlias = Accepted | Rejected


def key_id_for(public_key: bytes | Ed25519PublicKey) -> str:
    """Key id: the first 4 bytes of SHA-256 of the raw 32-byte public key, as 8 hex digits."""
    raw = public_key if isinstance(public_key, bytes) else _raw(public_key)
    return hashlib.sha256(raw).digest()[:KEY_ID_LENGTH].hex()


def _raw(public_key: Ed25519PublicKey) -> bytes:
    return public_key.public_bytes(Encoding.Raw, PublicFormat.Raw)


@dataclass(frozen=True, slots=True)
class PublicKeyEntry:
    """One verification key. A revoked key rejects every code it signed, whatever its date."""

    key_id: str
    public_key: bytes
    created: date
    revoked: date | None = None

    def __post_init__(self) -> None:
        if len(self.public_key) != 32:
            raise ValueError(
                f"key {self.key_id}: a public key is 32 bytes, not {len(self.public_key)}"
            )
        if self.key_id != key_id_for(self.public_key):
            raise ValueError(
                f"key id {self.key_id} does not match its public key "
                f"(expected {key_id_for(self.public_key)})"
            )

    @classmethod
    def for_key(
        cls, public_key: bytes, *, created: date, revoked: date | None = None
    ) -> PublicKeyEntry:
        return cls(key_id_for(public_key), public_key, created, revoked)

    @property
    def public_key_b64(self) -> str:
        return base64.b64encode(self.public_key).decode("ascii")


class KeyRing:
    """The public keys a gate trusts, by key id. Several keys allow rotation."""

    def __init__(self, entries: Iterable[PublicKeyEntry]) -> None:
        self._entries: dict[str, tuple[PublicKeyEntry, Ed25519PublicKey]] = {}
        for entry in entries:
            if entry.key_id in self._entries:
                raise ValueError(f"key {entry.key_id} is listed twice")
            key = Ed25519PublicKey.from_public_bytes(entry.public_key)
            self._entries[entry.key_id] = (entry, key)

    def __iter__(self) -> Iterator[PublicKeyEntry]:
        return (entry for entry, _ in self._entries.values())

    def __len__(self) -> int:
        return len(self._entries)

    def get(self, key_id: str) -> PublicKeyEntry | None:
        found = self._entries.get(key_id)
        return found[0] if found else None

    def signature_valid(self, key_id: str, signature: bytes, message: bytes) -> bool:
        """Whether ``signature`` over ``message`` verifies with key ``key_id`` (if listed)."""
        found = self._entries.get(key_id)
        if found is None:
            return False
        try:
            found[1].verify(signature, message)
        except InvalidSignature:
            return False
        return True


# --- text <-> bytes ---------------------------------------------------------------------


def encode_text(payload: bytes) -> str:
    """``KB:`` + RFC 4648 base32 of the payload, upper case, without ``=`` padding."""
    return PREFIX + base64.b32encode(payload).decode("ascii").rstrip("=")


def decode_text(text: object) -> bytes | None:
    """The payload bytes, or ``None`` if ``text`` is not exactly our text encoding.

    Leading/trailing ASCII whitespace is ignored (keyboard-wedge scanners add a newline).
    Anything else that is not canonical - lower case, padding, stray bits in the last
    character, over :data:`MAX_TEXT_LENGTH` characters - is refused.
    """
    if not isinstance(text, str) or len(text) > MAX_TEXT_LENGTH:
        return None
    text = text.strip(" \t\r\n")
    if not text.startswith(PREFIX):
        return None
    body = text[len(PREFIX) :]
    if not body or len(body) % 8 in (1, 3, 6) or not _B32_ALPHABET.issuperset(body):
        return None
    try:
        payload = base64.b32decode(body + "=" * (-len(body) % 8))
    except binascii.Error:
        return None
    return payload if encode_text(payload) == text else None


# --- issuing ----------------------------------------------------------------------------


def _day_number(name: str, day: date) -> int:
    if not EPOCH <= day <= LAST_DATE:
        raise InputError(f"{name} {day} is outside {EPOCH}..{LAST_DATE}")
    return (day - EPOCH).days


def encode_body(code: BookingCode) -> bytes:
    """The signed part of the payload (everything before the signature).

    Raises :class:`InputError` when a field breaks the format's rules.
    """
    if code.valid_until < code.valid_from:
        raise InputError(f"valid_until {code.valid_until} is before valid_from {code.valid_from}")
    if not re.fullmatch(r"[0-9a-f]{8}", code.key_id) or not 0 <= code.version <= 255:
        raise InputError("key_id must be 8 lower-case hex digits and version 0-255")
    parts = [
        _HEADER.pack(
            code.version,
            bytes.fromhex(code.key_id),
            _day_number("valid_from", code.valid_from),
            _day_number("valid_until", code.valid_until),
        )
    ]
    for spec in _FIELDS:
        value = getattr(code, spec.name).encode("ascii", "replace")
        if not spec.pattern.fullmatch(value):
            raise InputError(f"{spec.name} {getattr(code, spec.name)!r}: must be {spec.rule}")
        parts.append(bytes([len(value)]) + value)
    if code.version == WINDOW_VERSION:
        parts.append(_WINDOW.pack(_minute(code.arrive_from), _minute(code.arrive_until)))
    elif code.arrive_from or code.arrive_until:
        raise InputError(f"an arrival window needs code version {WINDOW_VERSION}")
    return b"".join(parts)


def _minute(t: time | None) -> int:
    return NO_MINUTE if t is None else t.hour * 60 + t.minute


def _time(minute: int) -> time | None:
    return None if minute == NO_MINUTE else time(minute // 60, minute % 60)


def sign_code(
    *,
    office_id: str,
    booking_id: str,
    service: str,
    valid_from: date,
    valid_until: date | None = None,
    private_key: Ed25519PrivateKey,
    arrive_from: time | None = None,
    arrive_until: time | None = None,
) -> str:
    """Issue a code: the QR text for one booking, valid ``valid_from``..``valid_until``.

    The key id is derived from the private key's public half, so it cannot mismatch.
    Raises :class:`InputError` for fields outside the format (see ``docs/booking-code.md``).
    """
    code = BookingCode(
        key_id=key_id_for(private_key.public_key()),
        office_id=office_id,
        booking_id=booking_id,
        service=service,
        valid_from=valid_from,
        valid_until=valid_until or valid_from,
        version=WINDOW_VERSION if arrive_from or arrive_until else VERSION,
        arrive_from=arrive_from,
        arrive_until=arrive_until,
    )
    body = encode_body(code)
    return encode_text(body + private_key.sign(CONTEXT + body))


# --- checking ---------------------------------------------------------------------------


def _parse_v1(payload: bytes) -> tuple[BookingCode, bytes] | str:
    """The fields and the signed bytes, or a description of what is malformed."""
    if len(payload) < _MIN_PAYLOAD:
        return f"payload too short ({len(payload)} bytes)"
    body = payload[:-SIGNATURE_LENGTH]
    version, key_id, start, end = _HEADER.unpack_from(body)
    if end < start:
        return "date window ends before it starts"
    values: list[str] = []
    pos = _HEADER.size
    for spec in _FIELDS:
        size = body[pos] if pos < len(body) else 0
        value = body[pos + 1 : pos + 1 + size]
        if len(value) != size or not spec.pattern.fullmatch(value):
            return f"{spec.name} malformed"
        values.append(value.decode("ascii"))
        pos += 1 + size
    window: tuple[time | None, time | None] = (None, None)
    if version == WINDOW_VERSION:
        if len(body) - pos != _WINDOW.size:
            return "arrival window malformed"
        start_min, end_min = _WINDOW.unpack_from(body, pos)
        if any(m != NO_MINUTE and m >= 1440 for m in (start_min, end_min)):
            return "arrival window outside the day"
        window = (_time(start_min), _time(end_min))
        pos += _WINDOW.size
    if pos != len(body):
        return f"{len(body) - pos} unexpected byte(s) before the signature"
    office_id, booking_id, service = values
    code = BookingCode(
        key_id=key_id.hex(),
        office_id=office_id,
        booking_id=booking_id,
        service=service,
        valid_from=EPOCH + timedelta(days=start),
        valid_until=EPOCH + timedelta(days=end),
        version=version,
        arrive_from=window[0],
        arrive_until=window[1],
    )
    return code, body


def authenticate_code(text: str, *, keyring: KeyRing) -> Verification:
    """Check format, version, key and signature - not office or date.

    Order (first failure wins): ``QR_INVALID``, ``UNSUPPORTED_VERSION``, ``QR_INVALID``
    (malformed version-1 layout), ``KEY_UNKNOWN``, ``KEY_REVOKED``, ``BAD_SIGNATURE``.
    """
    payload = decode_text(text)
    if not payload:
        return Rejected(Reason.QR_INVALID, "not a booking code")
    if payload[0] not in VERSIONS:
        return Rejected(
            Reason.UNSUPPORTED_VERSION,
            f"code format version {payload[0]}; this gate reads versions 1 and 3",
        )
    parsed = _parse_v1(payload)
    if isinstance(parsed, str):
        return Rejected(Reason.QR_INVALID, parsed)
    code, body = parsed
    entry = keyring.get(code.key_id)
    if entry is None:
        return Rejected(Reason.KEY_UNKNOWN, f"signed with key {code.key_id}, not in the key list")
    if entry.revoked is not None:
        return Rejected(Reason.KEY_REVOKED, f"key {code.key_id} was revoked on {entry.revoked}")
    signature = payload[len(body) :]
    if not keyring.signature_valid(code.key_id, signature, CONTEXT + body):
        return Rejected(Reason.BAD_SIGNATURE, f"signature does not match key {code.key_id}")
    return Accepted(code)


def verify_code(text: str, *, keyring: KeyRing, office_id: str, today: date) -> Verification:
    """:func:`authenticate_code`, then ``BOOKING_WRONG_OFFICE``, then ``BOOKING_WRONG_DATE``.

    ``today`` is the business date in the office's zone. A window in the past (expired)
    and one in the future are both ``BOOKING_WRONG_DATE``; the rejection carries the
    booking so the screen can name the valid date(s).
    """
    result = authenticate_code(text, keyring=keyring)
    if isinstance(result, Rejected):
        return result
    code = result.booking
    if code.office_id != office_id:
        return Rejected(
            Reason.BOOKING_WRONG_OFFICE, f"code is for office {code.office_id}", booking=code
        )
    if not code.valid_from <= today <= code.valid_until:
        window = f"{code.valid_from}..{code.valid_until}"
        return Rejected(Reason.BOOKING_WRONG_DATE, f"code is valid {window}", booking=code)
    return result


def short_code(office_id: str, booking_id: str) -> str:
    """A short, readable label for the printed ticket, e.g. ``SRG-7K4Q-2M``.

    The last ``-``/``.`` part of the office id (at most 4 characters, upper case), then 30
    bits of SHA-256 over office and booking id in Crockford base32 (no I, L, O, U). It is
    a display aid, not a key: two bookings may share one (about 1 in 10^9 per pair).
    """
    label = re.split(r"[-.]", office_id)[-1][:4].upper() or "BK"
    digest = hashlib.sha256(f"KIOSK-SHORT\x00{office_id}\x00{booking_id}".encode()).digest()
    bits = int.from_bytes(digest[:4], "big") >> 2
    chars = "".join(_CROCKFORD[(bits >> shift) & 31] for shift in range(25, -1, -5))
    return f"{label}-{chars[:4]}-{chars[4:]}"
