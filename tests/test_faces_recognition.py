"""Better recognition: small faces in large photos, jittered enrolment encodings (through the
face worker), several photos per person used together. Real photos, the real dlib models."""

from __future__ import annotations

from collections.abc import Iterator
from pathlib import Path

import cv2
import numpy as np
import pytest

from kiosk.errors import InputError
from kiosk.faces.engine import FaceEngine, load_engine
from kiosk.faces.images import read_photo, to_gray
from kiosk.faces.quality import STILL_MAX_SIDE, check_photo, find_faces
from kiosk.faces.registry import FaceRegistry
from kiosk.faces.remote import FaceWorker
from tests.datadir import shared_data


@pytest.fixture(scope="module")
def faces() -> Path:
    return shared_data("faces")


@pytest.fixture(scope="module")
def engine() -> FaceEngine:
    return load_engine()


@pytest.fixture(scope="module")
def worker() -> Iterator[FaceWorker]:
    w = FaceWorker().start()
    assert w.status == "ok", w.error
    yield w
    w.close()


def small_face(photo: np.ndarray) -> np.ndarray:
    """The photo at 20 % in the corner of an 1800×1200 grey canvas (as bench/recognition.py)."""
    small = cv2.resize(photo, None, fx=0.2, fy=0.2, interpolation=cv2.INTER_AREA)
    canvas = np.full((1200, 1800, 3), 120, dtype=np.uint8)
    h, w = small.shape[:2]
    canvas[100 : 100 + h, 200 : 200 + w] = small
    return canvas


def test_small_face_in_a_large_photo_is_found_by_the_upsampling_fallback(
    engine: FaceEngine, faces: Path
) -> None:
    canvas = small_face(read_photo(faces / "enroll" / "obama" / "obama.jpg"))
    shrunk = cv2.resize(
        to_gray(canvas, rgb=True),
        (STILL_MAX_SIDE, round(1200 * STILL_MAX_SIDE / 1800)),
        interpolation=cv2.INTER_AREA,
    )
    assert engine.locate(shrunk, upsample=0) == []  # what the search found before
    [box] = find_faces(engine, canvas)
    # In full-resolution coordinates, inside the pasted photo (182×227 at 200,100).
    assert 200 <= box.left < box.right <= 200 + 182 and 100 <= box.top < box.bottom <= 327
    # …and it is the same person as the full-size photo.
    full = read_photo(faces / "enroll" / "obama" / "obama.jpg")
    [big] = find_faces(engine, full)
    distance = np.linalg.norm(engine.encode(canvas, box) - engine.encode(full, big))
    assert distance < 0.5


def test_a_photo_without_a_face_costs_the_fallback_and_still_finds_nothing(
    engine: FaceEngine,
) -> None:
    empty = np.full((1000, 1000, 3), 120, dtype=np.uint8)
    assert find_faces(engine, empty) == []


def test_jittered_encoding_through_the_worker_equals_in_process(
    worker: FaceWorker, engine: FaceEngine, faces: Path
) -> None:
    photo = read_photo(faces / "enroll" / "biden" / "biden2.jpg")
    kwargs = {"name": "biden2", "min_face_px": 80, "min_sharpness": 40.0}
    plain = check_photo(worker, photo, **kwargs)
    jittered = check_photo(worker, photo, jitters=4, **kwargs)
    local = check_photo(engine, photo, jitters=4, **kwargs)
    assert plain.encoding is not None and jittered.encoding is not None
    assert local.encoding is not None
    # dlib's jitters are random crops with a fixed seed: the same in both processes.
    assert np.allclose(jittered.encoding, local.encoding, atol=1e-6)
    # Averaged over shifted crops: a different encoding of the same face.
    assert 0.0 < np.linalg.norm(jittered.encoding - plain.encoding) < 0.15


def test_enrol_several_photos_with_jitters_and_identify(
    make_registry: FaceRegistry, faces: Path
) -> None:
    registry = make_registry
    obama = [(p.name, read_photo(p)) for p in sorted((faces / "enroll" / "obama").iterdir())]
    with pytest.raises(InputError, match="jitters"):
        registry.enroll("Pak Obama", obama, consent_by="admin", jitters=0)
    assert registry.enroll("Pak Obama", obama, consent_by="admin", jitters=2).stored == 2
    biden = [(p.name, read_photo(p)) for p in sorted((faces / "enroll" / "biden").iterdir())]
    assert registry.enroll("Pak Biden", biden, consent_by="admin").stored == 2
    found = registry.identify(read_photo(faces / "probe" / "obama_and_biden.jpg"))
    assert sorted(f.name or "unknown" for f in found) == ["Pak Biden", "Pak Obama", "unknown"]


@pytest.fixture
def make_registry(tmp_path: Path, engine: FaceEngine) -> Iterator[FaceRegistry]:
    from kiosk.config import load_config
    from kiosk.datadir import init_data_dir
    from kiosk.storage import Database

    config = load_config(init_data_dir(tmp_path / "d"))
    db = Database(config.database_path)
    db.migrate()
    yield FaceRegistry(config, db, engine=engine)
    db.close()
