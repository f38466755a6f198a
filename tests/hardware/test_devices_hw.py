"""Real devices on a Pi (opt-in). Bus/address/pins come from $KIOSK_CONFIG or defaults."""

from __future__ import annotations

import os
import time

import pytest

from kiosk.config import Config, load_config

pytestmark = pytest.mark.hardware


def _config() -> Config:
    path = os.environ.get("KIOSK_CONFIG")
    return load_config(path) if path else Config()


def test_mlx90614_answers_with_valid_pec_and_sane_ambient() -> None:
    from drivers.mlx90614 import open_mlx90614

    hw = _config().hardware
    with open_mlx90614(hw.i2c_bus, hw.i2c_address, check_pec=True) as sensor:
        ambient = sensor.ambient_temperature()
        obj = sensor.object_temperature()
    assert 5.0 < ambient < 45.0
    assert -20.0 < obj < 80.0


def test_relay_clicks_and_ends_de_energised() -> None:
    from kiosk.services.devices import open_outputs

    outputs = open_outputs(_config().replace(hardware={"relay_open_seconds": 0.5}))
    try:
        outputs.signal("admitted")
        assert outputs.state()["relay"] is True
        time.sleep(0.8)
        assert outputs.state()["relay"] is False
    finally:
        outputs.close()
