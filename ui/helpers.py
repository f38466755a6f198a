"""Small helpers shared by the blueprints."""

from __future__ import annotations

import math
from datetime import date
from typing import Any

from flask import current_app, request

from kiosk.errors import InputError
from kiosk.services.runtime import Kiosk


def kiosk() -> Kiosk:
    return current_app.extensions["kiosk"]  # type: ignore[no-any-return]


def json_body() -> dict[str, Any]:
    data = request.get_json(silent=True)
    if not isinstance(data, dict):
        raise InputError("request body must be a JSON object (Content-Type: application/json)")
    return data


def number(data: dict[str, Any], key: str, lo: float, hi: float, *, required: bool) -> float | None:
    value = data.get(key)
    if value is None:
        if required:
            raise InputError(f"{key} is required")
        return None
    if isinstance(value, bool) or not isinstance(value, int | float) or not math.isfinite(value):
        raise InputError(f"{key} must be a number")
    if not lo <= value <= hi:
        raise InputError(f"{key} must be between {lo} and {hi}, got {value}")
    return float(value)


def text(data: dict[str, Any], key: str, *, max_len: int, required: bool = True) -> str | None:
    value = data.get(key)
    if value is None:
        if required:
            raise InputError(f"{key} is required")
        return None
    if not isinstance(value, str):
        raise InputError(f"{key} must be a string")
    if required and not value:
        raise InputError(f"{key} must not be empty")
    if len(value) > max_len:
        raise InputError(f"{key} is longer than {max_len} characters")
    return value


def lang() -> str:
    from ui.i18n import select_locale

    return select_locale()


FIRST_DAY = date(2000, 1, 1)
LAST_DAY = date(2199, 12, 31)
"""Days a page accepts: far from the calendar's ends, so a time zone or a range never overflows."""


def parse_day(value: str, name: str = "day") -> date:
    """``YYYY-MM-DD`` between :data:`FIRST_DAY` and :data:`LAST_DAY`, else :class:`InputError`."""
    try:
        day = date.fromisoformat(value)
    except (ValueError, TypeError):
        raise InputError(
            f"{name} must be a date YYYY-MM-DD like 2026-11-23, got {value!r}"
        ) from None
    if not FIRST_DAY <= day <= LAST_DAY:
        raise InputError(f"{name} must be between {FIRST_DAY} and {LAST_DAY}, got {value!r}")
    return day


def whole_number(value: str | None, name: str) -> int | None:
    """A non-negative whole number written in ASCII digits (``²`` is a digit to Python)."""
    if not value:
        return None
    if not (value.isascii() and value.isdigit()) or len(value) > 18:
        raise InputError(f"{name} must be a whole number")
    return int(value)
