"""Online backups with rotation, and verified restores, for both backends.

* SQLite: the online backup API copies a consistent snapshot while the
  kiosk keeps recording (WAL readers do not block the writer). The copy is
  switched to a single-file journal, checked with ``PRAGMA integrity_check``,
  fsynced and only then renamed into place: a damaged source never replaces
  a good backup in the rotation.
* PostgreSQL: ``pg_dump --format=custom`` (the newest one installed next to
  the server binaries, else on PATH), verified with ``pg_restore --list``.
  The password goes through the environment, never the command line.

Restore verifies the backup first and never deletes the current data: the
SQLite file (with its ``-wal``/``-shm``) is moved aside as
``NAME.corrupt-<timestamp>``; a PostgreSQL database is first dumped aside.
"""

from __future__ import annotations

import glob
import os
import shutil
import sqlite3
import subprocess
from dataclasses import dataclass, field
from datetime import UTC, datetime
from pathlib import Path

from kiosk.errors import StorageError
from kiosk.storage import is_database_url
from kiosk.storage.database import private_file

PREFIX = "kiosk-"
SQLITE_SUFFIX = ".db"
POSTGRESQL_SUFFIX = ".pgdump"
TOOL_TIMEOUT_S = 3600


@dataclass(frozen=True)
class BackupResult:
    path: Path
    size: int
    removed: list[Path] = field(default_factory=list)


@dataclass(frozen=True)
class RestoreResult:
    restored_from: Path
    aside: Path | None
    notes: list[str] = field(default_factory=list)


def _stamp(now: datetime | None) -> str:
    now = (now or datetime.now(UTC)).astimezone(UTC)
    return f"{now:%Y%m%d-%H%M%S}-{now.microsecond // 1000:03d}"


def suffix_for(target: str | Path) -> str:
    return POSTGRESQL_SUFFIX if is_database_url(target) else SQLITE_SUFFIX


def backups_in(folder: Path, suffix: str) -> list[Path]:
    """This backend's backups in ``folder``, oldest first (names sort by time)."""
    if not folder.is_dir():
        return []
    return sorted(p for p in folder.glob(f"{PREFIX}*{suffix}") if ".corrupt" not in p.name)


def backup(
    target: str | Path, to_dir: Path, *, keep: int, now: datetime | None = None
) -> BackupResult:
    """Write a verified backup of ``target`` into ``to_dir``; keep the newest ``keep``."""
    if keep < 1:
        raise StorageError("--keep must be at least 1")
    try:
        to_dir.mkdir(mode=0o750, parents=True, exist_ok=True)
    except OSError as exc:
        raise StorageError(f"cannot create the backup folder {to_dir}: {exc.strerror}") from exc
    suffix = suffix_for(target)
    final = to_dir / f"{PREFIX}{_stamp(now)}{suffix}"
    partial = final.with_name(final.name + ".partial")
    try:
        if is_database_url(target):
            _dump_postgresql(str(target), partial)
        else:
            _backup_sqlite(Path(target), partial)
        _fsync(partial)
        os.replace(partial, final)
        _fsync(to_dir)
    finally:
        partial.unlink(missing_ok=True)
    return BackupResult(final, final.stat().st_size, rotate(to_dir, suffix, keep))


def rotate(folder: Path, suffix: str, keep: int) -> list[Path]:
    """Delete all but the newest ``keep`` backups; returns those deleted."""
    old = backups_in(folder, suffix)[:-keep]
    for path in old:
        path.unlink(missing_ok=True)
    return old


def verify(path: Path) -> str:
    """Check a backup file; returns a one-line description, raises StorageError if unusable."""
    if not path.is_file():
        raise StorageError(f"backup {path} does not exist")
    if path.name.endswith(POSTGRESQL_SUFFIX):
        return _verify_dump(path)
    return _verify_sqlite(path)


# -- SQLite ------------------------------------------------------------------------------------
def _backup_sqlite(path: Path, dest: Path) -> None:
    if not path.is_file():
        raise StorageError(f"database {path} does not exist: nothing to back up")
    dest.unlink(missing_ok=True)
    private_file(dest)  # a backup holds everything: never readable by others
    try:
        src = sqlite3.connect(path, timeout=30)
        try:
            out = sqlite3.connect(dest)
            try:
                src.backup(out)
                out.execute("PRAGMA journal_mode = DELETE")  # one self-contained file
            finally:
                out.close()
        finally:
            src.close()
    except sqlite3.Error as exc:
        raise StorageError(
            f"backup of {path} failed: {exc} — if the database is damaged, older backups "
            "were kept; see `kiosk db restore`"
        ) from exc
    try:
        _verify_sqlite(dest)
    except StorageError as exc:
        raise StorageError(
            f"the copy of {path} fails its integrity check ({exc}): the database itself is "
            "probably damaged — older backups were kept; see `kiosk db restore`"
        ) from exc


def _verify_sqlite(path: Path) -> str:
    try:
        conn = sqlite3.connect(f"file:{path}?mode=ro", uri=True)
        try:
            result = [r[0] for r in conn.execute("PRAGMA integrity_check")]
            tables = {r[0] for r in conn.execute("SELECT name FROM sqlite_master")}
            version = (
                conn.execute("SELECT MAX(version) FROM schema_migrations").fetchone()[0]
                if "schema_migrations" in tables
                else None
            )
        finally:
            conn.close()
    except sqlite3.Error as exc:
        raise StorageError(f"{path} is not a readable SQLite database: {exc}") from exc
    if result != ["ok"]:
        raise StorageError(f"{path} fails PRAGMA integrity_check: {'; '.join(result[:3])}")
    if "entries" not in tables or version is None:
        raise StorageError(f"{path} is not a kiosk database (no entries table)")
    return f"{path}: integrity ok, schema version {version}"


def _restore_sqlite(backup_file: Path, path: Path, stamp: str) -> RestoreResult:
    aside: Path | None = None
    partial = path.with_name(path.name + ".restoring")
    partial.unlink(missing_ok=True)
    private_file(partial)
    shutil.copyfile(backup_file, partial)
    _fsync(partial)
    if path.exists():
        aside = path.with_name(f"{path.name}.corrupt-{stamp}")
        os.replace(path, aside)
    for extra in ("-wal", "-shm", "-journal"):
        sidecar = Path(f"{path}{extra}")
        if sidecar.exists():
            # Kept with the file it belongs to: `sqlite3 NAME.corrupt-… .recover` needs both.
            os.replace(sidecar, Path(f"{aside}{extra}") if aside else sidecar)
    os.replace(partial, path)
    _fsync(path.parent)
    _verify_sqlite(path)
    return RestoreResult(backup_file, aside)


# -- PostgreSQL --------------------------------------------------------------------------------
def find_tool(name: str) -> Path:
    """``pg_dump``/``pg_restore``: the newest next to the server binaries, else on PATH."""

    def major(folder: str) -> int:
        version = Path(folder).parent.parent.name
        return int(version) if version.isdigit() else 0

    for found in sorted(glob.glob(f"/usr/lib/postgresql/*/bin/{name}"), key=major, reverse=True):
        return Path(found)
    on_path = shutil.which(name)
    if on_path:
        return Path(on_path)
    raise StorageError(
        f"`{name}` not found: install the PostgreSQL client tools "
        "(Debian: sudo apt install postgresql-client)"
    )


def _connection_env(url: str) -> tuple[str, dict[str, str]]:
    """A conninfo string without the password, and an environment carrying it."""
    from psycopg.conninfo import conninfo_to_dict, make_conninfo

    params = conninfo_to_dict(url)
    env = dict(os.environ)
    password = params.pop("password", None)
    if password:
        env["PGPASSWORD"] = str(password)
    env.setdefault("PGCONNECT_TIMEOUT", "10")
    return make_conninfo("", **params), env


def _run_tool(name: str, args: list[str], *, what: str, env: dict[str, str] | None = None) -> str:
    tool = find_tool(name)
    try:
        done = subprocess.run(
            [str(tool), *args],
            capture_output=True,
            text=True,
            env=env,
            timeout=TOOL_TIMEOUT_S,
            check=False,
        )
    except (OSError, subprocess.TimeoutExpired) as exc:
        raise StorageError(f"{name} failed while {what}: {exc}") from exc
    if done.returncode != 0:
        detail = (done.stderr or done.stdout).strip().splitlines()
        raise StorageError(f"{name} failed while {what}: {detail[-1] if detail else 'no output'}")
    return done.stdout


def _dump_postgresql(url: str, dest: Path) -> None:
    from kiosk.storage.postgres import redact

    conninfo, env = _connection_env(url)
    private_file(dest)
    _run_tool(
        "pg_dump",
        ["--format=custom", f"--file={dest}", f"--dbname={conninfo}"],
        what=f"dumping {redact(url)}",
        env=env,
    )
    _verify_dump(dest)


def _verify_dump(path: Path) -> str:
    listing = _run_tool("pg_restore", ["--list", str(path)], what=f"reading {path}")
    if "schema_migrations" not in listing or " entries " not in listing:
        raise StorageError(f"{path} is not a kiosk database dump (no entries table)")
    return f"{path}: pg_dump archive, {listing.count(' TABLE DATA ')} tables with data"


def _restore_postgresql(backup_file: Path, url: str, aside_dir: Path, stamp: str) -> RestoreResult:
    import psycopg

    from kiosk.storage.postgres import redact

    notes: list[str] = []
    aside: Path | None = aside_dir / f"{PREFIX}{stamp}.corrupt{POSTGRESQL_SUFFIX}"
    assert aside is not None
    try:
        aside_dir.mkdir(parents=True, exist_ok=True)
        conninfo, env = _connection_env(url)
        _run_tool(
            "pg_dump",
            ["--format=custom", f"--file={aside}", f"--dbname={conninfo}"],
            what="saving the current database aside",
            env=env,
        )
    except (StorageError, OSError) as exc:
        aside.unlink(missing_ok=True)
        aside = None
        notes.append(f"the current database could not be saved aside ({exc}); restoring anyway")
    try:
        with psycopg.connect(url, autocommit=True, connect_timeout=10) as conn:
            schema = conn.execute("SELECT current_schema()").fetchone()
            name = schema[0] if schema and schema[0] else "public"
            ident = psycopg.sql.Identifier(name)
            conn.execute(psycopg.sql.SQL("DROP SCHEMA IF EXISTS {} CASCADE").format(ident))
            conn.execute(psycopg.sql.SQL("CREATE SCHEMA {}").format(ident))
    except psycopg.Error as exc:
        raise StorageError(f"cannot empty {redact(url)} before the restore: {exc}") from exc
    conninfo, env = _connection_env(url)
    _run_tool(
        "pg_restore",
        [
            "--no-owner",
            "--no-privileges",
            "--exit-on-error",
            "--single-transaction",
            f"--dbname={conninfo}",
            str(backup_file),
        ],
        what=f"restoring into {redact(url)}",
        env=env,
    )
    return RestoreResult(backup_file, aside, notes)


def other_postgresql_clients(url: str) -> int:
    """Other kiosk connections to this database (gates still running)."""
    import psycopg

    try:
        with psycopg.connect(url, autocommit=True, connect_timeout=10) as conn:
            row = conn.execute(
                "SELECT COUNT(*) FROM pg_stat_activity WHERE datname = current_database() "
                "AND pid <> pg_backend_pid() AND application_name = 'kiosk'"
            ).fetchone()
    except psycopg.Error as exc:
        raise StorageError(f"cannot reach the database server: {exc}") from exc
    return int(row[0]) if row else 0


def restore(
    backup_file: Path, target: str | Path, *, aside_dir: Path, now: datetime | None = None
) -> RestoreResult:
    """Replace the database with a verified backup; the current data is kept aside."""
    url = is_database_url(target)
    if url != backup_file.name.endswith(POSTGRESQL_SUFFIX):
        kind = "PostgreSQL" if url else "SQLite"
        raise StorageError(f"{backup_file} is not a backup of a {kind} database")
    verify(backup_file)
    stamp = _stamp(now)
    if url:
        return _restore_postgresql(backup_file, str(target), aside_dir, stamp)
    return _restore_sqlite(backup_file, Path(target), stamp)


def _fsync(path: Path) -> None:
    """Flush a file or a folder entry to the card before it counts as written."""
    fd = os.open(path, os.O_RDONLY)
    try:
        os.fsync(fd)
    finally:
        os.close(fd)
