"""The staff PIN keypad's route: ``POST /api/staff/pin`` (public, CSRF-protected).

The citizen touchscreen's "Staff attendance" keypad sends the staff number and PIN typed on
it. The answer never says whether a staff number exists: an unknown number, one without a
PIN and a wrong PIN get the same words after the same hash check; a staff number is locked
after five wrong PINs and the gate checks a limited number of attempts a minute (see
:meth:`kiosk.services.attendance.AttendanceService.clock_with_pin`). A right PIN is screened
and recorded like a face recognition: the decision reaches the screen as every result does
(the ``result`` event, greeting included) and is answered here too.
"""

from __future__ import annotations

import re
from typing import Any

from flask import Blueprint, jsonify
from flask_babel import gettext

from kiosk.services.attendance import PinRefused
from ui.helpers import json_body, kiosk, lang, text
from ui.public import screen_result
from ui.security import public

bp = Blueprint("staffpin", __name__)

_NUMBER = re.compile(r"^\d{1,9}$")


def _refusal(code: str) -> tuple[str, int]:
    if code == "locked":
        text_ = gettext(
            "Too many wrong attempts for this staff number. Wait 5 minutes or see the officer."
        )
        return text_, 429
    if code == "busy":
        return gettext("Too many attempts. Please wait a minute."), 429
    return gettext("Staff number or PIN not accepted. Try again or see the officer."), 403


@bp.post("/api/staff/pin")
@public
def clock_in() -> Any:
    data = json_body()
    number = text(data, "staff", max_len=9) or ""
    pin = text(data, "pin", max_len=8) or ""
    k = kiosk()
    if k.attendance is None or not _NUMBER.match(number):
        message, status = _refusal("refused")
        return jsonify(ok=False, code="refused", message=message), status
    try:
        result = k.attendance.clock_with_pin(int(number), pin)
    except PinRefused as exc:
        message, status = _refusal(exc.code)
        return jsonify(ok=False, code=exc.code, message=message), status
    return jsonify(ok=True, result=screen_result(k, result, lang()))
