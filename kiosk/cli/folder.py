"""``kiosk init`` (a new data folder) and ``kiosk check-config``."""

from __future__ import annotations

from pathlib import Path

import click

from kiosk.cli.bookings import print_demo
from kiosk.cli.common import business_today, config_option, load
from kiosk.config import load_config


@click.command()
@click.argument("directory", type=click.Path(file_okay=False, path_type=Path))
@click.option("--demo", is_flag=True, help="Demo office name and demo bookings for today.")
@click.option("--force", is_flag=True, help="Overwrite an existing kiosk.toml.")
def init(directory: Path, demo: bool, force: bool) -> None:
    """Create a new data folder DIRECTORY with a default kiosk.toml (simulated hardware)."""
    from kiosk.datadir import init_data_dir, seed_demo_bookings

    path = init_data_dir(directory, demo=demo, force=force)
    click.echo(f"created {path}")
    if demo:
        config = load_config(path)
        print_demo(seed_demo_bookings(config, business_today(config)))


@click.command("check-config")
@click.argument("file", required=False, type=click.Path(dir_okay=False, path_type=Path))
@config_option
def check_config(file: Path | None, config_path: Path | None) -> None:
    """Validate a configuration file (FILE or --config)."""
    config = load(file or config_path)
    click.echo(
        f"{config.source}: ok (office {config.site.office_id}, gate {config.site.gate_id}, "
        f"mode {config.hardware.mode}, cap {config.admission.daily_cap})"
    )


def register(main: click.Group) -> None:
    main.add_command(init)
    main.add_command(check_config)
