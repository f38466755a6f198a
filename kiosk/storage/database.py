"""SQLite connections and migrations.

Durability settings (see the field notes): WAL journal with
``synchronous=FULL`` so every acknowledged commit survives a power cut;
foreign keys on; a busy timeout so concurrent gates and threads wait instead
of failing. Writers use ``BEGIN IMMEDIATE`` so a read-then-write transaction
holds the write lock from its first statement. Each thread has its own
connection.
"""

from __future__ import annotations

import contextlib
import logging
import os
import sqlite3
import threading
import time
from collections.abc import Iterator
from contextlib import contextmanager
from datetime import UTC, datetime
from importlib import resources
from pathlib import Path

from kiosk.errors import ConflictError, ConstraintError, StorageError
from kiosk.storage.sqltext import sqlite_ddl_to_postgresql

log = logging.getLogger(__name__)

BUSY_TIMEOUT_MS = 30_000
DIALECT = "sqlite"


def _explain(exc: sqlite3.Error, path: Path) -> str:
    text = str(exc)
    if "full" in text:
        return (
            f"cannot record: the disk holding {path} is full — free space, then see `kiosk doctor`"
        )
    if "malformed" in text or "not a database" in text:
        return f"cannot record: database {path} is damaged — restore a backup (`kiosk doctor`)"
    if "readonly" in text or "read-only" in text:
        return f"cannot record: database {path} is read-only — check file permissions"
    return f"cannot record: database error on {path}: {text} — see the officer"


def _is_locked(exc: sqlite3.OperationalError) -> bool:
    text = str(exc)
    return "locked" in text or "busy" in text


PRIVATE_MODE = 0o640
"""Database, WAL and backups: the kiosk's user writes, its group may read, others nothing."""


def private_file(path: Path, mode: int = PRIVATE_MODE) -> None:
    """Make sure ``path`` (and SQLite's ``-wal``/``-shm`` beside it) exist with no access for
    others, whatever the umask: create it empty with ``mode``, or take others' bits away."""
    try:
        fd = os.open(path, os.O_WRONLY | os.O_CREAT | os.O_EXCL, mode)
    except FileExistsError:
        pass
    except OSError as exc:
        raise StorageError(f"cannot create {path}: {exc.strerror}") from exc
    else:
        os.close(fd)
    for each in (path, Path(f"{path}-wal"), Path(f"{path}-shm")):
        try:
            current = each.stat().st_mode & 0o777
            if current & 0o007 or current & ~mode:
                os.chmod(each, current & mode)
        except FileNotFoundError:
            continue
        except OSError as exc:  # e.g. a file of another user: SQLite will say what is wrong
            log.warning("cannot restrict the permissions of %s: %s", each, exc.strerror)


def utc_now_text(now: datetime | None = None) -> str:
    return (now or datetime.now(UTC)).astimezone(UTC).isoformat(timespec="microseconds")


def migration_scripts(dialect: str = DIALECT) -> list[tuple[int, str, str]]:
    """``(version, name, sql)`` for every migration, in order.

    ``NNNN_name.sql`` is shared by every backend; ``NNNN_name.<dialect>.sql``
    holds what only that backend needs and runs right after it, in the same
    transaction. For PostgreSQL the shared SQLite-flavoured DDL is translated
    (identity columns, DOUBLE PRECISION, BYTEA; see :mod:`kiosk.storage.sqltext`).
    """
    folder = resources.files("kiosk") / "migrations"
    shared: dict[int, tuple[str, list[str]]] = {}
    for item in sorted(folder.iterdir(), key=lambda p: p.name):
        parts = item.name.split(".")
        if not item.name.endswith(".sql") or not parts[0][:4].isdigit():
            continue
        version, name = int(parts[0][:4]), parts[0][5:]
        if len(parts) == 2:
            text = item.read_text("utf-8")
            if dialect == "postgresql":
                text = sqlite_ddl_to_postgresql(text)
            shared.setdefault(version, (name, []))[1].insert(0, text)
        elif len(parts) == 3 and parts[1] == dialect:
            shared.setdefault(version, (name, []))[1].append(item.read_text("utf-8"))
    return [(v, n, "\n".join(sqls)) for v, (n, sqls) in sorted(shared.items())]


class Database:
    """A SQLite database file with per-thread connections."""

    dialect = DIALECT

    def __init__(self, path: str | Path, *, busy_timeout_ms: int = BUSY_TIMEOUT_MS) -> None:
        self.path = Path(path)
        self.busy_timeout_ms = busy_timeout_ms
        self._local = threading.local()
        self._all: list[sqlite3.Connection] = []
        self._lock = threading.Lock()

    def describe(self) -> str:
        return f"SQLite {self.path}"

    # -- connections -------------------------------------------------------
    def connection(self) -> sqlite3.Connection:
        """This thread's connection (opened on first use)."""
        conn: sqlite3.Connection | None = getattr(self._local, "conn", None)
        if conn is None:
            conn = self._open()
            self._local.conn = conn
            with self._lock:
                self._all.append(conn)
        return conn

    def _open(self) -> sqlite3.Connection:
        if not self.path.parent.is_dir():
            raise StorageError(
                f"database folder {self.path.parent} does not exist — run `kiosk init` first"
            )
        try:
            private_file(self.path)  # SQLite gives -wal and -shm the database file's mode
            conn = sqlite3.connect(
                self.path,
                timeout=self.busy_timeout_ms / 1000,
                isolation_level=None,
                check_same_thread=False,
            )
            conn.row_factory = sqlite3.Row
            conn.execute(f"PRAGMA busy_timeout = {int(self.busy_timeout_ms)}")
            mode = conn.execute("PRAGMA journal_mode = WAL").fetchone()[0]
            if mode != "wal":
                raise StorageError(f"{self.path}: cannot enable WAL journal (got {mode})")
            conn.execute("PRAGMA synchronous = FULL")
            conn.execute("PRAGMA foreign_keys = ON")
        except sqlite3.DatabaseError as exc:
            raise StorageError(f"cannot open database {self.path}: {exc}") from exc
        return conn

    def close(self) -> None:
        with self._lock:
            conns, self._all = self._all, []
        for conn in conns:
            with contextlib.suppress(sqlite3.Error):  # closing is best effort
                conn.close()
        self._local = threading.local()

    # -- transactions ------------------------------------------------------
    @contextmanager
    def transaction(self, *, write: bool = True) -> Iterator[sqlite3.Connection]:
        """A transaction; ``write`` takes the write lock at once (BEGIN IMMEDIATE).

        Commits when the block ends normally, rolls back on any exception.
        Lock contention beyond the busy timeout becomes a :class:`StorageError`
        with an actionable message, never a raw "database is locked".
        """
        conn = self.connection()
        self._begin(conn, "BEGIN IMMEDIATE" if write else "BEGIN DEFERRED")
        try:
            yield conn
        except BaseException as exc:
            if conn.in_transaction:
                with contextlib.suppress(sqlite3.Error):
                    conn.execute("ROLLBACK")
            if isinstance(exc, sqlite3.IntegrityError):
                kind = ConflictError if "UNIQUE" in str(exc) else ConstraintError
                raise kind(f"refused by the database: {exc}") from exc
            if isinstance(exc, sqlite3.Error):
                raise StorageError(_explain(exc, self.path)) from exc
            raise
        try:
            conn.execute("COMMIT")
        except sqlite3.OperationalError as exc:
            if conn.in_transaction:
                conn.execute("ROLLBACK")
            raise StorageError(f"cannot record: {exc} — see the officer") from exc

    def _begin(self, conn: sqlite3.Connection, statement: str) -> None:
        deadline = time.monotonic() + self.busy_timeout_ms / 1000
        while True:
            try:
                conn.execute(statement)
                return
            except sqlite3.OperationalError as exc:
                if not _is_locked(exc) or time.monotonic() > deadline:
                    raise StorageError(
                        f"database {self.path} is busy for too long ({exc}); "
                        "another program may hold it — check `kiosk doctor`"
                    ) from exc
                time.sleep(0.01)

    # -- migrations --------------------------------------------------------
    def schema_version(self) -> int:
        conn = self.connection()
        exists = conn.execute(
            "SELECT 1 FROM sqlite_master WHERE type = 'table' AND name = 'schema_migrations'"
        ).fetchone()
        if not exists:
            return 0
        row = conn.execute("SELECT MAX(version) FROM schema_migrations").fetchone()
        return int(row[0] or 0)

    def migrate(self) -> list[int]:
        """Apply pending migrations, each in its own transaction; returns those applied."""
        conn = self.connection()
        conn.execute(
            "CREATE TABLE IF NOT EXISTS schema_migrations "
            "(version INTEGER PRIMARY KEY, name TEXT NOT NULL, applied_at TEXT NOT NULL)"
        )
        applied = []
        for version, name, sql in migration_scripts():
            with self.transaction() as tx:
                done = tx.execute(
                    "SELECT 1 FROM schema_migrations WHERE version = ?", (version,)
                ).fetchone()
                if done:
                    continue
                for statement in _split_sql(sql):
                    tx.execute(statement)
                tx.execute(
                    "INSERT INTO schema_migrations (version, name, applied_at) VALUES (?, ?, ?)",
                    (version, name, utc_now_text()),
                )
            applied.append(version)
        return applied

    def integrity_ok(self) -> bool:
        row = self.connection().execute("PRAGMA quick_check").fetchone()
        return bool(row and row[0] == "ok")


def _split_sql(script: str) -> list[str]:
    """Split a migration script into statements (``sqlite3.complete_statement`` aware)."""
    statements, buf = [], ""
    for line in script.splitlines(keepends=True):
        if not buf and line.strip().startswith("--"):
            continue
        buf += line
        if sqlite3.complete_statement(buf):
            if buf.strip():
                statements.append(buf.strip())
            buf = ""
    if buf.strip() and not all(
        ln.strip().startswith("--") or not ln.strip() for ln in buf.splitlines()
    ):
        raise StorageError(f"incomplete SQL statement in migration: {buf[:80]!r}")
    return statements
