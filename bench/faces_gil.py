"""How long the gate's process stalls while faces are encoded: in process vs the worker.

dlib's encoder holds the GIL for its whole call. A 10 ms ticker thread in the gate's process
measures the gaps between its ticks while 20 faces are encoded, once with the engine in this
process and once through the face worker process. (A benchmark, not a test: the figures depend
on the machine and its load.)

    .venv/bin/python -m bench.faces_gil [--data FOLDER]
"""

from __future__ import annotations

import argparse
import statistics
import threading
import time
from pathlib import Path

import numpy as np

from bench.faces import data_dir
from kiosk.faces.engine import Box, FaceStack, load_engine
from kiosk.faces.images import read_photo
from kiosk.faces.remote import FaceWorker


def ticker_gaps(stack: FaceStack, rgb: np.ndarray, box: Box, frames: int = 20) -> list[float]:
    done = threading.Event()
    gaps: list[float] = []

    def tick() -> None:
        last = time.perf_counter()
        while not done.is_set():
            time.sleep(0.01)
            now = time.perf_counter()
            gaps.append(now - last)
            last = now

    ticker = threading.Thread(target=tick)
    ticker.start()
    try:
        for _ in range(frames):
            stack.encode(rgb, box)
    finally:
        done.set()
        ticker.join()
    return gaps


def row(name: str, gaps: list[float]) -> str:
    ms = sorted(g * 1000 for g in gaps)
    late = sum(g >= 60 for g in ms)
    p95 = ms[int(0.95 * (len(ms) - 1))]
    return (
        f"| {name} | {len(ms)} | {statistics.median(ms):.0f} | {p95:.0f} | {ms[-1]:.0f} | {late} |"
    )


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--data", help="folder holding faces/ (default: the shared data)")
    folder: Path = data_dir(parser.parse_args().data)
    photo = sorted((folder / "probe").glob("*.jp*g"))[0]
    rgb = read_photo(photo)
    engine = load_engine()
    [box] = engine.locate(rgb)[:1]
    print("| encoder | ticks | median gap ms | p95 ms | max ms | ticks ≥ 60 ms late |")
    print("|---|---|---|---|---|---|")
    print(row("in the gate's process", ticker_gaps(engine, rgb, box)))
    with FaceWorker() as worker:
        worker.locate(rgb)  # loads the models
        print(row("face worker process", ticker_gaps(worker, rgb, box)))


if __name__ == "__main__":
    main()
