"""Benchmark QR decoders on the shared photo set and on frames that hold no code.

Run from the repository root::

    .venv/bin/python -m bench.qr [--data DIR] [--repeat N] [--extended]

Rows: the product path (``kiosk.vision.qr.decode_frame``), its first pass alone, each decoder
called raw on the loaded photo, and the other decoders behind the product's preprocessing
(grayscale, size cap, enlarged second pass). A photo counts as read when one decoded text
equals its ``.txt`` file exactly (the files are compared byte for byte: their trailing
newlines are part of the encoded payloads). Times are per image: the median of ``--repeat``
runs, then the mean and 95th percentile over the photos. False decodes are counted on 200
synthetic 640×480 frames without a code and on the photos with their code painted over; every
text decoded there is false. pyzbar is optional (benchmark only; the kiosk never imports it).
"""

from __future__ import annotations

import argparse
import os
import platform
import sys
import time
from collections.abc import Callable
from dataclasses import dataclass, field
from importlib.metadata import version
from pathlib import Path

if __package__ in (None, ""):  # run as ``python bench/qr.py``
    sys.path.insert(0, str(Path(__file__).resolve().parent.parent))

import cv2
import numpy as np
import zxingcpp

from kiosk.vision import qr

ROOT = Path(__file__).resolve().parent.parent
Frame = np.ndarray
Reader = Callable[[Frame], list[str]]


# --- decoders ------------------------------------------------------------------------------


def zxing_raw(frame: Frame) -> list[str]:
    """zxing-cpp with the library's defaults (BGR in, HRI text), QR formats only."""
    found = zxingcpp.read_barcodes(frame, formats=zxingcpp.BarcodeFormat.QRCode)
    return [b.text for b in found]


def opencv_reader(detector: cv2.QRCodeDetector | cv2.QRCodeDetectorAruco) -> Reader:
    """Single-code ``detectAndDecode``: it read more photos than the ``Multi`` variant."""

    def read(frame: Frame) -> list[str]:
        text = detector.detectAndDecode(frame)[0]
        return [text] if text else []

    return read


def pyzbar_reader() -> Reader | None:
    try:
        from pyzbar import pyzbar
    except ImportError:
        return None

    def read(frame: Frame) -> list[str]:
        gray = frame if frame.ndim == 2 else cv2.cvtColor(frame, cv2.COLOR_BGR2GRAY)
        found = pyzbar.decode(gray, symbols=[pyzbar.ZBarSymbol.QRCODE])
        return [s.data.decode("utf-8", errors="replace") for s in found]

    return read


def with_product_preprocessing(read: Reader) -> Reader:
    """``read`` behind decode_frame's steps: gray, size cap, enlarged second pass."""

    def wrapped(frame: Frame) -> list[str]:
        gray = qr.working_image(frame)
        if gray is None:
            return []
        return read(gray) or read(qr.fallback_image(gray))

    return wrapped


def first_pass_only(frame: Frame) -> list[str]:
    gray = qr.working_image(frame)
    return [] if gray is None else qr.read_zxing(gray)


@dataclass
class Candidate:
    name: str
    preprocessing: str
    read: Reader


def candidates(extended: bool = False) -> list[Candidate]:
    """The default rows; ``extended`` adds the other decoders behind product preprocessing."""
    cv_plain, cv_aruco = cv2.QRCodeDetector(), cv2.QRCodeDetectorAruco()
    raw = [
        ("OpenCV QRCodeDetector", "raw", opencv_reader(cv_plain)),
        ("OpenCV QRCodeDetectorAruco", "raw", opencv_reader(cv_aruco)),
    ]
    if (zbar := pyzbar_reader()) is not None:
        raw.append(("pyzbar (ZBar)", "raw (gray)", zbar))
    rows = [
        Candidate(
            "**decode_frame** (zxing-cpp)", "product: gray, cap, 2× fallback", qr.decode_frame
        ),
        Candidate("zxing-cpp", "product first pass only", first_pass_only),
        Candidate("zxing-cpp", "raw (library defaults)", zxing_raw),
        *(Candidate(*row) for row in raw),
    ]
    if extended:
        rows += [
            Candidate(name, "product preprocessing", with_product_preprocessing(read))
            for name, _, read in raw
        ]
    return rows


# --- data ----------------------------------------------------------------------------------


@dataclass
class Photo:
    name: str
    image: Frame
    expected: str


def default_data() -> Path:
    env = os.environ.get("KIOSK_TESTDATA")
    return Path(env) if env else ROOT.parent / "shared" / "data"


def load_photos(data: Path) -> list[Photo]:
    folder = data / "qr-photos" if (data / "qr-photos").is_dir() else data
    photos = []
    for path in sorted(folder.glob("qrcode-*/*")):
        if path.suffix.lower() in (".png", ".jpg", ".jpeg"):
            expected = path.with_suffix(".txt").read_bytes().decode("utf-8")
            photos.append(Photo(f"{path.parent.name}/{path.name}", qr.load_image(path), expected))
    if not photos:
        sys.exit(f"no photos under {folder} (use --data or KIOSK_TESTDATA)")
    return photos


def synthetic_frames(count: int = 200, seed: int = 7) -> list[Frame]:
    """640×480 BGR frames without a code: noise, gradients, text, block patterns, look-alikes."""
    rng = np.random.default_rng(seed)
    makers = [_noise, _gradient, _text, _blocks, _qr_lookalike]
    frames = []
    for i in range(count):
        gray = makers[i % len(makers)](rng)
        frames.append(cv2.cvtColor(gray, cv2.COLOR_GRAY2BGR))
    return frames


def _noise(rng: np.random.Generator) -> Frame:
    img = rng.integers(0, 256, (480, 640), dtype=np.uint8)
    sigma = rng.choice([0, 0.8, 2.0])
    return cv2.GaussianBlur(img, (0, 0), sigma) if sigma else img


def _gradient(rng: np.random.Generator) -> Frame:
    y, x = np.mgrid[0:480, 0:640].astype(np.float32)
    a, b = rng.uniform(-0.4, 0.4, 2)
    img = np.clip(128 + a * x + b * y, 0, 255).astype(np.uint8)
    for _ in range(rng.integers(0, 6)):
        center = (int(rng.integers(0, 640)), int(rng.integers(0, 480)))
        axes = (int(rng.integers(10, 120)), int(rng.integers(10, 120)))
        color = int(rng.integers(0, 256))
        cv2.ellipse(img, center, axes, float(rng.uniform(0, 180)), 0, 360, color, -1)
    return img


def _text(rng: np.random.Generator) -> Frame:
    img = np.full((480, 640), int(rng.integers(180, 256)), np.uint8)
    letters = np.array(list("ABCDEFGHIJKLMNOPQRSTUVWXYZ0123456789 -:/"))
    for row in range(int(rng.integers(5, 20))):
        line = "".join(rng.choice(letters, int(rng.integers(8, 40))))
        y = 25 + row * 24
        cv2.putText(img, line, (10, y), cv2.FONT_HERSHEY_SIMPLEX, 0.6, 0, int(rng.integers(1, 3)))
    return img


def _blocks(rng: np.random.Generator) -> Frame:
    module = int(rng.integers(2, 13))
    grid = rng.integers(0, 2, (480 // module + 1, 640 // module + 1), dtype=np.uint8) * 255
    img = cv2.resize(grid, None, fx=module, fy=module, interpolation=cv2.INTER_NEAREST)
    return np.ascontiguousarray(img[:480, :640])


def _qr_lookalike(rng: np.random.Generator) -> Frame:
    """Random modules with three real finder patterns: looks like a QR code, holds none."""
    n = int(rng.choice([21, 25, 29, 33, 41]))
    grid = rng.integers(0, 2, (n, n), dtype=np.uint8)
    finder = np.ones((7, 7), np.uint8)
    finder[1:6, 1:6] = 0
    finder[2:5, 2:5] = 1
    for y, x in ((0, 0), (0, n - 7), (n - 7, 0)):
        grid[max(0, y - 1) : y + 8, max(0, x - 1) : x + 8] = 0  # light separator
        grid[y : y + 7, x : x + 7] = finder
    symbol = np.pad((1 - grid) * 255, 4, constant_values=255).astype(np.uint8)
    module = int(rng.integers(3, 440 // symbol.shape[0] + 1))
    symbol = cv2.resize(symbol, None, fx=module, fy=module, interpolation=cv2.INTER_NEAREST)
    img = np.full((480, 640), 200, np.uint8)
    h, w = symbol.shape
    top, left = (480 - h) // 2, (640 - w) // 2
    img[top : top + h, left : left + w] = symbol
    turn = cv2.getRotationMatrix2D((320, 240), float(rng.uniform(0, 360)), 1.0)
    return cv2.warpAffine(img, turn, (640, 480), borderValue=200)


def hd_frames(photos: list[Photo], seed: int = 11) -> list[tuple[Frame, str]]:
    """Each photo enlarged (3×, or less to fit) onto a textured 1920×1080 frame: a camera
    with three times the resolution, seeing the same scene."""
    rng = np.random.default_rng(seed)
    y, x = np.mgrid[0:1080, 0:1920].astype(np.float32)
    out = []
    for photo in photos:
        texture = cv2.GaussianBlur(rng.normal(0, 25, (1080, 1920)).astype(np.float32), (0, 0), 3)
        canvas = np.clip(90 + 0.04 * x + 0.03 * y + texture, 0, 255).astype(np.uint8)
        canvas = cv2.cvtColor(canvas, cv2.COLOR_GRAY2BGR)
        h, w = photo.image.shape[:2]
        f = min(3.0, 1080 / h, 1920 / w)
        big = cv2.resize(photo.image, None, fx=f, fy=f, interpolation=cv2.INTER_CUBIC)
        big = big[:1080, :1920]
        top = int(rng.integers(0, 1080 - big.shape[0] + 1))
        left = int(rng.integers(0, 1920 - big.shape[1] + 1))
        canvas[top : top + big.shape[0], left : left + big.shape[1]] = big
        out.append((canvas, photo.expected))
    return out


def capped(max_side: int) -> Reader:
    """decode_frame with another frame-size cap."""

    def read(frame: Frame) -> list[str]:
        gray = qr.working_image(frame, max_side=max_side)
        return [] if gray is None else qr.decode_gray(gray)

    return read


def cap_table(frames: list[tuple[Frame, str]], repeat: int) -> str:
    lines = [
        f"| frame-size cap (long side) | 1920×1080 decoded at | read /{len(frames)} "
        "| mean ms | p95 ms |",
        "|---|---|---|---|---|",
    ]
    for cap in (qr.MAX_SIDE, 1280, 640):
        read, times = 0, []
        for frame, expected in frames:
            runs = [timed(capped(cap), frame) for _ in range(repeat)]
            read += expected in (runs[0][0] or [])
            times.append(float(np.median([ms for _, ms in runs])))
        gray = qr.working_image(frames[0][0], max_side=cap)
        size = "?" if gray is None else f"{gray.shape[1]}×{gray.shape[0]}"
        label = f"{cap}" + (" (product)" if cap == qr.MAX_SIDE else "")
        t = np.array(times)
        lines.append(f"| {label} | {size} | {read} | {t.mean():.2f} | {np.percentile(t, 95):.2f} |")
    return "\n".join(lines)


def blanked_photos(photos: list[Photo]) -> list[Frame]:
    """The photos whose code zxing-cpp can locate, with that code painted over."""
    out = []
    for photo in photos:
        found = [
            b
            for b in zxingcpp.read_barcodes(photo.image, text_mode=zxingcpp.TextMode.Plain)
            if b.text == photo.expected
        ]
        if not found:
            continue
        image = photo.image.copy()
        fill = tuple(int(v) for v in np.median(image.reshape(-1, 3), axis=0))
        for b in found:
            p = b.position
            quad = np.array(
                [[pt.x, pt.y] for pt in (p.top_left, p.top_right, p.bottom_right, p.bottom_left)],
                np.float32,
            )
            centre = quad.mean(axis=0)
            grown = (centre + (quad - centre) * 1.35).round().astype(np.int32)
            cv2.fillConvexPoly(image, grown, fill)
        out.append(image)
    return out


# --- measuring -----------------------------------------------------------------------------


@dataclass
class Result:
    read: int = 0
    wrong: int = 0
    raised: int = 0
    times_ms: list[float] = field(default_factory=list)
    false_decodes: int = 0
    empty_ms: list[float] = field(default_factory=list)


def timed(read: Reader, frame: Frame) -> tuple[list[str] | None, float]:
    start = time.perf_counter()
    try:
        texts: list[str] | None = read(frame)
    except (cv2.error, UnicodeDecodeError):  # OpenCV raises on some real payloads
        texts = None
    return texts, (time.perf_counter() - start) * 1000


def measure(
    c: Candidate, photos: list[Photo], synthetic: list[Frame], blanked: list[Frame], repeat: int
) -> Result:
    r = Result()
    c.read(photos[0].image)  # warm up
    for photo in photos:
        runs = [timed(c.read, photo.image) for _ in range(repeat)]
        texts = runs[0][0]
        r.times_ms.append(float(np.median([ms for _, ms in runs])))
        if texts is None:
            r.raised += 1
            continue
        r.read += photo.expected in texts
        r.wrong += any(t != photo.expected for t in texts)
    for i, frame in enumerate(synthetic + blanked):
        texts, ms = timed(c.read, frame)
        r.false_decodes += len(texts or [])
        r.raised += texts is None
        if i < len(synthetic):
            r.empty_ms.append(ms)
    return r


NOTES = """
- read: photos where one decoded text equals the .txt file exactly; times: median of the
  repeats per photo, then mean / p95 over the photos (decoding only, file loading excluded).
- other text: photos where a decoder also returned a text other than the expected one.
  qrcode-2/16 holds two real codes (outer and inner), so 1 is the floor; above it are misreads
  (text mode or charset: e.g. `<SOH>` for 0x01, half-width katakana read as Chinese).
- raised: calls that raised (OpenCV: UnicodeDecodeError, or cv2.error for a Kanji-mode
  payload); counted as not read.
- false decodes: any text decoded from a frame without a code (must be 0).
- no-code 640×480: the kiosk's common case (nobody at the gate); includes the fallback pass."""


def table(rows: list[tuple[Candidate, Result]], n_photos: int, n_syn: int, n_blank: int) -> str:
    head = (
        f"| decoder | preprocessing | read /{n_photos} | mean ms | p95 ms | other text | raised "
        f"| false decodes ({n_syn} synthetic + {n_blank} blanked) | no-code 640×480 mean ms |"
    )
    lines = [head, "|" + "---|" * 9]
    for c, r in rows:
        t = np.array(r.times_ms)
        lines.append(
            f"| {c.name} | {c.preprocessing} | {r.read} | {t.mean():.2f} | "
            f"{np.percentile(t, 95):.2f} | {r.wrong} | {r.raised} | {r.false_decodes} | "
            f"{np.mean(r.empty_ms):.2f} |"
        )
    return "\n".join(lines)


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--data", type=Path, default=default_data(), help="shared data folder")
    parser.add_argument("--repeat", type=int, default=3, help="timed runs per photo (median)")
    parser.add_argument(
        "--extended",
        action="store_true",
        help="also: OpenCV and pyzbar behind the product's preprocessing, and the frame-size "
        "cap on 1920×1080 frames (slow: a few minutes)",
    )
    args = parser.parse_args(argv)
    if args.repeat < 1:
        parser.error("--repeat must be at least 1")

    photos = load_photos(args.data)
    synthetic = synthetic_frames()
    blanked = blanked_photos(photos)
    rows = []
    for c in candidates(args.extended):
        rows.append((c, measure(c, photos, synthetic, blanked, args.repeat)))
        print(f"measured {c.name} / {c.preprocessing}", file=sys.stderr)
    versions = (
        f"zxing-cpp {version('zxing-cpp')}, OpenCV {cv2.__version__}, "
        f"numpy {np.__version__}, Python {platform.python_version()}, "
        f"{os.cpu_count()} CPU(s), cv2 threads {cv2.getNumThreads()}, repeat {args.repeat}"
    )
    print(f"\n{versions}\n")
    print(table(rows, len(photos), len(synthetic), len(blanked)))
    print(NOTES)
    from bench.pipeline import run as pipeline_run

    print("\nLive pipeline and end to end through the gate service:\n")
    print(pipeline_run())
    if args.extended:
        print("\nFrame-size cap, decode_frame on the photos enlarged 3× into 1920×1080 frames:\n")
        print(cap_table(hd_frames(photos), args.repeat))
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
