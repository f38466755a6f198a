"""Simulation: a staff photo held in front of the gate camera, through the real attendance path.

The simulator has no camera that can show a face, so :func:`simulate_face` stages one: the
photo is pasted into a 640×480 camera scene (the face about 170 px wide at the marked spot,
as a person standing there), moved by a pixel or two from frame to frame like somebody
breathing and keeping their balance, and the frames are handed one by one to
:meth:`AttendanceService.process_frame` — detection, landmarks and encoding in the face
worker process, matching, the motion check, then the gate's thermometer path, the liveness
and fever rules and the one recorder, exactly as frames from the real camera.

``skin_c`` is what the simulated thermometer sees on the forehead (the skin's surface
temperature); ``None`` means living skin of a healthy person (body 36.6 °C in the simulated
room). A printed photo or a phone screen reads about the room's temperature: pass the
ambient and liveness refuses it.
"""

from __future__ import annotations

import math
import time
import weakref
from dataclasses import dataclass
from typing import TYPE_CHECKING, Any

import cv2
import numpy as np

from kiosk.errors import InputError
from kiosk.faces.engine import Image
from kiosk.faces.quality import find_faces
from kiosk.services.results import GateResult

if TYPE_CHECKING:
    from kiosk.services.runtime import Kiosk

SCENE = (640, 480)
FACE_PX = 170
"""Face width in the scene: a person at the marked spot, 60–80 cm from the camera."""
FRAME_S = 0.1
"""Simulated time between frames (10 frames per second, like the gate camera)."""
BACKGROUND = 90
LIVING_BODY_C = 36.6


@dataclass(frozen=True)
class FaceOutcome:
    """What presenting a photo did: ``result`` is the word the simulator API answers."""

    result: str
    """``in``, ``out``, ``repeat``, ``unknown``, ``no_face``, ``liveness_failed`` or the
    reason code of another refusal (e.g. ``fever``)."""
    gate: GateResult | None = None
    name: str | None = None
    frames: int = 0

    def as_json(self, lang: str = "id") -> dict[str, Any]:
        out: dict[str, Any] = {"result": self.result, "frames": self.frames}
        if self.name is not None:
            out["name"] = self.name
        if self.gate is not None:
            out["gate"] = self.gate.as_json(lang)
        return out


def natural(i: int) -> tuple[float, float]:
    """Breathing and balance: a couple of pixels, smoothly."""
    return 2.0 * math.sin(i * 0.9), 1.5 * math.cos(i * 0.7)


def stage(photo: Image, face: tuple[float, float, float] | None) -> tuple[np.ndarray, float]:
    """The photo (RGB) scaled and placed for the scene: ``(BGR image, scale)``.

    ``face`` is ``(centre x, centre y, width)`` of the face found in the photo; without one
    the photo is fitted into the scene as it is (and the camera will find no face either).
    """
    bgr = cv2.cvtColor(photo, cv2.COLOR_RGB2BGR)
    h, w = bgr.shape[:2]
    fit = min(SCENE[0] / w, SCENE[1] / h)
    scale = FACE_PX / max(face[2], 1.0) if face is not None else fit
    interpolation = cv2.INTER_AREA if scale < 1 else cv2.INTER_LINEAR
    small = cv2.resize(bgr, None, fx=scale, fy=scale, interpolation=interpolation)
    return small, scale


def frame_at(small: np.ndarray, anchor: tuple[float, float], dx: float, dy: float) -> np.ndarray:
    """One 640×480 BGR frame: ``small``'s ``anchor`` point at the centre, shifted by dx, dy."""
    matrix = np.array(
        [[1, 0, SCENE[0] / 2 - anchor[0] + dx], [0, 1, SCENE[1] / 2 - anchor[1] + dy]],
        dtype=np.float32,
    )
    frame = np.full((SCENE[1], SCENE[0], 3), BACKGROUND, dtype=np.uint8)
    cv2.warpAffine(
        small, matrix, SCENE, dst=frame, flags=cv2.INTER_LINEAR, borderMode=cv2.BORDER_TRANSPARENT
    )
    return frame


class SimClock:
    """Monotonic times for the staged frames: each visit starts well after the last frame,
    so the pipeline sees the previous person leave."""

    def __init__(self) -> None:
        self._last = -math.inf

    def start(self, gap_s: float) -> float:
        t = max(time.monotonic(), self._last + gap_s)
        self._last = t
        return t

    def seen(self, t: float) -> None:
        self._last = max(self._last, t)


_CLOCKS: weakref.WeakKeyDictionary[Any, SimClock] = weakref.WeakKeyDictionary()
"""One frame clock per simulator (frames of successive visits never overlap in time)."""


def simulate_face(kiosk: Kiosk, photo: Image, skin_c: float | None = None) -> FaceOutcome:
    """Present ``photo`` (RGB) to the simulated gate camera; see the module docstring."""
    sim = kiosk.simulator
    attendance = kiosk.attendance
    if sim is None:
        raise RuntimeError("not in simulation mode")
    if attendance is None or attendance.pipeline is None:
        raise InputError(
            "face attendance is not running (enable attendance in the configuration; "
            f"status: {attendance.status if attendance else 'disabled'})"
        )
    pipeline = attendance.pipeline
    settings = pipeline.settings
    engine = pipeline.engine
    boxes = find_faces(engine, photo)
    face = None
    if boxes:
        box = max(boxes, key=lambda b: b.area)
        face = ((box.left + box.right) / 2, (box.top + box.bottom) / 2, float(box.width))
    small, scale = stage(photo, face)
    if face is not None:
        anchor = (face[0] * scale, face[1] * scale)
    else:
        anchor = (small.shape[1] / 2, small.shape[0] / 2)
    clock = _CLOCKS.setdefault(sim, SimClock())
    # Enough frames for the motion check to decide, and a few for re-encoding a turned face.
    budget = max(
        settings.motion.frames + 2 * settings.max_encodings,
        math.ceil(settings.motion.window_s / FRAME_S) + 2,
    )
    seen_face = False
    with sim.lock:
        previous_body, previous_ambient = sim.body_c, sim.ambient_c
        body = LIVING_BODY_C if skin_c is None else sim.model.estimate(skin_c, sim.ambient_c)
        sim.set_body_temperature(body)  # the skin the thermometer sees is ``skin_c`` exactly
        try:
            start = clock.start(settings.lost_after_s + 1.0)
            pipeline.reset()
            result = None
            frames = 0
            for i in range(budget):
                t = start + FRAME_S * i
                frames += 1
                clock.seen(t)
                frame = frame_at(small, anchor, *natural(i))
                outcome_state, result = _one_frame(kiosk, frame, t)
                seen_face = seen_face or outcome_state
                if result is not None:
                    break
        finally:
            sim.set_body_temperature(previous_body, previous_ambient)
            pipeline.reset()
    if result is None:
        return FaceOutcome("unknown" if seen_face else "no_face", frames=frames)
    detail = result.decision.detail
    word = detail.get("mark") or result.decision.reason.value
    return FaceOutcome(word, result, name=detail.get("name"), frames=frames)


def _one_frame(kiosk: Kiosk, frame: np.ndarray, t: float) -> tuple[bool, GateResult | None]:
    """One frame through the attendance service: (a face is being followed, the decision)."""
    attendance = kiosk.attendance
    assert attendance is not None and attendance.pipeline is not None
    result = attendance.process_frame(frame, t)
    return attendance.pipeline.following, result


__all__ = ["FaceOutcome", "simulate_face"]
