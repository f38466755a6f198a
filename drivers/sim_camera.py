"""Simulated camera: renders the presented QR code into a camera-like frame.

The frame goes through the same decoder as a real camera's, so the simulator
exercises the real scanning path. A presented code is drawn as a printed
card on a textured desk, slightly rotated, blurred and noisy, like a phone
camera would see it. Deterministic per text, so failures are reproducible.
"""

from __future__ import annotations

import threading
import zlib

import cv2
import numpy as np
import segno

from drivers.base import Frame
from drivers.errors import InputError

MAX_QR_TEXT_BYTES = 1200
"""Longest text the simulated camera shows; longer ones do not fit a legible QR at 640×480."""


def render_scene(text: str | None, *, width: int = 640, height: int = 480) -> Frame:
    """A BGR frame showing ``text`` as a QR code (or an empty scene for ``None``)."""
    seed = zlib.crc32((text or "").encode("utf-8", "surrogatepass"))
    rng = np.random.default_rng(seed)
    # A desk: low-frequency shading plus sensor noise.
    ys, xs = np.mgrid[0:height, 0:width].astype(np.float32)
    base = 120 + 30 * np.sin(xs / 97.0 + seed % 7) + 20 * np.cos(ys / 71.0)
    scene = np.dstack([base * 0.9, base, base * 1.05])
    if text is not None:
        scene = _place_code(scene, _qr_image(text), rng)
    scene += rng.normal(0, 4.0, scene.shape)
    frame = np.clip(scene, 0, 255).astype(np.uint8)
    blurred: Frame = cv2.GaussianBlur(frame, (3, 3), 0.6)
    return blurred


def _qr_image(text: str) -> np.ndarray:
    data = text.encode("utf-8", "surrogatepass")
    if len(data) > MAX_QR_TEXT_BYTES:
        raise InputError(
            f"QR text is {len(data)} bytes; the simulated camera shows at most "
            f"{MAX_QR_TEXT_BYTES} (a booking code is far shorter)"
        )
    try:
        qr = segno.make(data, error="m", micro=False)
    except segno.DataOverflowError:  # pragma: no cover - guarded by the length check
        raise InputError("QR text too long for a QR code") from None
    matrix = np.array([list(row) for row in qr.matrix], dtype=np.uint8)
    return np.pad(matrix, 4)  # quiet zone


def _place_code(scene: np.ndarray, modules: np.ndarray, rng: np.random.Generator) -> np.ndarray:
    height, width = scene.shape[:2]
    n = modules.shape[0]
    side = int(min(height, width) * 0.8)
    module_px = max(2, side // n)
    card = np.where(np.kron(modules, np.ones((module_px, module_px))) > 0, 25.0, 235.0)
    size = card.shape[0]
    angle = float(rng.uniform(-12, 12))
    scale = 1.0
    centre = (width / 2 + rng.uniform(-20, 20), height / 2 + rng.uniform(-15, 15))
    matrix = cv2.getRotationMatrix2D((size / 2, size / 2), angle, scale)
    matrix[0, 2] += centre[0] - size / 2
    matrix[1, 2] += centre[1] - size / 2
    warped = cv2.warpAffine(card.astype(np.float32), matrix, (width, height), borderValue=-1)
    mask = warped >= 0
    out = scene.copy()
    for c in range(3):
        channel = out[:, :, c]
        channel[mask] = warped[mask]
    return out


class SimCamera:
    """Camera twin: ``present(text)`` puts a code in view, ``clear()`` takes it away."""

    def __init__(self, *, width: int = 640, height: int = 480) -> None:
        self.width, self.height = width, height
        self._lock = threading.Lock()
        self._frame = render_scene(None, width=width, height=height)
        self._text: str | None = None
        self.closed = False

    def present(self, text: str) -> None:
        frame = render_scene(text, width=self.width, height=self.height)
        with self._lock:
            self._frame, self._text = frame, text

    def clear(self) -> None:
        frame = render_scene(None, width=self.width, height=self.height)
        with self._lock:
            self._frame, self._text = frame, None

    @property
    def showing(self) -> str | None:
        return self._text

    def read(self) -> Frame:
        with self._lock:
            return self._frame.copy()

    def close(self) -> None:
        self.closed = True
