"""What every storage backend offers, written as protocols.

Repository functions take a :class:`Connection` (from
``db.transaction(write=...)``): ``execute(sql, params)`` with ``?``
placeholders, returning a cursor whose rows support ``row["col"]`` and
``row[0]``. ``sqlite3.Connection`` satisfies it as is; the PostgreSQL
backend wraps psycopg to match.
"""

from __future__ import annotations

from collections.abc import Sequence
from contextlib import AbstractContextManager
from typing import Any, Protocol

# A result row: ``row["col"]`` or ``row[0]`` (sqlite3.Row, or the PostgreSQL backend's Row).
Row = Any


class Cursor(Protocol):
    def fetchone(self) -> Any: ...

    def fetchall(self) -> list[Any]: ...


class Connection(Protocol):
    def execute(self, sql: str, parameters: Sequence[Any] = ..., /) -> Any: ...


class Backend(Protocol):
    """A database the kiosk records into (SQLite file or PostgreSQL server)."""

    dialect: str

    def connection(self) -> Any: ...

    def transaction(self, *, write: bool = True) -> AbstractContextManager[Any]: ...

    def migrate(self) -> list[int]: ...

    def schema_version(self) -> int: ...

    def integrity_ok(self) -> bool: ...

    def describe(self) -> str: ...

    def close(self) -> None: ...
