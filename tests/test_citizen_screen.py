"""The citizen screen's page and assets: offline, no inline script, readable, states from the server."""

from __future__ import annotations

import re
import wave
from pathlib import Path
from typing import Any

import pytest

from kiosk.services.runtime import Kiosk, simulate_present
from tests.test_api import add_booking

ROOT = Path(__file__).resolve().parent.parent
STATIC = ROOT / "ui" / "static"
OWN_TEMPLATES = ["base.html", "kiosk.html", "sim.html"]


def contrast(fg: str, bg: str) -> float:
    """WCAG 2 contrast ratio of two #rrggbb colours."""

    def luminance(hex_colour: str) -> float:
        channels = [int(hex_colour[i : i + 2], 16) / 255 for i in (1, 3, 5)]
        r, g, b = (c / 12.92 if c <= 0.04045 else ((c + 0.055) / 1.055) ** 2.4 for c in channels)
        return 0.2126 * r + 0.7152 * g + 0.0722 * b

    hi, lo = sorted((luminance(fg), luminance(bg)), reverse=True)
    return (hi + 0.05) / (lo + 0.05)


def test_every_colour_pair_meets_wcag_aa() -> None:
    css = (STATIC / "kiosk.css").read_text(encoding="utf-8")
    colours = dict(re.findall(r"--([a-z]+-(?:fg|bg)):\s*(#[0-9a-fA-F]{6})", css))
    pairs = {name[:-3] for name in colours}
    assert {"page", "band", "admitted", "denied", "refer"} <= pairs
    for name in pairs:
        ratio = contrast(colours[f"{name}-fg"], colours[f"{name}-bg"])
        assert ratio >= 4.5, f"{name}: {ratio:.2f}"
    assert contrast(colours["band-bg"], colours["page-bg"]) >= 4.5  # language button


@pytest.mark.parametrize("name", OWN_TEMPLATES)
def test_templates_have_no_inline_script_or_handlers(name: str) -> None:
    text = (ROOT / "ui" / "templates" / name).read_text(encoding="utf-8")
    assert not re.search(r"<script(?![^>]*\bsrc=)[^>]*>", text), "inline <script>"
    assert not re.search(r"\son[a-z]+\s*=", text, re.I), "inline event handler"
    assert "style=" not in text and "javascript:" not in text


def test_everything_is_served_locally() -> None:
    for path in [*STATIC.rglob("*.*"), *(ROOT / "ui" / "templates").glob("*.html")]:
        if path.suffix in (".css", ".js", ".svg", ".html"):
            text = path.read_text(encoding="utf-8")
            remote = re.findall(r"(?:https?:)?//[a-z0-9.-]+\.[a-z]{2,}", text)
            assert [r for r in remote if "www.w3.org" not in r] == [], path


def test_citizen_page_never_points_at_staff_pages(client: Any) -> None:
    page = client.get("/").get_data(as_text=True)
    script = (STATIC / "kiosk.js").read_text(encoding="utf-8")
    for text in (page, script):
        assert "/officer" not in text and "/admin" not in text and "/login" not in text
    assert re.findall(r'<a\s[^>]*href="([^"]+)"', page) == ["/?lang=en"]


def test_citizen_page_assets_exist(client: Any) -> None:
    page = client.get("/").get_data(as_text=True)
    assets = re.findall(r'(?:src|href)="(/static/[^"]+)"', page)
    assert len(assets) >= 10
    for url in assets:
        with client.get(url) as res:  # a file response: close it
            assert res.status_code == 200, url


def test_outcome_sounds_are_short_wav_files_made_by_the_script(tmp_path: Path) -> None:
    from tools.make_sounds import TUNES, write

    for name, notes in TUNES.items():
        committed = STATIC / "sounds" / f"{name}.wav"
        with wave.open(str(committed)) as w:
            assert w.getnchannels() == 1 and 0.2 < w.getnframes() / w.getframerate() < 1.0
        assert write(name, notes, tmp_path).read_bytes() == committed.read_bytes()
    assert set(TUNES) == {"admitted", "denied", "refer"}


def test_idle_screen_shows_the_count_steps_and_no_full_notice(client: Any) -> None:
    page = client.get("/").get_data(as_text=True)
    assert "Kuota hari ini: 0 dari 50 terpakai" in page
    assert re.search(r'<div id="idle-open">', page)
    assert re.search(r'<div id="idle-full" hidden>', page)
    assert 'data-state="idle"' in page


def test_full_day_shows_the_online_service_instead(make_kiosk: Any) -> None:
    from ui import create_app

    kiosk: Kiosk = make_kiosk(
        admission={"daily_cap": 1}, site={"online_booking_url": "https://antrian.example.go.id"}
    )
    simulate_present(kiosk, add_booking(kiosk), 36.6)
    page = create_app(kiosk, {"TESTING": True}).test_client().get("/").get_data(as_text=True)
    assert re.search(r'<div id="idle-open" hidden>', page)
    assert re.search(r'<div id="idle-full">', page)
    assert "Kuota penuh — silakan gunakan layanan online" in page
    assert '<p id="online-url" class="online-url">https://antrian.example.go.id</p>' in page


def test_closed_hours_show_the_closed_notice(make_kiosk: Any) -> None:
    from tests.conftest import FakeClock
    from ui import create_app

    kiosk = make_kiosk(admission={"opens": "08:00", "closes": "15:00"}, clock=FakeClock())
    kiosk.gate.clock.now = kiosk.gate.clock.now.replace(hour=12)  # 19:00 in Jakarta
    page = create_app(kiosk, {"TESTING": True}).test_client().get("/").get_data(as_text=True)
    assert re.search(r'<div id="idle-closed">', page)
    assert "Layanan sedang tutup" in page


@pytest.mark.parametrize("lang", ["id", "en"])
def test_every_spoken_prompt_is_a_committed_wav_the_page_references(client: Any, lang: str) -> None:
    """Made offline by tools/make_voice.py (espeak-ng), committed: nothing is fetched or
    synthesised at run time, so neither the gate nor CI needs espeak-ng."""
    from tools.make_voice import PROMPTS
    from ui.public import VOICE_PROMPTS

    assert set(PROMPTS[lang]) == set(VOICE_PROMPTS) == {"admitted", "denied", "refer", "retry"}
    page = client.get(f"/?lang={lang}").get_data(as_text=True)
    for prompt in VOICE_PROMPTS:
        url = f"/static/sounds/voice/{lang}/{prompt}.wav"
        assert f'<audio id="voice-{prompt}" class="voice" src="{url}"' in page
        path = STATIC / "sounds" / "voice" / lang / f"{prompt}.wav"
        with wave.open(str(path)) as w:
            seconds = w.getnframes() / w.getframerate()
            assert w.getnchannels() == 1 and w.getframerate() == 16_000, path
            assert 0.5 < seconds < 6.0, (path, seconds)
        assert path.stat().st_size < 250_000, path
        with client.get(url) as res:
            assert res.status_code == 200 and res.mimetype.startswith("audio/"), url
    other = "en" if lang == "id" else "id"
    assert f"/voice/{other}/" not in page  # only the page's own language is spoken


def test_the_sound_volume_comes_from_the_config(make_kiosk: Any) -> None:
    from ui import create_app

    kiosk: Kiosk = make_kiosk(site={"sound_volume": 0.35})
    page = create_app(kiosk, {"TESTING": True}).test_client().get("/").get_data(as_text=True)
    assert 'data-sound-volume="0.35"' in page
    script = (STATIC / "kiosk.js").read_text(encoding="utf-8")
    assert "dataset.soundVolume" in script and ".volume = volume" in script
    assert '"voice-" + tone' in script  # the prompt follows the result's tone (retry too)


def test_the_sound_volume_must_be_between_silent_and_full(tmp_path: Path) -> None:
    from pydantic import ValidationError

    from kiosk.config import SiteConfig

    assert SiteConfig().sound_volume == 0.8
    for bad in (-0.1, 1.5):
        with pytest.raises(ValidationError):
            SiteConfig(sound_volume=bad)
