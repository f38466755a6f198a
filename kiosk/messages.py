"""What the visitor is told, per reason code, in Bahasa Indonesia and English.

Wording is never a diagnosis: an elevated reading is "please see the
officer". Placeholders (``{cap}``) come from ``Decision.detail``.

The texts are gettext messages: the English original below is the msgid and
every translation lives in the project's message catalogs
(``ui/translations/<lang>/LC_MESSAGES/messages.po``, compiled to ``.mo``, see
"The citizen screen" in the README). They are read with the standard library,
not through Flask, so the gate service, the command line and the web pages
give the same wording. To change or add a message: edit it here, then
``make translations`` and translate the new entries in the Indonesian ``.po``.
"""

from __future__ import annotations

import functools
import gettext
import importlib.util
import re
from collections.abc import Mapping
from datetime import date, time
from pathlib import Path

from babel.dates import format_date, format_time
from babel.numbers import format_decimal

from kiosk.domain.reasons import Reason

LANGUAGES = ("id", "en")
DEFAULT_LANGUAGE = "id"
DOMAIN = "messages"


def N_(text: str) -> str:
    """Marks a text for extraction into the catalogs; translated when shown."""
    return text


MESSAGES: dict[Reason, str] = {
    Reason.ADMITTED: N_("Please enter."),
    Reason.READMITTED: N_("Welcome back, please enter."),
    Reason.WALKIN: N_("Please enter (walk-in)."),
    Reason.PRIORITY: N_("Please enter."),  # neutral: nobody nearby needs to know why
    Reason.STAFF: N_("Welcome."),
    Reason.CLOSED_HOURS: N_("The office is closed now. Please come during opening hours."),
    Reason.QR_INVALID: N_("This QR code is not a booking code. Please show your booking code."),
    Reason.BOOKING_UNKNOWN: N_("Booking not found. Please see the officer."),
    Reason.BOOKING_CANCELLED: N_("This booking was cancelled."),
    Reason.BOOKING_WRONG_OFFICE: N_("This booking is for another office ({office_id})."),
    Reason.BOOKING_WRONG_DATE: N_("This booking is for {valid_from}, not today."),
    Reason.BOOKING_USED: N_("This booking was already used at {admitted_at} ({gate})."),
    Reason.BAD_SIGNATURE: N_("This booking code is not genuine. Please see the officer."),
    Reason.KEY_UNKNOWN: N_("This booking code cannot be checked here. Please see the officer."),
    Reason.KEY_REVOKED: N_("This booking code is no longer valid. Please see the officer."),
    Reason.UNSUPPORTED_VERSION: N_(
        "This booking code version is not supported. Please see the officer."
    ),
    Reason.SENSOR_FAULT: N_("The thermometer has a fault. Please see the officer."),
    Reason.NO_READING: N_("No reading yet. Please step closer to the thermometer."),
    Reason.AMBIENT_OUT_OF_RANGE: N_(
        "The room is too hot or cold to measure. Please see the officer."
    ),
    Reason.TEMPERATURE_RECHECK: N_("Please wait a moment, we will measure again."),
    Reason.MOVE_CLOSER: N_("Please come a little closer to the thermometer."),
    Reason.MOVE_BACK: N_("Please move a little back from the thermometer."),
    Reason.FEVER: N_("Elevated temperature — please see the officer."),
    Reason.CAP_REACHED: N_("Today's limit ({cap} people) is reached. Please book online."),
    Reason.SERVICE_CLOSED: N_("The service {name} is closed today. Please come on another day."),
    Reason.SERVICE_FULL: N_("Today's places for {name} are taken. Please book online."),
    Reason.PLACES_HELD: N_("Places are kept for booked citizens until {release}."),
    Reason.TOO_EARLY: N_("Your booking starts later. Please come back at {come_back}."),
    Reason.REENTRY_TOO_SOON: N_(
        "This booking was just used. It can be used again from {again_at}."
    ),
    Reason.REENTRY_LIMIT: N_("This booking has already been used to re-enter today."),
    Reason.CANNOT_RECORD: N_("The system cannot record. Please see the officer."),
    Reason.CLOCK_UNCONFIRMED: N_("The system date is not confirmed yet. Please see the officer."),
    Reason.SAFE_MODE: N_("The system is in safe mode. Please see the officer."),
    Reason.OUT_OF_SERVICE: N_("This gate is out of service for a moment. Please see the officer."),
    Reason.DEGRADED: N_("The gate is offline. Please see the officer."),
    Reason.LIVENESS_FAILED: N_("Face could not be verified. Please see the officer."),
    Reason.OFFICER_DENIED: N_("Denied by the officer."),
}


def catalog_dir() -> Path:
    """The folder of the compiled catalogs (``ui/translations``), found without importing ``ui``."""
    spec = importlib.util.find_spec("ui")
    if spec is None or not spec.submodule_search_locations:
        raise RuntimeError("the ui package (message catalogs) is not installed")
    return Path(next(iter(spec.submodule_search_locations))) / "translations"


@functools.cache
def translations(lang: str) -> gettext.NullTranslations:
    """The compiled catalog for ``lang``; the English msgids when there is none."""
    return gettext.translation(DOMAIN, localedir=catalog_dir(), languages=[lang], fallback=True)


def language(lang: str | None) -> str:
    """``lang`` when supported, else Indonesian."""
    return lang if lang in LANGUAGES else DEFAULT_LANGUAGE


class _Defaults(dict[str, str]):
    def __missing__(self, key: str) -> str:
        return "?"


def message(reason: Reason, detail: Mapping[str, str] | None = None, lang: str = "id") -> str:
    """The text for ``reason`` in ``lang``; placeholders filled with the raw detail values."""
    template = translations(language(lang)).gettext(MESSAGES[reason])
    return template.format_map(_Defaults(detail or {}))


def display_message(
    reason: Reason, detail: Mapping[str, str] | None = None, lang: str = "id"
) -> str:
    """Like :func:`message`, with dates, times and numbers in the language's local format.

    For people (the citizen screen): "24 November 2026" and "09.30" in Indonesian,
    "November 24, 2026" and "9:30 AM" in English; the API keeps the raw values.
    """
    lang = language(lang)
    return message(reason, localized(detail or {}, lang), lang)


GATE_NAME = N_("Gate {n}")
GATE_NUMBER = re.compile(r"^gate[-_ ]?(\d+)$", re.IGNORECASE)
"""A gate id like ``gate-1`` is shown to people as "Gerbang 1" / "Gate 1"."""


def localized(detail: Mapping[str, str], lang: str) -> dict[str, str]:
    """Detail values reformatted for ``lang``; anything unparsable is left as it is."""
    out = dict(detail)
    for key, value in detail.items():
        try:
            if key in ("valid_from", "valid_until") and value:
                out[key] = format_date(date.fromisoformat(value), "long", locale=lang)
            elif key in ("admitted_at", "again_at", "come_back", "release") and value:
                out[key] = format_time(time.fromisoformat(value), "short", locale=lang)
            elif key in ("cap", "ambient_c") and value:
                out[key] = format_decimal(float(value), locale=lang)
            elif key == "gate" and (number := GATE_NUMBER.match(value or "")):
                out[key] = translations(lang).gettext(GATE_NAME).format(n=int(number.group(1)))
        except ValueError:
            pass
    return out


# -- staff attendance: the greeting and what to do after a refusal ----------------------
GREETINGS = (
    (11 * 60, N_("Good morning")),
    (15 * 60, N_("Good day")),
    (18 * 60, N_("Good afternoon")),
    (24 * 60, N_("Good evening")),
)
"""Up to (minute of the day, exclusive): Selamat pagi / siang / sore / malam."""

STAFF_MARKS = {
    "in": N_("{greeting}, {name} — in {time}"),
    "out": N_("{greeting}, {name} — out {time}"),
    "repeat": N_("{name}, you are already recorded."),
}

STAFF_REFUSALS = {
    Reason.LIVENESS_FAILED: N_(
        "Face could not be verified. Stand at the thermometer, look at the camera and move "
        "a little — or use “Staff check-in” with your PIN."
    ),
}


def greeting(local: time, lang: str = "id") -> str:
    """ "Selamat pagi" … "Selamat malam" for a local time of day."""
    minute = local.hour * 60 + local.minute
    text = next(g for limit, g in GREETINGS if minute < limit)
    return translations(language(lang)).gettext(text)


def staff_message(reason: Reason, detail: Mapping[str, str], local: time, lang: str = "id") -> str:
    """What a staff member reads after a decision: the greeting with the mark and its local
    time ("Selamat pagi, Budi — masuk 07.31"), or what to do after a refusal."""
    lang = language(lang)
    gettext_ = translations(lang).gettext
    mark, name = detail.get("mark"), detail.get("name")
    if mark in STAFF_MARKS and name:
        values = {
            "greeting": greeting(local, lang),
            "name": name,
            "time": format_time(local, "short", locale=lang),
        }
        return gettext_(STAFF_MARKS[mark]).format_map(_Defaults(values))
    if reason in STAFF_REFUSALS:
        return gettext_(STAFF_REFUSALS[reason])
    return display_message(reason, detail, lang)
