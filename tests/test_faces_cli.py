"""`kiosk faces enroll/identify` on the shared photos: the acceptance interface.

Enrol ``enroll/PERSON/*`` as PERSON, identify every ``probe*/`` photo, compare with
``labels.csv``: everyone found, the stranger ``unknown``, no false accept.
"""

from __future__ import annotations

import csv
from collections import Counter
from pathlib import Path
from typing import Any

import cv2
import numpy as np
import pytest
from click.testing import CliRunner

from kiosk.cli import main
from tests.datadir import shared_data


def invoke(*args: str, input: str | None = None) -> Any:
    return CliRunner().invoke(main, list(args), catch_exceptions=False, input=input)


@pytest.fixture(scope="module")
def faces() -> Path:
    return shared_data("faces")


@pytest.fixture(scope="module")
def enrolled(tmp_path_factory: pytest.TempPathFactory, faces: Path) -> Path:
    folder = tmp_path_factory.mktemp("faces") / "data"
    assert invoke("init", str(folder)).exit_code == 0
    config = folder / "kiosk.toml"
    for person in sorted((faces / "enroll").iterdir()):
        photos = [str(p) for p in sorted(person.iterdir())]
        result = invoke("faces", "enroll", "--config", str(config), "--name", person.name, *photos)
        assert result.exit_code == 0, result.output
        assert "consent recorded" in result.output
    return config


def labels(faces: Path) -> dict[str, Counter[str]]:
    with (faces / "labels.csv").open(encoding="utf-8") as fh:
        return {row["file"]: Counter(row["expected"].split(";")) for row in csv.DictReader(fh)}


def test_identify_finds_everyone_and_reports_the_stranger_unknown(
    enrolled: Path, faces: Path
) -> None:
    truth = labels(faces)
    files = [str(faces / name) for name in truth]
    result = invoke("faces", "identify", "--config", str(enrolled), *files)
    assert result.exit_code == 0, result.output
    got: dict[str, Counter[str]] = {}
    for line in result.output.splitlines():
        path, name = line.split("\t")
        got.setdefault(str(Path(path).relative_to(faces)), Counter())[name] += 1
    assert got == truth  # every labelled person found, the stranger unknown, no false accept


def test_identify_prints_a_dash_for_a_photo_without_a_face(enrolled: Path, tmp_path: Path) -> None:
    empty = tmp_path / "wall.png"
    noise = np.random.default_rng(1).integers(0, 255, (240, 320, 3), dtype=np.uint8)
    cv2.imwrite(str(empty), cv2.GaussianBlur(noise, (9, 9), 3))
    result = invoke("faces", "identify", "--config", str(enrolled), str(empty))
    assert result.output == f"{empty}\t-\n"


def test_identify_unreadable_file_is_a_dash_and_exit_1(enrolled: Path, tmp_path: Path) -> None:
    bad = tmp_path / "notes.jpg"
    bad.write_text("not an image")
    result = CliRunner().invoke(main, ["faces", "identify", "--config", str(enrolled), str(bad)])
    assert result.exit_code == 1
    assert f"{bad}\t-\n" in result.output


def test_enrolment_never_writes_an_image_and_keeps_the_key_outside_the_database(
    enrolled: Path,
) -> None:
    names = sorted(p.name for p in enrolled.parent.iterdir())
    assert set(names) <= {
        "kiosk.toml",
        "kiosk.db",
        "kiosk.db-wal",
        "kiosk.db-shm",
        "faces.key",
        "keys",
        "secret_key",  # `kiosk init` writes the session key and the one-time setup code (#14)
        "setup-code",
    }
    key = (enrolled.parent / "faces.key").read_text().splitlines()[-1].encode()
    assert key not in (enrolled.parent / "kiosk.db").read_bytes()


def test_list_and_show_say_what_is_held(enrolled: Path) -> None:
    listing = invoke("faces", "list", "--config", str(enrolled)).output
    assert "obama\t2\t" in listing
    shown = invoke("faces", "show", "--config", str(enrolled), "obama").output
    assert "face_encodings: 2 (encrypted, 128 numbers each)" in shown
    assert "photos: none (photos are never stored)" in shown
    assert "consent_by: cli:" in shown


@pytest.fixture
def fresh(tmp_path: Path) -> Path:
    assert invoke("init", str(tmp_path / "d")).exit_code == 0
    return tmp_path / "d" / "kiosk.toml"


def photo(tmp_path: Path, name: str, image: Any) -> str:
    path = tmp_path / name
    cv2.imwrite(str(path), image)
    return str(path)


def test_enrolment_rejects_each_bad_photo_with_its_reason_and_stores_nothing(
    fresh: Path, faces: Path, tmp_path: Path
) -> None:
    good = cv2.imread(str(faces / "enroll" / "obama" / "obama.jpg"))
    small = cv2.resize(good, None, fx=0.2, fy=0.2, interpolation=cv2.INTER_AREA)
    blurred = cv2.GaussianBlur(good, (0, 0), 6)
    files = [
        photo(tmp_path, "wall.jpg", cv2.GaussianBlur(good, (0, 0), 60)),
        str(faces / "probe" / "obama_and_biden.jpg"),
        photo(tmp_path, "small.jpg", small),
        photo(tmp_path, "blurred.jpg", blurred),
        str(faces / "enroll" / "obama" / "obama2.jpg"),
    ]
    result = CliRunner().invoke(
        main, ["faces", "enroll", "--config", str(fresh), "--name", "Obama", *files]
    )
    assert result.exit_code == 1
    lines = dict(line.split("\t") for line in result.output.splitlines() if "\t" in line)
    assert lines[files[0]].startswith("rejected: no_face")
    assert lines[files[1]].startswith("rejected: several_faces — 3 faces")
    assert lines[files[2]].startswith("rejected: face_too_small")
    assert lines[files[3]].startswith("rejected: too_blurred")
    assert lines[files[4]].startswith("ok (not stored")
    assert "nothing enrolled" in result.output
    assert "Obama" not in invoke("faces", "list", "--config", str(fresh)).output


def test_enrolment_refuses_photos_of_different_people(fresh: Path, faces: Path) -> None:
    files = [
        str(faces / "enroll" / "obama" / "obama.jpg"),
        str(faces / "enroll" / "biden" / "biden.jpg"),
    ]
    result = CliRunner().invoke(
        main, ["faces", "enroll", "--config", str(fresh), "--name", "X", *files]
    )
    assert result.exit_code == 1
    assert "different_people" in result.output


def test_enrolment_refuses_a_face_already_enrolled_as_someone_else(
    fresh: Path, faces: Path
) -> None:
    obama = str(faces / "enroll" / "obama" / "obama.jpg")
    assert (
        invoke("faces", "enroll", "--config", str(fresh), "--name", "Obama", obama).exit_code == 0
    )
    again = str(faces / "enroll" / "obama" / "obama2.jpg")
    result = CliRunner().invoke(
        main, ["faces", "enroll", "--config", str(fresh), "--name", "Barry", again]
    )
    assert result.exit_code == 1
    assert "already_enrolled" in result.output


def test_more_than_five_photos_are_refused(fresh: Path, faces: Path) -> None:
    obama = str(faces / "enroll" / "obama" / "obama.jpg")
    result = CliRunner().invoke(
        main, ["faces", "enroll", "--config", str(fresh), "--name", "O", *[obama] * 6]
    )
    assert result.exit_code == 1
    assert "1 to 5 photos" in result.output


def test_withdraw_erases_the_encodings_and_identify_then_says_unknown(
    fresh: Path, faces: Path
) -> None:
    obama = str(faces / "enroll" / "obama" / "obama.jpg")
    invoke(
        "faces",
        "enroll",
        "--config",
        str(fresh),
        "--name",
        "Obama",
        "--consent-by",
        "Admin Sari",
        obama,
    )
    probe = str(faces / "probe" / "obama1.jpg")
    assert invoke("faces", "identify", "--config", str(fresh), probe).output == f"{probe}\tObama\n"
    result = invoke("faces", "withdraw", "--config", str(fresh), "Obama", "--by", "Admin Sari")
    assert "1 encoding(s) erased" in result.output
    assert (
        invoke("faces", "identify", "--config", str(fresh), probe).output == f"{probe}\tunknown\n"
    )
    listing = invoke("faces", "list", "--config", str(fresh)).output
    assert "Obama\t0\t-\t-" in listing  # the person stays (PIN, marks), no face data, no consent
