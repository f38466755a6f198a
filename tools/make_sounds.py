"""Writes the citizen screen's outcome sounds (ui/static/sounds/*.wav) with the wave module.

Short, distinct and not startling: a rising two-note chime for "please enter", a low
falling pair for "not admitted", three even beeps for "please see the officer"; and the officer console's rising
call when a referred visitor waits (``referral-alert``). Run
``python -m tools.make_sounds`` after changing a tone; the WAV files are committed.
"""

from __future__ import annotations

import math
import struct
import wave
from pathlib import Path

RATE = 16_000
VOLUME = 0.5
OUT = Path(__file__).resolve().parent.parent / "ui" / "static" / "sounds"

# (frequency Hz or 0 for silence, seconds)
TUNES: dict[str, list[tuple[float, float]]] = {
    "admitted": [(660.0, 0.16), (0.0, 0.03), (990.0, 0.26)],
    "denied": [(392.0, 0.22), (0.0, 0.05), (262.0, 0.34)],
    "refer": [(523.0, 0.12), (0.0, 0.08), (523.0, 0.12), (0.0, 0.08), (523.0, 0.12)],
}

# The officer console's alert for a new referral: a bright rising call, heard over a room.
OFFICER_TUNES: dict[str, list[tuple[float, float]]] = {
    "referral-alert": [(784.0, 0.10), (0.0, 0.03), (988.0, 0.10), (0.0, 0.03), (1175.0, 0.22)],
}


def tone(freq: float, seconds: float) -> list[int]:
    """Samples of one note with 10 ms fade in/out (no clicks), a soft second harmonic."""
    n = int(RATE * seconds)
    fade = int(RATE * 0.01)
    out = []
    for i in range(n):
        if freq == 0.0:
            out.append(0)
            continue
        t = i / RATE
        env = min(1.0, i / fade, (n - 1 - i) / fade)
        value = math.sin(2 * math.pi * freq * t) + 0.25 * math.sin(4 * math.pi * freq * t)
        out.append(int(32767 * VOLUME * env * value / 1.25))
    return out


def write(name: str, notes: list[tuple[float, float]], folder: Path = OUT) -> Path:
    samples = [s for freq, seconds in notes for s in tone(freq, seconds)]
    folder.mkdir(parents=True, exist_ok=True)
    path = folder / f"{name}.wav"
    with wave.open(str(path), "wb") as w:
        w.setnchannels(1)
        w.setsampwidth(2)
        w.setframerate(RATE)
        w.writeframes(struct.pack(f"<{len(samples)}h", *samples))
    return path


def main() -> None:
    for name, notes in {**TUNES, **OFFICER_TUNES}.items():
        print(write(name, notes))


if __name__ == "__main__":
    main()
