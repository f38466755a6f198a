"""Configuration: typed, bounded, unknown keys rejected, errors name the field."""

from __future__ import annotations

from pathlib import Path

import pytest

from kiosk.config import Config, load_config
from kiosk.datadir import init_data_dir, render_config
from kiosk.errors import ConfigError


def write(tmp_path: Path, text: str | bytes) -> Path:
    path = tmp_path / "kiosk.toml"
    if isinstance(text, bytes):
        path.write_bytes(text)
    else:
        path.write_text(text, encoding="utf-8")
    return path


def test_defaults_are_the_documented_ones() -> None:
    c = Config()
    assert c.site.timezone == "Asia/Jakarta"
    assert c.admission.daily_cap == 50
    assert c.admission.fever_threshold_c == 37.5
    assert c.hardware.mode == "sim"
    assert (c.server.host, c.server.port) == ("127.0.0.1", 8080)


def test_generated_config_round_trips(tmp_path: Path) -> None:
    path = init_data_dir(tmp_path / "d")
    config = load_config(path)
    assert render_config(config) == path.read_text(encoding="utf-8")
    assert config.database_path == (tmp_path / "d" / "kiosk.db").resolve()
    assert config.database_path.exists()


@pytest.mark.parametrize(
    "text, field, hint",
    [
        ("[admission]\ndaily_cap = 0\n", "admission.daily_cap", "greater than or equal to 1"),
        ("[admission]\ndaily_cap = 'many'\n", "admission.daily_cap", "integer"),
        ("[admission]\nfever_threshold_c = 42\n", "admission.fever_threshold_c", "less than"),
        ("[admission]\nopens = '7:30'\n", "admission.opens", "HH:MM"),
        ("[admission]\nclosses = '15:00'\n", "admission.closses", "unknown key"),
        ("[site]\ntimezone = 'Asia/Jakarte'\n", "site.timezone", "unknown time zone"),
        ("[site]\noffice_id = 'a b'\n", "site.office_id", "pattern"),
        ("[hardware]\nmode = 'fake'\n", "hardware.mode", "'sim' or 'real'"),
        ("[server]\nport = 70000\n", "server.port", "less than or equal"),
        ("[bogus]\nx = 1\n", "bogus", "unknown key"),
    ],
)
def test_bad_values_name_the_field(tmp_path: Path, text: str, field: str, hint: str) -> None:
    with pytest.raises(ConfigError) as info:
        load_config(write(tmp_path, text))
    message = str(info.value)
    assert f"{field}:" in message
    assert hint in message


@pytest.mark.parametrize(
    "content, hint",
    [
        ("[admission\ndaily_cap = 5\n", "TOML syntax error"),
        (b"\xff\xfe\x00binary", "not a text file"),
        ("source = 'x'\n", "unknown key"),
    ],
)
def test_malformed_file(tmp_path: Path, content: str | bytes, hint: str) -> None:
    with pytest.raises(ConfigError, match=hint):
        load_config(write(tmp_path, content))


def test_missing_file_says_how_to_create_one(tmp_path: Path) -> None:
    with pytest.raises(ConfigError, match="kiosk init"):
        load_config(tmp_path / "nope.toml")


def test_init_refuses_to_overwrite(tmp_path: Path) -> None:
    init_data_dir(tmp_path)
    with pytest.raises(ConfigError, match="already exists"):
        init_data_dir(tmp_path)
