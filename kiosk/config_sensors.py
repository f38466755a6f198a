"""The ``[thermometer]`` section: the MLX90614's optics and the optional I2C helpers.

Kept apart from :mod:`kiosk.config` (which includes it) so that module stays readable;
same rules: every field typed, bounded and described, unknown keys rejected.
"""

from __future__ import annotations

from typing import Literal

from pydantic import BaseModel, ConfigDict, Field

from kiosk.domain import optics

Part = Literal["xAA", "xBA", "xCC", "xCF", "xCI"]


class ThermometerConfig(BaseModel):
    model_config = ConfigDict(extra="forbid", frozen=True)

    part: Part = Field(
        "xAA",
        description="MLX90614 optics (last letters of the part code): xAA/xBA 90° (GY-906 "
        "boards), xCC 35°, xCF 10°, xCI 5°. Decides the working distance.",
    )
    field_of_view_deg: float | None = Field(
        None,
        ge=1.0,
        le=120.0,
        description="Field of view in degrees, when it differs from the part's (e.g. a lens "
        "or a tube in front of the sensor).",
    )
    forehead_cm: float = Field(
        5.0, ge=3.0, le=8.0, description="Diameter of the forehead spot the view must fit in."
    )
    distance_sensor: Literal["none", "vl53l0x"] = Field(
        "none",
        description="Optional VL53L0X time-of-flight sensor on the same I2C bus: samples are "
        "taken only while the forehead is in the working range.",
    )
    distance_address: int = Field(
        0x29, ge=0x03, le=0x77, description="7-bit I2C address of the distance sensor."
    )
    room_sensor: Literal["none", "sht3x"] = Field(
        "none",
        description="Optional SHT3x room-air sensor on the same I2C bus, used as the ambient "
        "instead of the thermometer's own (enclosure-warmed) die temperature.",
    )
    room_address: int = Field(
        0x44, ge=0x03, le=0x77, description="7-bit I2C address of the room-air sensor."
    )

    @property
    def fov_deg(self) -> float:
        return self.field_of_view_deg or optics.PART_FOV_DEG[self.part]

    @property
    def fill_distance_cm(self) -> float:
        """Up to here the forehead fills the view."""
        return optics.fill_distance_cm(self.fov_deg, self.forehead_cm)

    @property
    def working_distance_cm(self) -> float:
        """Where the forehead should be (half the fill distance)."""
        return optics.working_distance_cm(self.fov_deg, self.forehead_cm)

    @property
    def distance_range_cm(self) -> tuple[float, float]:
        """With a distance sensor: the range in which samples are taken."""
        return (
            optics.near_limit_cm(self.fov_deg, self.forehead_cm),
            optics.far_limit_cm(self.fov_deg, self.forehead_cm),
        )

    def describe(self) -> str:
        """One line for `kiosk doctor` and the admin page."""
        low, high = self.distance_range_cm
        where = (
            f"distance sensor {self.distance_sensor} gates sampling to {low:.1f}–{high:.1f} cm"
            if self.distance_sensor != "none"
            else "no distance sensor: mark the spot or fit a forehead guide"
        )
        return (
            f"MLX90614{self.part} field of view {self.fov_deg:g}°: a {self.forehead_cm:g} cm "
            f"forehead fills it up to {self.fill_distance_cm:.1f} cm; working distance "
            f"{self.working_distance_cm:.1f} cm; {where}"
        )
