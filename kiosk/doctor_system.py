"""`kiosk doctor`'s checks of the machine around the devices: configuration, clock, disk space
and the database (a SQLite file or the shared PostgreSQL server).

Each check returns a :class:`~kiosk.doctor_fixes.Check` and never raises;
:mod:`kiosk.doctor` runs them (and re-exports them) with the device checks.
"""

from __future__ import annotations

import shutil
from collections.abc import Callable
from datetime import UTC, datetime
from pathlib import Path
from typing import Any

from kiosk.config import Config
from kiosk.doctor_fixes import FIX, Check, fail
from kiosk.errors import ConfigError

DEFAULT_MIN_FREE_PERCENT = 10.0  # retention.min_free_percent's default
I2C_PINS = {2: "GPIO2 (I2C SDA)", 3: "GPIO3 (I2C SCL)"}


def config_failure(exc: ConfigError) -> Check:
    """The config check for a file that does not load."""
    detail = "; ".join(line.strip() for line in str(exc).splitlines() if line.strip())
    return fail("config", detail, "config_file")


def check_config(config: Config) -> Check:
    """Beyond the schema: distinct pins, none on the I2C bus, consistent bounds, key files."""
    from kiosk.keys import load_keyring

    hw, temp = config.hardware, config.temperature
    problems: list[tuple[str, str]] = []  # (what, FIX key)
    seen: dict[int, str] = {}
    for name in ("relay_pin", "green_pin", "red_pin", "buzzer_pin", "button_pin"):
        pin = getattr(hw, name)
        if pin in I2C_PINS:
            problems.append((f"hardware.{name} = {pin} is {I2C_PINS[pin]}", "pins"))
        if pin in seen:
            problems.append(
                (f"hardware.{seen[pin]} and hardware.{name} are both GPIO{pin}", "pins")
            )
        seen.setdefault(pin, name)
    if temp.ambient_min_c >= temp.ambient_max_c or temp.skin_min_c >= temp.skin_max_c:
        problems.append(("a [temperature] minimum is not below its maximum", "bounds"))
    key = config.private_key_path
    # Under kiosk.service the key arrives through LoadCredential and is visible only there.
    if key is not None and not key.is_relative_to("/run/credentials") and not key.is_file():
        problems.append((f"bookings.private_key {key} not found", "private_key"))
    if config.public_keys_path.exists():
        try:
            load_keyring(config.public_keys_path)
        except ConfigError as exc:
            problems.append((str(exc), "public_keys"))
    where = config.source or "configuration"
    if problems:
        fixes = " ; ".join(FIX[k] for k in dict.fromkeys(k for _, k in problems))
        return Check("config", False, f"{where}: " + "; ".join(p for p, _ in problems), fixes)
    site = config.site
    detail = f"{where}: valid (office {site.office_id}, gate {site.gate_id}, mode {hw.mode})"
    return Check("config", True, detail)


def check_clock(config: Config, now: datetime, marker: Path | None = None) -> Check:
    """Trust the date only once it is synchronised (``clock.sync_flag``) or a battery RTC is
    fitted (``clock.rtc``), as the gate does; ``clock.trust = "always"`` needs neither."""
    from kiosk.domain.clock import business_date

    clock = config.clock
    marker = Path(clock.sync_flag) if marker is None else marker
    trust = clock.trust
    if trust == "auto":
        trust = "always" if config.hardware.mode == "sim" else "ntp"
    day = business_date(now, config.site.zone)
    shown = f"UTC {now.astimezone(UTC):%Y-%m-%d %H:%M}, business date {day} "
    shown += f"({config.site.timezone})"
    if now.year < 2024:
        return fail("clock", f"clock is in the past: {shown}", "clock", flag=marker)
    if marker.exists():
        return Check("clock", True, f"synchronised ({marker}); {shown}")
    if clock.rtc:
        return Check("clock", True, f"battery RTC fitted (clock.rtc); {shown}")
    if trust == "always":
        return Check("clock", True, f"trusted without sync (clock.trust = always); {shown}")
    return fail("clock", f"not synchronised (no {marker}); {shown}", "clock", flag=marker)


def check_disk(
    data_dir: Path,
    disk_usage: Callable[[Path], Any] = shutil.disk_usage,
    min_free_percent: float = DEFAULT_MIN_FREE_PERCENT,
) -> Check:
    """Fail below ``retention.min_free_percent`` free (the officer console warns there too):
    SQLite needs room to commit, and a full card loses entries."""
    if not data_dir.is_dir():
        return fail("disk", f"data folder {data_dir} missing", "disk_missing", path=data_dir)
    usage = disk_usage(data_dir)
    free = usage.free / usage.total if usage.total else 0.0
    detail = f"{data_dir}: {free:.0%} free ({usage.free / 1e9:.1f} of {usage.total / 1e9:.1f} GB)"
    if free * 100 < min_free_percent:
        return fail("disk", f"{detail}, below {min_free_percent:g} %", "disk_full")
    return Check("disk", True, detail)


def check_database(path: Path | str) -> Check:
    """The file exists, opens, passes ``PRAGMA quick_check`` and has every migration.

    A ``postgresql://`` URL (several gates sharing one database) is checked by
    :func:`check_shared_database` instead.
    """
    from kiosk.storage import Database
    from kiosk.storage.database import migration_scripts

    if isinstance(path, str):
        return check_shared_database(path)
    if not path.is_file():  # never create it here
        return fail("database", f"{path} does not exist", "db_missing", folder=path.parent)
    latest = max((v for v, _, _ in migration_scripts()), default=0)
    db = Database(path)
    try:
        if not db.integrity_ok():
            return fail(
                "database", f"{path}: PRAGMA quick_check failed", "db_broken", name=path.name
            )
        version = db.schema_version()
    except Exception as exc:  # StorageError, or sqlite3's "malformed" on a damaged page
        return fail("database", f"{path}: cannot open: {exc}", "db_broken", name=path.name)
    finally:
        db.close()
    if version < latest:
        return fail("database", f"{path}: schema version {version}, needs {latest}", "db_upgrade")
    if version > latest:
        return fail("database", f"{path}: schema version {version} > {latest}", "db_newer")
    return Check("database", True, f"{path}: quick_check ok, schema version {version}")


def check_shared_database(url: str) -> Check:
    """The PostgreSQL server answers, the kiosk tables are there and every migration is applied."""
    from kiosk.storage.database import migration_scripts
    from kiosk.storage.postgres import PostgresDatabase

    latest = max((v for v, _, _ in migration_scripts("postgresql")), default=0)
    db = PostgresDatabase(url)
    try:
        ok = db.integrity_ok()
        version = db.schema_version()
    except Exception as exc:  # StorageError: unreachable, refused, wrong password
        return fail("database", str(exc), "db_unreachable")
    finally:
        db.close()
    if not ok:
        return fail("database", f"{db.describe()}: kiosk tables missing", "db_upgrade")
    if version < latest:
        return fail(
            "database", f"{db.describe()}: schema version {version}, needs {latest}", "db_upgrade"
        )
    if version > latest:
        return fail("database", f"{db.describe()}: schema version {version} > {latest}", "db_newer")
    return Check("database", True, f"{db.describe()}: reachable, schema version {version}")
