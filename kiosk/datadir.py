"""Create a self-contained data folder: a commented ``kiosk.toml`` and the database."""

from __future__ import annotations

from datetime import date, timedelta
from pathlib import Path
from typing import Any

from kiosk.config import Config, load_config, parse_config
from kiosk.errors import ConfigError
from kiosk.storage import Booking, Database, open_database
from kiosk.storage import repository as repo

CONFIG_NAME = "kiosk.toml"

DEMO_OVERRIDES: dict[str, dict[str, Any]] = {
    "site": {
        "office_id": "3314-SRG",
        "office_name": "Disdukcapil Kabupaten Sragen (demo)",
        "online_booking_url": "https://example.invalid/booking",
    },
}

DEMO_BOOKINGS = (
    ("DEMO-0001", "Siti Rahayu", "KTP-el"),
    ("DEMO-0002", "Budi Santoso", "Kartu Keluarga"),
    ("DEMO-0003", "Dewi Lestari", "Akta Kelahiran"),
    ("DEMO-0004", "Agus Wijaya", "KTP-el"),
    ("DEMO-0005", "Rina Marlina", "KIA"),
)


def _toml_value(value: Any) -> str:
    if isinstance(value, bool):
        return "true" if value else "false"
    if isinstance(value, int | float):
        return repr(value)
    if isinstance(value, tuple | list):
        return "[" + ", ".join(_toml_value(v) for v in value) + "]"
    text = str(value).replace("\\", "\\\\").replace('"', '\\"')
    return f'"{text}"'


def render_config(config: Config) -> str:
    """The configuration as TOML, every field preceded by its description and bounds."""
    lines = [
        "# Gate kiosk configuration. Validate with: kiosk check-config FILE",
        "# Relative paths are relative to this file's folder.",
    ]
    for section_name in Config.model_fields:
        if section_name == "source":
            continue
        section = getattr(config, section_name)
        if section_name == "services":
            lines += _render_services(config)
            continue
        lines += ["", f"[{section_name}]"]
        for name, info in type(section).model_fields.items():
            bounds = [
                f"{label} {getattr(m, attr)}"
                for m in info.metadata
                for attr, label in (("ge", "≥"), ("le", "≤"))
                if getattr(m, attr, None) is not None
            ]
            note = f" ({', '.join(bounds)})" if bounds else ""
            lines.append(f"# {info.description}{note}")
            value = getattr(section, name)
            if value is None:  # TOML has no null: an unset optional field stays commented out
                lines.append(f"# {name} = (not set)")
            else:
                lines.append(f"{name} = {_toml_value(value)}")
    return "\n".join(lines) + "\n"


def _render_services(config: Config) -> list[str]:
    """``[services.CODE]`` tables, or a commented example when none are configured."""
    info = Config.model_fields["services"]
    lines = ["", f"# {info.description}"]
    if not config.services:
        return [
            *lines,
            "# [services.KTP-EL]",
            '# name = "Perekaman KTP-el"',
            "# daily_cap = 20",
            '# closed_weekdays = ["sat"]',
        ]
    for code, service in config.services.items():
        lines.append(f"[services.{code}]")
        for name in type(service).model_fields:
            lines.append(f"{name} = {_toml_value(getattr(service, name))}")
    return lines


def init_data_dir(directory: Path, *, demo: bool = False, force: bool = False) -> Path:
    """Create ``directory/kiosk.toml`` and the database; returns the config path."""
    directory.mkdir(mode=0o750, parents=True, exist_ok=True)
    path = directory / CONFIG_NAME
    if path.exists() and not force:
        raise ConfigError(f"{path} already exists (use --force to overwrite it)")
    overrides = DEMO_OVERRIDES if demo else {}
    config = parse_config(dict(overrides), source=path.resolve())
    path.write_text(render_config(config), encoding="utf-8")
    config = load_config(path)
    db = Database(config.database_path)
    try:
        db.migrate()
    finally:
        db.close()
    from kiosk.faces.sealing import create_key_file  # the face-encoding key (0600), never in the DB
    from kiosk.services.accounts import load_secret_key, setup_code

    create_key_file(config.data_dir / config.attendance.key_file)
    load_secret_key(config.data_dir)  # 0600, made now rather than by whichever user runs first
    setup_code(config.data_dir)  # the first administrator's one-time code (0600)
    return path


def seed_demo_bookings(config: Config, today: date) -> list[Booking]:
    """Demo bookings for today (and one for tomorrow); existing ones are kept."""
    wanted = [
        Booking(
            id=f"{bid}-{today:%m%d}",
            office_id=config.site.office_id,
            date=today,
            name=name,
            service=service,
            source="demo",
        )
        for bid, name, service in DEMO_BOOKINGS
    ]
    tomorrow = today + timedelta(days=1)
    wanted.append(
        Booking(
            id=f"DEMO-TMRW-{tomorrow:%m%d}",
            office_id=config.site.office_id,
            date=tomorrow,
            name="Joko Susilo",
            service="KTP-el",
            source="demo",
        )
    )
    db = open_database(config.database_target)
    try:
        db.migrate()
        with db.transaction() as conn:
            for booking in wanted:
                if repo.get_booking(conn, booking.id) is None:
                    repo.insert_booking(conn, booking)
    finally:
        db.close()
    return wanted
