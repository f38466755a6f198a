"""Writes the citizen screen's spoken prompts (ui/static/sounds/voice/<lang>/<prompt>.wav).

Synthesised offline with espeak-ng (``apt-get install espeak-ng``; voices ``id`` and
``en``), then resampled to 16 kHz mono so each file stays small. Run
``python -m tools.make_voice`` after changing a prompt; the WAV files are committed, so
neither the gate nor CI needs espeak-ng and nothing is fetched at run time.

The prompt names are the screen's result tones (``admitted``, ``denied``, ``refer``,
``retry``): kiosk.js plays ``voice/<page language>/<tone>.wav`` after the tone.
"""

from __future__ import annotations

import io
import shutil
import struct
import subprocess
import wave
from pathlib import Path

RATE = 16_000
OUT = Path(__file__).resolve().parent.parent / "ui" / "static" / "sounds" / "voice"

# Short, calm, the same meaning in both languages (Indonesian first: the default language).
PROMPTS: dict[str, dict[str, str]] = {
    "id": {
        "admitted": "Silakan masuk.",
        "denied": "Mohon maaf, Anda belum dapat masuk. Silakan baca layar.",
        "refer": "Silakan temui petugas.",
        "retry": "Silakan mendekat ke termometer.",
    },
    "en": {
        "admitted": "Please enter.",
        "denied": "Sorry, you cannot enter now. Please read the screen.",
        "refer": "Please see the officer.",
        "retry": "Please step closer to the thermometer.",
    },
}
VOICES = {"id": "id", "en": "en"}
SPEED_WPM = 150


def synthesise(text: str, voice: str) -> tuple[int, list[int]]:
    """espeak-ng's WAV for ``text`` as (sample rate, 16-bit samples)."""
    exe = shutil.which("espeak-ng")
    if exe is None:
        raise SystemExit("espeak-ng not found: apt-get install espeak-ng")
    wav = subprocess.run(
        [exe, "-v", voice, "-s", str(SPEED_WPM), "--stdout", text],
        check=True,
        capture_output=True,
    ).stdout
    with wave.open(io.BytesIO(wav)) as w:
        if w.getsampwidth() != 2 or w.getnchannels() != 1:
            raise SystemExit("espeak-ng gave an unexpected WAV format")
        rate = w.getframerate()
        frames = w.readframes(w.getnframes())
    return rate, list(struct.unpack(f"<{len(frames) // 2}h", frames))


def resample(samples: list[int], rate: int, target: int = RATE) -> list[int]:
    """Linear interpolation to ``target`` Hz (speech survives it; the file shrinks)."""
    if rate == target or not samples:
        return samples
    n = int(len(samples) * target / rate)
    out = []
    for i in range(n):
        pos = i * rate / target
        j = int(pos)
        frac = pos - j
        a = samples[j]
        b = samples[min(j + 1, len(samples) - 1)]
        out.append(round(a + (b - a) * frac))
    return out


def trim(samples: list[int], threshold: int = 200, keep: int = RATE // 20) -> list[int]:
    """Drop the silence espeak-ng leaves at the ends (keeping 50 ms)."""
    loud = [i for i, s in enumerate(samples) if abs(s) > threshold]
    if not loud:
        return samples
    return samples[max(0, loud[0] - keep) : loud[-1] + keep]


def write(lang: str, name: str, text: str, folder: Path = OUT) -> Path:
    rate, samples = synthesise(text, VOICES[lang])
    samples = trim(resample(samples, rate))
    path = folder / lang / f"{name}.wav"
    path.parent.mkdir(parents=True, exist_ok=True)
    with wave.open(str(path), "wb") as w:
        w.setnchannels(1)
        w.setsampwidth(2)
        w.setframerate(RATE)
        w.writeframes(struct.pack(f"<{len(samples)}h", *samples))
    return path


def main() -> None:
    for lang, prompts in PROMPTS.items():
        for name, text in prompts.items():
            print(write(lang, name, text))


if __name__ == "__main__":
    main()
