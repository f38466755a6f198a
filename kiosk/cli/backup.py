"""``kiosk db backup`` and ``kiosk db restore`` (see kiosk/storage/backup.py).

Both join the ``db`` group of :mod:`kiosk.cli.db`.

The nightly backup runs from ``systemd/kiosk-backup.timer``. A restore is
an officer's deliberate act: it needs ``--yes``, refuses while the kiosk (or,
with PostgreSQL, another gate) is still using the database, verifies the
backup before touching anything, and keeps the current data aside.
"""

from __future__ import annotations

import urllib.error
import urllib.request
from pathlib import Path

import click

from kiosk.cli.common import config_option, load
from kiosk.config import Config
from kiosk.errors import StorageError

DEFAULT_KEEP = 14


@click.command("backup")
@config_option
@click.option(
    "--to",
    "to_dir",
    type=click.Path(file_okay=False, path_type=Path),
    default=None,
    help="Backup folder (default: paths.backup_dir, i.e. DATA/backups).",
)
@click.option(
    "--keep",
    type=click.IntRange(1, 1000),
    default=DEFAULT_KEEP,
    show_default=True,
    help="How many backups to keep (the oldest are deleted).",
)
def db_backup(config_path: Path | None, to_dir: Path | None, keep: int) -> None:
    """Write a consistent, verified backup of the database while the kiosk runs."""
    from kiosk.storage.backup import backup

    config = load(config_path)
    result = backup(config.database_target, to_dir or config.backup_dir, keep=keep)
    click.echo(f"backup written: {result.path} ({result.size / 1e6:.1f} MB, verified)")
    for old in result.removed:
        click.echo(f"removed old backup {old.name}")


@click.command("restore")
@config_option
@click.argument("backup_file", type=click.Path(dir_okay=False, path_type=Path))
@click.option("--yes", is_flag=True, help="Really replace the database with the backup.")
def db_restore(config_path: Path | None, backup_file: Path, yes: bool) -> None:
    """Replace the database with BACKUP_FILE (verified first; current data kept aside)."""
    from kiosk.storage import is_database_url
    from kiosk.storage.backup import other_postgresql_clients, restore, verify

    config = load(config_path)
    target = config.database_target
    click.echo(f"backup ok: {verify(backup_file)}")
    if _kiosk_answers(config):
        raise StorageError(
            f"the kiosk is running (it answers on port {config.server.port}): stop it first "
            "(sudo systemctl stop kiosk), then restore"
        )
    if is_database_url(target) and (others := other_postgresql_clients(str(target))):
        raise StorageError(
            f"{others} other kiosk connection(s) use this database (other gates): stop every "
            "gate's kiosk service first, then restore"
        )
    if not yes:
        raise StorageError(
            "this replaces the current database (which is kept aside, not deleted): "
            "run again with --yes to confirm"
        )
    result = restore(backup_file, target, aside_dir=config.backup_dir)
    for note in result.notes:
        click.echo(f"note: {note}")
    if result.aside is not None:
        click.echo(f"the previous database was kept as {result.aside}")
    click.echo(f"restored from {result.restored_from}; start the kiosk again")


def _kiosk_answers(config: Config) -> bool:
    """Whether a kiosk serves on this configuration's port on this machine."""
    url = f"http://127.0.0.1:{config.server.port}/healthz"
    try:
        with urllib.request.urlopen(url, timeout=1):
            return True
    except urllib.error.HTTPError:
        return True  # it answered, e.g. 503 in safe mode
    except OSError:
        return False
