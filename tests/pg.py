"""A real, throw-away PostgreSQL server for tests and benchmarks (never a mock).

``TemporaryServer`` runs ``initdb`` into a fresh folder and starts
``postgres`` on a free port of 127.0.0.1 (TCP only, trust authentication:
nothing else can reach it). As root — here and in CI — the server runs as
the ``postgres`` system user (``initdb`` refuses root). Durability settings
stay on except ``fsync``: the tests kill clients and server processes, never
the machine, so the page cache keeps every write and fsync only costs time.

Fixtures: ``pg_server`` (one per session) and ``pg_url`` (a fresh, empty
database per test, so tests stay independent). Without the binaries the
tests skip locally with the reason and fail under ``CI=true`` (``.ci/run``
installs the Debian ``postgresql`` package).
"""

from __future__ import annotations

import glob
import itertools
import os
import shutil
import signal
import socket
import subprocess
import tempfile
import time
from collections.abc import Iterator
from pathlib import Path

import pytest

SERVER_USER = "postgres"  # the Debian package's system user; used only when we are root
START_TIMEOUT_S = 60.0


def find_binaries() -> Path | None:
    """The folder holding ``initdb`` and ``postgres`` (newest major version), or ``None``."""
    for folder in sorted(glob.glob("/usr/lib/postgresql/*/bin"), key=_major, reverse=True):
        if Path(folder, "initdb").is_file() and Path(folder, "postgres").is_file():
            return Path(folder)
    initdb = shutil.which("initdb")
    if initdb and shutil.which("postgres"):
        return Path(initdb).resolve().parent
    return None


def _major(folder: str) -> int:
    name = Path(folder).parent.name
    return int(name) if name.isdigit() else 0


def free_port() -> int:
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return int(s.getsockname()[1])


class ServerUnavailable(RuntimeError):
    """No PostgreSQL binaries (or no user to run them as) on this machine."""


class _ExitedEarly(Exception):
    """The postmaster exited while starting (e.g. the old one's backends still ran)."""


class TemporaryServer:
    """``initdb`` + ``postgres`` in a temporary folder; ``stop()`` removes everything."""

    def __init__(self, *, max_connections: int = 400) -> None:
        bindir = find_binaries()
        if bindir is None:
            raise ServerUnavailable(
                "PostgreSQL server binaries not found (/usr/lib/postgresql/*/bin/initdb): "
                "install the Debian package `postgresql` (bash .ci/run does)"
            )
        self.bindir = bindir
        self.as_root = os.geteuid() == 0
        if self.as_root:
            try:
                import pwd

                entry = pwd.getpwnam(SERVER_USER)
            except KeyError:
                raise ServerUnavailable(
                    f"running as root and there is no `{SERVER_USER}` user to run the server as"
                ) from None
            self._uid, self._gid = entry.pw_uid, entry.pw_gid
        self.max_connections = max_connections
        self.folder = Path(tempfile.mkdtemp(prefix="kiosk-pg-"))
        self.datadir = self.folder / "data"
        self.port = 0
        self.user = "kiosk"
        self.process: subprocess.Popen[bytes] | None = None
        self._names = itertools.count(1)

    # -- life cycle --------------------------------------------------------------------------
    def _as_server_user(self) -> dict[str, object]:
        """``subprocess`` arguments that drop root to the server user (initdb refuses root)."""
        if not self.as_root:
            return {}
        return {"user": self._uid, "group": self._gid, "extra_groups": [], "cwd": self.folder}

    def init(self) -> TemporaryServer:
        if self.as_root:
            os.chown(self.folder, self._uid, self._gid)
        done = subprocess.run(
            [
                str(self.bindir / "initdb"),
                "-D",
                str(self.datadir),
                "-U",
                self.user,
                "--auth=trust",
                "--encoding=UTF8",
                "--locale=C",
                "--no-sync",
            ],
            capture_output=True,
            text=True,
            **self._as_server_user(),  # type: ignore[call-overload]
        )
        if done.returncode != 0:
            raise RuntimeError(f"initdb failed:\n{done.stdout}\n{done.stderr}")
        return self

    def start(self) -> TemporaryServer:
        """Start (or restart after a crash) on a free port; returns once it accepts connections.

        After a SIGKILL the old backends may hold the shared memory for a moment
        ("pre-existing shared memory block is still in use"): start again until
        they are gone.
        """
        if not self.datadir.exists():
            self.init()
        self.port = self.port or free_port()
        deadline = time.monotonic() + START_TIMEOUT_S
        while True:
            self._spawn()
            try:
                self._wait_ready(deadline)
                return self
            except _ExitedEarly:
                if time.monotonic() > deadline:
                    raise RuntimeError(f"postgres does not start:\n{self.log_tail()}") from None
                time.sleep(0.1)

    def _spawn(self) -> None:
        with open(self.folder / "server.log", "ab") as log:
            self.process = subprocess.Popen(
                [
                    str(self.bindir / "postgres"),
                    "-D",
                    str(self.datadir),
                    "-p",
                    str(self.port),
                    "-c",
                    "listen_addresses=127.0.0.1",
                    "-c",
                    "unix_socket_directories=",
                    "-c",
                    f"max_connections={self.max_connections}",
                    "-c",
                    "shared_buffers=32MB",
                    "-c",
                    "fsync=off",
                    "-c",
                    "full_page_writes=off",
                    "-c",
                    "log_min_messages=warning",
                    "-c",
                    "log_min_error_statement=panic",
                ],
                stdout=log,
                stderr=subprocess.STDOUT,
                start_new_session=True,
                **self._as_server_user(),  # type: ignore[call-overload]
            )

    def _wait_ready(self, deadline: float) -> None:
        import psycopg

        while True:
            assert self.process is not None
            if self.process.poll() is not None:
                self.process = None
                raise _ExitedEarly
            try:
                psycopg.connect(self.url("postgres"), connect_timeout=2).close()
                return
            except psycopg.OperationalError:
                if time.monotonic() > deadline:
                    raise RuntimeError(f"postgres not ready in time:\n{self.log_tail()}") from None
                time.sleep(0.05)

    def kill(self) -> None:
        """SIGKILL the postmaster (a crash: the next ``start()`` runs WAL recovery)."""
        if self.process is not None:
            self.process.kill()
            self.process.wait(30)
            self.process = None

    def stop(self) -> None:
        if self.process is not None and self.process.poll() is None:
            self.process.send_signal(signal.SIGINT)  # fast shutdown
            try:
                self.process.wait(30)
            except subprocess.TimeoutExpired:
                self.process.kill()
                self.process.wait(30)
        self.process = None

    def remove(self) -> None:
        self.stop()
        shutil.rmtree(self.folder, ignore_errors=True)

    def log_tail(self, lines: int = 30) -> str:
        try:
            text = (self.folder / "server.log").read_text(errors="replace")
        except FileNotFoundError:
            return "(no server log)"
        return "\n".join(text.splitlines()[-lines:])

    # -- databases ---------------------------------------------------------------------------
    def url(self, dbname: str) -> str:
        return f"postgresql://{self.user}@127.0.0.1:{self.port}/{dbname}"

    def create_database(self, prefix: str = "kiosk_test") -> str:
        """A new empty database; returns its URL."""
        import psycopg

        name = f"{prefix}_{os.getpid()}_{next(self._names)}"
        with psycopg.connect(self.url("postgres"), autocommit=True) as conn:
            conn.execute(f'CREATE DATABASE "{name}" TEMPLATE template0')
        return self.url(name)

    def bin(self, name: str) -> Path:
        return self.bindir / name


def _missing(reason: str) -> None:
    if os.environ.get("CI", "").lower() in ("1", "true", "yes"):
        pytest.fail(f"{reason} (CI=true: PostgreSQL tests must run)", pytrace=False)
    pytest.skip(reason)


@pytest.fixture(scope="session")
def pg_server() -> Iterator[TemporaryServer]:
    try:
        server = TemporaryServer()
    except ServerUnavailable as exc:
        _missing(str(exc))
        raise  # unreachable: skip/fail raise
    try:
        server.start()
    except BaseException:
        server.remove()
        raise
    yield server
    server.remove()


@pytest.fixture
def pg_url(pg_server: TemporaryServer) -> str:
    """A fresh, empty database on the session's server."""
    return pg_server.create_database()
