"""PostgreSQL: the shared database when an office has several gates.

Same interface as the SQLite :class:`~kiosk.storage.database.Database`:
``transaction(write=...)`` yields a connection whose ``execute(sql, params)``
takes ``?`` placeholders and returns rows readable as ``row["col"]`` and
``row[0]``; ``migrate()``, ``schema_version()``, ``integrity_ok()``,
``close()``. How values are mapped to look like SQLite's is in
:mod:`kiosk.storage.pg_types`; the client-side deadline in
:mod:`kiosk.storage.pg_deadline`.

Why it is built this way:

* READ COMMITTED (the default, set explicitly): the cap is one conditional
  ``UPDATE … WHERE used < cap RETURNING used``; PostgreSQL re-checks that WHERE
  on the newest row version after waiting for a concurrent gate's update, so
  the cap holds across gates without a table lock.
* Unique-key races (the same booking or idempotency key at two gates) abort
  the loser's transaction: they become :class:`~kiosk.errors.ConflictError`,
  and the gate service runs the transaction again to see the winner's row.
* A lost server must surface within seconds, never minutes: a short
  ``connect_timeout``, TCP keepalives and ``tcp_user_timeout`` for dead
  links, a server-side ``statement_timeout``, and a client-side deadline
  that shuts the socket when a server stops answering altogether (a frozen
  host or a black-holing link keeps TCP alive, so nothing else would fire).
  After a broken connection the next transaction reconnects.
* Each thread has its own connection (as with SQLite); connections of threads
  that have ended are closed when the next one opens.
"""

from __future__ import annotations

import contextlib
import logging
import threading
import time
from collections.abc import Iterator, Sequence
from contextlib import contextmanager
from typing import Any

import psycopg
import psycopg.errors as pgerr
from psycopg.conninfo import conninfo_to_dict, make_conninfo
from psycopg.pq import TransactionStatus

from kiosk.errors import ConflictError, ConstraintError, StorageError
from kiosk.storage import is_database_url
from kiosk.storage.database import migration_scripts, utc_now_text
from kiosk.storage.pg_deadline import Deadlines
from kiosk.storage.pg_types import Row, configure, row_factory
from kiosk.storage.sqltext import to_pyformat

log = logging.getLogger(__name__)

DIALECT = "postgresql"
CONNECT_TIMEOUT_S = 3
STATEMENT_TIMEOUT_S = 5.0
# The client gives the server this much longer than statement_timeout before cutting the link.
DEADLINE_MARGIN_S = 1.5
IDLE_IN_TRANSACTION_TIMEOUT_S = 30
# A statement that fails faster than this on a dead link met a stale connection (server
# restarted, idle link dropped), not a dead server: it may go again over a new link once.
STALE_LINK_S = 1.0
MIGRATION_LOCK_KEY = 0x6B696F736B  # "kiosk": one advisory lock for migrations
# libpq defaults unless the URL says otherwise (see the module docstring).
LINK_DEFAULTS = {
    "connect_timeout": str(CONNECT_TIMEOUT_S),
    "keepalives": "1",
    "keepalives_idle": "5",
    "keepalives_interval": "2",
    "keepalives_count": "2",
    "tcp_user_timeout": "5000",
    "application_name": "kiosk",
}
CORE_TABLES = ("bookings", "entries", "day_counters", "audit_log")


def redact(url: str) -> str:
    """``host:port/dbname`` of a URL: safe for logs and messages (no password)."""
    try:
        params = conninfo_to_dict(url)
    except psycopg.ProgrammingError:
        return "(unparsable database URL)"
    host = params.get("host") or params.get("hostaddr") or "localhost"
    port = params.get("port") or "5432"
    return f"{host}:{port}/{params.get('dbname') or params.get('user') or ''}"


# -- connections -------------------------------------------------------------------------------
class PgConnection:
    """One thread's link to the server, speaking the repository's dialect (``?`` placeholders).

    The object stays the thread's handle for good; the psycopg connection
    behind it (``raw``) is reopened after it breaks.
    """

    def __init__(self, db: PostgresDatabase) -> None:
        self.raw: psycopg.Connection[Any] | None = None
        self._db = db
        self.in_block = False  # inside ``transaction()``: never reconnect silently there

    def execute(self, sql: str, parameters: Sequence[Any] = (), /) -> psycopg.Cursor[Any]:
        query = to_pyformat(sql)
        # A read on its own may go again over a fresh link if the old one had gone stale.
        idle_read = not self.in_transaction and query.lstrip()[:6].upper() == "SELECT"
        return self._run(query, tuple(parameters), retry_stale=idle_read)

    def executemany(self, sql: str, seq: Any, /) -> psycopg.Cursor[Any]:
        raw = self.open()
        cur = raw.cursor()
        with self._db._guarded(raw) as fired:
            try:
                cur.executemany(to_pyformat(sql), [tuple(p) for p in seq])
            except psycopg.Error as exc:
                raise self._db._error(exc, self, fired[0]) from exc
        return cur

    def _run(
        self, query: str, params: tuple[Any, ...] | None, *, retry_stale: bool = False
    ) -> psycopg.Cursor[Any]:
        raw = self.open()
        started = time.monotonic()
        with self._db._guarded(raw) as fired:
            try:
                return raw.execute(query, params)
            except psycopg.Error as exc:
                error, timed_out = exc, fired[0]
        stale = not self.usable and time.monotonic() - started < STALE_LINK_S and not timed_out
        if retry_stale and stale:
            # The server restarted or dropped us while we were idle: nothing of this statement
            # ran (it is the first of a transaction, or a read), so send it over a new link.
            log.info("database connection was closed by the server: reconnecting")
            self.drop()
            return self._run(query, params)
        raise self._db._error(error, self, timed_out) from error

    def open(self) -> psycopg.Connection[Any]:
        """The live psycopg connection, (re)opened if needed; StorageError if unreachable.

        Inside a transaction a lost link is an error: a new connection would
        silently run the rest of the transaction's statements on their own.
        """
        if self.raw is not None and self.usable:
            return self.raw
        if self.in_block:
            raise StorageError(
                f"cannot record: lost the connection to the database server {self._db.label} "
                "during a transaction (nothing of it was stored) — see the officer"
            )
        self.drop()
        self.raw = self._db._open_raw()
        return self.raw

    @property
    def in_transaction(self) -> bool:
        return (
            self.usable
            and self.raw is not None
            and (self.raw.info.transaction_status != TransactionStatus.IDLE)
        )

    @property
    def usable(self) -> bool:
        return self.raw is not None and not (self.raw.closed or self.raw.broken)

    def drop(self) -> None:
        """Close the psycopg connection (best effort); the next use opens a new one."""
        raw, self.raw = self.raw, None
        if raw is not None:
            with contextlib.suppress(Exception):
                raw.close()

    close = drop


class PostgresDatabase:
    """A PostgreSQL database (given by URL) with per-thread connections."""

    dialect = DIALECT

    def __init__(
        self,
        url: str,
        *,
        statement_timeout_s: float = STATEMENT_TIMEOUT_S,
        connect_timeout_s: float | None = None,
    ) -> None:
        if not is_database_url(url):
            raise StorageError("database_url must start with postgresql:// (see the README)")
        self.url = url
        self.label = redact(url)
        self.statement_timeout_s = statement_timeout_s
        params = conninfo_to_dict(url)
        for key, default in LINK_DEFAULTS.items():
            params.setdefault(key, default)
        if connect_timeout_s is not None:
            params["connect_timeout"] = str(max(1, round(connect_timeout_s)))
        options = [
            f"-c statement_timeout={int(statement_timeout_s * 1000)}",
            f"-c idle_in_transaction_session_timeout={IDLE_IN_TRANSACTION_TIMEOUT_S * 1000}",
            "-c default_transaction_isolation=read\\ committed",
        ]
        params["options"] = " ".join([*options, str(params.get("options") or "")]).strip()
        self._conninfo = make_conninfo("", **params)
        self._local = threading.local()
        self._all: list[tuple[threading.Thread, PgConnection]] = []
        self._lock = threading.Lock()
        self._deadlines = Deadlines()

    def describe(self) -> str:
        return f"PostgreSQL {self.label}"

    # -- connections -------------------------------------------------------
    def connection(self) -> PgConnection:
        """This thread's connection (opened on first use, reopened after a broken one).

        Outside :meth:`transaction` every statement commits on its own.
        """
        conn: PgConnection | None = getattr(self._local, "conn", None)
        if conn is None:
            conn = PgConnection(self)
            self._local.conn = conn
            with self._lock:
                dead = [c for t, c in self._all if not t.is_alive()]
                self._all = [(t, c) for t, c in self._all if t.is_alive()]
                self._all.append((threading.current_thread(), conn))
            for old in dead:  # connections of threads that have ended
                old.drop()
        conn.open()
        return conn

    def _open_raw(self) -> psycopg.Connection[Any]:
        try:
            raw = psycopg.connect(self._conninfo, autocommit=True, row_factory=row_factory)
        except psycopg.Error as exc:
            raise StorageError(
                f"cannot reach the database server {self.label}: {_first_line(exc)} — check "
                "that it runs and that this gate's network works (database_url in kiosk.toml)"
            ) from exc
        configure(raw)
        return raw

    def close(self) -> None:
        with self._lock:
            conns, self._all = self._all, []
        for _, conn in conns:
            conn.drop()
        self._local = threading.local()
        self._deadlines.stop()

    @contextmanager
    def _guarded(
        self, raw: psycopg.Connection[Any], seconds: float | None = -1.0
    ) -> Iterator[list[bool]]:
        if seconds is not None and seconds < 0:
            seconds = self.statement_timeout_s + DEADLINE_MARGIN_S
        try:
            fd = raw.pgconn.socket
        except psycopg.OperationalError:
            fd = -1
        with self._deadlines.guard(fd, seconds) as fired:
            yield fired

    # -- errors ------------------------------------------------------------
    def _error(self, exc: psycopg.Error, conn: PgConnection, timed_out: bool) -> StorageError:
        """A psycopg error as the kiosk's own, with a message the officer can act on."""
        if not conn.usable:
            conn.drop()
        if timed_out:
            return StorageError(
                f"cannot record: the database server {self.label} did not answer within "
                f"{self.statement_timeout_s + DEADLINE_MARGIN_S:g} s — check the network "
                "and the server; see the officer"
            )
        if isinstance(exc, pgerr.UniqueViolation):
            return ConflictError(f"UNIQUE constraint failed: {_first_line(exc)}")
        if isinstance(exc, (pgerr.SerializationFailure, pgerr.DeadlockDetected)):
            return ConflictError(f"concurrent update, try again: {_first_line(exc)}")
        if isinstance(exc, pgerr.CheckViolation):
            return ConstraintError(f"refused by the database: CHECK constraint failed: {exc}")
        if isinstance(exc, pgerr.NotNullViolation):
            return ConstraintError(f"refused by the database: NOT NULL constraint failed: {exc}")
        if isinstance(exc, pgerr.ForeignKeyViolation):
            return ConstraintError(f"refused by the database: FOREIGN KEY constraint failed: {exc}")
        if isinstance(exc, psycopg.IntegrityError):
            return ConstraintError(f"refused by the database: {_first_line(exc)}")
        if isinstance(exc, pgerr.QueryCanceled):
            return StorageError(
                f"cannot record: the database server {self.label} took longer than "
                f"{self.statement_timeout_s:.0f} s (busy, or another gate holds a lock) "
                "— try again; see the officer if it persists"
            )
        if isinstance(exc, pgerr.DiskFull):
            return StorageError(
                f"cannot record: the disk of the database server {self.label} is full "
                "— free space on the server; see the officer"
            )
        if isinstance(exc, psycopg.OperationalError) or not conn.usable:
            return StorageError(
                f"cannot record: lost the connection to the database server {self.label} "
                f"({_first_line(exc)}) — check the network and the server; see the officer"
            )
        return StorageError(
            f"cannot record: database error on {self.label}: {_first_line(exc)} — see the officer"
        )

    # -- transactions ------------------------------------------------------
    @contextmanager
    def transaction(self, *, write: bool = True) -> Iterator[PgConnection]:
        """A READ COMMITTED transaction; commits when the block ends, rolls back on exceptions.

        ``write`` is accepted for symmetry with SQLite (whose writers lock at
        BEGIN); PostgreSQL locks rows as statements touch them.
        """
        del write
        conn = self.connection()
        if conn.in_transaction:  # left over by an interrupted caller
            self._rollback(conn)
        conn._run("BEGIN ISOLATION LEVEL READ COMMITTED", None, retry_stale=True)
        conn.in_block = True
        try:
            yield conn
        except BaseException as exc:
            conn.in_block = False
            self._rollback(conn)
            if isinstance(exc, psycopg.Error):
                raise self._error(exc, conn, False) from exc
            raise
        try:
            conn._run("COMMIT", None)
        finally:
            conn.in_block = False

    def _rollback(self, conn: PgConnection) -> None:
        if conn.usable and conn.raw is not None:
            with contextlib.suppress(Exception):
                conn.raw.execute("ROLLBACK")
        if not conn.usable:
            conn.drop()

    # -- migrations --------------------------------------------------------
    def _scalar(self, sql: str) -> Any:
        """The first column of the one row a query without ``FROM`` or an aggregate returns."""
        row = self.connection().execute(sql).fetchone()
        if row is None:
            raise StorageError(f"PostgreSQL returned no row for {sql!r}")
        return row[0]

    def schema_version(self) -> int:
        if self._scalar("SELECT to_regclass('schema_migrations')") is None:
            return 0
        return int(self._scalar("SELECT MAX(version) FROM schema_migrations") or 0)

    def migrate(self) -> list[int]:
        """Apply pending migrations, each in its own transaction; returns those applied.

        Every step holds a transaction-scoped advisory lock, so gates starting
        together apply each migration exactly once.
        """
        self._locked_step(None)
        return [
            v for v, name, sql in migration_scripts(DIALECT) if self._locked_step((v, name, sql))
        ]

    def _locked_step(self, step: tuple[int, str, str] | None) -> bool:
        """Create the bookkeeping table (``None``) or apply one migration if still pending."""
        with self.transaction() as tx:
            raw = tx.open()
            raw.execute("SET LOCAL statement_timeout = 0")
            raw.execute("SELECT pg_advisory_xact_lock(%s)", (MIGRATION_LOCK_KEY,))
            if step is None:
                raw.execute(
                    "CREATE TABLE IF NOT EXISTS schema_migrations (version INTEGER PRIMARY "
                    "KEY, name TEXT NOT NULL, applied_at TEXT NOT NULL)"
                )
                return False
            version, name, sql = step
            done = raw.execute(
                "SELECT 1 FROM schema_migrations WHERE version = %s", (version,)
            ).fetchone()
            if done:
                return False
            try:
                raw.execute(sql.encode("utf-8"))
            except psycopg.Error as exc:
                raise StorageError(
                    f"migration {version:04d}_{name} failed on {self.label}: {_first_line(exc)}"
                ) from exc
            raw.execute(
                "INSERT INTO schema_migrations (version, name, applied_at) VALUES (%s, %s, %s)",
                (version, name, utc_now_text()),
            )
            return True

    def integrity_ok(self) -> bool:
        """The server answers and, once migrated, every core table is there (one round trip).

        PostgreSQL checksums and WAL keep its own pages sound; this guards
        against a wrong or half-restored database. An unreachable server raises
        :class:`StorageError` — that is not damage.
        """
        present = " AND ".join(f"to_regclass('{t}') IS NOT NULL" for t in CORE_TABLES)
        return bool(self._scalar(f"SELECT to_regclass('schema_migrations') IS NULL OR ({present})"))


def _first_line(exc: BaseException) -> str:
    text = str(exc).strip()
    return text.splitlines()[0] if text else type(exc).__name__


__all__ = ["DIALECT", "PgConnection", "PostgresDatabase", "Row", "redact"]
