"""The one typed configuration schema (a TOML file).

Every field has a type, bounds and a description; unknown keys are rejected,
and errors name the field. Relative paths are resolved against the folder of
the configuration file, so a data folder is self-contained and movable.
``kiosk check-config FILE`` runs exactly this validation.
"""

from __future__ import annotations

import re
import tomllib
from pathlib import Path
from typing import Annotated, Any, Literal
from urllib.parse import urlsplit
from zoneinfo import ZoneInfo, ZoneInfoNotFoundError

from pydantic import (
    BaseModel,
    ConfigDict,
    Field,
    ValidationError,
    field_validator,
    model_validator,
)

from kiosk.config_sensors import ThermometerConfig
from kiosk.errors import ConfigError

DAYS = ("mon", "tue", "wed", "thu", "fri", "sat", "sun")
_HHMM = re.compile(r"^([01]\d|2[0-4]):([0-5]\d)$")


class _Section(BaseModel):
    model_config = ConfigDict(extra="forbid", frozen=True)


class SiteConfig(_Section):
    office_id: Annotated[str, Field(min_length=1, max_length=16, pattern=r"^[A-Za-z0-9._-]+$")] = (
        Field("OFFICE", description="Short id of the office; part of every booking code.")
    )
    office_name: Annotated[str, Field(min_length=1, max_length=120)] = Field(
        "Kantor Pelayanan", description="Name shown on the kiosk screen and tickets."
    )
    gate_id: Annotated[str, Field(min_length=1, max_length=32, pattern=r"^[A-Za-z0-9._-]+$")] = (
        Field("gate-1", description="Id of this gate; stored with every entry.")
    )
    timezone: str = Field(
        "Asia/Jakarta", description="IANA zone that defines the business day (not the host TZ)."
    )
    online_booking_url: Annotated[str, Field(max_length=200)] = Field(
        "", description="Address shown to citizens when the day is full."
    )

    @field_validator("timezone")
    @classmethod
    def _known_zone(cls, value: str) -> str:
        try:
            ZoneInfo(value)
        except (ZoneInfoNotFoundError, ValueError):
            raise ValueError(f"unknown time zone {value!r} (use e.g. Asia/Jakarta)") from None
        return value

    @property
    def zone(self) -> ZoneInfo:
        return ZoneInfo(self.timezone)


class AdmissionConfig(_Section):
    daily_cap: int = Field(50, ge=1, le=100_000, description="Citizens admitted per business day.")
    fever_threshold_c: float = Field(
        37.5,
        ge=37.0,
        le=39.0,
        description="Estimated body temperature at or above which entry is refused.",
    )
    reentry_window_minutes: int = Field(
        480,
        ge=0,
        le=1440,
        description="A booking admitted earlier today re-enters without a new slot within this "
        "many minutes of its admission; 0 disables re-entry.",
    )
    priority_uses_slot: bool = Field(
        False, description="Whether officer priority admissions (TNI/Polri, BPJS, …) use a slot."
    )
    opens: str = Field("00:00", description="Opening time HH:MM, local business time.")
    closes: str = Field("24:00", description="Closing time HH:MM (24:00 = end of day).")
    open_days: tuple[Literal["mon", "tue", "wed", "thu", "fri", "sat", "sun"], ...] = Field(
        DAYS, min_length=1, description="Days the gate admits citizens."
    )
    undo_window_minutes: int = Field(
        10,
        ge=0,
        le=240,
        description="An officer may undo an admission (the slot returns) within this many "
        "minutes of it; 0 disables undo.",
    )

    @field_validator("opens", "closes")
    @classmethod
    def _hhmm(cls, value: str) -> str:
        m = _HHMM.match(value)
        if not m or (m.group(1) == "24" and m.group(2) != "00"):
            raise ValueError(f"expected HH:MM between 00:00 and 24:00, got {value!r}")
        return value

    def minutes(self, which: Literal["opens", "closes"]) -> int:
        hh, mm = getattr(self, which).split(":")
        return int(hh) * 60 + int(mm)


class TemperatureConfig(_Section):
    offset_c: float = Field(
        0.3,
        ge=-4.0,
        le=4.0,
        description="Model offset: body = object + offset + k·(object − ambient). The same "
        "bounds apply to stored calibrations (kiosk/domain/calibration.py).",
    )
    ambient_gain: float = Field(
        0.19, ge=0.0, le=0.5, description="Model k: weight of the skin-to-air gradient."
    )
    min_estimate_c: float = Field(
        35.0,
        ge=33.0,
        le=36.5,
        description="Floor: an estimate below it is never 'ok' (the forehead does not fill "
        "the view): the visitor is asked to come closer and measured again.",
    )
    closer_attempts: int = Field(
        1, ge=0, le=3, description="How often a too-far visitor is asked closer and re-measured."
    )
    recheck_max_drop_c: float | None = Field(
        None,
        ge=0.1,
        le=1.0,
        description="Without a distance sensor: a re-measurement lower than the elevated "
        "first by more than this counts as not in place (stepped back) and cannot clear it "
        "(e.g. 0.4; unset: any valid re-measurement at or above the floor may clear it).",
    )
    enclosure_offset_c: float = Field(
        0.0,
        ge=0.0,
        le=10.0,
        description="Without a room sensor: how far the thermometer's die runs above the room "
        "inside the enclosure (die − room, measured at calibration); subtracted from the die.",
    )
    ambient_drift_alert_c: float = Field(
        4.0,
        ge=1.0,
        le=15.0,
        description="Alert when the ambient runs this far above the last calibration's.",
    )
    skin_min_c: float = Field(
        28.0, ge=15.0, le=35.0, description="Below this no person is in view."
    )
    skin_max_c: float = Field(
        42.0, ge=37.0, le=45.0, description="Above this the reading is implausible."
    )
    ambient_min_c: float = Field(16.0, ge=0.0, le=30.0, description="Coldest validated room air.")
    ambient_max_c: float = Field(40.0, ge=25.0, le=50.0, description="Warmest validated room air.")
    sample_hz: float = Field(
        20.0, ge=1.0, le=1000.0, description="Thermometer samples per second while measuring."
    )
    settle_s: float = Field(
        0.2, ge=0.0, le=7.0, description="Sensor settling time after a person steps up (filter)."
    )
    stable_window: int = Field(
        4, ge=2, le=50, description="Consecutive samples that must agree for a stable reading."
    )
    max_spread_c: float = Field(
        0.3, ge=0.05, le=2.0, description="How far those samples may spread, °C."
    )
    measure_timeout_s: float = Field(
        4.0, ge=0.5, le=30.0, description="Give up (step closer) after this long without one."
    )
    recheck_elevated: bool = Field(
        True, description="Measure an elevated reading a second time before referring."
    )
    recheck_pause_s: float = Field(
        2.0, ge=0.0, le=120.0, description="Pause before the second measurement."
    )


class HardwareConfig(_Section):
    mode: Literal["sim", "real"] = Field(
        "sim", description="'sim' runs simulated twins of every device; 'real' needs them all."
    )
    i2c_bus: int = Field(
        1, ge=0, le=20, description="I2C bus number of the thermometer (/dev/i2c-N)."
    )
    i2c_address: int = Field(
        0x5A, ge=0x03, le=0x77, description="7-bit I2C address of the MLX90614."
    )
    check_pec: bool = Field(True, description="Verify the thermometer's CRC-8 (PEC) on every read.")
    camera: str = Field(
        "0",
        max_length=200,
        description="Camera: V4L2 index or /dev/videoN (USB), 'picamera' (CSI, Picamera2), "
        "or a video file / image folder to replay.",
    )
    picamera_python: str = Field(
        "/usr/bin/python3",
        max_length=200,
        pattern=r"^/",
        description="System Python that runs Picamera2 (apt) in the Pi camera's helper process.",
    )
    scan_debounce_s: float = Field(
        3.0, ge=0.5, le=30.0, description="The same code seen again within this is one attempt."
    )
    relay_pin: int = Field(17, ge=0, le=27, description="BCM pin of the door/turnstile relay.")
    relay_active_high: bool = Field(False, description="Most relay boards are active-low.")
    relay_open_seconds: float = Field(5.0, ge=0.5, le=60.0, description="How long the gate opens.")
    green_pin: int = Field(22, ge=0, le=27, description="BCM pin of the green light.")
    red_pin: int = Field(27, ge=0, le=27, description="BCM pin of the red light.")
    buzzer_pin: int = Field(23, ge=0, le=27, description="BCM pin of the buzzer.")
    button_pin: int = Field(24, ge=0, le=27, description="BCM pin of the officer button.")
    button_hold_seconds: float = Field(
        2.0, ge=0.5, le=10.0, description="Hold the button this long to confirm a referral."
    )
    presence_pin: int | None = Field(
        None, ge=0, le=27, description="BCM pin of an optional presence sensor (wakes the screen)."
    )


class BookingsConfig(_Section):
    public_keys: str = Field(
        "keys/public-keys.json",
        max_length=300,
        description="Public key list for signed booking codes, relative to data_dir.",
    )
    private_key: str = Field(
        "",
        max_length=300,
        description="Signing key for `kiosk booking issue/add` (keep it outside the data "
        "folder; empty: `booking add` prints plain booking ids).",
    )
    default_service: str = Field(
        "UMUM", pattern=r"^[A-Z0-9-]{1,8}$", description="Service code when none is given."
    )


class BookingSourceConfig(_Section):
    day_list_url: str = Field(
        "",
        max_length=200,
        pattern=r"^(https?://\S+)?$",
        description="Booking system day-list URL for `kiosk booking sync` (empty: off).",
    )
    live_lookup_url: str = Field(
        "",
        max_length=200,
        pattern=r"^(https?://\S+)?$",
        description="Booking system API base for a live look-up per scan (empty: off).",
    )
    connect_timeout_s: float = Field(3.0, ge=0.1, le=3.0, description="HTTP connect timeout.")
    read_timeout_s: float = Field(5.0, ge=0.1, le=5.0, description="HTTP read timeout.")
    retries: int = Field(2, ge=0, le=5, description="GET retries (with jitter).")
    live_deadline_s: float = Field(
        6.0, ge=0.5, le=7.5, description="Give up on the live look-up after this (decision < 8 s)."
    )
    sync_times: tuple[str, ...] = Field(
        ("05:00",), description="Daily sync times HH:MM; a sync also runs 15 min before opening."
    )
    sync_state_file: str = Field(
        "booking_sync.json", max_length=200, description="Last sync result, in data_dir."
    )

    @field_validator("sync_times")
    @classmethod
    def _times(cls, value: tuple[str, ...]) -> tuple[str, ...]:
        for item in value:
            if not _HHMM.match(item) or item.startswith("24"):
                raise ValueError(f"expected HH:MM times, got {item!r}")
        return value


class PathsConfig(_Section):
    data_dir: str = Field(".", description="Data folder, relative to the config file.")
    database: str = Field("kiosk.db", description="SQLite file, relative to data_dir.")
    database_url: str | None = Field(
        None,
        max_length=500,
        description="PostgreSQL database shared by several gates, "
        "postgresql://USER:PASSWORD@HOST:5432/DBNAME; unset = the SQLite file above "
        "(also --database-url, $KIOSK_DATABASE_URL, or a top-level database_url key).",
    )
    backup_dir: str = Field(
        "backups", max_length=300, description="Folder of `kiosk db backup`, relative to data_dir."
    )

    @field_validator("database_url")
    @classmethod
    def _postgresql_url(cls, value: str | None) -> str | None:
        if value is None or not value.strip():
            return None
        value = value.strip()
        if not value.startswith(("postgresql://", "postgres://")):
            raise ValueError(
                "must be a PostgreSQL URL such as postgresql://kiosk:PASSWORD@db-host:5432/kiosk "
                "(for SQLite leave database_url unset and set paths.database)"
            )
        try:
            urlsplit(value).port  # noqa: B018 - raises on a malformed port
        except ValueError as exc:
            raise ValueError(f"malformed database URL: {exc}") from None
        return value


class ServerConfig(_Section):
    host: str = Field("127.0.0.1", max_length=100, description="Address to bind.")
    port: int = Field(8080, ge=1, le=65535, description="TCP port.")
    threads: int = Field(8, ge=2, le=64, description="WSGI worker threads.")


class ClockConfig(_Section):
    trust: Literal["auto", "ntp", "always"] = Field(
        "auto",
        description=(
            "When the wall clock may start a new business day on its own: 'ntp' = only once "
            "systemd-timesyncd (or chrony via sync_flag) reports sync or a battery RTC is fitted, "
            "otherwise an officer confirms the date; 'always' = trust the host clock (development "
            "laptops); 'auto' = 'always' in sim mode, 'ntp' in real mode."
        ),
    )
    sync_flag: str = Field(
        "/run/systemd/timesync/synchronized",
        max_length=300,
        description="File whose existence means the clock is synchronised.",
    )
    rtc: bool = Field(
        False, description="A battery-backed real-time clock is fitted (Pi 5 + battery)."
    )
    max_jump_s: float = Field(
        120.0, ge=10.0, le=3600.0, description="Wall-vs-monotonic jump that raises an alert."
    )


class RetentionConfig(_Section):
    days: int = Field(
        30,
        ge=1,
        le=3650,
        description="Citizen entries and temperatures are purged after this many days.",
    )
    purge_time: str = Field("01:30", description="Local time of the daily purge (HH:MM).")
    min_free_percent: float = Field(
        10.0, ge=1.0, le=50.0, description="Warn on the officer console below this much free disk."
    )

    @field_validator("purge_time")
    @classmethod
    def _hhmm(cls, value: str) -> str:
        if not _HHMM.match(value) or value.startswith("24"):
            raise ValueError(f"time must be HH:MM between 00:00 and 23:59, got {value!r}")
        return value


class AttendanceConfig(_Section):
    """Staff attendance by face recognition (opt-in: it processes the face of everyone at the
    gate to find staff; do the data-protection assessment before enabling it)."""

    enabled: bool = Field(
        False, description="Recognise enrolled staff at the gate camera and record attendance."
    )
    tolerance: float = Field(
        0.5, ge=0.3, le=0.6, description="Largest face distance accepted as a match."
    )
    margin: float = Field(
        0.05, ge=0.0, le=0.3, description="How much closer the best person must be than the next."
    )
    repeat_minutes: int = Field(
        10, ge=0, le=240, description="A recognition this soon after the last one is ignored."
    )
    work_starts: str = Field("08:00", description="Start of the working day HH:MM (late flag).")
    late_grace_minutes: int = Field(
        0, ge=0, le=120, description="Clock-ins up to this long after work_starts are not late."
    )
    detect_width: int = Field(
        320, ge=160, le=1280, description="Frames are shrunk to this width to find faces."
    )
    min_face_px: int = Field(
        80, ge=40, le=1000, description="Smallest face (pixels wide) accepted for enrolment."
    )
    min_sharpness: float = Field(
        40.0, ge=0.0, le=1000.0, description="Enrolment photos blurrier than this are refused."
    )
    liveness_frames: int = Field(
        5, ge=2, le=60, description="Frames a face must be seen in before it is accepted."
    )
    liveness_window_s: float = Field(
        3.0, ge=0.2, le=30.0, description="Those frames must fall within this many seconds."
    )
    liveness_min_motion: float = Field(
        0.004,
        ge=0.0,
        le=0.2,
        description="Least box-centre movement over those frames (fraction of face width): "
        "a frozen face is a picture.",
    )
    liveness_max_step: float = Field(
        0.25,
        ge=0.01,
        le=2.0,
        description="Largest frame-to-frame movement (fraction of face width): jumps are refused.",
    )
    skin_above_ambient_c: float = Field(
        1.5,
        ge=0.0,
        le=10.0,
        description="The thermometer must read skin at least this much warmer than the room.",
    )
    key_file: str = Field(
        "faces.key",
        max_length=300,
        description="Key that encrypts face encodings, relative to data_dir (never in the DB).",
    )
    models_dir: str = Field(
        "",
        max_length=300,
        description="Folder of the dlib model files (empty: the face_recognition_models package).",
    )

    @field_validator("work_starts")
    @classmethod
    def _start(cls, value: str) -> str:
        if not _HHMM.match(value) or value.startswith("24"):
            raise ValueError(f"time must be HH:MM between 00:00 and 23:59, got {value!r}")
        return value

    @property
    def work_starts_minute(self) -> int:
        hh, mm = self.work_starts.split(":")
        return int(hh) * 60 + int(mm)


class SecurityConfig(_Section):
    secure_cookies: bool = Field(
        False,
        description="Always mark session cookies Secure (set this when a TLS proxy fronts the "
        "kiosk; requests that arrive over https get Secure cookies anyway).",
    )
    idle_timeout_minutes: int = Field(
        15, ge=1, le=15, description="Officer/admin sessions end after this long without a click."
    )
    session_max_hours: int = Field(
        12, ge=1, le=24, description="Officer/admin sessions end this long after login."
    )


class PartitionConfig(_Section):
    after_s: float = Field(
        5.0,
        ge=1.0,
        le=120.0,
        description="A shared (PostgreSQL) database unreachable this long puts the gate in degraded mode.",
    )
    reserve_slots: int = Field(
        0,
        ge=0,
        le=20,
        description=(
            "Slots this gate reserves from the shared cap while connected, to admit signed-code "
            "bookings during a network partition (0 = refer everyone to the officer)."
        ),
    )
    probe_s: float = Field(
        2.0, ge=0.2, le=60.0, description="How often a degraded gate retries the database."
    )


class Config(_Section):
    site: SiteConfig = SiteConfig()
    admission: AdmissionConfig = AdmissionConfig()
    temperature: TemperatureConfig = TemperatureConfig()
    hardware: HardwareConfig = HardwareConfig()
    thermometer: ThermometerConfig = ThermometerConfig()
    bookings: BookingsConfig = BookingsConfig()
    booking_source: BookingSourceConfig = BookingSourceConfig()
    paths: PathsConfig = PathsConfig()
    server: ServerConfig = ServerConfig()
    clock: ClockConfig = ClockConfig()
    retention: RetentionConfig = RetentionConfig()
    partition: PartitionConfig = PartitionConfig()
    security: SecurityConfig = SecurityConfig()
    attendance: AttendanceConfig = AttendanceConfig()
    # Where the file was read from; relative paths resolve against its folder.
    source: Path | None = Field(None, exclude=True)

    @property
    def base_dir(self) -> Path:
        return self.source.parent if self.source else Path.cwd()

    @property
    def data_dir(self) -> Path:
        return (self.base_dir / self.paths.data_dir).resolve()

    @model_validator(mode="before")
    @classmethod
    def _top_level_database_url(cls, data: Any) -> Any:
        """A top-level ``database_url = "postgresql://…"`` is ``[paths] database_url``."""
        if not isinstance(data, dict) or "database_url" not in data:
            return data
        data = dict(data)
        url = data.pop("database_url")
        paths = data.get("paths") or {}
        if isinstance(paths, BaseModel):
            paths = paths.model_dump()
        if not isinstance(paths, dict):
            return data  # let the paths section report its own error
        if paths.get("database_url") not in (None, url):
            raise ValueError("database_url is set twice (top level and [paths]): keep one")
        data["paths"] = {**paths, "database_url": url}
        return data

    @property
    def database_path(self) -> Path:
        return (self.data_dir / self.paths.database).resolve()

    @property
    def database_target(self) -> str | Path:
        """What to open: the PostgreSQL URL when set, else the SQLite file."""
        return self.paths.database_url or self.database_path

    @property
    def backup_dir(self) -> Path:
        return (self.data_dir / self.paths.backup_dir).resolve()

    @property
    def public_keys_path(self) -> Path:
        return (self.data_dir / self.bookings.public_keys).resolve()

    @property
    def private_key_path(self) -> Path | None:
        if not self.bookings.private_key:
            return None
        return (self.base_dir / self.bookings.private_key).resolve()

    def replace(self, **sections: Any) -> Config:
        """A copy with some sections' fields replaced, e.g. ``hardware={"mode": "sim"}``."""
        data = self.model_dump()
        for name, fields in sections.items():
            data[name].update(fields)
        return parse_config(data, source=self.source)


def _describe(err: ValidationError, origin: str) -> str:
    lines = []
    for e in err.errors():
        field = ".".join(str(p) for p in e["loc"]) or "(top level)"
        if e["type"] == "extra_forbidden":
            msg = "unknown key (check the spelling; see `kiosk init` for a commented example)"
        else:
            msg = e["msg"].removeprefix("Value error, ")
        got = e.get("input")
        if field.endswith("database_url"):
            got = None  # may hold a password: never echo it
        suffix = f" (got {got!r})" if got is not None and e["type"] != "extra_forbidden" else ""
        if isinstance(got, dict):
            suffix = ""
        lines.append(f"  {field}: {msg}{suffix}")
    return f"{origin}: invalid configuration:\n" + "\n".join(lines)


def parse_config(data: dict[str, Any], *, source: Path | None = None) -> Config:
    try:
        return Config.model_validate({**data, "source": source})
    except ValidationError as err:
        raise ConfigError(_describe(err, str(source or "configuration"))) from None


def load_config(path: str | Path) -> Config:
    """Read and validate a configuration file; raises :class:`ConfigError`."""
    path = Path(path)
    try:
        raw = path.read_bytes()
    except FileNotFoundError:
        raise ConfigError(
            f"{path}: configuration file not found — create one with `kiosk init DIR`"
        ) from None
    except OSError as exc:
        raise ConfigError(f"{path}: cannot read configuration: {exc.strerror}") from None
    try:
        data = tomllib.loads(raw.decode("utf-8"))
    except UnicodeDecodeError:
        raise ConfigError(f"{path}: not a text file (expected UTF-8 TOML)") from None
    except tomllib.TOMLDecodeError as exc:
        raise ConfigError(f"{path}: TOML syntax error: {exc}") from None
    if "source" in data:
        raise ConfigError(f"{path}: invalid configuration:\n  source: unknown key")
    return parse_config(data, source=path.resolve())
