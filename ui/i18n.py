"""Languages: Bahasa Indonesia first, English second (Flask-Babel catalogs).

The chosen language lives in a cookie set by the language switch; ``?lang=``
overrides it for one request. Anything else falls back to Indonesian.
"""

from __future__ import annotations

from flask import Flask, request
from flask_babel import Babel

LANGUAGES = ("id", "en")
DEFAULT = "id"
COOKIE = "lang"


def select_locale() -> str:
    for chosen in (request.args.get("lang"), request.cookies.get(COOKIE)):
        if chosen in LANGUAGES:
            return chosen
    return DEFAULT


def init_app(app: Flask) -> None:
    app.config.setdefault("BABEL_DEFAULT_LOCALE", DEFAULT)
    app.config.setdefault("BABEL_DEFAULT_TIMEZONE", "Asia/Jakarta")
    Babel(app, locale_selector=select_locale)
