"""Storage: SQLite (one gate) or PostgreSQL (several gates), same migrations.

Every SQL statement the kiosk runs lives in this package; the services call its functions.
"""

from __future__ import annotations

from pathlib import Path
from typing import TYPE_CHECKING

from kiosk.storage.base import Backend, Connection
from kiosk.storage.database import Database
from kiosk.storage.repository import Booking, Entry

if TYPE_CHECKING:
    from kiosk.storage.postgres import PostgresDatabase


def is_database_url(target: object) -> bool:
    """Whether ``target`` names a PostgreSQL database (else it is a SQLite file path)."""
    return isinstance(target, str) and target.startswith(("postgresql://", "postgres://"))


def open_database(target: str | Path) -> Database | PostgresDatabase:
    """The backend for ``target``: a ``postgresql://`` URL, or the path of a SQLite file.

    Nothing is opened yet: connections are made on first use, per thread.
    """
    if is_database_url(target):
        from kiosk.storage.postgres import PostgresDatabase  # psycopg only when used

        return PostgresDatabase(str(target))
    return Database(target)


__all__ = [
    "Backend",
    "Booking",
    "Connection",
    "Database",
    "Entry",
    "is_database_url",
    "open_database",
]
