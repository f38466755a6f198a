"""Finding faces in still photos, and whether a photo is good enough to enrol.

A photo is enrolled only when it shows exactly one face, large enough and sharp enough for a
stable encoding; otherwise it is refused with a :class:`Rejection` code and a sentence saying
what to do. Sharpness is the variance of the Laplacian of the face region scaled to a fixed
160×160 size (so it does not depend on the photo's resolution): sharp faces in the shared test
photos score 90–1700, the same faces blurred by 1 % of the face width score ≤ 25.
"""

from __future__ import annotations

from dataclasses import dataclass
from enum import StrEnum

import cv2
import numpy as np

from kiosk.faces.engine import Box, Encoding, FaceStack, Image
from kiosk.faces.images import shrink, to_gray

STILL_MAX_SIDE = 1600
"""Photos are searched at most this large (bigger ones are shrunk first, for speed)."""
STILL_UPSAMPLE_BELOW = 800
"""Photos smaller than this are searched once upsampled, to find small faces."""
SHARPNESS_SIZE = 160


class Rejection(StrEnum):
    UNREADABLE = "unreadable"
    NO_FACE = "no_face"
    SEVERAL_FACES = "several_faces"
    FACE_TOO_SMALL = "face_too_small"
    TOO_BLURRED = "too_blurred"
    DIFFERENT_PEOPLE = "different_people"
    ALREADY_ENROLLED = "already_enrolled"
    """The face matches another staff member already enrolled."""


@dataclass(frozen=True)
class PhotoVerdict:
    name: str
    encoding: Encoding | None = None
    rejection: Rejection | None = None
    detail: str = ""

    @property
    def ok(self) -> bool:
        return self.rejection is None


def find_faces(engine: FaceStack, rgb: Image) -> list[Box]:
    """Every face in a still photo, in full-resolution coordinates.

    Searched at most :data:`STILL_MAX_SIDE` large; when that finds nothing (HOG misses faces
    under ~80 px), once more upsampled ×2 — small faces in a large photo (4× the detection
    time, spent only on photos that would otherwise be refused as ``no_face``).
    """
    h, w = rgb.shape[:2]
    gray = to_gray(rgb, rgb=True)
    longest = max(h, w)
    factor = 1.0
    if longest > STILL_MAX_SIDE:
        gray, factor = shrink(gray, round(w * STILL_MAX_SIDE / longest))
    first = 1 if longest < STILL_UPSAMPLE_BELOW else 0
    boxes = engine.locate(gray, upsample=first)
    if not boxes and first == 0:
        boxes = engine.locate(gray, upsample=1)
    if factor == 1.0:
        return boxes
    return [b.scaled(factor).clipped(h, w) for b in boxes]


def sharpness(rgb: Image, box: Box) -> float:
    """Variance of the Laplacian of the face region at 160×160 (higher = sharper)."""
    crop = to_gray(rgb[box.top : box.bottom, box.left : box.right], rgb=True)
    if crop.size == 0:
        return 0.0
    square = cv2.resize(crop, (SHARPNESS_SIZE, SHARPNESS_SIZE), interpolation=cv2.INTER_AREA)
    return float(cv2.Laplacian(square, cv2.CV_64F).var())


def check_photo(
    engine: FaceStack,
    rgb: Image,
    *,
    name: str,
    min_face_px: int,
    min_sharpness: float,
    jitters: int = 1,
) -> PhotoVerdict:
    """Encode the single face of an enrolment photo, or say why the photo is refused.

    ``jitters`` > 1 averages the encoder over that many randomly shifted, scaled and mirrored
    crops (dlib's ``num_jitters``; ~``jitters`` times the encoding time)."""
    boxes = find_faces(engine, rgb)
    if not boxes:
        return PhotoVerdict(
            name, rejection=Rejection.NO_FACE, detail="no face found — face the camera, no hat"
        )
    if len(boxes) > 1:
        return PhotoVerdict(
            name,
            rejection=Rejection.SEVERAL_FACES,
            detail=f"{len(boxes)} faces — use a photo of this person alone",
        )
    box = boxes[0]
    if box.width < min_face_px:
        return PhotoVerdict(
            name,
            rejection=Rejection.FACE_TOO_SMALL,
            detail=f"face is {box.width} px wide, at least {min_face_px} needed — "
            "take the photo closer or use a larger one",
        )
    score = sharpness(rgb, box)
    if score < min_sharpness:
        return PhotoVerdict(
            name,
            rejection=Rejection.TOO_BLURRED,
            detail=f"too blurred (sharpness {score:.0f}, at least {min_sharpness:.0f}) — "
            "hold still, focus on the face, use more light",
        )
    return PhotoVerdict(
        name, encoding=engine.encode(rgb, box, jitters=jitters), detail=f"sharpness {score:.0f}"
    )


def same_person(encodings: list[Encoding], tolerance: float) -> bool:
    """Whether every pair of encodings is within ``tolerance`` (photos of one person)."""
    for i, a in enumerate(encodings):
        for b in encodings[i + 1 :]:
            if float(np.linalg.norm(a - b)) > tolerance:
                return False
    return True
