"""Hardware tests: opt-in on a Raspberry Pi with the devices wired (KIOSK_HARDWARE=1)."""

from __future__ import annotations

import os

import pytest


def pytest_collection_modifyitems(config: pytest.Config, items: list[pytest.Item]) -> None:
    if os.environ.get("KIOSK_HARDWARE") == "1":
        return
    skip = pytest.mark.skip(reason="hardware test: set KIOSK_HARDWARE=1 on a wired Raspberry Pi")
    for item in items:
        if "tests/hardware/" in str(item.fspath).replace(os.sep, "/"):
            item.add_marker(skip)
