"""The one typed configuration schema (a TOML file).

Every field has a type, bounds and a description; unknown keys are rejected,
and errors name the field. Relative paths are resolved against the folder of
the configuration file, so a data folder is self-contained and movable.
``kiosk check-config FILE`` runs exactly this validation.

The sections live by job in :mod:`kiosk.config_office` (what the office decides) and
:mod:`kiosk.config_machine` (the machine and its services); this module assembles them
into :class:`Config`, reads files, and re-exports every section.
"""

from __future__ import annotations

import tomllib
from pathlib import Path
from typing import Any

from pydantic import (
    BaseModel,
    Field,
    ValidationError,
    field_validator,
    model_validator,
)

from kiosk.config_machine import (
    AttendanceConfig,
    HardwareConfig,
    PartitionConfig,
    PathsConfig,
    PrinterConfig,
    SecurityConfig,
    ServerConfig,
)
from kiosk.config_office import (
    DAYS,
    SERVICE_CODE,
    AdmissionConfig,
    BookingsConfig,
    BookingSourceConfig,
    ClockConfig,
    RetentionConfig,
    Section,
    ServiceConfig,
    SiteConfig,
    TemperatureConfig,
    Weekday,
)
from kiosk.config_sensors import ThermometerConfig
from kiosk.errors import ConfigError


class Config(Section):
    site: SiteConfig = SiteConfig()
    admission: AdmissionConfig = AdmissionConfig()
    temperature: TemperatureConfig = TemperatureConfig()
    hardware: HardwareConfig = HardwareConfig()
    thermometer: ThermometerConfig = ThermometerConfig()
    printer: PrinterConfig = PrinterConfig()
    bookings: BookingsConfig = BookingsConfig()
    booking_source: BookingSourceConfig = BookingSourceConfig()
    paths: PathsConfig = PathsConfig()
    server: ServerConfig = ServerConfig()
    clock: ClockConfig = ClockConfig()
    retention: RetentionConfig = RetentionConfig()
    partition: PartitionConfig = PartitionConfig()
    security: SecurityConfig = SecurityConfig()
    attendance: AttendanceConfig = AttendanceConfig()
    services: dict[str, ServiceConfig] = Field(
        default_factory=dict,
        description="Services by code (1-8 of A-Z 0-9 -), each with its own daily cap inside "
        "admission.daily_cap; bookings and walk-ins of a service use its quota.",
    )
    # Where the file was read from; relative paths resolve against its folder.
    source: Path | None = Field(None, exclude=True)

    @field_validator("services")
    @classmethod
    def _service_codes(cls, value: dict[str, ServiceConfig]) -> dict[str, ServiceConfig]:
        for code in value:
            if not SERVICE_CODE.match(code):
                raise ValueError(f"service code {code!r}: must be 1-8 of A-Z 0-9 -")
        return value

    @model_validator(mode="after")
    def _printer_complete(self) -> Config:
        if self.printer.kind == "network" and not self.printer.host:
            raise ValueError("printer.kind = 'network' needs printer.host")
        return self

    @model_validator(mode="after")
    def _services_inside_cap(self) -> Config:
        for code, service in self.services.items():
            if service.daily_cap > self.admission.daily_cap:
                raise ValueError(
                    f"services.{code}.daily_cap {service.daily_cap} is above "
                    f"admission.daily_cap {self.admission.daily_cap}"
                )
        return self

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
        exc = ConfigError(_describe(err, str(source or "configuration")))
        exc.problems = tuple(
            (
                ".".join(str(p) for p in e["loc"]),
                e["type"],
                dict(e.get("ctx") or {}),
                e.get("input"),
                e["msg"].removeprefix("Value error, "),
            )
            for e in err.errors()
        )
        raise exc from None


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


__all__ = [
    "DAYS",
    "AdmissionConfig",
    "AttendanceConfig",
    "BookingSourceConfig",
    "BookingsConfig",
    "ClockConfig",
    "Config",
    "HardwareConfig",
    "PartitionConfig",
    "PathsConfig",
    "PrinterConfig",
    "RetentionConfig",
    "SecurityConfig",
    "ServerConfig",
    "SiteConfig",
    "TemperatureConfig",
    "Weekday",
    "load_config",
    "parse_config",
]
