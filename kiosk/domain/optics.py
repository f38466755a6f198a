"""What an IR thermometer sees: its field of view, the spot at a distance, the fill fraction.

An MLX90614 averages everything inside its cone of view. At distance ``d`` the cone's
spot on the forehead has a diameter of about ``2·d·tan(FOV/2)``; when that spot is larger
than the forehead (``forehead_cm``, 5 cm by default) the reading is an area-weighted mix
of skin and the room behind::

    fill   = min(1, (forehead / spot)²)
    object = fill · skin + (1 − fill) · room

The reading is the skin's only while ``fill`` is 1, i.e. up to :func:`fill_distance_cm`.
The kiosk's *working distance* is half of that (the field notes' "halve for margin": the
forehead is not a flat disc centred on the axis, and the sensor's cone has soft edges).
With a distance sensor, samples are taken only between :func:`near_limit_cm` and
:func:`far_limit_cm` (80 % of the fill distance: still full fill with margin for the
time-of-flight sensor's ±1–2 cm).

Part codes (Melexis MLX90614 ordering codes, the last three letters): xAA and xBA 90°
(the common GY-906 boards), xCC 35°, xCF 10°, xCI 5°.
"""

from __future__ import annotations

import math

PART_FOV_DEG: dict[str, float] = {"xAA": 90.0, "xBA": 90.0, "xCC": 35.0, "xCF": 10.0, "xCI": 5.0}
"""Field of view (full cone angle, degrees) of each MLX90614 optics option."""

WORKING_MARGIN = 0.5
"""Working distance = this × the distance up to which the forehead fills the view."""
FAR_LIMIT = 0.8
"""With a distance sensor, samples are used up to this × the fill distance."""
NEAR_LIMIT = 0.5
"""… and from this × the working distance (closer is touching, or the sensor's dead zone)."""


def spot_diameter_cm(distance_cm: float, fov_deg: float) -> float:
    """Diameter of the sensor's view at ``distance_cm`` (cone apex at the sensor)."""
    return 2.0 * max(distance_cm, 0.0) * math.tan(math.radians(fov_deg) / 2.0)


def fill_fraction(distance_cm: float, fov_deg: float, forehead_cm: float = 5.0) -> float:
    """Share of the view the forehead covers at ``distance_cm`` (1.0 = all skin)."""
    spot = spot_diameter_cm(distance_cm, fov_deg)
    if spot <= forehead_cm:
        return 1.0
    return (forehead_cm / spot) ** 2


def fill_distance_cm(fov_deg: float, forehead_cm: float = 5.0) -> float:
    """The farthest distance at which the forehead still fills the view."""
    return forehead_cm / (2.0 * math.tan(math.radians(fov_deg) / 2.0))


def working_distance_cm(fov_deg: float, forehead_cm: float = 5.0) -> float:
    """Where the visitor's forehead should be: half the fill distance."""
    return WORKING_MARGIN * fill_distance_cm(fov_deg, forehead_cm)


def near_limit_cm(fov_deg: float, forehead_cm: float = 5.0) -> float:
    return NEAR_LIMIT * working_distance_cm(fov_deg, forehead_cm)


def far_limit_cm(fov_deg: float, forehead_cm: float = 5.0) -> float:
    return FAR_LIMIT * fill_distance_cm(fov_deg, forehead_cm)


def mixed_object_c(skin_c: float, room_c: float, fill: float) -> float:
    """What the thermometer reports when ``fill`` of its view is skin and the rest room."""
    return fill * skin_c + (1.0 - fill) * room_c
