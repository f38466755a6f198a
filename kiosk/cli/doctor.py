"""``kiosk doctor``: one line per check, exit status 1 if any fails.

Registered on the main ``kiosk`` group by :func:`register`.
"""

from __future__ import annotations

import sys
from pathlib import Path

import click

from kiosk.cli.common import config_option, load
from kiosk.doctor import Check
from kiosk.errors import ConfigError

# Faults a single doctor read cannot reveal (they show over time or on writes only).
UNSEEN_FAULTS = {
    "stuck": "a frozen sensor still answers valid words; the kiosk's stuck detector needs "
    "readings over time",
    "slow": "injected without a delay, so reads stay within their time budget",
    "drop_write": "affects EEPROM writes only; the doctor only reads",
}


def format_check(check: Check, width: int = 0) -> str:
    """``OK    name  detail`` or ``FAIL  name  detail — fix: …``."""
    line = f"{'OK' if check.ok else 'FAIL':<6}{check.name:<{width}}  {check.detail}"
    if not check.ok and check.fix:
        line += f" — fix: {check.fix}"
    return line


def _print(checks: list[Check]) -> None:
    width = max(len(c.name) for c in checks)
    for check in checks:
        click.echo(format_check(check, width))


@click.command("doctor")
@config_option
@click.option("--sim", is_flag=True, help="Check with simulated hardware.")
@click.option(
    "--inject-fault",
    "fault",
    default=None,
    metavar="NAME",
    help="Simulation only: make the simulated thermometer fail (nack, eio, bad_pec, "
    "error_flag, …) to see how that fault is reported.",
)
def doctor(config_path: Path | None, sim: bool, fault: str | None) -> None:
    """Check configuration, clock, disk, database, thermometer, camera and GPIO.

    In real mode run it with kiosk.service stopped: the service holds the pins.
    """
    from kiosk import doctor as checks
    from kiosk.services.devices import open_devices

    try:
        config = load(config_path)
    except ConfigError as exc:
        _print([checks.config_failure(exc)])
        sys.exit(1)
    if sim:
        config = config.replace(hardware={"mode": "sim"})
    if fault and config.hardware.mode != "sim":
        raise click.UsageError("--inject-fault needs simulated hardware (--sim)")
    devices = open_devices(config) if config.hardware.mode == "sim" else None
    try:
        if fault and devices is not None and devices.simulator is not None:
            devices.simulator.inject_fault(fault)  # unknown names: InputError listing them
            if fault in UNSEEN_FAULTS:
                click.echo(f"note: {fault}: {UNSEEN_FAULTS[fault]}", err=True)
        results = checks.run_checks(config, devices=devices)
    finally:
        if devices is not None:
            devices.close()
    _print(results)
    if not all(c.ok for c in results):
        sys.exit(1)


def register(main: click.Group) -> None:
    main.add_command(doctor)
