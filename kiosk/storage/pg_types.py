"""PostgreSQL values as repository code expects them from sqlite3.

Rows read by index and by column name (:class:`Row`), ``numeric`` as int or float,
booleans stored as 0/1 and dates as ISO text. :func:`configure` installs the
adapters on a new connection; :func:`row_factory` makes its rows.
"""

from __future__ import annotations

from collections.abc import Iterator, Sequence
from datetime import date, datetime
from typing import Any

import psycopg
from psycopg.adapt import Dumper, Loader


class Row(Sequence[Any]):
    """A result row readable by index and by (case-insensitive) column name, like sqlite3.Row."""

    __slots__ = ("_index", "_values")

    def __init__(self, values: Sequence[Any], index: dict[str, int]) -> None:
        self._values = tuple(values)
        self._index = index

    def __getitem__(self, key: Any) -> Any:
        if isinstance(key, str):
            try:
                return self._values[self._index[key.lower()]]
            except KeyError:
                raise IndexError(f"no such column: {key}") from None
        return self._values[key]

    def __len__(self) -> int:
        return len(self._values)

    def __iter__(self) -> Iterator[Any]:
        return iter(self._values)

    def __eq__(self, other: object) -> bool:
        if isinstance(other, Row):
            return self._values == other._values and self._index == other._index
        return NotImplemented

    def __hash__(self) -> int:
        return hash(self._values)

    def keys(self) -> list[str]:
        return list(self._index)

    def __repr__(self) -> str:
        return f"Row({dict(zip(self._index, self._values, strict=False))!r})"


def row_factory(cursor: Any) -> Any:
    description = cursor.description
    index = {} if description is None else {c.name.lower(): i for i, c in enumerate(description)}
    return lambda values: Row(values, index)


class _NumericLoader(Loader):
    """``numeric`` (e.g. ``SUM`` of integers) as int or float, as SQLite returns them."""

    def load(self, data: Any) -> int | float:
        text = bytes(data).decode("ascii")
        try:
            return int(text)
        except ValueError:
            return float(text)


class _BoolAsInteger(Dumper):
    """Python booleans as 0/1, as sqlite3 stores them (booleans are INTEGER columns here)."""

    oid = psycopg.adapters.types["int2"].oid

    def dump(self, obj: Any) -> bytes:
        return b"1" if obj else b"0"


class _IsoText(Dumper):
    """Dates and datetimes as ISO text, as sqlite3's default adapters write them."""

    oid = psycopg.adapters.types["text"].oid

    def dump(self, obj: Any) -> bytes:
        text = obj.isoformat(" ") if isinstance(obj, datetime) else obj.isoformat()
        return str(text).encode("utf-8")


def configure(raw: psycopg.Connection[Any]) -> None:
    """Install the adapters that make values look as they do in SQLite."""
    raw.adapters.register_loader("numeric", _NumericLoader)
    raw.adapters.register_dumper(bool, _BoolAsInteger)
    raw.adapters.register_dumper(date, _IsoText)
    raw.adapters.register_dumper(datetime, _IsoText)
