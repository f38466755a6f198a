"""The kiosk's exceptions.

Every message is written for the person standing at the gate: it says what is
wrong and what to do about it, never just a stack trace.

Two bases, because ``drivers/`` must stay importable without the kiosk:

* :class:`KioskError` — errors the kiosk itself raises (configuration, storage,
  booking imports, faces, ...).
* :class:`drivers.errors.DriverError` — errors the drivers raise. Its
  subclasses :class:`SensorError`, :class:`CameraError`, :class:`DeviceError`
  and :class:`InputError` are re-exported here: they are the very same classes
  (``kiosk.errors.SensorError is drivers.errors.SensorError``), so an
  ``except SensorError`` anywhere catches what a driver raised. The kiosk raises
  ``InputError`` for its own argument checks too.

Code that turns any expected failure into a one-line message (the CLI, the web
app's error handler, the scanner) catches :data:`EXPECTED_ERRORS`, both bases.
"""

from __future__ import annotations

from drivers.errors import (
    CameraError,
    DeviceError,
    DriverError,
    InputError,
    PrinterError,
    SensorError,
)


class KioskError(Exception):
    """Base class of every error the kiosk raises on purpose."""


class ConfigError(KioskError):
    """The configuration file is missing, malformed or out of bounds.

    ``problems`` (when the schema refused values) lists each refusal as
    ``(field, error type, context, input, English message)`` so a page can word it in its
    own language.
    """

    problems: tuple[tuple[str, str, dict[str, object], object, str], ...] = ()


class LocalizedInputError(InputError):
    """An :class:`InputError` whose English text comes from a catalog message.

    ``template`` is the msgid (``str.format`` placeholders, filled from ``params``);
    ``str(exc)`` is the English text (the CLI), a web page translates ``template`` and
    fills it with the same ``params``.
    """

    def __init__(self, template: str, **params: object) -> None:
        self.template = template
        self.params = params
        super().__init__(template.format(**params))


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


class BookingImportError(KioskError):
    """A booking import file has errors; nothing was imported.

    ``errors`` lists ``(line_number, message)`` pairs, line numbers as a
    spreadsheet shows them (the header is line 1).
    """

    def __init__(self, errors: list[tuple[int, str]]) -> None:
        self.errors = errors
        lines = "\n".join(f"  line {n}: {msg}" for n, msg in errors)
        super().__init__(f"{len(errors)} row(s) have errors; nothing was imported:\n{lines}")


class AlreadyDecided(InputError):
    """A referral that already took its one decision was decided again (becomes HTTP 409)."""


EXPECTED_ERRORS: tuple[type[Exception], ...] = (KioskError, DriverError)
"""Every error raised on purpose with a message for the person at the gate."""

__all__ = [
    "EXPECTED_ERRORS",
    "AlreadyDecided",
    "BookingImportError",
    "CameraError",
    "ConfigError",
    "ConflictError",
    "ConstraintError",
    "DeviceError",
    "DriverError",
    "InputError",
    "KioskError",
    "PrinterError",
    "SensorError",
    "StorageError",
]
