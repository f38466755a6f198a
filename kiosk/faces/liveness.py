"""Is the face in front of the camera moving like a person? (pure; times passed in)

A living face held in front of a camera is never perfectly still: breathing, balance and small
head movements shift it by a fraction of a percent of its width between frames, while a photo
on a stand or a phone propped up does not move at all, and a picture waved about (or a
detector hopping between two faces) jumps. We follow the face's centre — the mean of its five
landmarks, which is sub-pixel precise, unlike the detector's box that snaps to a coarse grid —
and its size over the last frames:

* ``too_few_frames``: fewer than ``frames`` observations within ``window_s`` — wait;
* ``jumping``: one frame-to-frame step larger than ``max_step`` face widths;
* ``frozen``: over the window, neither the centre nor the size moved by ``min_motion`` face
  widths;
* ``natural`` otherwise.

This is one layer. A photo held by a trembling hand moves naturally; the thermometer check
(skin temperature at the same moment, see :mod:`kiosk.domain.attendance`) catches it.
"""

from __future__ import annotations

import itertools
import math
from collections.abc import Sequence
from dataclasses import dataclass
from enum import StrEnum


class Motion(StrEnum):
    NATURAL = "natural"
    TOO_FEW_FRAMES = "too_few_frames"
    FROZEN = "frozen"
    JUMPING = "jumping"


@dataclass(frozen=True)
class MotionPolicy:
    frames: int = 5
    window_s: float = 3.0
    min_motion: float = 0.004
    max_step: float = 0.25


@dataclass(frozen=True)
class FacePoint:
    t: float
    """Seconds on a monotonic clock."""
    x: float
    y: float
    """Centre of the face (mean of its landmarks), pixels."""
    size: float
    """Face width (the detector's box), pixels: the unit of movement."""
    span: float = 0.0
    """Distance between the outer eye corners, pixels (precise; shows moving nearer/farther)."""


def assess_motion(points: Sequence[FacePoint], policy: MotionPolicy) -> Motion:
    """The verdict on the observations of one face, oldest first."""
    if not points:
        return Motion.TOO_FEW_FRAMES
    latest = points[-1].t
    recent = [p for p in points if latest - p.t <= policy.window_s]
    if len(recent) < policy.frames:
        return Motion.TOO_FEW_FRAMES
    recent = recent[-policy.frames :]
    width = sorted(p.size for p in recent)[len(recent) // 2]
    if width <= 0:
        return Motion.FROZEN
    for a, b in itertools.pairwise(recent):
        if math.hypot(b.x - a.x, b.y - a.y) / width > policy.max_step:
            return Motion.JUMPING
    mean_x = sum(p.x for p in recent) / len(recent)
    mean_y = sum(p.y for p in recent) / len(recent)
    spread = max(math.hypot(p.x - mean_x, p.y - mean_y) for p in recent) / width
    spans = [p.span or p.size for p in recent]
    size_change = (max(spans) - min(spans)) / width
    if max(spread, size_change) < policy.min_motion:
        return Motion.FROZEN
    return Motion.NATURAL
