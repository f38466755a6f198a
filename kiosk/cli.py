"""The ``kiosk`` command line.

Every subcommand takes ``--config FILE``; the default is ``$KIOSK_CONFIG``,
else ``var/kiosk.toml`` in the current folder — the file ``make run`` uses,
so a command run in the checkout acts on the running demo.
"""

from __future__ import annotations

import logging
import os
import signal
import sys
from collections.abc import Iterator
from contextlib import contextmanager
from datetime import UTC, datetime
from pathlib import Path
from typing import TYPE_CHECKING, Any

import click

if TYPE_CHECKING:
    from kiosk.storage import Database

from kiosk.config import Config, load_config
from kiosk.errors import BookingImportError, KioskError

DEFAULT_CONFIG = Path("var") / "kiosk.toml"


def default_config_path() -> Path:
    return Path(os.environ.get("KIOSK_CONFIG") or DEFAULT_CONFIG)


_config_option = click.option(
    "--config",
    "config_path",
    type=click.Path(dir_okay=False, path_type=Path),
    default=None,
    help="Configuration file (default: $KIOSK_CONFIG or var/kiosk.toml).",
)
DATABASE_URL_KEY = "kiosk.database_url"


def _remember_database_url(ctx: click.Context, _param: click.Parameter, value: str | None) -> None:
    if value:
        ctx.meta[DATABASE_URL_KEY] = value


# Every command that reads the configuration can be pointed at a PostgreSQL database.
_database_url_option = click.option(
    "--database-url",
    metavar="URL",
    default=None,
    envvar="KIOSK_DATABASE_URL",
    expose_value=False,
    callback=_remember_database_url,
    help="PostgreSQL database shared by several gates, postgresql://USER:PASSWORD@HOST/DB "
    "(overrides database_url in the configuration; default $KIOSK_DATABASE_URL).",
)


def config_option(command: Any) -> Any:
    """``--config FILE`` and ``--database-url URL`` (read by :func:`_load`)."""
    return _config_option(_database_url_option(command))


@contextmanager
def open_database(config: Config) -> Iterator[Database]:
    """The configured database (SQLite file or PostgreSQL URL), migrated, closed at the end."""
    from kiosk.storage import open_database as open_backend

    db = open_backend(config.database_target)
    try:
        db.migrate()
        yield db  # type: ignore[misc]
    finally:
        db.close()


def _load(config_path: Path | None) -> Config:
    config = load_config(config_path or default_config_path())
    ctx = click.get_current_context(silent=True)
    url = ctx.meta.get(DATABASE_URL_KEY) if ctx is not None else None
    if url:
        config = config.replace(paths={"database_url": url})
    return config


class KioskGroup(click.Group):
    """Turns every KioskError into a one-line message and exit status 1."""

    def invoke(self, ctx: click.Context) -> Any:
        try:
            return super().invoke(ctx)
        except BookingImportError as exc:
            click.echo(f"error: {exc}", err=True)
            sys.exit(1)
        except KioskError as exc:
            click.echo(f"error: {exc}", err=True)
            sys.exit(1)


@click.group(cls=KioskGroup)
@click.option("-v", "--verbose", is_flag=True, help="Log debug messages.")
def main(verbose: bool) -> None:
    """Gate screening kiosk."""
    logging.basicConfig(
        level=logging.DEBUG if verbose else logging.INFO,
        format="%(asctime)s %(levelname)s %(name)s: %(message)s",
    )
    from kiosk import logsafe

    logsafe.install()


@main.command()
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
        _print_demo(seed_demo_bookings(config, _today(config)))


def _today(config: Config) -> Any:
    from kiosk.domain.clock import business_date

    return business_date(datetime.now(UTC), config.site.zone)


def _print_demo(bookings: list[Any]) -> None:
    for b in bookings:
        click.echo(f"demo booking {b.id}  {b.date}  {b.service}")


@main.command("check-config")
@click.argument("file", required=False, type=click.Path(dir_okay=False, path_type=Path))
@config_option
def check_config(file: Path | None, config_path: Path | None) -> None:
    """Validate a configuration file (FILE or --config)."""
    config = _load(file or config_path)
    click.echo(
        f"{config.source}: ok (office {config.site.office_id}, gate {config.site.gate_id}, "
        f"mode {config.hardware.mode}, cap {config.admission.daily_cap})"
    )


@main.command()
@config_option
@click.option("--sim", is_flag=True, help="Force simulated hardware.")
@click.option("--host", default=None, help="Address to bind (default from config).")
@click.option(
    "--port", type=click.IntRange(1, 65535), default=None, help="Port (default from config)."
)
def run(config_path: Path | None, sim: bool, host: str | None, port: int | None) -> None:
    """Serve the kiosk over HTTP with a production WSGI server (waitress)."""
    from kiosk.serve import create_servers
    from kiosk.services.runtime import Kiosk
    from ui import create_app

    config = _load(config_path)
    if sim:
        config = config.replace(hardware={"mode": "sim"})
    kiosk = Kiosk.start(config)
    kiosk.start_background()
    servers = create_servers(create_app(kiosk), config, host=host, port=port)
    server = servers.main

    from kiosk import watchdog

    dog = watchdog.Watchdog(lambda: _serves(servers.health_url))

    def stopping() -> None:
        watchdog.notify_stopping()
        dog.stop()
        servers.close()

    install_shutdown(kiosk, stopping)
    local = f", screen on http://127.0.0.1:{servers.local.effective_port}" if servers.local else ""
    click.echo(
        f"kiosk serving on http://{server.effective_host}:{server.effective_port}{local} "
        f"({config.hardware.mode} hardware, data {config.data_dir}, {kiosk.db.describe()})"
    )
    watchdog.notify_ready(f"serving on port {server.effective_port}")
    dog.start()
    try:
        servers.run()
    finally:
        dog.stop()
        kiosk.close()


def _serves(url: str) -> bool:
    """Health for the systemd watchdog: the server really answers /healthz with 200."""
    import urllib.request

    with urllib.request.urlopen(url, timeout=2) as response:
        return bool(response.status == 200)


def install_shutdown(kiosk: Any, then: Any = None) -> None:
    """On SIGTERM/SIGINT: close the gate (relay de-energised) first, then stop serving."""

    def stop(signum: int, _frame: Any) -> None:
        logging.getLogger("kiosk").info("signal %s: closing the gate and stopping", signum)
        kiosk.close()
        if then is not None:
            then()

    signal.signal(signal.SIGTERM, stop)
    signal.signal(signal.SIGINT, stop)


@main.group()
def booking() -> None:
    """Manage bookings."""


@booking.command("add")
@config_option
@click.option("--date", "day", required=True, help="Booking date, YYYY-MM-DD.")
@click.option("--name", required=True, help="Citizen's name.")
@click.option("--service", default="", help="Service, e.g. KTP-el.")
def booking_add(config_path: Path | None, day: str, name: str, service: str) -> None:
    """Add a booking; the last output line is its QR payload text."""
    from kiosk.bookings import clean_name, clean_service, new_booking_id, parse_date
    from kiosk.storage import Booking
    from kiosk.storage import repository as repo

    config = _load(config_path)
    if config.private_key_path is not None:
        from kiosk.cli_codes import issue_signed

        signed, text = issue_signed(config, day=day, name=name, service=service)
        click.echo(f"booking {signed.id} for {signed.date} ({signed.service}) signed")
        click.echo(text)
        return
    new = Booking(
        id=new_booking_id(),
        office_id=config.site.office_id,
        date=parse_date(day),
        name=clean_name(name),
        service=clean_service(service),
    )
    with open_database(config) as db, db.transaction() as conn:
        repo.insert_booking(conn, new)
    click.echo(f"booking {new.id} for {new.date} ({new.service or 'no service'}) added")
    click.echo(new.id)


@booking.command("import")
@config_option
@click.argument("file", type=click.Path(dir_okay=False, path_type=Path))
def booking_import(config_path: Path | None, file: Path) -> None:
    """Import bookings from a CSV (columns date,name[,service,id,status]); all or nothing."""
    from kiosk.bookings import import_bookings, read_booking_csv

    config = _load(config_path)
    rows = read_booking_csv(file, office_id=config.site.office_id)
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

    config = _load(config_path)
    when = parse_date(day) if day else _today(config)
    with open_database(config) as db:
        for b in repo.bookings_on(db.connection(), config.site.office_id, when):
            click.echo(f"{b.id}\t{b.date}\t{b.status}\t{b.service}\t{b.name}")


@booking.command("demo")
@config_option
def booking_demo(config_path: Path | None) -> None:
    """Make sure today's demo bookings exist (used by `make run`)."""
    from kiosk.datadir import seed_demo_bookings

    config = _load(config_path)
    _print_demo(seed_demo_bookings(config, _today(config)))


@main.command()
@config_option
def today(config_path: Path | None) -> None:
    """Today's business date, slots used and outcomes."""
    from kiosk.domain.clock import business_date
    from kiosk.storage import repository as repo

    config = _load(config_path)
    day = business_date(datetime.now(UTC), config.site.zone)
    with open_database(config) as db:
        conn = db.connection()
        used = repo.slots_used(conn, config.site.office_id, day)
        counts = repo.outcome_counts(conn, config.site.office_id, day)
    click.echo(
        f"{day}: {used} / {config.admission.daily_cap} admitted; "
        + ", ".join(f"{k} {v}" for k, v in sorted(counts.items()))
    )


@main.group()
def db() -> None:
    """Database maintenance."""


@db.command("upgrade")
@config_option
def db_upgrade(config_path: Path | None) -> None:
    """Apply pending database migrations."""
    from kiosk.storage import open_database as open_database_backend

    config = _load(config_path)
    database = open_database_backend(config.database_target)
    try:
        applied = database.migrate()
        click.echo(f"applied migrations {applied}" if applied else "database is up to date")
        click.echo(f"schema version {database.schema_version()}")
    finally:
        database.close()


from kiosk import cli_backup as _cli_backup  # noqa: E402,F401  (registers db backup/restore)
from kiosk import cli_codes as _cli_codes  # noqa: E402,F401  (registers keys/issue/verify/qr)
from kiosk import cli_doctor as _cli_doctor  # noqa: E402,F401  (registers doctor)
from kiosk import cli_faces as _cli_faces  # noqa: E402,F401  (registers faces)
from kiosk import cli_ops as _cli_ops  # noqa: E402,F401  (registers db purge)
from kiosk import cli_sensor as _cli_sensor  # noqa: E402,F401  (registers calibrate/sensor)
from kiosk import cli_users as _cli_users  # noqa: E402,F401  (registers users)

if __name__ == "__main__":  # pragma: no cover
    main()
