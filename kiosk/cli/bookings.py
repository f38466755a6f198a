"""``kiosk booking add|import|list|demo|sync`` and ``kiosk today``.

The ``booking`` group also holds ``issue`` and ``verify`` from :mod:`kiosk.cli.codes`.
"""

from __future__ import annotations

from datetime import UTC, datetime
from pathlib import Path
from typing import Any

import click

from kiosk.cli.codes import (
    booking_issue,
    booking_verify,
    checked_service,
    checked_window,
    issue_signed,
)
from kiosk.cli.common import business_today, config_option, load, open_database, open_effective
from kiosk.errors import ConfigError


def print_demo(bookings: list[Any]) -> None:
    for b in bookings:
        click.echo(f"demo booking {b.id}  {b.date}  {b.service}")


@click.group()
def booking() -> None:
    """Manage bookings."""


@booking.command("add")
@config_option
@click.option("--date", "day", required=True, help="Booking date, YYYY-MM-DD.")
@click.option("--name", required=True, help="Citizen's name.")
@click.option("--service", default="", help="Service, e.g. KTP-EL (a configured service).")
@click.option("--arrive-from", default="", help="Start of the arrival window, HH:MM.")
@click.option("--arrive-until", default="", help="End of the arrival window, HH:MM.")
def booking_add(
    config_path: Path | None,
    day: str,
    name: str,
    service: str,
    arrive_from: str,
    arrive_until: str,
) -> None:
    """Add a booking; the last output line is its QR payload text."""
    from kiosk.bookings import clean_name, new_booking_id, parse_date
    from kiosk.storage import Booking
    from kiosk.storage import repository as repo

    config = load(config_path)
    if config.private_key_path is not None:
        signed, text = issue_signed(
            config,
            day=day,
            name=name,
            service=service,
            arrive_from=arrive_from,
            arrive_until=arrive_until,
        )
        click.echo(f"booking {signed.id} for {signed.date} ({signed.service}) signed")
        click.echo(text)
        return
    window = checked_window(arrive_from, arrive_until)
    new = Booking(
        id=new_booking_id(),
        office_id=config.site.office_id,
        date=parse_date(day),
        name=clean_name(name),
        service=checked_service(config, service),
        arrive_from=window[0],
        arrive_until=window[1],
    )
    with open_database(config) as db, db.transaction() as conn:
        repo.insert_booking(conn, new)
    click.echo(f"booking {new.id} for {new.date} ({new.service or 'no service'}) added")
    click.echo(new.id)


@booking.command("import")
@config_option
@click.argument("file", type=click.Path(dir_okay=False, path_type=Path))
def booking_import(config_path: Path | None, file: Path) -> None:
    """Import bookings from a CSV; all or nothing.

    Columns date,name[,service,id,status,office_id,arrive_from,arrive_until].
    """
    from kiosk.bookings import import_bookings, read_booking_csv

    config = load(config_path)
    rows = read_booking_csv(file, office_id=config.site.office_id, services=tuple(config.services))
    with open_database(config) as db, db.transaction() as conn:
        added, unchanged = import_bookings(conn, rows)
    click.echo(f"{file}: {added} booking(s) added, {unchanged} already present")


@booking.command("list")
@config_option
@click.option("--date", "day", default=None, help="Date (default: today's business date).")
def booking_list(config_path: Path | None, day: str | None) -> None:
    """List the bookings of a day."""
    from kiosk.bookings import parse_date
    from kiosk.storage import repository as repo

    config = load(config_path)
    when = parse_date(day) if day else business_today(config)
    with open_database(config) as db:
        for b in repo.bookings_on(db.connection(), config.site.office_id, when):
            click.echo(f"{b.id}\t{b.date}\t{b.status}\t{b.service}\t{b.name}")


@booking.command("demo")
@config_option
def booking_demo(config_path: Path | None) -> None:
    """Make sure today's demo bookings exist (used by `make run`)."""
    from kiosk.datadir import seed_demo_bookings

    config = load(config_path)
    print_demo(seed_demo_bookings(config, business_today(config)))


@booking.command("sync")
@config_option
@click.option("--date", "day", default=None, help="Business date (default: today).")
def booking_sync(config_path: Path | None, day: str | None) -> None:
    """Pull the day's bookings from the booking system; the last good list is kept on failure."""
    from kiosk.bookings import parse_date, sync_day_list

    config = load(config_path)
    src = config.booking_source
    if not src.day_list_url:
        raise ConfigError("booking_source.day_list_url is not set in the configuration")
    when = parse_date(day) if day else business_today(config)
    with open_database(config) as db:
        result = sync_day_list(
            db,
            url=src.day_list_url,
            office_id=config.site.office_id,
            day=when,
            connect_timeout=src.connect_timeout_s,
            read_timeout=src.read_timeout_s,
            retries=src.retries,
            state_path=config.data_dir / src.sync_state_file,
            services=tuple(config.services),
        )
    if not result.ok:
        click.echo(f"sync failed, the last good list is kept: {result.error}", err=True)
        raise SystemExit(1)
    click.echo(
        f"{when}: {result.added} added, {result.updated} updated, {result.unchanged} unchanged"
        + (
            f"; {len(result.not_in_remote)} local booking(s) not in the remote list"
            if result.not_in_remote
            else ""
        )
    )


booking.add_command(booking_issue)
booking.add_command(booking_verify)


@click.command()
@config_option
def today(config_path: Path | None) -> None:
    """Today's business date, slots used and outcomes (as the gate and the screens count)."""
    from kiosk.domain.clock import business_date
    from kiosk.services.daystatus import day_counts
    from kiosk.services.results import policy_from

    with open_effective(load(config_path)) as (config, db):
        now = datetime.now(UTC)
        day = business_date(now, config.site.zone)
        with db.transaction(write=False) as conn:
            counts = day_counts(
                conn,
                config.site.office_id,
                day,
                gate_id=config.site.gate_id,
                cap=config.admission.daily_cap,
                policy=policy_from(config),
                now=now,
            )
    click.echo(
        f"{day}: {counts.admitted} / {counts.cap} admitted; "
        + ", ".join(f"{k} {v}" for k, v in sorted(counts.outcomes.items()))
    )
    for code, s in counts.services.items():
        state = "" if s.open else " (closed today)"
        click.echo(f"  {code} {s.name}: {s.admitted} / {s.cap} admitted{state}")
    click.echo(f"  places for walk-ins now: {counts.walkin_places}")


def register(main: click.Group) -> None:
    main.add_command(booking)
    main.add_command(today)
