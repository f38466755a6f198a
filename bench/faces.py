"""Staff face recognition: our per-frame pipeline vs the naive library call; matching; memory.

    .venv/bin/python -m bench.faces [--data DIR] [--repeat N]     (also: make bench-faces)

Frames: ``faces/speed/obama-{240p,480p,720p,1080p}.jpg`` (one scene, four resolutions) from
``$KIOSK_TESTDATA`` or ``../shared/data``, each scaled to 480 lines and centre-cropped to
640×480, as the gate camera delivers them.

* **naive**: ``face_locations(frame)`` then ``face_encodings(frame)`` with face_recognition's
  default arguments (HOG upsampled once on the full frame — and ``face_encodings`` without
  boxes detects a second time — then the 5-point landmarks and the ResNet encoder). The real
  ``face_recognition`` package is used when it can be imported; otherwise the same dlib calls
  through :class:`kiosk.faces.engine.FaceEngine`'s compatible methods (we do not install
  ``face_recognition``: it pulls the dlib sdist).
* **ours**: :class:`kiosk.faces.pipeline.FacePipeline` on a 1-second visit (10 frames, the
  face moving by a pixel or two, as a person does), against a gallery of 10 000 encodings that
  includes this face: the change gate, HOG without upsampling at 320 px wide, landmarks at full
  resolution on every frame, one encoding per visit. Also shown: its first frame (detection +
  the one encoding), a following frame (detection + landmarks), and an unchanged scene (the
  change gate skips detection).
* **match**: one probe against 10 000 enrolled encodings (2 000 people × 5), vectorised.
* **memory**: peak resident memory (``VmHWM``; ``ru_maxrss`` where /proc is missing) of a fresh
  process that loaded the models and ran the pipeline and a 10 000-encoding match (the kiosk's
  own imports included).
"""

from __future__ import annotations

import argparse
import os
import resource
import statistics
import subprocess
import sys
import time
from collections.abc import Callable
from importlib.metadata import version
from pathlib import Path
from typing import Any

import cv2
import numpy as np

from kiosk.faces.engine import FaceEngine, load_engine
from kiosk.faces.images import frame_to_rgb
from kiosk.faces.matcher import Gallery
from kiosk.faces.pipeline import FacePipeline, PipelineSettings

ROOT = Path(__file__).resolve().parent.parent
SIZES = ("240p", "480p", "720p", "1080p")
VISIT_FRAMES = 10
GALLERY_SIZE = 10_000


def data_dir(given: str | None) -> Path:
    for base in (given, os.environ.get("KIOSK_TESTDATA"), str(ROOT.parent / "shared" / "data")):
        if base and (Path(base) / "faces" / "speed").is_dir():
            return Path(base) / "faces"
    sys.exit("faces/speed not found: pass --data DIR or set KIOSK_TESTDATA")


def camera_frame(path: Path) -> np.ndarray:
    """A photo as the gate camera would deliver it: 640×480 BGR."""
    image = cv2.imread(str(path))
    h, w = image.shape[:2]
    scale = 480 / h
    image = cv2.resize(image, (round(w * scale), 480), interpolation=cv2.INTER_AREA)
    x0 = max(0, (image.shape[1] - 640) // 2)
    crop = image[:, x0 : x0 + 640]
    if crop.shape[1] < 640:
        crop = cv2.copyMakeBorder(crop, 0, 0, 0, 640 - crop.shape[1], cv2.BORDER_CONSTANT)
    return np.ascontiguousarray(crop)


def shifted(frame: np.ndarray, dx: float, dy: float) -> np.ndarray:
    matrix = np.float32([[1, 0, dx], [0, 1, dy]])
    return cv2.warpAffine(
        frame, matrix, (frame.shape[1], frame.shape[0]), borderMode=cv2.BORDER_REFLECT
    )


def timed(fn: Callable[[], object], repeat: int) -> float:
    """Median milliseconds of ``repeat`` calls (after one warm-up call)."""
    fn()
    times = []
    for _ in range(repeat):
        t0 = time.perf_counter()
        fn()
        times.append((time.perf_counter() - t0) * 1000)
    return statistics.median(times)


def naive_calls(engine: FaceEngine) -> tuple[str, Any]:
    try:
        import face_recognition  # optional, never a dependency

        return f"face_recognition {version('face_recognition')}", face_recognition
    except BaseException:
        return "dlib calls as face_recognition's defaults", engine


def gallery_with(
    encoding: np.ndarray | None, size: int = GALLERY_SIZE, people: int = 2000
) -> Gallery:
    rng = np.random.default_rng(3)
    matrix = rng.normal(0, 0.09, size=(size, 128))  # real encodings: norm ~1, pairwise ~0.9
    ids = np.repeat(np.arange(1, people + 1), size // people)
    if encoding is not None:
        matrix[0] = encoding
    return Gallery(ids.tolist(), matrix)


def pipeline_rows(engine: FaceEngine, frame: np.ndarray, repeat: int) -> dict[str, float]:
    rgb = frame_to_rgb(frame)
    boxes = engine.locate(rgb, upsample=1)
    encoding = engine.encode(rgb, boxes[0]) if boxes else None
    gallery = gallery_with(encoding)
    visit = [
        shifted(frame, 1.5 * np.sin(i * 0.9), 1.2 * np.cos(i * 0.7)) for i in range(VISIT_FRAMES)
    ]

    def one_visit() -> None:
        pipeline = FacePipeline(engine, PipelineSettings(), gallery=lambda: gallery)
        for i, f in enumerate(visit):
            pipeline.process(f, 0.1 * i)

    per_visit = timed(one_visit, repeat)
    first = timed(
        lambda: FacePipeline(engine, PipelineSettings(), gallery=lambda: gallery).process(
            visit[0], 0.0
        ),
        repeat,
    )
    following = FacePipeline(engine, PipelineSettings(), gallery=lambda: gallery)
    following.process(visit[0], 0.0)
    step = [0]

    def next_frame() -> None:
        step[0] += 1
        following.process(visit[step[0] % VISIT_FRAMES], 0.1 * step[0])

    steady = timed(next_frame, repeat)
    idle = FacePipeline(engine, PipelineSettings(idle_recheck_s=1e9), gallery=lambda: gallery)
    empty = np.full_like(frame, 90)
    idle.process(empty, 0.0)
    skipped = timed(lambda: idle.process(empty, 0.0), repeat)
    return {
        "visit": per_visit / VISIT_FRAMES,
        "first": first,
        "following": steady,
        "skipped": skipped,
        "found": float(len(boxes)),
    }


def match_time(repeat: int) -> tuple[float, float]:
    gallery = gallery_with(None)
    probes = np.random.default_rng(5).normal(0, 0.09, size=(200, 128))
    times = []
    for _ in range(max(1, repeat)):
        for probe in probes:
            t0 = time.perf_counter()
            gallery.match(probe, tolerance=0.5, margin=0.05)
            times.append((time.perf_counter() - t0) * 1000)
    times.sort()
    return statistics.fmean(times), times[int(0.95 * (len(times) - 1))]


def memory_child(folder: Path) -> None:
    """Run in a fresh process: load, run once, print the peak resident memory in MB."""
    engine = load_engine()
    frame = camera_frame(folder / "speed" / "obama-480p.jpg")
    pipeline_rows(engine, frame, 1)
    match_time(1)
    print(peak_rss_mb())


def peak_rss_mb() -> float:
    """This process's peak resident memory. ``VmHWM`` belongs to the process's own memory map
    (reset by exec); ``ru_maxrss`` can carry over the parent's peak through fork + exec, so it is
    only the fallback where /proc is missing."""
    try:
        for line in Path("/proc/self/status").read_text().splitlines():
            if line.startswith("VmHWM:"):
                return int(line.split()[1]) / 1024
    except OSError:
        pass
    return resource.getrusage(resource.RUSAGE_SELF).ru_maxrss / 1024


def peak_memory_mb(folder: Path) -> float:
    out = subprocess.run(
        [sys.executable, "-m", "bench.faces", "--memory-child", "--data", str(folder.parent)],
        capture_output=True,
        text=True,
        check=True,
        cwd=ROOT,
    ).stdout
    return float(out.strip().splitlines()[-1])


def run(folder: Path, repeat: int) -> str:
    memory = peak_memory_mb(folder)  # first, in a fresh process, before this one grows
    engine = load_engine()
    label, naive = naive_calls(engine)
    lines = [
        f"Frames: 640×480 from faces/speed; median of {repeat} runs; naive = {label}.",
        "",
        "| source | naive ms/frame | ours ms/frame (1 s visit) | ratio | ours: first frame "
        "(detect + encode) | ours: following frame | ours: unchanged scene |",
        "|---|---|---|---|---|---|---|",
    ]
    ratios = []
    for size in SIZES:
        frame = camera_frame(folder / "speed" / f"obama-{size}.jpg")
        rgb = frame_to_rgb(frame)
        naive_ms = timed(lambda r=rgb: (naive.face_locations(r), naive.face_encodings(r)), repeat)
        ours = pipeline_rows(engine, frame, repeat)
        ratio = ours["visit"] / naive_ms
        ratios.append(ratio)
        lines.append(
            f"| obama-{size} | {naive_ms:.1f} | {ours['visit']:.1f} | {ratio:.2f} | "
            f"{ours['first']:.1f} | {ours['following']:.1f} | {ours['skipped']:.2f} |"
        )
    mean_ms, p95_ms = match_time(repeat)
    worst = max(ratios)
    lines += [
        "",
        f"Target ours ≤ 0.25 × naive per frame: worst ratio {worst:.2f} "
        f"{'✔' if worst <= 0.25 else '✘'}",
        f"Match against {GALLERY_SIZE} encodings: mean {mean_ms:.2f} ms, p95 {p95_ms:.2f} ms "
        f"(target ≤ 5 ms {'✔' if p95_ms <= 5 else '✘'})",
        f"Peak memory with the models loaded: {memory:.0f} MB (target ≤ 300 MB "
        f"{'✔' if memory <= 300 else '✘'})",
    ]
    return "\n".join(lines)


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--data", help="folder holding faces/ (default: the shared data)")
    parser.add_argument("--repeat", type=int, default=5)
    parser.add_argument("--memory-child", action="store_true", help=argparse.SUPPRESS)
    args = parser.parse_args()
    folder = data_dir(args.data)
    if args.memory_child:
        memory_child(folder)
        return
    print(run(folder, args.repeat))


if __name__ == "__main__":
    main()
