"""Frame → decision through the real gate service, on 640×480 frames.

Part of ``bench/qr.py`` (and ``make bench-qr``). Compares, per frame:

- **bare**: one ``zxingcpp.read_barcodes`` call on the BGR frame (library defaults, QR only);
- **pipeline decode**: ``decode_frame(frame, thorough=False)`` — what the live camera path
  runs (grayscale, size cap, gated second pass);
- **end to end**: ``GateService.handle_frame`` on a simulated kiosk: decode, booking look-up,
  thermometer read through the real MLX90614 driver on the fake bus (fast sampling settings,
  so the sensor's own settling time is not counted), decision, durable SQLite commit
  (WAL, synchronous=FULL), outputs.
"""

from __future__ import annotations

import statistics
import tempfile
import time
from collections.abc import Callable
from pathlib import Path

import zxingcpp

from drivers.sim_camera import render_scene
from kiosk.config import load_config
from kiosk.datadir import init_data_dir
from kiosk.services.runtime import Kiosk
from kiosk.storage import Booking
from kiosk.storage import repository as repo
from kiosk.vision.qr import decode_frame

FAST = {"sample_hz": 1000.0, "settle_s": 0.0, "stable_window": 2, "recheck_pause_s": 0.0}


def _stats(fn: Callable[[], object], n: int) -> tuple[float, float]:
    times = []
    for _ in range(n):
        t0 = time.perf_counter()
        fn()
        times.append((time.perf_counter() - t0) * 1000)
    times.sort()
    return statistics.fmean(times), times[int(0.95 * (len(times) - 1))]


def run(n: int = 300) -> str:
    code_frame = render_scene("BK-BENCH001")
    empty_frame = render_scene(None)
    formats = zxingcpp.BarcodeFormats(
        [zxingcpp.BarcodeFormat.QRCodeModel1, zxingcpp.BarcodeFormat.QRCodeModel2]
    )
    rows = []
    for label, frame in (("with a code", code_frame), ("no code", empty_frame)):
        bare = _stats(lambda f=frame: zxingcpp.read_barcodes(f, formats=formats), n)
        ours = _stats(lambda f=frame: decode_frame(f, thorough=False), n)
        overhead = 100 * (ours[0] - bare[0]) / bare[0]
        rows.append((label, bare, ours, overhead))

    with tempfile.TemporaryDirectory() as folder:
        config = load_config(init_data_dir(Path(folder) / "d")).replace(
            temperature=FAST, admission={"daily_cap": 100_000}
        )
        kiosk = Kiosk.start(config)
        try:
            day = kiosk.gate.today()["date"]
            from datetime import date

            with kiosk.db.transaction() as conn:
                repo.insert_booking(
                    conn,
                    Booking("BK-BENCH001", config.site.office_id, date.fromisoformat(day), "B"),
                )
            kiosk.simulator.set_body_temperature(36.6)  # type: ignore[union-attr]
            first = kiosk.gate.handle_frame(code_frame)
            assert first is not None and first.decision.admitted, first
            e2e = _stats(lambda: kiosk.gate.handle_frame(code_frame), n)  # readmitted: same work
            measure = _stats(kiosk.gate.measure, n)
        finally:
            kiosk.close()

    lines = [
        "| 640×480 frame | bare zxing-cpp mean / p95 ms | pipeline decode mean / p95 ms | pipeline overhead |",
        "|---|---|---|---|",
    ]
    for label, bare, ours, overhead in rows:
        lines.append(
            f"| {label} | {bare[0]:.2f} / {bare[1]:.2f} | {ours[0]:.2f} / {ours[1]:.2f} | {overhead:+.0f} % |"
        )
    lines += [
        "",
        f"End to end (frame → decode → look-up → thermometer → decide → durable commit → outputs): "
        f"mean {e2e[0]:.2f} ms, p95 {e2e[1]:.2f} ms over {n} frames; of which the thermometer "
        f"read (fast sampling) mean {measure[0]:.2f} ms.",
    ]
    return "\n".join(lines)


if __name__ == "__main__":
    print(run())
