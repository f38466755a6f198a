"""Locate the shared third-party test data (never copied into the repo).

Looks in ``$KIOSK_TESTDATA`` first, then ``../shared/data`` relative to the
project root. Where the data is absent a test skips with a visible reason;
under ``CI`` (any non-empty value but ``false``/``0``) it fails instead.
"""

from __future__ import annotations

import os
from pathlib import Path

import pytest

ROOT = Path(__file__).resolve().parent.parent


def in_ci() -> bool:
    return os.environ.get("CI", "").strip().lower() not in ("", "0", "false", "no")


def shared_data(sub: str) -> Path:
    """Return ``<data>/<sub>``, or skip (fail under CI) when it is missing."""
    candidates = []
    if env := os.environ.get("KIOSK_TESTDATA"):
        candidates.append(Path(env))
    candidates.append(ROOT.parent / "shared" / "data")
    for base in candidates:
        path = base / sub
        if path.exists():
            return path
    where = " or ".join(str(c / sub) for c in candidates)
    message = f"shared test data {sub!r} not found (looked in {where}; set KIOSK_TESTDATA)"
    if in_ci():
        pytest.fail(message)
    pytest.skip(message)
