"""Matching (tolerance + margin over the second-best person), liveness motion, sealing — no dlib."""

from __future__ import annotations

import os
import stat
from pathlib import Path

import numpy as np
import pytest

from kiosk.faces.liveness import FacePoint, Motion, MotionPolicy, assess_motion
from kiosk.faces.matcher import Gallery, MatchVerdict
from kiosk.faces.sealing import EncodingCipher, FaceKeyError, create_key_file, load_key

RNG = np.random.default_rng(7)


def unit(n: int = 1) -> np.ndarray:
    v = RNG.normal(size=(n, 128))
    return v / np.linalg.norm(v, axis=1, keepdims=True)


def at_distance(base: np.ndarray, d: float) -> np.ndarray:
    """A vector exactly ``d`` away from ``base``."""
    step = unit()[0]
    return base + d * step


def test_best_person_within_tolerance_is_accepted() -> None:
    a, b = unit(2)
    gallery = Gallery([1, 2], [a, b])
    match = gallery.match(at_distance(a, 0.3), tolerance=0.5, margin=0.05)
    assert match.verdict is MatchVerdict.MATCH and match.staff_id == 1
    assert match.distance == pytest.approx(0.3)


def test_stranger_beyond_tolerance_is_unknown() -> None:
    a, b = unit(2)
    match = Gallery([1, 2], [a, b]).match(at_distance(a, 0.55), tolerance=0.5, margin=0.05)
    assert match.verdict is MatchVerdict.TOO_FAR and not match.accepted
    assert match.staff_id == 1  # still named in the distance log


def test_two_people_about_as_close_is_refused_not_guessed() -> None:
    a = unit()[0]
    b = at_distance(a, 0.04)  # a near twin enrolled as somebody else
    probe = at_distance(a, 0.2)
    match = Gallery([1, 2], [a, b]).match(probe, tolerance=0.5, margin=0.05)
    assert match.verdict is MatchVerdict.AMBIGUOUS


def test_margin_is_against_the_second_best_person_not_the_same_persons_other_photo() -> None:
    a = unit()[0]
    a2 = at_distance(a, 0.02)  # the same person's second photo
    b = at_distance(a, 0.9)
    match = Gallery([1, 1, 2], [a, a2, b]).match(a, tolerance=0.5, margin=0.05)
    assert match.verdict is MatchVerdict.MATCH and match.staff_id == 1


def test_one_enrolled_person_has_no_second_best() -> None:
    a = unit()[0]
    match = Gallery([5], [a]).match(a, tolerance=0.5, margin=0.05)
    assert match.accepted and match.second_distance is None


def test_empty_gallery_matches_nobody() -> None:
    match = Gallery([], np.empty((0, 128))).match(unit()[0], tolerance=0.5, margin=0.05)
    assert match.verdict is MatchVerdict.NO_STAFF


def test_vectorised_distances_equal_the_brute_force_ones() -> None:
    ids = RNG.integers(1, 40, size=300)
    encodings = unit(300) * 0.6
    probe = unit()[0] * 0.6
    gallery = Gallery(ids.tolist(), encodings)
    brute = {}
    for staff_id, e in zip(ids, encodings, strict=True):
        d = float(np.linalg.norm(e - probe))
        brute[int(staff_id)] = min(d, brute.get(int(staff_id), 9.0))
    got = dict(zip(sorted(brute), gallery.distances(probe), strict=True))
    assert got == pytest.approx(brute, abs=1e-5)  # float32 matrix: exact to ~1e-6


def track(
    offsets: list[tuple[float, float]], width: float = 160.0, dt: float = 0.1
) -> list[FacePoint]:
    return [FacePoint(i * dt, 320 + x, 240 + y, width, 70.0) for i, (x, y) in enumerate(offsets)]


@pytest.mark.parametrize(
    ("offsets", "verdict"),
    [
        ([(0, 0), (0.8, 0.2), (1.5, -0.4), (0.9, 0.6), (0.2, 0.1)], Motion.NATURAL),
        ([(0, 0)] * 5, Motion.FROZEN),  # a photo on a stand, a propped-up phone
        ([(0, 0), (0.5, 0), (60, 0), (60.5, 0), (61, 0)], Motion.JUMPING),  # 60 px of 160 in 0.1 s
        ([(0, 0), (1, 0), (2, 0)], Motion.TOO_FEW_FRAMES),
    ],
)
def test_motion_natural_frozen_jumping(offsets: list[tuple[float, float]], verdict: Motion) -> None:
    assert assess_motion(track(offsets), MotionPolicy(frames=5, min_motion=0.004)) is verdict


def test_motion_only_counts_frames_within_the_window() -> None:
    points = track([(0, 0), (1, 0), (2, 0), (1, 0), (0, 0)], dt=1.0)
    assert assess_motion(points, MotionPolicy(frames=5, window_s=3.0)) is Motion.TOO_FEW_FRAMES


# -- sealing ------------------------------------------------------------------------
def test_key_file_is_created_private_and_never_overwritten(tmp_path: Path) -> None:
    path = tmp_path / "faces.key"
    assert create_key_file(path)
    assert stat.S_IMODE(path.stat().st_mode) == 0o600
    key = load_key(path)
    assert len(key) == 32
    assert not create_key_file(path)
    assert load_key(path) == key


def test_key_readable_by_others_is_refused(tmp_path: Path) -> None:
    path = tmp_path / "faces.key"
    create_key_file(path)
    os.chmod(path, 0o644)
    with pytest.raises(FaceKeyError, match="chmod 600"):
        load_key(path)


def test_missing_key_says_what_to_do(tmp_path: Path) -> None:
    with pytest.raises(FaceKeyError, match="restore it from the backup"):
        load_key(tmp_path / "faces.key")


def test_sealed_encoding_round_trips_and_is_bound_to_its_staff_member(tmp_path: Path) -> None:
    create_key_file(tmp_path / "k")
    cipher = EncodingCipher(load_key(tmp_path / "k"))
    encoding = unit()[0]
    sealed = cipher.seal(encoding, 3)
    assert encoding.astype("<f8").tobytes() not in sealed
    assert np.array_equal(cipher.open(sealed, 3), encoding)
    assert cipher.seal(encoding, 3) != sealed  # a fresh nonce every time
    with pytest.raises(FaceKeyError):
        cipher.open(sealed, 4)  # moved to another person's row
    other = tmp_path / "other"
    create_key_file(other)
    with pytest.raises(FaceKeyError):
        EncodingCipher(load_key(other)).open(sealed, 3)
