"""Camera frames → "staff member N is in front of the gate" (or nothing), cheaply.

Per frame, in order, stopping as soon as there is nothing more to do:

1. **Change gate**: while nobody is being followed, a 64×48 thumbnail is compared with the
   last one that triggered a search; an unchanged scene costs a resize and a subtraction
   (a search still runs every ``idle_recheck_s`` in case someone arrived unnoticed).
2. **Detect** with dlib's HOG detector, no upsampling, on the frame shrunk to
   ``detect_width`` pixels (320 by default: 1/4 of the pixels of 640×480, 1/16 of what the
   library's default one-time upsampling searches). The largest face is the visitor (one
   person at a time at the marked spot).
3. **Track** that face across frames (box overlap) and record its landmark centre for the
   motion check; 5-point landmarks at full resolution cost ~0.3 ms.
4. **Encode once per visit**, at the face's full resolution (the box mapped back up), and
   match against every enrolled encoding in one vectorised step; a face that matched nobody
   is tried again at most ``max_encodings`` times (it may have been turning away). The
   distances are logged, never the image.
5. When a matched face has been followed long enough, emit one :class:`Candidate` with the
   match and the motion verdict; the attendance service then checks the thermometer.
"""

from __future__ import annotations

import logging
import math
from collections.abc import Callable
from dataclasses import dataclass, field

import cv2
import numpy as np

from drivers.base import Frame
from kiosk.faces.engine import Box, FaceStack
from kiosk.faces.images import frame_to_rgb, shrink, to_gray
from kiosk.faces.liveness import FacePoint, Motion, MotionPolicy, assess_motion
from kiosk.faces.matcher import EMPTY_GALLERY, Gallery, Match

log = logging.getLogger(__name__)

THUMB = (64, 48)
SAME_FACE_IOU = 0.3
MAX_POINTS = 90


@dataclass(frozen=True)
class PipelineSettings:
    detect_width: int = 320
    tolerance: float = 0.5
    margin: float = 0.05
    motion: MotionPolicy = field(default_factory=MotionPolicy)
    change_threshold: float = 3.0
    """Mean absolute grey-level change of the thumbnail that counts as "something changed"."""
    idle_recheck_s: float = 1.0
    lost_after_s: float = 1.0
    """A face not seen for this long has left; the next one is a new visit."""
    max_encodings: int = 3
    reencode_after_s: float = 0.5


@dataclass(frozen=True)
class Candidate:
    """A followed face that matched a staff member: ready for the thermometer and a decision."""

    match: Match
    motion: Motion
    box: Box
    frames: int


@dataclass(frozen=True)
class FrameOutcome:
    state: str
    """``skipped`` (nothing changed), ``no_face``, ``following`` or ``candidate``."""
    candidate: Candidate | None = None
    faces: int = 0


class ChangeGate:
    """Did anything change in front of the camera since the last search?"""

    def __init__(self, threshold: float) -> None:
        self.threshold = threshold
        self._reference: np.ndarray | None = None

    def changed(self, gray: np.ndarray) -> bool:
        thumb = cv2.resize(gray, THUMB, interpolation=cv2.INTER_AREA).astype(np.int16)
        if self._reference is None or self._reference.shape != thumb.shape:
            self._reference = thumb
            return True
        if float(np.mean(np.abs(thumb - self._reference))) >= self.threshold:
            self._reference = thumb
            return True
        return False


@dataclass
class _Visit:
    box: Box
    started: float
    last_seen: float
    points: list[FacePoint] = field(default_factory=list)
    match: Match | None = None
    encodings: int = 0
    encoded_at: float = -math.inf
    done: bool = False


class FacePipeline:
    """Feed it frames with their monotonic time; see the module docstring."""

    def __init__(
        self,
        engine: FaceStack,
        settings: PipelineSettings | None = None,
        *,
        gallery: Callable[[], Gallery] | None = None,
    ) -> None:
        self.engine = engine
        self.settings = settings or PipelineSettings()
        self._gallery = gallery or (lambda: EMPTY_GALLERY)
        self._gate = ChangeGate(self.settings.change_threshold)
        self._visit: _Visit | None = None
        self._last_search = -math.inf

    def reset(self) -> None:
        self._visit = None

    @property
    def following(self) -> bool:
        """Whether a face is being followed now (found in a recent frame)."""
        return self._visit is not None

    def process(self, frame: Frame, t: float) -> FrameOutcome:
        s = self.settings
        gray = to_gray(frame, rgb=False)
        height, width = gray.shape[:2]
        small, factor = shrink(gray, s.detect_width)
        changed = self._gate.changed(small)
        if self._visit is None and not changed and t - self._last_search < s.idle_recheck_s:
            return FrameOutcome("skipped")
        self._last_search = t
        boxes = [b.scaled(factor).clipped(height, width) for b in self.engine.locate(small)]
        if not boxes:
            if self._visit is not None and t - self._visit.last_seen > s.lost_after_s:
                self._visit = None
            return FrameOutcome("no_face")
        box = max(boxes, key=lambda b: b.area)
        visit = self._follow(box, t)
        visit.points.append(self._point(gray, box, t))
        del visit.points[:-MAX_POINTS]
        if self._wants_encoding(visit, t):
            self._encode(visit, frame, box, t)
        candidate = None if visit.done else self._ready(visit, t)
        if candidate is not None:
            visit.done = True
            return FrameOutcome("candidate", candidate, len(boxes))
        return FrameOutcome("following", None, len(boxes))

    # -- steps -----------------------------------------------------------------
    def _follow(self, box: Box, t: float) -> _Visit:
        visit = self._visit
        if (
            visit is None
            or t - visit.last_seen > self.settings.lost_after_s
            or visit.box.iou(box) < SAME_FACE_IOU
        ):
            visit = _Visit(box, started=t, last_seen=t)
            self._visit = visit
        visit.box, visit.last_seen = box, t
        return visit

    def _point(self, gray: np.ndarray, box: Box, t: float) -> FacePoint:
        marks = self.engine.landmarks(gray, box)
        centre = marks.mean(axis=0)
        span = float(np.hypot(*(marks[0] - marks[2])))  # outer corners of the two eyes
        return FacePoint(t, float(centre[0]), float(centre[1]), float(box.width), span)

    def _wants_encoding(self, visit: _Visit, t: float) -> bool:
        s = self.settings
        if visit.match is not None and visit.match.accepted:
            return False
        return visit.encodings < s.max_encodings and t - visit.encoded_at >= s.reencode_after_s

    def _encode(self, visit: _Visit, frame: Frame, box: Box, t: float) -> None:
        s = self.settings
        encoding = self.engine.encode(frame_to_rgb(frame), box)
        visit.match = self._gallery().match(encoding, tolerance=s.tolerance, margin=s.margin)
        visit.encodings += 1
        visit.encoded_at = t
        log.info("face distances: %s (face %d px)", visit.match.describe(), box.width)

    def _ready(self, visit: _Visit, t: float) -> Candidate | None:
        match = visit.match
        if match is None or not match.accepted:
            return None
        motion_policy = self.settings.motion
        motion = assess_motion(visit.points, motion_policy)
        waited = t - visit.started >= motion_policy.window_s
        if (
            motion is Motion.NATURAL
            or motion is Motion.JUMPING
            or (motion is Motion.FROZEN and waited)
        ):
            return Candidate(match, motion, visit.box, len(visit.points))
        return None
