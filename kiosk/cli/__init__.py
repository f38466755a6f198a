"""The ``kiosk`` command line: :data:`main` and the registration of every command group.

Each module of this package defines the commands of one job; a module that owns a top-level
command or group has a ``register(main)`` that adds it, as flaskr's ``db.init_app(app)`` adds
``init-db`` (a group takes its subcommands from its sibling modules, e.g. ``db`` takes
``backup`` and ``restore`` from :mod:`kiosk.cli.backup`). No module imports this package
back. Shared options and helpers live in :mod:`kiosk.cli.common`.

Every subcommand takes ``--config FILE``; the default is ``$KIOSK_CONFIG``,
else ``var/kiosk.toml`` in the current folder — the file ``make run`` uses,
so a command run in the checkout acts on the running demo.
"""

from __future__ import annotations

import logging

import click

from kiosk.cli import bookings, codes, db, doctor, faces, folder, run, sensor, users
from kiosk.cli.common import KioskGroup

__all__ = ["main"]


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


for _part in (folder, run, bookings, codes, db, doctor, sensor, users, faces):
    _part.register(main)
