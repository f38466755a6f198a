"""Printable tickets: the QR reads back with the gate's own decoder, text stays on the page."""

from __future__ import annotations

import random
import re
from datetime import date
from pathlib import Path

import cv2
import numpy as np
import pytest
from PIL import Image

from kiosk import tickets
from kiosk.errors import InputError
from kiosk.tickets import PAGE_SIZE, format_date, render_ticket, write_ticket
from kiosk.vision.qr import decode_frame

BASE32 = "ABCDEFGHIJKLMNOPQRSTUVWXYZ234567"
SIGNED = "KB:" + "".join(random.Random(7).choice(BASE32) for _ in range(160))
PLAIN = "BK-7K4Q2M9X"
LONG_NAME = ("Raden Ajeng Siti Nurhaliza Kartika Wulandari Sosroningrat " * 4)[:200]
NON_ASCII_NAME = "Ni Putu Ayu Ṣāstri Dewi"


def ticket(**overrides: object) -> tickets.Ticket:
    fields: dict[str, object] = {
        "qr_text": SIGNED,
        "name": "Budi Santoso",
        "date": date(2026, 11, 23),
        "service": "Perekaman KTP-el",
        "office_name": "Dinas Kependudukan dan Pencatatan Sipil Kota Denpasar",
        "office_id": "5171-DPS",
        "short_code": PLAIN,
    }
    fields.update(overrides)
    return render_ticket(**fields)  # type: ignore[arg-type]


def decode_png(path: Path) -> list[str]:
    frame = cv2.imread(str(path))
    assert frame is not None, path
    return decode_frame(frame)


def assert_margins_blank(image: Image.Image) -> None:
    """Nothing is drawn in the outer band of the page: no text ran off it."""
    pixels = np.asarray(image)
    band = tickets.MARGIN - 8
    assert image.size == PAGE_SIZE
    for strip in (pixels[:band], pixels[-band:], pixels[:, :band], pixels[:, -band:]):
        assert strip.min() == 255


@pytest.mark.parametrize("qr_text", [SIGNED, PLAIN], ids=["signed", "plain"])
def test_png_qr_decodes_back_exactly(tmp_path: Path, qr_text: str) -> None:
    png, pdf = write_ticket(ticket(qr_text=qr_text), tmp_path, "t1")

    assert (png, pdf) == (tmp_path / "t1.png", tmp_path / "t1.pdf")
    assert decode_png(png) == [qr_text]


def test_qr_uses_error_correction_m_with_a_quiet_zone() -> None:
    t = ticket()
    left, top, right, bottom = t.qr_box
    side = right - left
    assert side == bottom - top
    modules = 53  # version 7 (45 modules) + 2 × 4 quiet modules
    assert side % modules == 0
    scale = side // modules
    qr = np.asarray(t.image)[top:bottom, left:right]
    quiet = 4 * scale
    assert qr[:quiet].min() == qr[-quiet:].min() == qr[:, :quiet].min() == 255
    assert qr[quiet, quiet] == 0  # finder pattern corner
    assert side >= 600  # large: ≥ 50 mm on paper at 300 dpi


def test_png_is_a6_at_300_dpi(tmp_path: Path) -> None:
    png, _ = write_ticket(ticket(), tmp_path, "t")
    with Image.open(png) as img:
        assert img.size == PAGE_SIZE == (1240, 1748)
        assert img.info["dpi"] == pytest.approx((300, 300), abs=0.01)


def test_pdf_is_a_single_a6_page(tmp_path: Path) -> None:
    _, pdf = write_ticket(ticket(), tmp_path, "t")
    data = pdf.read_bytes()

    assert data.startswith(b"%PDF")
    assert len(re.findall(rb"/Type\s*/Page(?!s)", data)) == 1
    box = re.search(rb"/MediaBox\s*\[\s*0\s+0\s+([\d.]+)\s+([\d.]+)\s*\]", data)
    assert box is not None
    width_mm, height_mm = (float(v) / 72 * 25.4 for v in box.groups())
    assert width_mm == pytest.approx(105, abs=0.5)
    assert height_mm == pytest.approx(148, abs=0.5)


@pytest.mark.parametrize("name", [LONG_NAME, NON_ASCII_NAME, "王小明 محمد", ""])
def test_any_name_fits_the_page(tmp_path: Path, name: str) -> None:
    t = ticket(name=name)

    assert t.image.size == ticket().image.size == PAGE_SIZE
    assert_margins_blank(t.image)
    png, _ = write_ticket(t, tmp_path, "n")
    assert decode_png(png) == [SIGNED]


def test_every_field_long_at_once_still_fits(tmp_path: Path) -> None:
    t = ticket(
        name=LONG_NAME,
        office_name="Dinas Kependudukan dan Pencatatan Sipil " * 6,
        office_id="X" * 120,
        service="Penerbitan Kartu Keluarga karena perubahan data " * 5,
        short_code="BK-" + "7K4Q2M9X" * 6,
    )
    assert_margins_blank(t.image)
    png, _ = write_ticket(t, tmp_path, "long")
    assert decode_png(png) == [SIGNED]


def test_renders_without_truetype_fonts(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setattr(tickets, "FONT_DIRS", ())
    t = ticket(name=NON_ASCII_NAME + " 王小明", lang="en")

    assert_margins_blank(t.image)
    png, _ = write_ticket(t, tmp_path, "nofont")
    assert decode_png(png) == [SIGNED]


@pytest.mark.parametrize("qr_text", ["", "   "])
def test_empty_qr_text_is_refused(qr_text: str) -> None:
    with pytest.raises(InputError):
        ticket(qr_text=qr_text)


def test_qr_text_too_long_for_a_qr_code_is_refused() -> None:
    with pytest.raises(InputError):
        ticket(qr_text="X" * 5000)


def test_unknown_language_is_refused() -> None:
    with pytest.raises(InputError):
        ticket(lang="fr")


@pytest.mark.parametrize(
    ("day", "text"),
    [
        (date(2026, 11, 23), "Senin, 23 November 2026"),
        (date(2026, 11, 22), "Minggu, 22 November 2026"),
        (date(2026, 8, 17), "Senin, 17 Agustus 2026"),
        (date(1945, 8, 17), "Jumat, 17 Agustus 1945"),
        (date(2024, 2, 29), "Kamis, 29 Februari 2024"),
        (date(2027, 1, 5), "Selasa, 5 Januari 2027"),
        (date(2026, 5, 6), "Rabu, 6 Mei 2026"),
        (date(2026, 3, 7), "Sabtu, 7 Maret 2026"),
    ],
)
def test_indonesian_date(day: date, text: str) -> None:
    assert format_date(day) == text


def test_english_date() -> None:
    assert format_date(date(2026, 11, 22), "en") == "Sunday, 22 November 2026"


def test_write_replaces_files_and_leaves_no_temporaries(tmp_path: Path) -> None:
    out = tmp_path / "new" / "folder"
    write_ticket(ticket(qr_text=PLAIN), out, "t")
    png, pdf = write_ticket(ticket(qr_text=SIGNED), out, "t")

    assert sorted(p.name for p in out.iterdir()) == ["t.pdf", "t.png"]
    assert decode_png(png) == [SIGNED]
    assert pdf.read_bytes().startswith(b"%PDF")


@pytest.mark.parametrize("stem", ["", ".", "..", "a/b", "..\\x"])
def test_write_refuses_a_stem_with_folder_parts(tmp_path: Path, stem: str) -> None:
    with pytest.raises(InputError):
        write_ticket(ticket(), tmp_path, stem)
    assert list(tmp_path.iterdir()) == []


def test_cut_text_keeps_as_much_as_fits() -> None:
    fonts = tickets._Fonts(tickets.FONT_DIRS)
    block = tickets._fit(
        fonts, "ID kantor: " + "X" * 120, role="regular", sizes=(28, 22), width=600, max_lines=1
    )
    assert len(block.lines) == 1
    assert block.lines[0].startswith("ID kantor: XXXX")
    assert block.lines[0].endswith(("…", "..."))
    assert block.font.getlength(block.lines[0]) <= 600
