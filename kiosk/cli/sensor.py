"""CLI: thermometer calibration and EEPROM settings.

Registered on the main ``kiosk`` group by :func:`register`.
"""

from __future__ import annotations

import csv
import json
import math
from datetime import UTC, datetime
from pathlib import Path

import click

from kiosk.cli.common import config_option, load, open_database
from kiosk.domain.calibration import REFERENCE_BODY_C, REFERENCE_CASES, fit_problems
from kiosk.domain.measurement import (
    CalibrationPair,
    MeasurementPolicy,
    Sample,
    assess,
    fit_calibration,
)
from kiosk.domain.temperature import EstimationModel, ReadingLimits, ReadingState
from kiosk.errors import InputError, SensorError
from kiosk.storage import repository as repo

EMISSIVITY_SANE = (0.90, 1.00)
"""Human skin is ≈ 0.98; values outside this range are refused without --force."""


def _read_pairs(path: Path) -> list[CalibrationPair]:
    pairs = []
    try:
        text = path.read_text(encoding="utf-8-sig")
    except (OSError, UnicodeDecodeError) as exc:
        raise InputError(f"{path}: cannot read ({exc})") from None
    reader = csv.DictReader(text.splitlines())
    need = {"object_c", "ambient_c", "clinical_c"}
    if not reader.fieldnames or not need <= set(reader.fieldnames):
        raise InputError(f"{path}: expected columns object_c,ambient_c,clinical_c")
    for row in reader:
        try:
            values = [float(row[k]) for k in ("object_c", "ambient_c", "clinical_c")]
        except (TypeError, ValueError):
            raise InputError(f"{path}: line {reader.line_num}: not a number") from None
        if not all(math.isfinite(v) for v in values) or not 30 <= values[2] <= 43:
            raise InputError(f"{path}: line {reader.line_num}: clinical value must be 30–43 °C")
        pairs.append(CalibrationPair(*values))
    return pairs


SIM_ROOMS_C = (22.0, 24.5, 27.0, 29.5, 32.0)
SIM_BODIES_C = (36.5, 36.6, 36.7, 36.8, 36.9, 37.0, 37.1, 37.2)
"""Simulated calibration visitors' clinical temperatures, in the order they step up (so the
operator types 36.5, 36.6, … as a clinical thermometer would show them)."""


def _measure_once(config_path: Path | None, visitor: int = 0) -> tuple[float, float]:
    """One stable reading through the configured thermometer (object, ambient).

    In sim mode nobody stands at the fake sensor, so visitor number ``visitor`` is put
    there: body and room temperatures vary from visitor to visitor, as a calibration needs.
    """
    import time

    from kiosk.services.devices import open_thermometer

    config = load(config_path)
    t = config.temperature
    policy = MeasurementPolicy(t.sample_hz, t.settle_s, t.stable_window, t.max_spread_c, 10.0)
    limits = ReadingLimits(t.skin_min_c, t.skin_max_c, t.ambient_min_c, t.ambient_max_c)
    sensor, bus = open_thermometer(config)
    if bus is not None:
        room = SIM_ROOMS_C[visitor % len(SIM_ROOMS_C)]
        body = SIM_BODIES_C[visitor % len(SIM_BODIES_C)]
        model = EstimationModel(t.offset_c, t.ambient_gain)
        bus.set_ambient(room)
        bus.set_object(round(model.object_for(body, room), 2))
        click.echo(f"  (sim: a visitor of {body:.1f} °C in a {room:.1f} °C room)")
    try:
        samples: list[Sample] = []
        started = time.monotonic()
        while True:
            now = time.monotonic()
            samples.append(Sample(now, sensor.object_temperature(), sensor.ambient_temperature()))
            reading = assess(
                samples,
                started=started,
                now=now,
                policy=policy,
                model=EstimationModel(),
                limits=limits,
            )
            if reading is not None:
                break
            time.sleep(1 / t.sample_hz)
    finally:
        sensor.close()
    if reading.state is not ReadingState.OK or reading.object_c is None:
        raise SensorError(f"no stable forehead reading ({reading.state.value}) — try again")
    assert reading.ambient_c is not None
    # The pairs hold the ambient the gate will use: the die less the enclosure's warmth.
    return reading.object_c, round(reading.ambient_c - t.enclosure_offset_c, 2)


@click.command()
@config_option
@click.option("--operator", required=True, help="Who calibrates (stored with the result).")
@click.option(
    "--pairs",
    "pairs_file",
    type=click.Path(dir_okay=False, path_type=Path),
    default=None,
    help="CSV object_c,ambient_c,clinical_c instead of measuring interactively.",
)
@click.option("--count", default=6, type=click.IntRange(3, 50), help="Pairs to take interactively.")
@click.option("--yes", is_flag=True, help="Save without asking.")
def calibrate(
    config_path: Path | None, operator: str, pairs_file: Path | None, count: int, yes: bool
) -> None:
    """Fit the body-temperature model to clinical thermometer readings and store it."""
    config = load(config_path)
    if pairs_file is not None:
        pairs = _read_pairs(pairs_file)
    else:
        pairs = []
        click.echo(
            "For each person: forehead at the marked spot, measure with the clinical "
            "thermometer at the same time. Vary people and room conditions."
        )
        while len(pairs) < count:
            click.prompt(
                f"[{len(pairs) + 1}/{count}] forehead in place, press Enter",
                default="",
                show_default=False,
            )
            try:
                obj, amb = _measure_once(config_path, len(pairs))
            except SensorError as exc:
                click.echo(f"  {exc}")
                continue
            clinical = click.prompt(
                f"  sensor {obj:.2f} °C (room {amb:.1f} °C); clinical °C",
                type=click.FloatRange(30.0, 43.0),
            )
            pairs.append(CalibrationPair(obj, amb, clinical))
    try:
        fit = fit_calibration(pairs)
    except ValueError as exc:
        raise InputError(str(exc)) from None
    click.echo("object  ambient  clinical  estimate  residual")
    for p, r in zip(pairs, fit.residuals, strict=True):
        estimate = fit.model.estimate(p.object_c, p.ambient_c)
        click.echo(
            f"{p.object_c:6.2f}  {p.ambient_c:7.2f}  {p.clinical_c:8.2f}  {estimate:8.2f}  {r:+8.2f}"
        )
    click.echo(
        f"offset {fit.model.offset_c:+.3f} °C, k {fit.model.ambient_gain:.3f}; "
        f"RMS residual {fit.rms:.2f} °C, worst {fit.worst:.2f} °C"
    )
    if fit.worst > 0.5:
        click.echo("warning: a residual above 0.5 °C — check that pair or take more")
    click.echo(f"what this calibration estimates for a {REFERENCE_BODY_C} °C visitor:")
    default = EstimationModel(config.temperature.offset_c, config.temperature.ambient_gain)
    for obj, room in REFERENCE_CASES:
        click.echo(
            f"  room {room:4.1f} °C, skin {obj:4.1f} °C → {fit.model.estimate(obj, room):5.2f} °C "
            f"(configured default {default.estimate(obj, room):5.2f} °C)"
        )
    if problems := fit_problems(pairs, fit):
        raise InputError(
            "calibration NOT stored — outside the physical bounds "
            "(kiosk/domain/calibration.py):\n" + "\n".join(f"  - {p}" for p in problems)
        )
    if not yes and not click.confirm("save this calibration?", default=False):
        click.echo("not saved")
        return
    with open_database(config) as db, db.transaction() as conn:
        repo.add_calibration(
            conn,
            repo.Calibration(
                ts=datetime.now(UTC),
                gate_id=config.site.gate_id,
                operator=operator,
                offset_c=fit.model.offset_c,
                ambient_gain=fit.model.ambient_gain,
                pairs=len(pairs),
                rms_residual_c=round(fit.rms, 3),
                pairs_json=json.dumps([p.__dict__ for p in pairs]),
            ),
        )
        repo.add_audit(
            conn,
            operator,
            "calibrate",
            subject=config.site.gate_id,
            details=f"offset {fit.model.offset_c} k {fit.model.ambient_gain} n {len(pairs)}",
        )
    click.echo(f"saved: the gate uses it from its next start (calibrated by {operator})")


@click.group()
def sensor() -> None:
    """Thermometer settings (EEPROM)."""


@sensor.command("emissivity")
@config_option
@click.option("--set", "value", type=float, default=None, help="New emissivity (skin ≈ 0.98).")
@click.option("--force", is_flag=True, help=f"Allow values outside {EMISSIVITY_SANE}.")
def emissivity(config_path: Path | None, value: float | None, force: bool) -> None:
    """Read, or write and verify, the sensor's emissivity (an EEPROM write: do it rarely)."""
    from kiosk.services.devices import open_thermometer

    if value is not None and not force and not EMISSIVITY_SANE[0] <= value <= EMISSIVITY_SANE[1]:
        raise InputError(
            f"emissivity {value} is outside {EMISSIVITY_SANE[0]}–{EMISSIVITY_SANE[1]} "
            "(skin is about 0.98); use --force only if you know the target"
        )
    config = load(config_path)
    thermometer, _bus = open_thermometer(config)
    try:
        if value is not None:
            thermometer.write_emissivity(value)
            click.echo(f"emissivity written and verified: {thermometer.read_emissivity():.3f}")
        else:
            click.echo(f"emissivity {thermometer.read_emissivity():.3f}")
    finally:
        thermometer.close()


@click.command("relay-off")
@config_option
def relay_off(config_path: Path | None) -> None:
    """Drive the gate relay to de-energised (gate closed) and release the pins.

    systemd runs this as ``ExecStopPost=`` after *every* exit of the kiosk — clean stop,
    crash, or watchdog kill — because a GPIO line given up by a dead process may keep its
    last level. In sim mode there is no real relay and it only says so.
    """
    from kiosk.errors import DeviceError
    from kiosk.services.devices import open_outputs

    config = load(config_path)
    if config.hardware.mode == "sim":
        click.echo("sim mode: no real relay to release")
        return
    try:
        outputs = open_outputs(config)  # created de-energised (initial_value=False)
    except DeviceError as exc:
        # Nothing to drive: the relay input is held at "off" by its pull resistor (README).
        click.echo(f"warning: relay not driven, GPIO unavailable: {exc}", err=True)
        return
    outputs.close()
    click.echo(f"relay on GPIO{config.hardware.relay_pin} de-energised (gate closed)")


def register(main: click.Group) -> None:
    main.add_command(calibrate)
    main.add_command(sensor)
    main.add_command(relay_off)
