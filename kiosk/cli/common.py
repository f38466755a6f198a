"""What every ``kiosk`` command shares: the configuration options, the database, the group.

A leaf of the :mod:`kiosk.cli` package: it imports no other command module.
Every subcommand takes ``--config FILE``; the default is ``$KIOSK_CONFIG``,
else ``var/kiosk.toml`` in the current folder — the file ``make run`` uses,
so a command run in the checkout acts on the running demo.
"""

from __future__ import annotations

import os
import sys
from collections.abc import Iterator
from contextlib import contextmanager
from datetime import UTC, date, datetime
from pathlib import Path
from typing import TYPE_CHECKING, Any

import click

if TYPE_CHECKING:
    from kiosk.storage import Database

from kiosk.config import Config, load_config
from kiosk.errors import EXPECTED_ERRORS, BookingImportError

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
    """``--config FILE`` and ``--database-url URL`` (read by :func:`load`)."""
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


@contextmanager
def open_effective(config: Config) -> Iterator[tuple[Config, Database]]:
    """Like :func:`open_database`, with the one effective configuration the running kiosk
    uses: the file plus the administrator's settings stored in that database."""
    from kiosk.services.settings import effective_config

    with open_database(config) as db:
        yield effective_config(db, config), db


def load(config_path: Path | None) -> Config:
    """The configuration of ``--config`` (or the default), with ``--database-url`` applied."""
    config = load_config(config_path or default_config_path())
    ctx = click.get_current_context(silent=True)
    url = ctx.meta.get(DATABASE_URL_KEY) if ctx is not None else None
    if url:
        config = config.replace(paths={"database_url": url})
    return config


def business_today(config: Config) -> date:
    """Today's business date in the office's time zone."""
    from kiosk.domain.clock import business_date

    return business_date(datetime.now(UTC), config.site.zone)


class KioskGroup(click.Group):
    """Turns every expected error (kiosk's and drivers') into a one-line message and exit 1."""

    def invoke(self, ctx: click.Context) -> Any:
        try:
            return super().invoke(ctx)
        except BookingImportError as exc:
            click.echo(f"error: {exc}", err=True)
            sys.exit(1)
        except EXPECTED_ERRORS as exc:
            click.echo(f"error: {exc}", err=True)
            sys.exit(1)
