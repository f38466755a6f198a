"""Configuration sections the office decides: who is admitted, when, how they are measured,
where bookings come from, how the clock is trusted and how long records are kept.

Part of the one configuration schema (:mod:`kiosk.config`, which re-exports every section);
:class:`Section` is the base of every section there.
"""

from __future__ import annotations

import re
from typing import Annotated, Literal
from zoneinfo import ZoneInfo, ZoneInfoNotFoundError

from pydantic import (
    BaseModel,
    ConfigDict,
    Field,
    field_validator,
)

Weekday = Literal["mon", "tue", "wed", "thu", "fri", "sat", "sun"]
DAYS: tuple[Weekday, ...] = ("mon", "tue", "wed", "thu", "fri", "sat", "sun")
HHMM = re.compile(r"^([01]\d|2[0-4]):([0-5]\d)$")
"""A local time of day, ``HH:MM`` (``24:00`` allowed where the end of the day is meant)."""


class Section(BaseModel):
    model_config = ConfigDict(extra="forbid", frozen=True)


class SiteConfig(Section):
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
    sound_volume: Annotated[float, Field(ge=0.0, le=1.0)] = Field(
        0.8,
        description="Volume of the citizen screen's tones and spoken prompts (0 = silent, 1 = full).",
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


class AdmissionConfig(Section):
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
    open_days: tuple[Weekday, ...] = Field(
        DAYS, min_length=1, description="Days the gate admits citizens."
    )
    undo_window_minutes: int = Field(
        10,
        ge=0,
        le=240,
        description="An officer may undo an admission (the slot returns) within this many "
        "minutes of it; 0 disables undo.",
    )
    reentry_min_minutes: int = Field(
        5,
        ge=0,
        le=240,
        description="A booking scanned again within this many minutes of its latest admission "
        "is refused (reentry_too_soon): one code never opens the gate twice in a row.",
    )
    reentries_per_day: int = Field(
        1, ge=0, le=100, description="Re-entries a booking may make per business day."
    )
    walkin_release_time: str = Field(
        "",
        description="HH:MM: until then walk-ins may only use places not held by today's unused "
        "bookings (per service and overall); empty = booked places are never held.",
    )
    early_grace_minutes: int = Field(
        15,
        ge=0,
        le=240,
        description="A booking with an arrival window is admitted this many minutes before "
        "its start; earlier it is told to come back (too_early).",
    )

    @field_validator("walkin_release_time")
    @classmethod
    def _release(cls, value: str) -> str:
        return value and cls._hhmm(value)

    def release_minute(self) -> int | None:
        if not self.walkin_release_time:
            return None
        hh, mm = self.walkin_release_time.split(":")
        return int(hh) * 60 + int(mm)

    @field_validator("opens", "closes")
    @classmethod
    def _hhmm(cls, value: str) -> str:
        m = HHMM.match(value)
        if not m or (m.group(1) == "24" and m.group(2) != "00"):
            raise ValueError(f"expected HH:MM between 00:00 and 24:00, got {value!r}")
        return value

    def minutes(self, which: Literal["opens", "closes"]) -> int:
        hh, mm = getattr(self, which).split(":")
        return int(hh) * 60 + int(mm)


class ServiceConfig(Section):
    """One service the office runs (``[services.CODE]``, e.g. ``[services.KTP-EL]``)."""

    name: Annotated[str, Field(min_length=1, max_length=80)] = Field(
        description='Name shown to citizens and officers, e.g. "Perekaman KTP-el".'
    )
    daily_cap: int = Field(
        ge=0, le=100_000, description="Citizens of this service admitted per business day."
    )
    closed_weekdays: tuple[Weekday, ...] = Field(
        (), description="Days this service does not run (the others may)."
    )


SERVICE_CODE = re.compile(r"^[A-Z0-9-]{1,8}$")
"""A service code: as in signed booking codes (1-8 of A-Z 0-9 -)."""


class TemperatureConfig(Section):
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


class BookingsConfig(Section):
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


class BookingSourceConfig(Section):
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
            if not HHMM.match(item) or item.startswith("24"):
                raise ValueError(f"expected HH:MM times, got {item!r}")
        return value


class ClockConfig(Section):
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


class RetentionConfig(Section):
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
        if not HHMM.match(value) or value.startswith("24"):
            raise ValueError(f"time must be HH:MM between 00:00 and 23:59, got {value!r}")
        return value
