"""Memory of the gate's process and of the face worker process, against dlib in the gate.

    .venv/bin/python -m bench.faces_worker [--data DIR]     (also run by make bench-faces)

Each design runs in a fresh process (``--child worker`` / ``--child in-process``): a
simulated kiosk (the real :class:`kiosk.services.runtime.Kiosk`, web app created, attendance
enabled) on a temporary data folder; the photos of ``faces/enroll/obama`` enrolled the way the
admin page does (``registry.enroll``); then a visit of 640×480 frames made from
``faces/speed/obama-480p.jpg``, moving by a pixel or two, through
``AttendanceService.process_frame`` until the staff member is admitted (kind ``staff``).

* **worker** — today's design: dlib and its models live in the face worker process
  (:mod:`kiosk.faces.worker`); the gate's process holds the gallery and a shared memory block.
* **in-process** — the former design, for comparison: the same service with an in-process
  :class:`~kiosk.faces.engine.FaceEngine`.

For every process of the design (the gate's process and its children: the face worker and
:mod:`multiprocessing`'s resource tracker, which unlinks the shared block should the gate's
process die) it prints ``VmRSS`` and ``VmHWM`` (peak) from ``/proc/PID/status`` and ``Pss``
from ``/proc/PID/smaps_rollup`` (shared library pages split between the processes that map
them, so the Pss column adds up honestly).
"""

from __future__ import annotations

import argparse
import json
import os
import subprocess
import sys
import tempfile
from datetime import UTC, datetime
from pathlib import Path
from typing import Any

import cv2
import numpy as np

from bench.faces import ROOT, camera_frame, data_dir

DESIGNS = ("worker", "in-process")
FACES_ON = {"enabled": True, "liveness_frames": 5, "liveness_window_s": 3.0}


def proc_memory(pid: int) -> dict[str, float]:
    """VmRSS, VmHWM and Pss of ``pid`` in MB (missing fields are left out)."""
    out: dict[str, float] = {}
    wanted = {"VmRSS:": "rss", "VmHWM:": "hwm", "Pss:": "pss"}
    for name in ("status", "smaps_rollup"):
        try:
            lines = Path(f"/proc/{pid}/{name}").read_text().splitlines()
        except OSError:
            continue
        for line in lines:
            key = line.split(maxsplit=1)[0] if line.strip() else ""
            if key in wanted:
                out[wanted[key]] = int(line.split()[1]) / 1024
    return out


def children(pid: int) -> list[tuple[int, str]]:
    """Direct children of ``pid``: (pid, command line)."""
    found = []
    for entry in Path("/proc").iterdir():
        if not entry.name.isdigit():
            continue
        try:
            stat = (entry / "stat").read_text()
            cmdline = (entry / "cmdline").read_bytes().replace(b"\0", b" ").decode().strip()
        except OSError:
            continue
        ppid = int(stat.rsplit(")", 1)[1].split()[1])
        if ppid == pid:
            found.append((int(entry.name), cmdline))
    return found


def label(cmdline: str) -> str:
    if "kiosk.faces.worker" in cmdline:
        return "face worker"
    if "resource_tracker" in cmdline:
        return "resource tracker"
    return cmdline[:40]


def visit_frames(folder: Path, count: int = 30) -> list[np.ndarray]:
    base = camera_frame(folder / "speed" / "obama-480p.jpg")
    frames = []
    for i in range(count):
        dx, dy = 2.0 * np.sin(i * 0.9), 1.5 * np.cos(i * 0.7)
        shift = np.float32([[1, 0, dx], [0, 1, dy]])
        frames.append(cv2.warpAffine(base, shift, (640, 480), borderMode=cv2.BORDER_REPLICATE))
    return frames


def child(design: str, folder: Path) -> dict[str, Any]:
    """Run in a fresh process: a kiosk, an enrolment, a visit; memory of every process."""
    from kiosk.config import load_config
    from kiosk.datadir import init_data_dir
    from kiosk.faces.images import read_photo
    from kiosk.faces.registry import FaceRegistry
    from kiosk.services.attendance import AttendanceService
    from kiosk.services.runtime import Kiosk
    from ui import create_app

    with tempfile.TemporaryDirectory() as tmp:
        config = load_config(init_data_dir(Path(tmp) / "data"))
        config = config.replace(
            attendance=FACES_ON, temperature={"sample_hz": 1000.0, "settle_s": 0.0}
        )
        kiosk = Kiosk.start(config)
        try:
            create_app(kiosk, {"TESTING": True})
            kiosk.gate.clock = lambda: datetime(2026, 11, 23, 2, 0, tzinfo=UTC)  # 09:00 WIB
            if design == "in-process":
                assert kiosk.attendance is not None
                kiosk.attendance.stop()  # its worker; the in-process engine replaces it
                kiosk.attendance = AttendanceService(
                    config,
                    kiosk.db,
                    kiosk.gate,
                    registry=FaceRegistry(config, kiosk.db),
                    status="ok",
                )
            service = kiosk.attendance
            assert service is not None and service.status == "ok", service and service.error
            photos = [
                (p.name, read_photo(p)) for p in sorted((folder / "enroll" / "obama").iterdir())
            ]
            assert service.registry.enroll("Pak Obama", photos, consent_by="bench").ok
            assert kiosk.simulator is not None
            kiosk.simulator.set_body_temperature(36.6)
            results = []
            for i, frame in enumerate(visit_frames(folder)):
                result = service.process_frame(frame, 0.1 * i)
                if result is not None:
                    results.append(result.decision.reason.value)
            assert results == ["staff"], results
            me = os.getpid()
            rows = [{"process": "gate", "pid": me, **proc_memory(me)}]
            rows += [{"process": label(c), "pid": p, **proc_memory(p)} for p, c in children(me)]
            return {"design": design, "rows": rows}
        finally:
            kiosk.close()


def measure(design: str, folder: Path) -> dict[str, Any]:
    out = subprocess.run(
        [
            sys.executable,
            "-m",
            "bench.faces_worker",
            "--child",
            design,
            "--data",
            str(folder.parent),
        ],
        capture_output=True,
        text=True,
        check=True,
        cwd=ROOT,
    ).stdout
    result: dict[str, Any] = json.loads(out.strip().splitlines()[-1])
    return result


def run(folder: Path) -> str:
    lines = [
        "Memory after enrolling 2 photos and admitting one staff member from a 640×480 visit "
        "(fresh process per design; MB).",
        "",
        "| design | process | VmRSS | VmHWM (peak) | Pss |",
        "|---|---|---|---|---|",
    ]
    for design in DESIGNS:
        result = measure(design, folder)
        total = 0.0
        for row in result["rows"]:
            total += row.get("pss", 0.0)
            lines.append(
                f"| {design} | {row['process']} | {row.get('rss', 0):.0f} | "
                f"{row.get('hwm', 0):.0f} | {row.get('pss', 0):.0f} |"
            )
        lines.append(f"| {design} | **all** | | | **{total:.0f}** |")
    return "\n".join(lines)


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--data", help="folder holding faces/ (default: the shared data)")
    parser.add_argument("--child", choices=DESIGNS, help=argparse.SUPPRESS)
    args = parser.parse_args()
    folder = data_dir(args.data)
    if args.child:
        print(json.dumps(child(args.child, folder)))
        return
    print(run(folder))


if __name__ == "__main__":
    main()
