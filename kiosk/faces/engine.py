"""The dlib face stack behind a small face_recognition-style API, loaded without traps.

We use dlib (from the prebuilt ``dlib-bin`` wheels) and the model files of the
``face_recognition_models`` package directly instead of importing ``face_recognition``:

* ``face_recognition`` loads the 68-point landmark model at import. That model is trained on
  data licensed for non-commercial use only, and it costs ~100 MB of memory. We load only the
  HOG detector (built into dlib), the 5-point landmark model and the ResNet encoder.
* ``face_recognition_models/__init__.py`` imports ``pkg_resources`` (gone from setuptools ≥ 81
  and from Python ≥ 3.12 venvs); when that fails ``face_recognition`` calls ``quit()`` and the
  whole kiosk dies. We locate the model folder with :func:`importlib.util.find_spec`, which
  does not run the package, and check the files are there before dlib opens them.
* ``pip install face_recognition`` depends on the ``dlib`` sdist, which compiles for ~10 min on
  a PC and for hours (or out of memory) on a Pi.

:func:`load_engine` turns every way this can fail (package missing, file missing or damaged,
a broken native module, even ``SystemExit``) into :class:`FaceStackUnavailable` with a message
saying what to install. The functions keep face_recognition's conventions: boxes are
``(top, right, bottom, left)`` in pixels, images are RGB ``uint8`` arrays, encodings are 128
float64 numbers and their Euclidean distance is the face distance (same person < ~0.6).
"""

from __future__ import annotations

import importlib.util
import logging
import threading
from dataclasses import dataclass
from pathlib import Path
from typing import Any, Protocol

import numpy as np
import numpy.typing as npt

from kiosk.errors import KioskError

log = logging.getLogger(__name__)

LANDMARKS_5 = "shape_predictor_5_face_landmarks.dat"
ENCODER = "dlib_face_recognition_resnet_model_v1.dat"
REQUIRED_MODELS = (LANDMARKS_5, ENCODER)
"""Only these are ever loaded; never the 68-point model (non-commercial training data)."""
MIN_MODEL_BYTES = 1_000_000

Image = npt.NDArray[np.uint8]
Encoding = npt.NDArray[np.float64]

INSTALL_HINT = (
    "install the face stack with `pip install dlib-bin face_recognition_models` "
    "(or `make install`; on a Pi re-run deploy/install-pi.sh)"
)


class FaceStackUnavailable(KioskError):
    """dlib or its model files cannot be loaded: face attendance is off, the gate works on."""


@dataclass(frozen=True)
class Box:
    """A face box in pixels, face_recognition order: ``(top, right, bottom, left)``."""

    top: int
    right: int
    bottom: int
    left: int

    @property
    def width(self) -> int:
        return self.right - self.left

    @property
    def height(self) -> int:
        return self.bottom - self.top

    @property
    def area(self) -> int:
        return max(0, self.width) * max(0, self.height)

    def scaled(self, factor: float) -> Box:
        return Box(*(round(v * factor) for v in (self.top, self.right, self.bottom, self.left)))

    def clipped(self, height: int, width: int) -> Box:
        return Box(
            max(self.top, 0), min(self.right, width), min(self.bottom, height), max(self.left, 0)
        )

    def iou(self, other: Box) -> float:
        inter = Box(
            max(self.top, other.top),
            min(self.right, other.right),
            min(self.bottom, other.bottom),
            max(self.left, other.left),
        )
        if inter.width <= 0 or inter.height <= 0:
            return 0.0
        return inter.area / float(self.area + other.area - inter.area)

    def as_tuple(self) -> tuple[int, int, int, int]:
        return (self.top, self.right, self.bottom, self.left)


class FaceStack(Protocol):
    """What the pipeline and the enrolment checks call: a :class:`FaceEngine` in this process,
    or :class:`kiosk.faces.remote.FaceWorker` running one in a process of its own."""

    def locate(self, image: Image, *, upsample: int = 0) -> list[Box]: ...

    def landmarks(self, image: Image, box: Box) -> npt.NDArray[np.float64]: ...

    def encode(self, rgb: Image, box: Box, *, jitters: int = 1) -> Encoding: ...


def models_folder(configured: str | Path | None = None) -> Path:
    """The folder holding the model files: ``configured``, else the package's ``models/``.

    The package is found without importing it (its ``__init__`` needs ``pkg_resources``).
    """
    if configured:
        return Path(configured)
    try:
        spec = importlib.util.find_spec("face_recognition_models")
    except (ImportError, ValueError):
        spec = None
    if spec is None or not spec.submodule_search_locations:
        raise FaceStackUnavailable(
            f"face model package face_recognition_models is not installed — {INSTALL_HINT}"
        )
    return Path(next(iter(spec.submodule_search_locations))) / "models"


def check_models(folder: Path) -> None:
    """Raise :class:`FaceStackUnavailable` unless every required model file is present."""
    missing = []
    for name in REQUIRED_MODELS:
        path = folder / name
        try:
            ok = path.is_file() and path.stat().st_size >= MIN_MODEL_BYTES
        except OSError:
            ok = False
        if not ok:
            missing.append(name)
    if missing:
        raise FaceStackUnavailable(
            f"face model file(s) missing or damaged in {folder}: {', '.join(missing)} — "
            + INSTALL_HINT
        )


def _import_dlib() -> Any:
    try:
        import dlib
    except KeyboardInterrupt:
        raise
    except BaseException as exc:  # ImportError, OSError from a broken wheel, even SystemExit
        raise FaceStackUnavailable(
            f"cannot load dlib ({type(exc).__name__}: {exc}) — {INSTALL_HINT}"
        ) from None
    return dlib


class FaceEngine:
    """HOG detector + 5-point landmarks + ResNet encoder. Thread-safe (one lock per model)."""

    def __init__(self, folder: Path) -> None:
        check_models(folder)
        dlib = _import_dlib()
        try:
            self._detector = dlib.get_frontal_face_detector()
            self._landmarks = dlib.shape_predictor(str(folder / LANDMARKS_5))
            self._encoder = dlib.face_recognition_model_v1(str(folder / ENCODER))
        except KeyboardInterrupt:
            raise
        except BaseException as exc:
            raise FaceStackUnavailable(
                f"cannot load the face models from {folder} ({exc}) — {INSTALL_HINT}"
            ) from None
        self._rectangle = dlib.rectangle
        self.folder = folder
        self.dlib_version = str(getattr(dlib, "__version__", "?"))
        self._detect_lock = threading.Lock()
        self._encode_lock = threading.Lock()

    # -- the kiosk's calls -------------------------------------------------------
    def locate(self, image: Image, *, upsample: int = 0) -> list[Box]:
        """Face boxes found by the HOG detector (gray or RGB image), clipped to the image."""
        height, width = image.shape[:2]
        with self._detect_lock:
            rects = self._detector(np.ascontiguousarray(image), upsample)
        boxes = [
            Box(r.top(), r.right(), r.bottom(), r.left()).clipped(height, width) for r in rects
        ]
        return [b for b in boxes if b.width > 0 and b.height > 0]

    def landmarks(self, image: Image, box: Box) -> npt.NDArray[np.float64]:
        """The 5 landmark points (x, y) of the face in ``box`` (eye corners and nose)."""
        shape = self._shape(image, box)
        return np.array([(p.x, p.y) for p in shape.parts()], dtype=np.float64)

    def encode(self, rgb: Image, box: Box, *, jitters: int = 1) -> Encoding:
        """The 128-number encoding of the face in ``box`` of the full-resolution RGB image."""
        shape = self._shape(rgb, box)
        with self._encode_lock:
            descriptor = self._encoder.compute_face_descriptor(
                np.ascontiguousarray(rgb), shape, jitters
            )
        return np.asarray(descriptor, dtype=np.float64)

    def _shape(self, image: Image, box: Box) -> Any:
        rect = self._rectangle(box.left, box.top, box.right, box.bottom)
        return self._landmarks(np.ascontiguousarray(image), rect)

    # -- face_recognition's defaults, for comparison (bench/faces.py) ------------
    def face_locations(
        self, image: Image, number_of_times_to_upsample: int = 1
    ) -> list[tuple[int, int, int, int]]:
        """Like ``face_recognition.face_locations(image)`` with its default arguments."""
        return [b.as_tuple() for b in self.locate(image, upsample=number_of_times_to_upsample)]

    def face_encodings(
        self,
        image: Image,
        known_face_locations: list[tuple[int, int, int, int]] | None = None,
        num_jitters: int = 1,
    ) -> list[Encoding]:
        """Like ``face_recognition.face_encodings(image)``: detects again when no boxes given."""
        boxes = (
            [Box(*loc) for loc in known_face_locations]
            if known_face_locations is not None
            else self.locate(image, upsample=1)
        )
        return [self.encode(image, b, jitters=num_jitters) for b in boxes]


def face_distance(known: npt.NDArray[np.float64], probe: Encoding) -> npt.NDArray[np.float64]:
    """Euclidean distance from ``probe`` to each row of ``known`` (one vectorised step)."""
    if len(known) == 0:
        return np.empty((0,), dtype=np.float64)
    return np.asarray(np.linalg.norm(known - probe, axis=1), dtype=np.float64)


_engines: dict[Path, FaceEngine] = {}
_engines_lock = threading.Lock()


def load_engine(models_dir: str | Path | None = None) -> FaceEngine:
    """The face engine for ``models_dir`` (loaded once per process, then shared).

    Raises :class:`FaceStackUnavailable` (never ``SystemExit``) when it cannot be loaded.
    """
    folder = models_folder(models_dir).resolve()
    with _engines_lock:
        engine = _engines.get(folder)
        if engine is None:
            engine = FaceEngine(folder)
            _engines[folder] = engine
            log.info("face models loaded from %s (dlib %s)", folder, engine.dlib_version)
        return engine


__all__ = [
    "Box",
    "Encoding",
    "FaceEngine",
    "FaceStack",
    "FaceStackUnavailable",
    "Image",
    "face_distance",
    "load_engine",
    "models_folder",
]
