"""One exception hierarchy for the whole kiosk.

Every message is written for the person standing at the gate: it says what is
wrong and what to do about it, never just a stack trace.
"""

from __future__ import annotations


class KioskError(Exception):
    """Base class of every error the kiosk raises on purpose."""


class ConfigError(KioskError):
    """The configuration file is missing, malformed or out of bounds."""


class StorageError(KioskError):
    """The database cannot record or read what it must."""


class ConstraintError(StorageError):
    """The database refused a write that breaks one of its rules (a bug or a race lost)."""


class ConflictError(ConstraintError):
    """A concurrent writer won a race (same unique key, deadlock): run the transaction again.

    Only PostgreSQL raises it in practice: SQLite writers are serialised by
    ``BEGIN IMMEDIATE``, while PostgreSQL gates write concurrently and the loser
    of a unique-key race is rolled back. A retry sees the winner's row.
    """


class SensorError(KioskError):
    """A sensor does not answer or answers nonsense; the gate stays closed."""


class CameraError(KioskError):
    """The camera gives no frames."""


class DeviceError(KioskError):
    """A device needed in real mode is missing or cannot be opened."""


class BookingImportError(KioskError):
    """A booking import file has errors; nothing was imported.

    ``errors`` lists ``(line_number, message)`` pairs, line numbers as a
    spreadsheet shows them (the header is line 1).
    """

    def __init__(self, errors: list[tuple[int, str]]) -> None:
        self.errors = errors
        lines = "\n".join(f"  line {n}: {msg}" for n, msg in errors)
        super().__init__(f"{len(errors)} row(s) have errors; nothing was imported:\n{lines}")


class InputError(KioskError):
    """A request or command argument is malformed (becomes HTTP 400)."""


class AlreadyDecided(InputError):
    """A referral that already took its one decision was decided again (becomes HTTP 409)."""
