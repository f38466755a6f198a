"""Message catalogs: complete, compiled, in step with the code; languages and local formats."""

from __future__ import annotations

import re
from datetime import UTC, datetime
from pathlib import Path
from typing import Any

import pytest
from babel.messages.extract import extract_from_dir
from babel.messages.frontend import parse_mapping_cfg
from babel.messages.mofile import read_mo
from babel.messages.pofile import read_po

from kiosk.domain.reasons import Reason
from kiosk.messages import LANGUAGES, MESSAGES, display_message, message
from tests.conftest import FakeClock

ROOT = Path(__file__).resolve().parent.parent
CATALOGS = ROOT / "ui" / "translations"
KEYWORDS = {"_": None, "gettext": None, "ngettext": (1, 2), "N_": None, "_l": None}
KEYWORDS["lazy_gettext"] = None
PLACEHOLDER = re.compile(r"%\([a-z_]+\)s|\{[a-z_]+\}")


def catalog(lang: str) -> Any:
    with open(CATALOGS / lang / "LC_MESSAGES" / "messages.po", "rb") as f:
        return read_po(f, locale=lang)


CITIZEN_SOURCES = {
    "kiosk/messages.py",
    "ui/public.py",
    "ui/templates/base.html",
    "ui/templates/kiosk.html",
    "ui/templates/sim.html",
}
"""What visitors (and the simulator's user) read: always fully translated into Indonesian."""


def source_strings() -> dict[str, set[str]]:
    """Every string the code marks for translation (as `make translations` extracts them),
    with the files that use it."""
    with open(ROOT / "babel.cfg", encoding="utf-8") as f:
        method_map, options_map = parse_mapping_cfg(f)
    found: dict[str, set[str]] = {}
    for path, _line, msg, _comments, _context in extract_from_dir(
        str(ROOT), method_map, options_map, keywords=KEYWORDS
    ):
        found.setdefault(msg if isinstance(msg, str) else msg[0], set()).add(path)
    return found


def source_msgids() -> set[str]:
    return set(source_strings())


def test_every_reason_code_has_a_message() -> None:
    assert set(MESSAGES) == set(Reason)


@pytest.mark.parametrize("lang", LANGUAGES)
def test_catalog_holds_every_marked_string(lang: str) -> None:
    ids = {m.id for m in catalog(lang) if m.id}
    missing = source_msgids() - ids
    assert not missing, f"run `make translations` (then translate): {sorted(missing)}"


def test_indonesian_catalog_translates_everything_a_visitor_reads() -> None:
    """Staff pages fall back to English for an entry not yet translated; the citizen screen never."""
    citizen = {msg for msg, paths in source_strings().items() if paths & CITIZEN_SOURCES}
    untranslated = [m.id for m in catalog("id") if m.id in citizen and (not m.string or m.fuzzy)]
    assert not untranslated, f"translate in ui/translations/id/…/messages.po: {untranslated}"


@pytest.mark.parametrize("lang", LANGUAGES)
def test_translations_keep_their_placeholders(lang: str) -> None:
    for m in catalog(lang):
        if m.id and m.string:
            assert sorted(PLACEHOLDER.findall(m.string)) == sorted(PLACEHOLDER.findall(m.id)), m.id


@pytest.mark.parametrize("lang", LANGUAGES)
def test_compiled_catalog_matches_its_po_file(lang: str) -> None:
    """The .mo files are committed: they must be compiled from the current .po."""
    with open(CATALOGS / lang / "LC_MESSAGES" / "messages.mo", "rb") as f:
        compiled = {m.id: m.string for m in read_mo(f) if m.id and m.string}
    source = {m.id: m.string for m in catalog(lang) if m.id and m.string and not m.fuzzy}
    assert compiled == source, "run `make translations` to recompile the .mo files"


def test_decision_messages_come_from_the_catalogs() -> None:
    assert message(Reason.ADMITTED, None, "id") == "Silakan masuk."
    assert message(Reason.ADMITTED, None, "en") == "Please enter."
    assert message(Reason.FEVER, None, "xx") == message(Reason.FEVER, None, "id")


def test_decision_messages_fill_placeholders_with_raw_values_for_the_api() -> None:
    text = message(Reason.BOOKING_WRONG_DATE, {"valid_from": "2026-11-24"}, "id")
    assert text == "Booking ini untuk tanggal 2026-11-24, bukan hari ini."
    assert (
        message(Reason.CAP_REACHED, {}, "en")
        == "Today's limit (? people) is reached. Please book online."
    )


@pytest.mark.parametrize(
    ("lang", "reason", "detail", "expected"),
    [
        ("id", Reason.BOOKING_WRONG_DATE, {"valid_from": "2026-11-24"}, "24 November 2026"),
        ("en", Reason.BOOKING_WRONG_DATE, {"valid_from": "2026-11-24"}, "November 24, 2026"),
        ("id", Reason.BOOKING_USED, {"admitted_at": "09:30", "gate": "g1"}, "09.30"),
        ("en", Reason.BOOKING_USED, {"admitted_at": "09:30", "gate": "g1"}, "9:30\u202fAM"),
        ("id", Reason.CAP_REACHED, {"cap": "1500"}, "1.500"),
        ("en", Reason.CAP_REACHED, {"cap": "1500"}, "1,500"),
    ],
)
def test_screen_messages_use_local_date_time_and_number_formats(
    lang: str, reason: Reason, detail: dict[str, str], expected: str
) -> None:
    assert expected in display_message(reason, detail, lang)


def test_screen_message_keeps_a_value_it_cannot_parse() -> None:
    assert "someday" in display_message(Reason.BOOKING_WRONG_DATE, {"valid_from": "someday"}, "id")


# -- the language of a page --------------------------------------------------------------------


def test_citizen_page_is_indonesian_by_default(client: Any) -> None:
    page = client.get("/").get_data(as_text=True)
    assert '<html lang="id">' in page
    assert "Tunjukkan kode QR" in page


def test_lang_query_switches_and_remembers_the_language(client: Any) -> None:
    res = client.get("/?lang=en")
    assert '<html lang="en">' in res.get_data(as_text=True)
    cookie = res.headers["Set-Cookie"]
    assert cookie.startswith("lang=en;") and "SameSite=Lax" in cookie and "HttpOnly" in cookie
    page = client.get("/").get_data(as_text=True)  # the cookie now chooses English
    assert '<html lang="en">' in page and "Show your QR code" in page
    assert '<html lang="id">' in client.get("/?lang=id").get_data(as_text=True)


def test_unknown_language_falls_back_to_indonesian(client: Any) -> None:
    res = client.get("/?lang=fr")
    assert '<html lang="id">' in res.get_data(as_text=True)
    assert "Set-Cookie" not in res.headers


def test_language_button_leads_to_the_other_language(client: Any) -> None:
    page = client.get("/").get_data(as_text=True)
    assert re.search(r'id="lang-button"[^>]*href="/\?lang=en"', page)
    assert ">English<" in page
    assert ">Bahasa Indonesia<" in client.get("/?lang=en").get_data(as_text=True)


def _visible_texts(html: str) -> set[str]:
    body = html.split("<body", 1)[1].split(">", 1)[1]
    body = re.sub(r"<(script|style)[^>]*>.*?</\1>", " ", body, flags=re.S)
    return {t.strip() for t in re.split(r"<[^>]+>", body) if t.strip()}


@pytest.mark.parametrize("path", ["/", "/sim"])
def test_no_text_is_left_untranslated_on_the_page(client: Any, path: str) -> None:
    """What reads the same in both languages must be a name, number or code, not a phrase."""
    same = _visible_texts(client.get(path + "?lang=id").get_data(as_text=True)) & _visible_texts(
        client.get(path + "?lang=en").get_data(as_text=True)
    )
    allowed = re.compile(r"^([\d\s/—:.,%-]*|Kantor Pelayanan|[a-z0-9_]+|—)$")
    assert {t for t in same if not allowed.match(t)} == set()


def test_dates_and_counts_on_the_page_are_in_local_format(make_kiosk: Any) -> None:
    from ui import create_app

    kiosk = make_kiosk(
        admission={"daily_cap": 1500}, clock=FakeClock(datetime(2026, 11, 23, 2, tzinfo=UTC))
    )
    client = create_app(kiosk, {"TESTING": True}).test_client()
    page = client.get("/").get_data(as_text=True)
    assert "Senin, 23 November 2026" in page and "Kuota hari ini: 0 dari 1.500 terpakai" in page
    page = client.get("/?lang=en").get_data(as_text=True)
    assert "Monday, November 23, 2026" in page and "Today: 0 / 1,500 admitted" in page


def test_extraction_config_reads_the_templates() -> None:
    assert {"Show your QR code", "Please enter."} <= source_msgids()
