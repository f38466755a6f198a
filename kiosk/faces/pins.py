"""PINs: the attendance alternative for staff who decline face data.

A PIN is 4–8 digits and is stored only as a salted scrypt hash (``scrypt$n$r$p$salt$hash``).
Four to eight digits are few, so the hash slows a thief down but does not stop one: the real
protection is the lockout (:class:`PinGuard`) at the gate, and the database staying on the gate.
"""

from __future__ import annotations

import base64
import hashlib
import hmac
import re
import secrets
import threading
import time
from collections.abc import Callable

from kiosk.errors import InputError

_PIN = re.compile(r"^\d{4,8}$")
N, R, P = 2**14, 8, 1


def check_pin_format(pin: str) -> str:
    if not _PIN.match(pin or ""):
        raise InputError("a PIN is 4 to 8 digits")
    return pin


def hash_pin(pin: str) -> str:
    check_pin_format(pin)
    salt = secrets.token_bytes(16)
    digest = hashlib.scrypt(pin.encode(), salt=salt, n=N, r=R, p=P, dklen=32)
    b64 = base64.b64encode
    return f"scrypt${N}${R}${P}${b64(salt).decode()}${b64(digest).decode()}"


def verify_pin(pin: str, stored: str | None) -> bool:
    if not stored or not _PIN.match(pin or ""):
        return False
    try:
        scheme, n, r, p, salt, digest = stored.split("$")
        if scheme != "scrypt":
            return False
        expected = base64.b64decode(digest)
        actual = hashlib.scrypt(
            pin.encode(), salt=base64.b64decode(salt), n=int(n), r=int(r), p=int(p), dklen=32
        )
    except (ValueError, TypeError):
        return False
    return hmac.compare_digest(actual, expected)


_DUMMY: list[str] = []


def dummy_hash() -> str:
    """A hash no PIN was set for: checked when a staff number has no PIN (or does not exist),
    so that answer takes as long as a wrong PIN and reveals nothing."""
    if not _DUMMY:
        _DUMMY.append(hash_pin(f"{secrets.randbelow(10**8):08d}"))
    return _DUMMY[0]


class MinuteLimit:
    """At most ``per_minute`` attempts in any 60 seconds (all staff numbers together)."""

    def __init__(self, per_minute: int, clock: Callable[[], float] = time.monotonic) -> None:
        self.per_minute, self._clock = per_minute, clock
        self._times: list[float] = []
        self._lock = threading.Lock()

    def take(self) -> bool:
        with self._lock:
            now = self._clock()
            self._times = [t for t in self._times if now - t < 60.0]
            if len(self._times) >= self.per_minute:
                return False
            self._times.append(now)
            return True


class PinGuard:
    """Locks a staff member's PIN for ``lock_s`` after ``max_failures`` wrong PINs in a row."""

    def __init__(
        self,
        max_failures: int = 5,
        lock_s: float = 300.0,
        clock: Callable[[], float] = time.monotonic,
    ) -> None:
        self.max_failures, self.lock_s, self._clock = max_failures, lock_s, clock
        self._failures: dict[int, tuple[int, float]] = {}
        self._lock = threading.Lock()

    def locked(self, staff_id: int) -> bool:
        with self._lock:
            count, since = self._failures.get(staff_id, (0, 0.0))
            if count >= self.max_failures and self._clock() - since < self.lock_s:
                return True
            if count >= self.max_failures:
                del self._failures[staff_id]
            return False

    def failed(self, staff_id: int) -> None:
        with self._lock:
            count, _ = self._failures.get(staff_id, (0, 0.0))
            self._failures[staff_id] = (count + 1, self._clock())

    def succeeded(self, staff_id: int) -> None:
        with self._lock:
            self._failures.pop(staff_id, None)
