"""The face stack can never stop the gate: missing or broken, attendance says "unavailable"."""

from __future__ import annotations

import importlib.abc
import importlib.util
import sys
from collections.abc import Callable
from pathlib import Path
from typing import Any

import pytest

from kiosk.faces import engine as face_engine
from kiosk.faces.engine import REQUIRED_MODELS, FaceStackUnavailable, load_engine
from kiosk.services.runtime import Kiosk, simulate_present


def fake_models(folder: Path) -> Path:
    """Model files of the right names and sizes but garbage inside."""
    folder.mkdir(parents=True, exist_ok=True)
    for name in REQUIRED_MODELS:
        with (folder / name).open("wb") as fh:
            fh.truncate(2_000_000)
    return folder


def test_start_up_with_the_face_models_missing_keeps_the_gate_working(
    make_kiosk: Callable[..., Kiosk], tmp_path: Path
) -> None:
    empty = tmp_path / "no-models"
    empty.mkdir()
    kiosk = make_kiosk(attendance={"enabled": True, "models_dir": str(empty)})
    assert kiosk.attendance.status == "unavailable"
    assert "shape_predictor_5_face_landmarks.dat" in (kiosk.attendance.error or "")
    kiosk.start_background()  # no worker is started for an unavailable stack
    # The gate itself works on.
    from ui import create_app

    client = create_app(kiosk, {"TESTING": True}).test_client()
    health = client.get("/healthz").get_json()
    assert health["attendance"]["status"] == "unavailable"
    assert "install the face stack" in health["attendance"]["error"]
    result = simulate_present(kiosk, "NO-SUCH-BOOKING", 36.6)
    assert result.decision.reason.value == "booking_unknown"


def test_healthz_says_disabled_when_attendance_is_off(client: Any) -> None:
    assert client.get("/healthz").get_json()["attendance"]["status"] == "disabled"


def test_healthz_says_ok_with_the_number_enrolled(make_kiosk: Callable[..., Kiosk]) -> None:
    from ui import create_app

    kiosk = make_kiosk(attendance={"enabled": True})
    health = create_app(kiosk, {"TESTING": True}).test_client().get("/healthz").get_json()
    assert health["attendance"] == {"status": "ok", "error": None, "enrolled": 0}


def test_damaged_model_files_are_reported_not_fatal(tmp_path: Path) -> None:
    with pytest.raises(FaceStackUnavailable, match="cannot load the face models"):
        load_engine(fake_models(tmp_path / "m"))


def test_missing_model_package_is_reported(monkeypatch: pytest.MonkeyPatch) -> None:
    real = importlib.util.find_spec

    def find_spec(name: str, *args: Any) -> Any:
        return None if name == "face_recognition_models" else real(name, *args)

    monkeypatch.setattr(importlib.util, "find_spec", find_spec)
    with pytest.raises(FaceStackUnavailable, match="face_recognition_models is not installed"):
        face_engine.models_folder(None)


class _QuitOnImport(importlib.abc.MetaPathFinder):
    """Behaves like face_recognition does when its models fail to import: quit()."""

    def find_spec(self, name: str, path: Any, target: Any = None) -> Any:
        if name == "dlib":
            raise SystemExit("Please install `face_recognition_models`")
        return None


def test_an_import_that_calls_quit_cannot_end_the_process(
    monkeypatch: pytest.MonkeyPatch, tmp_path: Path
) -> None:
    monkeypatch.delitem(sys.modules, "dlib", raising=False)
    monkeypatch.setattr(sys, "meta_path", [_QuitOnImport(), *sys.meta_path])
    with pytest.raises(FaceStackUnavailable, match="cannot load dlib"):
        load_engine(fake_models(tmp_path / "m"))


def test_an_unimportable_dlib_is_reported(monkeypatch: pytest.MonkeyPatch, tmp_path: Path) -> None:
    monkeypatch.setitem(sys.modules, "dlib", None)  # "import dlib" raises ImportError
    with pytest.raises(FaceStackUnavailable, match="cannot load dlib"):
        load_engine(fake_models(tmp_path / "m"))


def test_the_68_point_model_is_never_loaded(monkeypatch: pytest.MonkeyPatch) -> None:
    import dlib

    opened: list[str] = []
    real = dlib.shape_predictor

    def spy(path: str) -> Any:
        opened.append(Path(path).name)
        return real(path)

    monkeypatch.setattr(dlib, "shape_predictor", spy)
    monkeypatch.setattr(face_engine, "_engines", {})
    load_engine()
    assert opened == ["shape_predictor_5_face_landmarks.dat"]
