"""Shared fixtures: a kiosk on a temporary data folder with simulated hardware."""

from __future__ import annotations

from collections.abc import Callable, Iterator
from datetime import UTC, datetime
from pathlib import Path
from typing import Any

import pytest

from kiosk.config import load_config
from kiosk.datadir import init_data_dir
from kiosk.services.runtime import Kiosk

FAST_MEASUREMENT = {
    "sample_hz": 1000.0,
    "settle_s": 0.0,
    "stable_window": 2,
    "recheck_pause_s": 0.0,
}


class FakeClock:
    """A settable UTC clock for the gate service."""

    def __init__(self, now: datetime | None = None) -> None:
        self.now = now or datetime(2026, 11, 23, 2, 0, tzinfo=UTC)  # 09:00 WIB, a Monday

    def __call__(self) -> datetime:
        return self.now


@pytest.fixture
def make_kiosk(tmp_path: Path) -> Iterator[Callable[..., Kiosk]]:
    """``make_kiosk(admission={...}, clock=FakeClock())`` → a started sim kiosk."""
    started: list[Kiosk] = []

    def factory(*, clock: Callable[[], datetime] | None = None, **sections: Any) -> Kiosk:
        folder = tmp_path / f"data{len(started)}"
        config = load_config(init_data_dir(folder))
        # Fast sampling: the simulated sensor is steady at once; the policy itself is tested apart.
        sections["temperature"] = {**FAST_MEASUREMENT, **sections.get("temperature", {})}
        config = config.replace(**sections)
        kiosk = Kiosk.start(config)
        if clock is not None:
            kiosk.gate.clock = clock
        started.append(kiosk)
        return kiosk

    yield factory
    for kiosk in started:
        kiosk.close()


@pytest.fixture
def kiosk(make_kiosk: Callable[..., Kiosk]) -> Kiosk:
    return make_kiosk()


@pytest.fixture
def client(kiosk: Kiosk) -> Any:
    from ui import create_app

    return create_app(kiosk, {"TESTING": True}).test_client()
