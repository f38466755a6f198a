"""Configuration sections about the machine and its services: devices, files and database,
the web server, the shared-database partition guard, security and staff face attendance.

Part of the one configuration schema (:mod:`kiosk.config`, which re-exports every section).
"""

from __future__ import annotations

import re
from typing import Literal
from urllib.parse import urlsplit

from pydantic import (
    Field,
    field_validator,
)

from kiosk.config_office import HHMM, Section


class HardwareConfig(Section):
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
        None,
        ge=0,
        le=27,
        description="BCM pin of an optional presence sensor (records when someone steps up).",
    )


class PrinterConfig(Section):
    """The ESC/POS thermal receipt printer for queue numbers (python-escpos)."""

    kind: Literal["auto", "none", "usb", "network", "file"] = Field(
        "auto",
        description="'usb' (vendor_id/product_id), 'network' (host/port, raw TCP 9100), "
        "'file' (the ESC/POS bytes appended to `file`), 'none'; 'auto' = 'file' in "
        "simulation, 'none' on real hardware.",
    )
    vendor_id: int = Field(
        0x04B8, ge=0, le=0xFFFF, description="USB vendor id (lsusb), e.g. 0x04b8 for Epson."
    )
    product_id: int = Field(
        0x0202, ge=0, le=0xFFFF, description="USB product id (lsusb), e.g. 0x0202."
    )
    host: str = Field("", max_length=200, description="Network printer's address.")
    port: int = Field(9100, ge=1, le=65535, description="Network printer's raw TCP port.")
    timeout_s: float = Field(
        5.0, ge=0.5, le=60.0, description="Give up on one print after this many seconds."
    )
    file: str = Field(
        "receipts.escpos",
        max_length=300,
        description="For kind 'file': where the receipts' bytes go (relative: the data folder).",
    )

    @field_validator("host")
    @classmethod
    def _host(cls, value: str) -> str:
        if value and not re.fullmatch(r"[A-Za-z0-9.:\-\[\]]+", value):
            raise ValueError(f"not a host name or address: {value!r}")
        return value

    def effective_kind(self, mode: str) -> str:
        """The kind in use: ``auto`` is ``file`` in simulation and ``none`` on real hardware."""
        if self.kind == "auto":
            return "file" if mode == "sim" else "none"
        return self.kind


class PathsConfig(Section):
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


class ServerConfig(Section):
    host: str = Field("127.0.0.1", max_length=100, description="Address to bind.")
    port: int = Field(8080, ge=1, le=65535, description="TCP port.")
    threads: int = Field(8, ge=2, le=64, description="WSGI worker threads.")
    local_port: int = Field(
        8081,
        ge=0,
        le=65535,
        description="Second listener on 127.0.0.1 for the kiosk's own screen and the watchdog, "
        "with its own threads and connections so a flood on the main port cannot starve them "
        "(0 = none; the main port then serves them too).",
    )
    local_threads: int = Field(4, ge=2, le=16, description="Worker threads of the local listener.")
    connection_limit: int = Field(
        400,
        ge=10,
        le=900,
        description="Open connections the main port accepts at once (idle ones are cheap: "
        "no thread until a whole request has arrived).",
    )
    channel_timeout_s: int = Field(
        20,
        ge=5,
        le=300,
        description="A connection that sends nothing for this long is closed (slow or "
        "half-open clients); an open event stream is a request in progress and stays.",
    )
    cleanup_interval_s: int = Field(
        5, ge=1, le=60, description="How often idle connections are looked for."
    )
    trusted_proxy: str = Field(
        "127.0.0.1",
        max_length=100,
        description="Address of the TLS proxy (nginx) whose X-Forwarded-For names the client; "
        "empty = trust no proxy header.",
    )


class PartitionConfig(Section):
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


class SecurityConfig(Section):
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


class AttendanceConfig(Section):
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
    sim_photos_dir: str = Field(
        "../shared/data/faces",
        max_length=300,
        description="Simulation only: folder of staff photos the simulator panel can show to "
        "the camera (relative to the working directory; subfolders are searched).",
    )

    @field_validator("work_starts")
    @classmethod
    def _start(cls, value: str) -> str:
        if not HHMM.match(value) or value.startswith("24"):
            raise ValueError(f"time must be HH:MM between 00:00 and 23:59, got {value!r}")
        return value

    @property
    def work_starts_minute(self) -> int:
        hh, mm = self.work_starts.split(":")
        return int(hh) * 60 + int(mm)
