"""Printable booking tickets: the QR code a citizen brings to the gate, on an A6 page.

``render_ticket(...)`` lays the ticket out with Pillow and returns a :class:`Ticket`
(the page image plus what it shows); ``write_ticket(ticket, out_dir, stem)`` writes
``stem.png`` and a single-page ``stem.pdf``, each atomically (temporary file, then rename).

The page is A6 portrait at 300 dpi (1240 × 1748 px), black on white, so it prints on an
ordinary office printer and reads on screen. From top to bottom:

* the office name (bold, up to two lines) and the office id;
* the QR code, error correction M, rendered by segno with a four-module quiet zone and
  integer pixels per module (crisp edges), as large as the remaining space allows;
* the booking code in large monospaced letters, for reading aloud or typing in;
* name, date ("Senin, 23 November 2026") and service;
* the instruction in Bahasa Indonesia and, below it, in English.

``lang`` picks the language of the labels and the date; the instruction is always printed
in both languages, ``lang``'s first. Text never leaves the page: long values are wrapped,
then set smaller, then cut with an ellipsis, while the page size stays fixed.

Fonts: DejaVu Sans if it is installed (looked up by path in :data:`FONT_DIRS`), otherwise
Pillow's built-in font (:mod:`kiosk.ticket_text` picks fonts and fits text). Characters the chosen font lacks print as empty boxes; the QR code
and the booking code are unaffected.
"""

from __future__ import annotations

import os
import tempfile
from collections.abc import Callable
from dataclasses import dataclass
from datetime import date as Date
from pathlib import Path
from typing import IO, Final

import numpy as np
import segno
from PIL import Image, ImageDraw, ImageFont

from kiosk.errors import InputError
from kiosk.ticket_text import FONT_DIRS, INK
from kiosk.ticket_text import Font as _Font
from kiosk.ticket_text import Fonts as _Fonts
from kiosk.ticket_text import fit as _fit

DPI: Final = 300
PAGE_SIZE: Final = (1240, 1748)
"""A6 portrait (105 × 148 mm) at 300 dpi, in pixels."""
MARGIN: Final = 72
"""Blank border on every side (6 mm), within what any printer can print."""
QUIET_ZONE: Final = 4
"""Light modules around the QR code, as the QR standard requires."""
QR_MAX_SIDE: Final = 880
"""The QR code is never drawn larger than this (pixels, quiet zone included)."""
MIN_MODULE_PX: Final = 4
"""Smallest printed module (≈ 0.34 mm); a code that needs smaller ones is refused."""

GREY: Final = 80
LIGHT: Final = 150
PAPER: Final = 255

LANGUAGES: Final = ("id", "en")

DAY_NAMES: Final[dict[str, tuple[str, ...]]] = {
    "id": ("Senin", "Selasa", "Rabu", "Kamis", "Jumat", "Sabtu", "Minggu"),
    "en": ("Monday", "Tuesday", "Wednesday", "Thursday", "Friday", "Saturday", "Sunday"),
}
"""Weekday names, Monday first (``date.weekday()`` order)."""
MONTH_NAMES: Final[dict[str, tuple[str, ...]]] = {
    "id": (
        "Januari",
        "Februari",
        "Maret",
        "April",
        "Mei",
        "Juni",
        "Juli",
        "Agustus",
        "September",
        "Oktober",
        "November",
        "Desember",
    ),
    "en": (
        "January",
        "February",
        "March",
        "April",
        "May",
        "June",
        "July",
        "August",
        "September",
        "October",
        "November",
        "December",
    ),
}

INSTRUCTION: Final = {
    "id": "Tunjukkan kode QR ini di gerbang pada tanggal di atas.",
    "en": "Show this QR code at the gate on the date above.",
}
LABELS: Final = {
    "id": {
        "office_id": "ID kantor",
        "code": "KODE BOOKING",
        "name": "Nama",
        "date": "Tanggal",
        "service": "Layanan",
    },
    "en": {
        "office_id": "Office ID",
        "code": "BOOKING CODE",
        "name": "Name",
        "date": "Date",
        "service": "Service",
    },
}


def format_date(day: Date, lang: str = "id") -> str:
    """``date(2026, 11, 23)`` → ``"Senin, 23 November 2026"`` (no locale involved)."""
    _check_lang(lang)
    return (
        f"{DAY_NAMES[lang][day.weekday()]}, {day.day} {MONTH_NAMES[lang][day.month - 1]} {day.year}"
    )


@dataclass(frozen=True)
class Ticket:
    """A rendered ticket page and the codes it carries."""

    image: Image.Image
    """The whole page, grayscale (mode ``"L"``), :data:`PAGE_SIZE` pixels at :data:`DPI`."""
    qr_text: str
    short_code: str
    qr_box: tuple[int, int, int, int]
    """Where the QR code (quiet zone included) sits: left, top, right, bottom."""
    dpi: int = DPI


# --- QR code ---------------------------------------------------------------------------


def _qr_modules(qr_text: str) -> np.ndarray:
    """The QR symbol with its quiet zone, ``True`` for dark modules."""
    try:
        qr = segno.make(qr_text, error="M", boost_error=False, micro=False)
    except (segno.DataOverflowError, ValueError) as exc:
        raise InputError(f"The QR text is too long for a QR code ({len(qr_text)} chars).") from exc
    rows = list(qr.matrix_iter(scale=1, border=QUIET_ZONE))
    return np.array(rows, dtype=bool)


def _qr_image(modules: np.ndarray, scale: int) -> Image.Image:
    pixels = np.where(modules, INK, PAPER).astype(np.uint8)
    pixels = np.repeat(np.repeat(pixels, scale, axis=0), scale, axis=1)
    return Image.fromarray(pixels)


# --- the page --------------------------------------------------------------------------


def _check_lang(lang: str) -> None:
    if lang not in LANGUAGES:
        raise InputError(f"Unknown ticket language {lang!r}; use one of {', '.join(LANGUAGES)}.")


def render_ticket(
    *,
    qr_text: str,
    name: str,
    date: Date,
    service: str,
    office_name: str,
    office_id: str,
    short_code: str,
    lang: str = "id",
) -> Ticket:
    """Lay out one A6 ticket page (see the module docstring).

    Raises ``InputError`` for an empty (or blank) ``qr_text``, a QR text too long to print
    legibly, or an unknown ``lang``.
    """
    if not qr_text or not qr_text.strip():
        raise InputError("The ticket needs a QR text; it was empty.")
    _check_lang(lang)
    other = "en" if lang == "id" else "id"
    labels = LABELS[lang]
    fonts = _Fonts(FONT_DIRS)
    page_w, page_h = PAGE_SIZE
    width = page_w - 2 * MARGIN

    # Header: office name and id.
    office = _fit(fonts, office_name, role="bold", sizes=(52, 34), width=width, max_lines=2)
    office_ref = _fit(
        fonts,
        f"{labels['office_id']}: {office_id}",
        role="regular",
        sizes=(28, 22),
        width=width,
        max_lines=1,
        fill=GREY,
    )
    header_h = office.height + 10 + office_ref.height + 22

    # Booking code, in a box.
    box_pad = 18
    code_label = _fit(
        fonts, labels["code"], role="regular", sizes=(26, 22), width=width, max_lines=1, fill=GREY
    )
    code = _fit(
        fonts, short_code, role="mono", sizes=(104, 48), width=width - 2 * box_pad, max_lines=2
    )
    code_h = code_label.height + 10 + code.height + 2 * box_pad

    # Details: label column + value column.
    label_sizes = (28, 24)
    label_blocks = {
        key: _fit(fonts, labels[key], role="regular", sizes=label_sizes, width=width, max_lines=1)
        for key in ("name", "date", "service")
    }
    label_w = int(max(b.font.getlength(b.lines[0]) for b in label_blocks.values())) + 28
    value_w = width - label_w
    values = {
        "name": _fit(fonts, name, role="bold", sizes=(40, 28), width=value_w, max_lines=3),
        "date": _fit(
            fonts,
            format_date(date, lang),
            role="regular",
            sizes=(36, 26),
            width=value_w,
            max_lines=1,
        ),
        "service": _fit(fonts, service, role="regular", sizes=(36, 26), width=value_w, max_lines=2),
    }
    row_gap = 14
    details_h = sum(v.height for v in values.values()) + row_gap * (len(values) - 1)

    # Instruction, both languages.
    instr_main = _fit(
        fonts, INSTRUCTION[lang], role="regular", sizes=(32, 24), width=width, max_lines=2
    )
    instr_other = _fit(
        fonts,
        INSTRUCTION[other],
        role="regular",
        sizes=(28, 22),
        width=width,
        max_lines=2,
        fill=GREY,
    )
    rule_gap = 26
    footer_h = (
        code_h
        + rule_gap * 2
        + 3
        + details_h
        + rule_gap * 2
        + 3
        + instr_main.height
        + 8
        + instr_other.height
    )

    # The QR code takes the space that is left, in whole pixels per module.
    modules = _qr_modules(qr_text)
    room = page_h - 2 * MARGIN - header_h - footer_h - 2 * 16
    scale = min(room, width, QR_MAX_SIDE) // modules.shape[0]
    if scale < MIN_MODULE_PX:
        raise InputError(
            f"The QR text is too long to print legibly on a ticket ({len(qr_text)} chars)."
        )
    qr_img = _qr_image(modules, scale)
    qr_side = qr_img.width
    slack = room - qr_side  # shared evenly above and below the code

    page = Image.new("L", PAGE_SIZE, PAPER)
    draw = ImageDraw.Draw(page)
    x0 = MARGIN
    y = MARGIN
    y = office.draw(draw, x0, y, width, center=True) + 10
    y = office_ref.draw(draw, x0, y, width, center=True) + 22
    draw.line([(x0, y), (x0 + width, y)], fill=INK, width=3)

    y += 16 + slack // 2
    qr_left = (page_w - qr_side) // 2
    page.paste(qr_img, (qr_left, y))
    qr_box = (qr_left, y, qr_left + qr_side, y + qr_side)
    y += qr_side + (slack - slack // 2) + 16

    code_w = int(max(code.font.getlength(line) for line in code.lines)) + 2 * box_pad + 40
    code_w = min(width, max(code_w, 560))
    box_x = (page_w - code_w) // 2
    draw.rounded_rectangle(
        [(box_x, y), (box_x + code_w, y + code_h)], radius=18, outline=INK, width=4
    )
    yy = code_label.draw(draw, x0, y + box_pad, width, center=True) + 10
    code.draw(draw, x0, yy, width, center=True)
    y += code_h + rule_gap

    draw.line([(x0, y), (x0 + width, y)], fill=LIGHT, width=3)
    y += 3 + rule_gap
    for key, value in values.items():
        label = label_blocks[key]
        # Label and value share their first baseline.
        label.draw(draw, x0, y + _baseline_shift(label.font, value.font), label_w, center=False)
        y = value.draw(draw, x0 + label_w, y, value_w, center=False) + row_gap
    y += rule_gap - row_gap

    draw.line([(x0, y), (x0 + width, y)], fill=LIGHT, width=3)
    y += 3 + rule_gap
    y = instr_main.draw(draw, x0, y, width, center=True) + 8
    instr_other.draw(draw, x0, y, width, center=True)

    return Ticket(image=page, qr_text=qr_text, short_code=short_code, qr_box=qr_box)


def _baseline_shift(small: _Font, big: _Font) -> int:
    """How far below ``big``'s top to draw ``small`` so their baselines line up."""
    if isinstance(small, ImageFont.FreeTypeFont) and isinstance(big, ImageFont.FreeTypeFont):
        return int(big.getmetrics()[0] - small.getmetrics()[0])
    return 0


# --- files -----------------------------------------------------------------------------


def write_ticket(ticket: Ticket, out_dir: Path, stem: str) -> tuple[Path, Path]:
    """Write ``out_dir/stem.png`` and ``out_dir/stem.pdf``; return their paths.

    ``out_dir`` is created if missing. Each file appears whole or not at all: it is written
    to a temporary file in the same folder, flushed to disk, then renamed into place.
    ``stem`` must be a plain file name without a suffix (no folder parts).
    """
    if not stem or stem in (".", "..") or "/" in stem or "\\" in stem or "\x00" in stem:
        raise InputError(f"Invalid ticket file name {stem!r}: use a plain name, no folders.")
    out_dir = Path(out_dir)
    out_dir.mkdir(parents=True, exist_ok=True)
    png = out_dir / f"{stem}.png"
    pdf = out_dir / f"{stem}.pdf"
    _atomic_save(png, lambda f: ticket.image.save(f, "PNG", dpi=(ticket.dpi, ticket.dpi)))
    _atomic_save(
        pdf,
        lambda f: ticket.image.save(
            f,
            "PDF",
            resolution=float(ticket.dpi),
            title=f"Tiket {ticket.short_code}",
            creator="gate-kiosk",
        ),
    )
    return png, pdf


def _atomic_save(target: Path, save: Callable[[IO[bytes]], None]) -> None:
    fd, tmp_name = tempfile.mkstemp(dir=target.parent, prefix=f".{target.name}.", suffix=".tmp")
    tmp = Path(tmp_name)
    try:
        with os.fdopen(fd, "wb") as f:
            save(f)
            f.flush()
            os.fsync(f.fileno())
        os.replace(tmp, target)
    except BaseException:
        tmp.unlink(missing_ok=True)
        raise
