"""Languages: Bahasa Indonesia first, English second (Flask-Babel catalogs).

The chosen language lives in a cookie; ``?lang=`` chooses it for the request
and (on any page) remembers it in the cookie, so the citizen screen's language
button is a plain link to ``/?lang=en``. Anything else falls back to Indonesian.

Catalogs: ``ui/translations/<lang>/LC_MESSAGES/messages.po`` with English
msgids, compiled ``.mo`` files committed next to them (``make translations``
extracts, updates and compiles; a test fails when they are stale).
"""

from __future__ import annotations

from typing import Any

from flask import Flask, Response, request
from flask_babel import Babel

LANGUAGES = ("id", "en")
DEFAULT = "id"
LANGUAGE_NAMES = {"id": "Bahasa Indonesia", "en": "English"}
"""Each language's own name (an autonym, the same in every language): the language button."""
COOKIE = "lang"
COOKIE_MAX_AGE = 365 * 24 * 3600


def select_locale() -> str:
    for chosen in (request.args.get("lang"), request.cookies.get(COOKIE)):
        if chosen in LANGUAGES:
            return chosen
    return DEFAULT


def remember_language(response: Response) -> Response:
    """``?lang=xx`` on any page sets the language cookie for the next pages."""
    chosen = request.args.get("lang")
    if chosen in LANGUAGES and request.cookies.get(COOKIE) != chosen:
        response.set_cookie(
            COOKIE, chosen, max_age=COOKIE_MAX_AGE, path="/", httponly=True, samesite="Lax"
        )
    return response


def init_app(app: Flask) -> None:
    app.config.setdefault("BABEL_DEFAULT_LOCALE", DEFAULT)
    app.config.setdefault("BABEL_DEFAULT_TIMEZONE", "Asia/Jakarta")
    Babel(app, locale_selector=select_locale)
    app.after_request(remember_language)

    @app.context_processor
    def page_language() -> dict[str, Any]:
        return {"lang": select_locale(), "languages": LANGUAGES, "language_names": LANGUAGE_NAMES}
