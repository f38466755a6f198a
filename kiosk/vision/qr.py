"""Booking QR codes from camera frames.

``decode_frame(frame)`` is a pure function: a camera frame in, the QR texts it shows out.
The decoder is zxing-cpp, chosen by measurement (``python -m bench.qr``, see
``bench/README.md``): on the 179-photo ZXing black-box set it reads the most codes and is
the fastest of zxing-cpp, pyzbar, OpenCV ``QRCodeDetector`` and ``QRCodeDetectorAruco``.

How a frame is read (each step justified by the benchmark):

1. Grayscale (BGR, BGRA and single-channel frames are accepted). Faster than handing zxing-cpp
   a BGR frame, same read rate.
2. Frames whose long side exceeds ``MAX_SIDE`` are shrunk by the smallest whole factor that
   fits (area averaging; whole factors take OpenCV's fast path). 1080p frames are kept: in the
   1080p benchmark halving them read one code fewer (166 vs 167 of 179) for about half the
   time, and read rate comes first. Larger frames (camera stills) are shrunk to bound the time.
3. First pass: zxing-cpp with its default local-average binariser (rotation, inversion for
   light-on-dark screens, and its own downscaling pyramid included).
4. Only when the first pass finds nothing, a second pass: the frame enlarged up to
   ``FALLBACK_SCALE`` times (bicubic, never beyond ``FALLBACK_MAX_SIDE``) and read with the
   global-histogram binariser. This recovers small, blurred codes whose modules are one or two
   pixels wide (166 → 170 of 179 photos). It costs nothing when a code is found, and about
   2–3 ms on an empty 640×480 frame (first pass alone: about 1 ms).

Text: zxing-cpp's plain text mode, so control characters come back as themselves (its
default "human readable" mode would turn ``\\x01`` into ``<SOH>``; 165 → 166 photos). Bytes
are transcoded the way the QR standard says: an ECI designator wins, otherwise zxing-cpp
guesses the charset (UTF-8, Shift_JIS, ISO-8859-1). A payload that is not valid UTF-8
therefore never raises: it comes back as text in the guessed charset (``b"caf\\xe9"`` reads
as ``"café"``), which simply matches no booking. Should the library ever fail to produce
text, the raw bytes are decoded as UTF-8 with ``errors="replace"``.

Only QR Code (models 1 and 2) is read: Micro QR, rMQR and every other symbology are ignored.
"""

from __future__ import annotations

from os import PathLike

import cv2
import numpy as np
import zxingcpp

from kiosk.errors import InputError

MAX_SIDE = 1920
"""Frames longer than this (pixels) are shrunk by a whole factor before decoding."""
FALLBACK_SCALE = 2.0
"""Enlargement of the second pass, for small codes."""
FALLBACK_MAX_SIDE = 1280
"""The second pass never works on an image longer than this (pixels)."""

_QR_FORMATS = zxingcpp.BarcodeFormats(
    [zxingcpp.BarcodeFormat.QRCodeModel1, zxingcpp.BarcodeFormat.QRCodeModel2]
)


def decode_frame(frame: np.ndarray, *, thorough: bool = True) -> list[str]:
    """Return the QR texts in ``frame``, deduplicated, in the order found.

    ``frame`` is an H×W×3 BGR (or H×W×4 BGRA, H×W×1, H×W gray) uint8 array, as OpenCV
    delivers camera frames. An empty or tiny frame gives ``[]``. A frame that is not a
    uint8 image raises ``InputError``.

    ``thorough`` (stills, ``kiosk qr decode``): the second pass runs whenever the first
    finds nothing (170/179 real photos). Live camera frames use ``thorough=False``: the
    second pass runs only when the first pass *saw* a QR symbol it could not decode
    (168/179), so the usual empty frame costs no more than one bare decoder call — the
    next frame gives the code another chance anyway.
    """
    gray = working_image(frame)
    return [] if gray is None else decode_gray(gray, thorough=thorough)


def decode_gray(gray: np.ndarray, *, thorough: bool = True) -> list[str]:
    """Both passes over a prepared grayscale image (see :func:`decode_frame`)."""
    texts, seen_symbol = _first_pass(gray)
    if not texts and (thorough or seen_symbol):
        texts = read_zxing(fallback_image(gray), zxingcpp.Binarizer.GlobalHistogram)
    return texts


def _first_pass(gray: np.ndarray) -> tuple[list[str], bool]:
    """Texts of the first pass, and whether any QR symbol was detected at all."""
    found = zxingcpp.read_barcodes(
        gray, formats=_QR_FORMATS, text_mode=zxingcpp.TextMode.Plain, return_errors=True
    )
    texts = list(dict.fromkeys(text_of(b) for b in found if b.valid))
    return texts, bool(found)


def working_image(frame: np.ndarray, *, max_side: int = MAX_SIDE) -> np.ndarray | None:
    """The grayscale image the decoder works on, or ``None`` for a zero-size frame.

    Frames longer than ``max_side`` pixels are shrunk to it.
    """
    if not isinstance(frame, np.ndarray) or frame.dtype != np.uint8:
        raise InputError(
            "camera frame must be a uint8 numpy image, got "
            f"{type(frame).__name__} {getattr(frame, 'dtype', '')}".rstrip()
        )
    if frame.ndim == 3 and frame.shape[2] in (1, 3, 4):
        channels = frame.shape[2]
    elif frame.ndim == 2:
        channels = 1
    else:
        raise InputError(f"camera frame must be H×W or H×W×(1, 3 or 4), got shape {frame.shape}")
    if frame.shape[0] == 0 or frame.shape[1] == 0:
        return None
    if channels == 3:
        gray = cv2.cvtColor(frame, cv2.COLOR_BGR2GRAY)
    elif channels == 4:
        gray = cv2.cvtColor(frame, cv2.COLOR_BGRA2GRAY)
    else:
        gray = np.ascontiguousarray(frame.reshape(frame.shape[:2]))
    return _shrink(gray, max_side)


def fallback_image(gray: np.ndarray) -> np.ndarray:
    """``gray`` enlarged for the second pass: ``FALLBACK_SCALE`` times, within the cap.

    Never shrinks: an image already at or beyond the cap is returned as it is.
    """
    factor = min(FALLBACK_SCALE, FALLBACK_MAX_SIDE / max(gray.shape))
    return _resize(gray, factor, cv2.INTER_CUBIC) if factor > 1 else gray


def read_zxing(
    gray: np.ndarray, binarizer: zxingcpp.Binarizer = zxingcpp.Binarizer.LocalAverage
) -> list[str]:
    """One zxing-cpp pass over a grayscale image: QR texts, deduplicated, in order found."""
    found = zxingcpp.read_barcodes(
        gray, formats=_QR_FORMATS, text_mode=zxingcpp.TextMode.Plain, binarizer=binarizer
    )
    return list(dict.fromkeys(text_of(barcode) for barcode in found))


def text_of(barcode: zxingcpp.Barcode) -> str:
    """The barcode's text; its raw bytes as UTF-8 with replacement if the text is unusable."""
    try:
        return barcode.text
    except UnicodeDecodeError:
        return bytes(barcode.bytes).decode("utf-8", errors="replace")


def load_image(path: str | PathLike[str]) -> np.ndarray:
    """Read an image file as a BGR uint8 array (``cv2.imread``).

    Raises ``InputError`` when the file is missing or is not an image OpenCV can read.
    """
    image = cv2.imread(str(path), cv2.IMREAD_COLOR)
    if image is None:
        raise InputError(f"cannot read image {str(path)!r}: missing, unreadable or not an image")
    return image


def _shrink(gray: np.ndarray, max_side: int) -> np.ndarray:
    """Shrink by the smallest whole factor that fits ``max_side`` (area averaging).

    Whole factors take OpenCV's fast path: 0.07 ms for 1920×1080 → 960×540, against 4.6 ms
    for the same frame to 1280×720.
    """
    factor = -(-max(gray.shape) // max_side)  # ceiling division
    if factor == 1:
        return gray
    h, w = gray.shape[0] // factor, gray.shape[1] // factor
    if h == 0 or w == 0:
        return gray
    cropped = gray[: h * factor, : w * factor]
    return cv2.resize(cropped, (w, h), interpolation=cv2.INTER_AREA)


def _resize(gray: np.ndarray, factor: float, interpolation: int) -> np.ndarray:
    size = (max(1, round(gray.shape[1] * factor)), max(1, round(gray.shape[0] * factor)))
    return cv2.resize(gray, size, interpolation=interpolation)
