"""Small helpers shared by the blueprints."""

from __future__ import annotations

import math
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
