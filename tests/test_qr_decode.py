"""Booking QR decoding: real photos through the real decoder, and synthetic camera frames."""

from __future__ import annotations

from pathlib import Path

import cv2
import numpy as np
import pytest
import segno
import zxingcpp
from hypothesis import given, settings
from hypothesis import strategies as st
from hypothesis.extra.numpy import arrays

from kiosk.errors import InputError
from kiosk.vision import qr
from kiosk.vision.qr import decode_frame, load_image, text_of
from tests.datadir import shared_data

MIN_PHOTOS_READ = 165
"""Target on the 179 ZXing photos; decode_frame measured 170 (``python -m bench.qr``)."""
TWO_CODE_PHOTOS = {"qrcode-2/16.png"}
"""Photos that really hold a second code (inner and outer code of a "double QR")."""


# --- helpers -------------------------------------------------------------------------------


def symbol(data: str | bytes, module: int = 4, micro: bool = False) -> np.ndarray:
    """A segno code as a gray image: black modules on white, 4-module quiet zone."""
    code = segno.make_micro(data) if micro else segno.make_qr(data, encoding=None)
    dark = np.array(code.matrix, dtype=np.uint8)
    quiet = 2 if micro else 4
    image = np.pad((1 - dark) * 255, quiet, constant_values=255).astype(np.uint8)
    return np.kron(image, np.ones((module, module), np.uint8))


def camera_frame(
    image: np.ndarray,
    *,
    angle: float = 0.0,
    scale: float = 1.0,
    noise: float = 0.0,
    size: tuple[int, int] = (480, 640),
    seed: int = 0,
) -> np.ndarray:
    """``image`` scaled, rotated about the centre of a mid-gray BGR frame, plus sensor noise."""
    h, w = size
    frame = np.full((h, w), 150, np.uint8)
    placed = cv2.resize(image, None, fx=scale, fy=scale, interpolation=cv2.INTER_AREA)
    top, left = (h - placed.shape[0]) // 2, (w - placed.shape[1]) // 2
    frame[top : top + placed.shape[0], left : left + placed.shape[1]] = placed
    turn = cv2.getRotationMatrix2D((w / 2, h / 2), angle, 1.0)
    frame = cv2.warpAffine(frame, turn, (w, h), flags=cv2.INTER_LINEAR, borderValue=150)
    frame = cv2.GaussianBlur(frame, (0, 0), 0.7)
    if noise:
        grain = np.random.default_rng(seed).normal(0, noise, frame.shape)
        frame = np.clip(frame + grain, 0, 255).astype(np.uint8)
    return cv2.cvtColor(frame, cv2.COLOR_GRAY2BGR)


# --- the real photo set --------------------------------------------------------------------


def test_reads_the_photo_set_at_target_rate_without_misreads() -> None:
    folder = shared_data("qr-photos")
    read, misread = 0, []
    photos = sorted(p for p in folder.glob("qrcode-*/*") if p.suffix in (".png", ".jpg"))
    assert len(photos) == 179
    for path in photos:
        expected = path.with_suffix(".txt").read_bytes().decode("utf-8")
        texts = decode_frame(load_image(path))
        read += expected in texts
        name = f"{path.parent.name}/{path.name}"
        if name not in TWO_CODE_PHOTOS and any(t != expected for t in texts):
            misread.append(name)
    assert read >= MIN_PHOTOS_READ
    assert misread == []


def test_load_image_rejects_missing_and_non_image_files(tmp_path: Path) -> None:
    with pytest.raises(InputError, match="cannot read image"):
        load_image(tmp_path / "absent.png")
    not_image = tmp_path / "notes.png"
    not_image.write_text("not a picture")
    with pytest.raises(InputError, match="cannot read image"):
        load_image(not_image)


def test_load_image_gives_bgr_uint8(tmp_path: Path) -> None:
    path = tmp_path / "code.png"
    cv2.imwrite(str(path), symbol("BOOK-1"))
    image = load_image(path)
    assert image.dtype == np.uint8 and image.ndim == 3 and image.shape[2] == 3
    assert decode_frame(image) == ["BOOK-1"]


# --- synthetic camera frames ---------------------------------------------------------------


@pytest.mark.parametrize(
    ("angle", "scale", "noise"),
    [(0, 1.0, 0), (17, 1.0, 6), (90, 0.8, 4), (-35, 0.6, 8), (180, 1.4, 10), (233, 0.9, 12)],
)
def test_code_in_a_camera_frame_decodes_to_the_exact_text(
    angle: float, scale: float, noise: float
) -> None:
    text = "BKG-2024-000123|NIK:3314xxxxxxxx0001"
    frame = camera_frame(symbol(text), angle=angle, scale=scale, noise=noise, seed=abs(int(angle)))
    assert decode_frame(frame) == [text]


@pytest.mark.parametrize(
    "text",
    [
        "Dukcapil Sragen — antrian 12",
        "Ñandú · 東京 · عربى · 🎫",
        "line one\r\nline two\n",
        "A\x01B\x1d",  # control characters come back as themselves, not "<SOH>"
    ],
)
def test_text_round_trips_exactly(text: str) -> None:
    # As the booking generator makes them: segno picks the encoding (UTF-8 here).
    assert decode_frame(camera_frame(symbol(text))) == [text]


def test_non_utf8_payload_does_not_raise() -> None:
    # No ECI, not UTF-8: transcoded in the charset zxing-cpp guesses (ISO-8859-1 here).
    assert decode_frame(camera_frame(symbol(b"caf\xe9"))) == ["café"]
    texts = decode_frame(camera_frame(symbol(b"\xff\xfe\x00\x80booking")))
    assert len(texts) == 1 and texts[0].endswith("booking")


def test_unusable_library_text_falls_back_to_replaced_utf8() -> None:
    class Broken:
        bytes = b"bad \xff byte"

        @property
        def text(self) -> str:
            raise UnicodeDecodeError("utf-8", b"\xff", 0, 1, "invalid start byte")

    assert text_of(Broken()) == "bad \ufffd byte"  # type: ignore[arg-type]


def test_grayscale_bgr_and_bgra_frames_are_accepted() -> None:
    bgr = camera_frame(symbol("BOOK-7"), angle=10)
    gray = cv2.cvtColor(bgr, cv2.COLOR_BGR2GRAY)
    bgra = cv2.cvtColor(bgr, cv2.COLOR_BGR2BGRA)
    assert decode_frame(bgr) == decode_frame(gray) == decode_frame(bgra) == ["BOOK-7"]
    assert decode_frame(gray[:, :, np.newaxis]) == ["BOOK-7"]


def test_non_contiguous_frame_is_accepted() -> None:
    frame = camera_frame(symbol("BOOK-8", module=8), size=(480, 1280))
    assert decode_frame(frame[:, ::2]) == ["BOOK-8"]


@pytest.mark.parametrize(
    ("size", "working"),
    [((480, 640), (480, 640)), ((1080, 1920), (1080, 1920)), ((1944, 2592), (972, 1296))],
)
def test_only_frames_beyond_1080p_are_shrunk_by_a_whole_factor(
    size: tuple[int, int], working: tuple[int, int]
) -> None:
    gray = qr.working_image(np.zeros((*size, 3), np.uint8))
    assert gray is not None and gray.shape == working


def test_large_frames_decode() -> None:
    for size in [(1080, 1920), (1944, 2592)]:
        frame = camera_frame(symbol("BOOK-HD", module=12), angle=5, size=size, noise=5)
        assert decode_frame(frame) == ["BOOK-HD"]


def test_light_on_dark_code_decodes() -> None:
    assert decode_frame(255 - camera_frame(symbol("BOOK-DARK"))) == ["BOOK-DARK"]


def test_small_code_is_read() -> None:
    frame = camera_frame(symbol("BOOK-SMALL", module=2), scale=0.85, noise=3)
    assert decode_frame(frame) == ["BOOK-SMALL"]


def test_second_pass_runs_only_when_the_first_finds_nothing(
    monkeypatch: pytest.MonkeyPatch,
) -> None:
    calls: list[tuple[int, ...]] = []
    real = qr.read_zxing

    def spy(
        gray: np.ndarray, binarizer: zxingcpp.Binarizer = zxingcpp.Binarizer.LocalAverage
    ) -> list[str]:
        calls.append(gray.shape)
        assert binarizer is zxingcpp.Binarizer.GlobalHistogram
        return real(gray, binarizer)

    monkeypatch.setattr(qr, "read_zxing", spy)
    assert qr.decode_frame(camera_frame(symbol("BOOK-9"))) == ["BOOK-9"]
    assert calls == []  # the first pass read it
    assert qr.decode_frame(np.full((480, 640), 128, np.uint8)) == []
    assert calls == [(960, 1280)]  # thorough: the enlarged second pass ran


def test_live_frames_skip_the_second_pass_when_no_symbol_is_seen(
    monkeypatch: pytest.MonkeyPatch,
) -> None:
    calls: list[tuple[int, ...]] = []
    real = qr.read_zxing
    monkeypatch.setattr(
        qr,
        "read_zxing",
        lambda g, b=zxingcpp.Binarizer.LocalAverage: calls.append(g.shape) or real(g, b),
    )
    assert qr.decode_frame(np.full((480, 640), 128, np.uint8), thorough=False) == []
    assert calls == []
    # A detected but undecodable symbol still gets the second pass in live mode.
    path = shared_data("qr-photos") / "qrcode-4/34.png"
    expected = path.with_suffix(".txt").read_bytes().decode("utf-8")
    assert expected in qr.decode_frame(load_image(path), thorough=False)
    assert len(calls) == 1


def test_live_mode_still_meets_the_photo_target() -> None:
    photos = shared_data("qr-photos")
    read = 0
    images = sorted(p for p in photos.glob("qrcode-*/*") if p.suffix in (".png", ".jpg"))
    for image in images:
        expected = image.with_suffix(".txt").read_bytes().decode("utf-8")
        read += expected in decode_frame(load_image(image), thorough=False)
    assert len(images) == 179
    assert read >= 165


@pytest.mark.parametrize(
    "name", ["qrcode-2/12.png", "qrcode-2/28.png", "qrcode-4/09.png", "qrcode-4/34.png"]
)
def test_photos_rescued_by_the_second_pass_are_read(name: str) -> None:
    # Small or blurred codes that zxing-cpp 3.1's first pass misses (see bench/README.md).
    path = shared_data("qr-photos") / name
    expected = path.with_suffix(".txt").read_bytes().decode("utf-8")
    assert expected in decode_frame(load_image(path))


def test_several_codes_are_deduplicated_in_order_found() -> None:
    frame = np.full((480, 640), 255, np.uint8)
    a, b = symbol("BOOK-A"), symbol("BOOK-B")
    frame[20 : 20 + a.shape[0], 20 : 20 + a.shape[1]] = a
    frame[20 : 20 + a.shape[0], 340 : 340 + a.shape[1]] = a
    frame[300 : 300 + b.shape[0], 200 : 200 + b.shape[1]] = b
    assert len(zxingcpp.read_barcodes(frame)) == 3  # the library sees A twice
    assert sorted(decode_frame(frame)) == ["BOOK-A", "BOOK-B"]


def test_other_symbologies_are_ignored() -> None:
    frame = np.full((480, 640), 255, np.uint8)
    micro = symbol("BOOK", module=6, micro=True)
    frame[20 : 20 + micro.shape[0], 20 : 20 + micro.shape[1]] = micro
    for fmt, (top, left) in [
        (zxingcpp.BarcodeFormat.DataMatrix, (200, 20)),
        (zxingcpp.BarcodeFormat.Code128, (300, 20)),
        (zxingcpp.BarcodeFormat.Aztec, (20, 400)),
    ]:
        code = zxingcpp.create_barcode("BOOKING-123", fmt)
        image = np.asarray(zxingcpp.write_barcode_to_image(code, scale=3))
        frame[top : top + image.shape[0], left : left + image.shape[1]] = image
    assert len(zxingcpp.read_barcodes(frame)) == 4  # all four are readable symbols
    assert decode_frame(frame) == []


# --- frames without a code -----------------------------------------------------------------


def _no_code_frames() -> dict[str, np.ndarray]:
    rng = np.random.default_rng(3)
    y, x = np.mgrid[0:480, 0:640]
    text = np.full((480, 640), 230, np.uint8)
    for row in range(15):
        cv2.putText(text, "ANTRIAN 12 DUKCAPIL", (10, 30 + 30 * row), 0, 0.8, 0, 2)
    checker = (((y // 8) + (x // 8)) % 2 * 255).astype(np.uint8)
    return {
        "black": np.zeros((480, 640, 3), np.uint8),
        "white": np.full((480, 640, 3), 255, np.uint8),
        "gradient": (x * 255 // 639).astype(np.uint8),
        "noise": rng.integers(0, 256, (480, 640, 3), dtype=np.uint8),
        "text": text,
        "checkerboard": checker,
        "circles": cv2.circle(np.zeros((480, 640), np.uint8), (320, 240), 100, 255, 9),
    }


@pytest.mark.parametrize("name", sorted(_no_code_frames()))
def test_frame_without_a_code_gives_nothing(name: str) -> None:
    assert decode_frame(_no_code_frames()[name]) == []


@pytest.mark.parametrize("shape", [(0, 0), (0, 640, 3), (480, 0), (1, 1), (1, 1, 3), (2, 5, 4)])
def test_tiny_and_zero_size_frames_give_nothing(shape: tuple[int, ...]) -> None:
    assert decode_frame(np.zeros(shape, np.uint8)) == []


@pytest.mark.parametrize(
    "frame",
    [
        np.zeros((48, 64), np.float32),
        np.zeros((48, 64, 2), np.uint8),
        np.zeros((2, 48, 64, 3), np.uint8),
        np.zeros(5, np.uint8),
        [[0, 255], [255, 0]],
    ],
    ids=["float", "two-channel", "4-d", "1-d", "list"],
)
def test_malformed_frame_raises_input_error(frame: object) -> None:
    with pytest.raises(InputError, match="camera frame must be"):
        decode_frame(frame)  # type: ignore[arg-type]


def _shapes() -> st.SearchStrategy[tuple[int, ...]]:
    side = st.integers(0, 48)
    return st.one_of(
        st.tuples(side, side),
        st.tuples(side, side, st.sampled_from([1, 3, 4])),
    )


@settings(max_examples=150, deadline=None)
@given(arrays(np.uint8, _shapes()))
def test_random_frames_never_raise_and_never_decode(frame: np.ndarray) -> None:
    assert decode_frame(frame) == []


def test_helpers_render_a_plain_code() -> None:
    # Guards the helpers themselves: a straight, clean code must read.
    image = symbol("BOOK-0")
    assert image.shape[0] == image.shape[1]
    assert decode_frame(image) == ["BOOK-0"]
