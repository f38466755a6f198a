"""Text on a printed ticket: the fonts (DejaVu by path, else Pillow's built-in one) and the
fitting of a text into a box — wrapped, then set smaller, then cut with an ellipsis, so
text never leaves the page. :mod:`kiosk.tickets` lays the page out with these.
"""

from __future__ import annotations

import unicodedata
from collections.abc import Callable
from dataclasses import dataclass
from pathlib import Path
from typing import Final, Literal, TypeAlias

from PIL import ImageDraw, ImageFont

FONT_DIRS: tuple[Path, ...] = (
    Path("/usr/share/fonts/truetype/dejavu"),  # Debian, Raspberry Pi OS, Ubuntu
    Path("/usr/share/fonts/dejavu-sans-fonts"),  # Fedora
    Path("/usr/share/fonts/dejavu-sans-mono-fonts"),
    Path("/usr/share/fonts/dejavu"),
    Path("/usr/share/fonts/TTF"),  # Arch
)
"""Folders searched for the DejaVu TrueType files, in order."""
INK: Final = 0
"""Text colour (black), unless a block is given another."""

Role: TypeAlias = Literal["regular", "bold", "mono"]
_FONT_FILES: Final[dict[Role, str]] = {
    "regular": "DejaVuSans.ttf",
    "bold": "DejaVuSans-Bold.ttf",
    "mono": "DejaVuSansMono-Bold.ttf",
}


Font: TypeAlias = ImageFont.FreeTypeFont | ImageFont.ImageFont


class Fonts:
    """DejaVu by path if present, else Pillow's built-in font; cached per size."""

    def __init__(self, dirs: tuple[Path, ...]) -> None:
        self._paths: dict[Role, Path | None] = {
            role: next((d / f for d in dirs if (d / f).is_file()), None)
            for role, f in _FONT_FILES.items()
        }
        if self._paths["bold"] is None:
            self._paths["bold"] = self._paths["regular"]
        if self._paths["mono"] is None:
            self._paths["mono"] = self._paths["bold"]
        self._cache: dict[tuple[Role, int], Font] = {}

    def builtin(self, role: Role) -> bool:
        """Whether ``role`` falls back to Pillow's built-in (Latin-1 only) font."""
        return self._paths[role] is None

    def get(self, role: Role, size: int) -> Font:
        key = (role, size)
        if key not in self._cache:
            path = self._paths[role]
            font: Font | None = None
            if path is not None:
                try:
                    font = ImageFont.truetype(str(path), size)
                except OSError:  # unreadable font file: use the built-in one from now on
                    self._paths[role] = None
            self._cache[key] = font if font is not None else ImageFont.load_default(size=size)
        return self._cache[key]


def _printable(text: str, latin1_only: bool) -> str:
    """One line of clean text (NFC, single spaces) the font can be asked to draw.

    Pillow's built-in font covers Latin-1 only: for it, other letters lose their accents
    (``"Ṣāstri"`` → ``"Sastri"``) and whatever is still outside Latin-1 becomes ``"?"``.
    """
    text = unicodedata.normalize("NFC", " ".join(text.split()))
    if latin1_only:
        text = "".join(_latin1_char(c) for c in text)
    return text


def _latin1_char(char: str) -> str:
    if ord(char) < 256:
        return char
    base = "".join(c for c in unicodedata.normalize("NFKD", char) if not unicodedata.combining(c))
    return base if base and all(ord(c) < 256 for c in base) else "?"


def _line_height(font: Font) -> int:
    if isinstance(font, ImageFont.FreeTypeFont):
        ascent, descent = font.getmetrics()
        return int(ascent + descent)
    return int(font.getbbox("Ag")[3]) + 2


def _break_word(word: str, width: float, measure: Callable[[str], float]) -> list[str]:
    """Split a word too wide for a line into pieces that fit (at least one char each)."""
    pieces: list[str] = []
    current = ""
    for char in word:
        if current and measure(current + char) > width:
            pieces.append(current)
            current = char
        else:
            current += char
    if current:
        pieces.append(current)
    return pieces


def _wrap(text: str, font: Font, width: float) -> list[str]:
    measure = font.getlength
    lines: list[str] = []
    current = ""
    for word in text.split(" "):
        candidate = f"{current} {word}" if current else word
        if measure(candidate) <= width:
            current = candidate
            continue
        if current:
            lines.append(current)
        pieces = [word] if measure(word) <= width else _break_word(word, width, measure)
        lines.extend(pieces[:-1])
        current = pieces[-1]
    lines.append(current)
    return lines


def _ellipsize(line: str, font: Font, width: float) -> str:
    mark = "…" if isinstance(font, ImageFont.FreeTypeFont) else "..."
    while line and font.getlength(line + mark) > width:
        line = line[:-1].rstrip()
    return line + mark


def _rest(text: str, lines: list[str]) -> str:
    """What of ``text`` follows the wrapped ``lines`` (they are its pieces, in order)."""
    pos = 0
    for line in lines:
        pos = text.index(line, pos) + len(line)
    return text[pos:].lstrip()


@dataclass(frozen=True)
class Block:
    """Lines of text set in one font, ready to draw."""

    lines: list[str]
    font: Font
    fill: int
    spacing: int

    @property
    def height(self) -> int:
        n = len(self.lines)
        return n * _line_height(self.font) + (n - 1) * self.spacing

    def draw(self, draw: ImageDraw.ImageDraw, x: int, y: int, width: int, center: bool) -> int:
        """Draw at top-left ``(x, y)``; return the y below the block."""
        step = _line_height(self.font) + self.spacing
        for line in self.lines:
            dx = (width - self.font.getlength(line)) / 2 if center else 0
            draw.text((x + dx, y), line, font=self.font, fill=self.fill)
            y += step
        return y - self.spacing


def fit(
    fonts: Fonts,
    text: str,
    *,
    role: Role,
    sizes: tuple[int, int],
    width: int,
    max_lines: int,
    fill: int = INK,
) -> Block:
    """Wrap ``text`` into ``width``; shrink from ``sizes[0]`` to ``sizes[1]``; then cut."""
    largest, smallest = sizes
    size = largest
    while True:
        font = fonts.get(role, size)
        clean = _printable(text, fonts.builtin(role)) or "-"
        lines = _wrap(clean, font, width)
        if len(lines) <= max_lines:
            break
        if size <= smallest:
            kept = lines[: max_lines - 1]
            lines = [*kept, _ellipsize(_rest(clean, kept), font, width)]
            break
        size = max(smallest, size - 2)
    return Block(lines, font, fill, spacing=max(4, size // 6))
