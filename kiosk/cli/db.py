"""``kiosk db upgrade|purge`` (migrations, retention); ``backup`` and ``restore`` from
:mod:`kiosk.cli.backup` join the same group."""

from __future__ import annotations

from datetime import UTC, datetime
from pathlib import Path

import click

from kiosk.cli.backup import db_backup, db_restore
from kiosk.cli.common import config_option, load, open_effective
from kiosk.domain.clock import business_date
from kiosk.services.retention import cutoff_for, purge_expired
from kiosk.storage import maintenance


@click.group()
def db() -> None:
    """Database maintenance."""


@db.command("upgrade")
@config_option
def db_upgrade(config_path: Path | None) -> None:
    """Apply pending database migrations."""
    from kiosk.storage import open_database as open_database_backend

    config = load(config_path)
    database = open_database_backend(config.database_target)
    try:
        applied = database.migrate()
        click.echo(f"applied migrations {applied}" if applied else "database is up to date")
        click.echo(f"schema version {database.schema_version()}")
    finally:
        database.close()


@db.command("purge")
@config_option
@click.option("--dry-run", is_flag=True, help="Only count what would be deleted.")
def db_purge(config_path: Path | None, dry_run: bool) -> None:
    """Delete citizen entries and bookings older than the retention period."""
    with open_effective(load(config_path)) as (config, database):
        today = business_date(datetime.now(UTC), config.site.zone)
        days = config.retention.days  # the administrator's setting wins over the file
        if dry_run:
            cutoff = cutoff_for(today, days)
            with database.transaction(write=False) as conn:
                count = maintenance.entry_count_before(conn, cutoff)
            click.echo(f"{count} entries before {cutoff} would be purged ({days}-day retention)")
            return
        result = purge_expired(database, today, days, actor="cli")
    click.echo(
        f"purged {result.entries} entries and {result.bookings} bookings "
        f"before {result.cutoff} ({days}-day retention)"
    )


db.add_command(db_backup)
db.add_command(db_restore)


def register(main: click.Group) -> None:
    main.add_command(db)
