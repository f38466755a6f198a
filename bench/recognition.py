"""Staff recognition quality: enrolment strategies on the shared faces, with zero false accepts.

    .venv/bin/python -m bench.recognition [--data DIR] [--jitters N]   (also: make bench-faces)

Data: ``faces/`` from ``$KIOSK_TESTDATA`` or ``../shared/data``: ``enroll/<person>/*`` (9 photos
of 5 people), ``probe/`` and ``probe-extra/`` with ``labels.csv`` (the people in each photo,
``unknown`` for a face of nobody enrolled). Every face goes through the product path
(:func:`kiosk.faces.quality.find_faces`, the encoder, :class:`kiosk.faces.matcher.Gallery`
with the configured tolerance 0.5 and margin 0.05). Labelled sets:

* **probe**: the 11 faces of ``probe/`` and ``probe-extra/`` against a gallery of all
  enrolment photos;
* **leave-one-out**: each enrolment photo of a person with two photos against a gallery of
  every *other* enrolment photo (so the person is enrolled with one photo);
* **strangers**: every labelled face (probe faces and enrolment photos) against a gallery
  with that person removed altogether: any acceptance is a false accept;
* **small faces**: each enrolment photo shrunk to 20 % inside a 1800×1200 grey canvas (the
  face ~60–100 px wide, ~55–90 px after the still-photo downscale to 1600): the detector
  without upsampling misses most; with the fallback to one upsampling it finds them.

Strategies compared: per-person **nearest** distance over all encodings (the product) vs the
**mean** encoding per person; enrolment encodings with 1 jitter vs ``--jitters`` (dlib's
``num_jitters``: the encoder averaged over randomly shifted, scaled and mirrored crops).
"""

from __future__ import annotations

import argparse
import csv
import os
import statistics
import sys
import time
from collections import Counter
from collections.abc import Sequence
from dataclasses import dataclass, field
from pathlib import Path

import cv2
import numpy as np

from kiosk.faces.engine import Encoding, FaceEngine, Image, load_engine
from kiosk.faces.images import read_photo, to_gray
from kiosk.faces.matcher import Gallery
from kiosk.faces.quality import find_faces

ROOT = Path(__file__).resolve().parent.parent
TOLERANCE, MARGIN = 0.5, 0.05


def data_dir(given: str | None) -> Path:
    for base in (given, os.environ.get("KIOSK_TESTDATA"), str(ROOT.parent / "shared" / "data")):
        if base and (Path(base) / "faces" / "enroll").is_dir():
            return Path(base) / "faces"
    sys.exit("faces/enroll not found: pass --data DIR or set KIOSK_TESTDATA")


@dataclass
class Tally:
    identified: int = 0
    expected_known: int = 0
    unknown_ok: int = 0
    expected_unknown: int = 0
    false_accepts: int = 0
    missed_faces: int = 0
    notes: list[str] = field(default_factory=list)
    genuine: list[float] = field(default_factory=list)
    """Distances of faces identified correctly."""
    stranger: list[float] = field(default_factory=list)
    """Best-person distances of faces refused as unknown."""

    def add(
        self,
        predicted: Sequence[tuple[str, float]],
        expected: Sequence[str],
        what: str,
    ) -> None:
        """Compare one photo's predicted names (``unknown`` for a refused face) with its
        labels as multisets: a name not expected is a false accept."""
        for name, d in predicted:
            if name == "unknown":
                self.stranger.append(d)
            elif name in expected:
                self.genuine.append(d)
        want = Counter(expected)
        self.expected_known += sum(n for k, n in want.items() if k != "unknown")
        self.expected_unknown += want["unknown"]
        got = Counter(name for name, _ in predicted)
        for name, n in got.items():
            hit = min(n, want[name])
            if name == "unknown":
                self.unknown_ok += hit
            else:
                self.identified += hit
                if n > hit:
                    self.false_accepts += n - hit
                    self.notes.append(f"FALSE ACCEPT {what}: {name}")
        self.missed_faces += max(0, sum(want.values()) - sum(got.values()))


class Faces:
    """Detected boxes and encodings per photo, computed once."""

    def __init__(self, engine: FaceEngine) -> None:
        self.engine = engine
        self.photos: dict[str, Image] = {}
        self._encodings: dict[tuple[str, int], list[Encoding]] = {}
        self.encode_ms: dict[int, list[float]] = {}
        self.identify_ms: list[float] = []

    def encodings(self, key: str, jitters: int = 1) -> list[Encoding]:
        if (key, jitters) not in self._encodings:
            rgb = self.photos[key]
            t0 = time.perf_counter()
            boxes = sorted(find_faces(self.engine, rgb), key=lambda b: b.left)
            t1 = time.perf_counter()
            out = [self.engine.encode(rgb, b, jitters=jitters) for b in boxes]
            t2 = time.perf_counter()
            if boxes:
                self.encode_ms.setdefault(jitters, []).append((t2 - t1) * 1000 / len(boxes))
            if jitters == 1:
                self.identify_ms.append((t2 - t0) * 1000)
            self._encodings[(key, jitters)] = out
        return self._encodings[(key, jitters)]


def gallery_of(people: dict[str, list[Encoding]], strategy: str) -> tuple[Gallery, dict[int, str]]:
    ids, rows, names = [], [], {}
    for i, (name, encs) in enumerate(sorted(people.items()), start=1):
        if not encs:
            continue
        names[i] = name
        chosen = [np.mean(encs, axis=0)] if strategy == "mean" else encs
        ids += [i] * len(chosen)
        rows += chosen
    return Gallery(ids, np.array(rows).reshape(-1, 128)), names


def predict(
    gallery: Gallery, names: dict[int, str], probes: list[Encoding]
) -> list[tuple[str, float]]:
    out = []
    for q in probes:
        m = gallery.match(q, tolerance=TOLERANCE, margin=MARGIN)
        name = names[m.staff_id] if m.accepted and m.staff_id else "unknown"
        out.append((name, m.distance if m.distance is not None else float("inf")))
    return out


def small_face_photo(rgb: Image) -> Image:
    small = cv2.resize(rgb, None, fx=0.2, fy=0.2, interpolation=cv2.INTER_AREA)
    canvas = np.full((1200, 1800, 3), 120, dtype=np.uint8)
    h, w = small.shape[:2]
    canvas[100 : 100 + h, 200 : 200 + w] = small
    return canvas


def main(argv: list[str] | None = None) -> None:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--data", default=None)
    parser.add_argument("--jitters", type=int, default=10)
    args = parser.parse_args(argv)
    root = data_dir(args.data)
    engine = load_engine()
    faces = Faces(engine)
    enrolled: dict[str, list[str]] = {}
    for folder in sorted(p for p in (root / "enroll").iterdir() if p.is_dir()):
        for photo in sorted(folder.iterdir()):
            key = f"enroll/{folder.name}/{photo.name}"
            faces.photos[key] = read_photo(photo)
            enrolled.setdefault(folder.name, []).append(key)
    labels: dict[str, list[str]] = {}
    with (root / "labels.csv").open(encoding="utf-8") as fh:
        for row in csv.DictReader(fh):
            labels[row["file"]] = row["expected"].split(";")
            faces.photos[row["file"]] = read_photo(root / row["file"])

    rows = []
    for jitters in (1, args.jitters):
        for strategy in ("nearest", "mean"):

            def people(
                exclude: set[str], without: str | None = None, jitters: int = jitters
            ) -> dict[str, list[Encoding]]:
                return {
                    person: [
                        e for k in keys if k not in exclude for e in faces.encodings(k, jitters)
                    ]
                    for person, keys in enrolled.items()
                    if person != without
                }

            probe, loo, strangers = Tally(), Tally(), Tally()
            gallery, names = gallery_of(people(set()), strategy)
            for file, expected in labels.items():
                probe.add(predict(gallery, names, faces.encodings(file)), expected, file)
            for person, keys in enrolled.items():
                if len(keys) < 2:
                    continue
                for key in keys:
                    gallery, names = gallery_of(people({key}), strategy)
                    loo.add(predict(gallery, names, faces.encodings(key)[:1]), [person], key)
            for person in enrolled:
                gallery, names = gallery_of(people(set(), without=person), strategy)
                for key in enrolled[person]:
                    strangers.add(
                        predict(gallery, names, faces.encodings(key)[:1]), ["unknown"], key
                    )
                for file, expected in labels.items():
                    if person not in expected:
                        continue
                    got = predict(gallery, names, faces.encodings(file))
                    # Only the faces of the removed person are strangers here: a face the
                    # gallery still holds, or a labelled unknown, is scored by "probe".
                    want = ["unknown" if e in (person, "unknown") else e for e in expected]
                    strangers.add(got, want, f"{file} without {person}")
            rows.append((jitters, strategy, probe, loo, strangers))

    print(f"tolerance {TOLERANCE}, margin {MARGIN}; data {root}\n")
    print(
        "| enrol jitters | strategy | probe: identified | probe: unknown correct "
        "| leave-one-out: identified | strangers: refused | false accepts (all sets) "
        "| genuine d mean / max | closest stranger d | gap |"
    )
    print("|---|---|---|---|---|---|---|---|---|")
    for jitters, strategy, probe, loo, strangers in rows:
        fa = probe.false_accepts + loo.false_accepts + strangers.false_accepts
        genuine = probe.genuine + loo.genuine
        closest = min(strangers.stranger)
        print(
            f"| {jitters} | {strategy} | {probe.identified}/{probe.expected_known} "
            f"| {probe.unknown_ok}/{probe.expected_unknown} "
            f"| {loo.identified}/{loo.expected_known} "
            f"| {strangers.unknown_ok}/{strangers.expected_unknown} | {fa} "
            f"| {statistics.mean(genuine):.3f} / {max(genuine):.3f} | {closest:.3f} "
            f"| {closest - max(genuine):+.3f} |"
        )
        for note in probe.notes + loo.notes + strangers.notes:
            print(f"    {note}")

    # Small faces: the still-photo detector with and without the upsampling fallback.
    found_plain = found_fallback = 0
    for key in (k for keys in enrolled.values() for k in keys):
        canvas = small_face_photo(faces.photos[key])
        gray = to_gray(canvas, rgb=True)
        shrunk = cv2.resize(gray, (1600, round(1200 * 1600 / 1800)), interpolation=cv2.INTER_AREA)
        found_plain += bool(engine.locate(shrunk, upsample=0))
        found_fallback += bool(find_faces(engine, canvas))
    total = sum(len(k) for k in enrolled.values())
    print(
        f"\nsmall faces (photo at 20 % in 1800×1200): found without upsampling "
        f"{found_plain}/{total}, with the product's fallback {found_fallback}/{total}"
    )

    print("\nper call (this machine):")
    print(
        f"  identify a still photo (detect + encode every face + match): mean "
        f"{statistics.mean(faces.identify_ms):.0f} ms, max {max(faces.identify_ms):.0f} ms "
        f"over {len(faces.identify_ms)} photos"
    )
    for jitters, times in sorted(faces.encode_ms.items()):
        print(f"  encode one face, {jitters} jitter(s): mean {statistics.mean(times):.0f} ms")


if __name__ == "__main__":
    main()
