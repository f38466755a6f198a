"""Operations commands: ``kiosk db purge`` (retention)."""

from __future__ import annotations

from datetime import UTC, datetime
from pathlib import Path

import click

from kiosk.cli import _load, config_option, db, open_database
from kiosk.domain.clock import business_date
from kiosk.services.retention import cutoff_for, purge_expired
from kiosk.storage import maintenance


@db.command("purge")
@config_option
@click.option("--dry-run", is_flag=True, help="Only count what would be deleted.")
def db_purge(config_path: Path | None, dry_run: bool) -> None:
    """Delete citizen entries and bookings older than the retention period."""
    config = _load(config_path)
    today = business_date(datetime.now(UTC), config.site.zone)
    days = config.retention.days
    with open_database(config) as database:
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
