"""Photos and frames into the arrays the face engine wants, in memory only.

Uploaded or file photos are decoded with Pillow (the phone's EXIF orientation applied, so a
portrait photo is not on its side) and never written anywhere. Camera frames are OpenCV BGR.
"""

from __future__ import annotations

import io
import warnings
from pathlib import Path

import cv2
import numpy as np
from PIL import Image as PILImage
from PIL import ImageOps, UnidentifiedImageError

from kiosk.errors import InputError
from kiosk.faces.engine import Image

MAX_PIXELS = 40_000_000
"""Larger photos are refused (a 12 MP phone photo is far below; protects memory)."""
MAX_BYTES = 25 * 1024 * 1024


def decode_photo(data: bytes, *, name: str = "photo") -> Image:
    """An RGB array from the bytes of a JPEG/PNG/… photo; :class:`InputError` if unreadable."""
    if len(data) > MAX_BYTES:
        raise InputError(f"{name}: file larger than {MAX_BYTES // (1024 * 1024)} MB")
    try:
        with warnings.catch_warnings():
            warnings.simplefilter("error", PILImage.DecompressionBombWarning)
            with PILImage.open(io.BytesIO(data)) as img:
                if img.width * img.height > MAX_PIXELS:
                    raise InputError(f"{name}: image larger than {MAX_PIXELS // 1_000_000} MP")
                upright = ImageOps.exif_transpose(img)
                array = np.asarray(upright.convert("RGB"), dtype=np.uint8)
    except (UnidentifiedImageError, OSError, PILImage.DecompressionBombWarning, ValueError):
        raise InputError(f"{name}: not a readable image (use a JPEG or PNG photo)") from None
    return np.ascontiguousarray(array)


def read_photo(path: Path) -> Image:
    """:func:`decode_photo` of a file."""
    try:
        data = path.read_bytes()
    except OSError as exc:
        raise InputError(f"{path}: cannot read ({exc.strerror or exc})") from None
    return decode_photo(data, name=str(path))


def frame_to_rgb(frame: np.ndarray) -> Image:
    """A camera frame (BGR or gray) as RGB."""
    if frame.ndim == 2:
        return np.ascontiguousarray(cv2.cvtColor(frame, cv2.COLOR_GRAY2RGB))
    return np.ascontiguousarray(cv2.cvtColor(frame, cv2.COLOR_BGR2RGB))


def to_gray(image: np.ndarray, *, rgb: bool) -> Image:
    if image.ndim == 2:
        return image
    code = cv2.COLOR_RGB2GRAY if rgb else cv2.COLOR_BGR2GRAY
    return np.asarray(cv2.cvtColor(image, code), dtype=np.uint8)


def shrink(image: Image, width: int) -> tuple[Image, float]:
    """``image`` scaled down to ``width`` pixels wide (never up); returns it and the factor
    that maps its coordinates back to the original."""
    h, w = image.shape[:2]
    if w <= width:
        return image, 1.0
    scale = width / w
    small = cv2.resize(image, (width, max(1, round(h * scale))), interpolation=cv2.INTER_AREA)
    return np.asarray(small, dtype=np.uint8), w / width
