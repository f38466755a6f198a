"""Backups (online, verified, rotated) and restores (verified, nothing deleted), both backends."""

from __future__ import annotations

import http.server
import sqlite3
import threading
from collections.abc import Callable, Iterator
from datetime import UTC, datetime, timedelta
from pathlib import Path
from typing import Any

import pytest
from click.testing import CliRunner

from kiosk.cli import main
from kiosk.config import load_config
from kiosk.datadir import init_data_dir
from kiosk.errors import StorageError
from kiosk.services.runtime import Kiosk
from kiosk.storage import open_database
from kiosk.storage.backup import backup, backups_in, restore, verify
from tests.pg import free_port
from tests.test_deploy_files import INSTALL, SYSTEMD, parse_unit, value, values

T0 = datetime(2026, 11, 23, 19, 30, tzinfo=UTC)


def invoke(*args: str) -> Any:
    return CliRunner().invoke(main, list(args))


def entries(target: Path | str) -> int:
    if isinstance(target, Path):  # read-only: opening with the kiosk would switch it to WAL
        with sqlite3.connect(f"file:{target}?mode=ro", uri=True) as conn:
            return int(conn.execute("SELECT COUNT(*) FROM entries").fetchone()[0])
    db = open_database(target)
    try:
        return int(db.connection().execute("SELECT COUNT(*) FROM entries").fetchone()[0])
    finally:
        db.close()


def admit(kiosk: Kiosk, n: int) -> None:
    assert kiosk.simulator is not None
    kiosk.simulator.set_body_temperature(36.6)
    for _ in range(n):
        assert kiosk.gate.admit_walkin("ani").entry_id is not None


# -- SQLite ------------------------------------------------------------------------------------
def test_online_backup_while_the_gate_records(make_kiosk: Callable[..., Kiosk], tmp_path: Path):
    kiosk = make_kiosk()
    admit(kiosk, 3)
    stop = threading.Event()
    writer = threading.Thread(target=lambda: [admit(kiosk, 1) for _ in iter(stop.is_set, True)])
    writer.start()
    try:
        results = [backup(kiosk.config.database_path, tmp_path / "b", keep=10) for _ in range(3)]
    finally:
        stop.set()
        writer.join()
    for result in results:
        assert "integrity ok" in verify(result.path)
        assert entries(result.path) >= 3
        assert result.path.suffix == ".db" and result.size > 0
        with sqlite3.connect(result.path) as conn:  # one self-contained file, no WAL needed
            assert conn.execute("PRAGMA journal_mode").fetchone()[0] == "delete"
    assert entries(results[-1].path) <= entries(kiosk.config.database_path)


def test_rotation_keeps_the_newest(make_kiosk: Callable[..., Kiosk], tmp_path: Path) -> None:
    kiosk = make_kiosk()
    made = [
        backup(kiosk.config.database_path, tmp_path, keep=2, now=T0 + timedelta(days=d)).path
        for d in range(4)
    ]
    assert backups_in(tmp_path, ".db") == made[2:]


def test_a_damaged_database_never_replaces_a_good_backup(
    make_kiosk: Callable[..., Kiosk], tmp_path: Path
) -> None:
    kiosk = make_kiosk()
    admit(kiosk, 2)
    good = backup(kiosk.config.database_path, tmp_path, keep=1, now=T0).path
    kiosk.close()
    path = kiosk.config.database_path
    data = bytearray(path.read_bytes())
    data[4096 : 4096 * 3] = b"\xff" * (4096 * 2)  # wreck pages after the header
    path.write_bytes(bytes(data))
    with pytest.raises(StorageError, match=r"damaged|not a readable|integrity"):
        backup(path, tmp_path, keep=1, now=T0 + timedelta(days=1))
    assert backups_in(tmp_path, ".db") == [good]


def test_restore_keeps_the_damaged_file_aside(tmp_path: Path) -> None:
    config_path = init_data_dir(tmp_path / "data")
    config = load_config(config_path)
    kiosk = Kiosk.start(config)
    admit(kiosk, 2)
    kept = backup(config.database_path, config.backup_dir, keep=5).path
    admit(kiosk, 3)
    kiosk.close()
    config.database_path.write_bytes(b"garbage" * 1000)

    refused = invoke("db", "restore", "--config", str(config_path), str(kept))
    assert refused.exit_code == 1 and "--yes" in refused.output
    result = invoke("db", "restore", "--config", str(config_path), str(kept), "--yes")
    assert result.exit_code == 0, result.output
    aside = list(config.database_path.parent.glob("kiosk.db.corrupt-*"))
    assert len(aside) == 1 and aside[0].read_bytes() == b"garbage" * 1000
    assert entries(config.database_path) == 2
    kiosk = Kiosk.start(config)  # and the kiosk runs on it
    try:
        admit(kiosk, 1)
        assert kiosk.db.integrity_ok()
    finally:
        kiosk.close()


def test_restore_refuses_a_bad_backup_and_touches_nothing(tmp_path: Path) -> None:
    config_path = init_data_dir(tmp_path / "data")
    config = load_config(config_path)
    bad = tmp_path / "kiosk-20261123-000000-000.db"
    bad.write_bytes(b"not a database" * 100)
    before = config.database_path.read_bytes()
    result = invoke("db", "restore", "--config", str(config_path), str(bad), "--yes")
    assert result.exit_code == 1
    assert "not a readable SQLite database" in result.output
    assert config.database_path.read_bytes() == before
    assert not list(config.database_path.parent.glob("*.corrupt-*"))
    with pytest.raises(StorageError, match="not a backup of a SQLite"):
        restore(tmp_path / "x.pgdump", config.database_path, aside_dir=tmp_path)


@pytest.fixture
def answering_port() -> Iterator[int]:
    """Something answers /healthz on this port, as a running kiosk would."""
    server = http.server.HTTPServer(("127.0.0.1", free_port()), _Healthy)
    thread = threading.Thread(target=server.serve_forever, daemon=True)
    thread.start()
    yield server.server_address[1]
    server.shutdown()
    server.server_close()


class _Healthy(http.server.BaseHTTPRequestHandler):
    def do_GET(self) -> None:
        self.send_response(503)
        self.end_headers()

    def log_message(self, *args: Any) -> None:
        pass


def test_restore_refuses_while_the_kiosk_runs(tmp_path: Path, answering_port: int) -> None:
    config_path = init_data_dir(tmp_path / "data")
    text = config_path.read_text().replace("port = 8080", f"port = {answering_port}")
    config_path.write_text(text)
    config = load_config(config_path)
    assert config.server.port == answering_port
    kept = backup(config.database_path, config.backup_dir, keep=5).path
    result = invoke("db", "restore", "--config", str(config_path), str(kept), "--yes")
    assert result.exit_code == 1 and "stop it first" in result.output
    assert not list(config.database_path.parent.glob("*.corrupt-*"))


def test_backup_command_rotates(tmp_path: Path) -> None:
    config_path = init_data_dir(tmp_path / "data")
    for _ in range(3):
        result = invoke("db", "backup", "--config", str(config_path), "--keep", "2")
        assert result.exit_code == 0, result.output
        assert "verified" in result.output
    assert len(backups_in(load_config(config_path).backup_dir, ".db")) == 2
    other = tmp_path / "elsewhere"
    assert invoke("db", "backup", "--config", str(config_path), "--to", str(other)).exit_code == 0
    assert len(backups_in(other, ".db")) == 1


# -- PostgreSQL --------------------------------------------------------------------------------
def test_postgresql_backup_and_restore(tmp_path: Path, pg_url: str) -> None:
    config_path = init_data_dir(tmp_path / "data")
    config = load_config(config_path).replace(paths={"database_url": pg_url})
    kiosk = Kiosk.start(config)
    admit(kiosk, 2)
    made = invoke("db", "backup", "--config", str(config_path), "--database-url", pg_url)
    assert made.exit_code == 0, made.output
    [dump] = backups_in(config.backup_dir, ".pgdump")
    assert "pg_dump archive" in verify(dump)
    admit(kiosk, 3)

    busy = invoke(
        "db", "restore", "--config", str(config_path), "--database-url", pg_url, str(dump), "--yes"
    )
    assert busy.exit_code == 1 and "other gates" in busy.output  # this kiosk is still connected
    kiosk.close()
    assert entries(pg_url) == 5
    done = invoke(
        "db", "restore", "--config", str(config_path), "--database-url", pg_url, str(dump), "--yes"
    )
    assert done.exit_code == 0, done.output
    assert entries(pg_url) == 2
    [aside] = config.backup_dir.glob("*.corrupt.pgdump")
    assert "pg_dump archive" in verify(aside)
    kiosk = Kiosk.start(config)  # migrations, identity sequences and the trigger came back
    try:
        admit(kiosk, 1)
        assert entries(pg_url) == 3
        with pytest.raises(StorageError, match="append-only"), kiosk.db.transaction() as conn:
            conn.execute("UPDATE entries SET outcome = 'denied'")
    finally:
        kiosk.close()


def test_pg_dump_missing_is_a_clear_error(
    tmp_path: Path, pg_url: str, monkeypatch: pytest.MonkeyPatch
) -> None:
    monkeypatch.setattr("kiosk.storage.backup.glob.glob", lambda _pattern: [])
    monkeypatch.setenv("PATH", str(tmp_path))
    with pytest.raises(StorageError, match=r"`pg_dump` not found: install"):
        backup(pg_url, tmp_path / "b", keep=3)


# -- nightly timer -----------------------------------------------------------------------------
def test_backup_service_and_timer() -> None:
    service = parse_unit(SYSTEMD / "kiosk-backup.service")
    assert value(service, "Service", "Type") == "oneshot"
    assert value(service, "Service", "ExecStart").startswith("/opt/kiosk/.venv/bin/kiosk db backup")
    assert value(service, "Service", "User") == "kiosk"
    assert "KIOSK_CONFIG=/etc/kiosk/kiosk.toml" in values(service, "Service", "Environment")
    assert value(service, "Service", "ReadWritePaths") == "/var/lib/kiosk"
    assert value(service, "Service", "ProtectSystem") == "strict"
    assert "Install" not in service  # started by the timer only
    timer = parse_unit(SYSTEMD / "kiosk-backup.timer")
    assert value(timer, "Timer", "OnCalendar") == "*-*-* 02:30:00"
    assert value(timer, "Timer", "Persistent") == "true"
    assert value(timer, "Timer", "Unit") == "kiosk-backup.service"
    assert value(timer, "Install", "WantedBy") == "timers.target"
    script = INSTALL.read_text(encoding="utf-8")
    assert (
        "systemd/kiosk-backup.timer" in script
        and "kiosk-backup.timer" in script.split("systemctl enable", 1)[1].splitlines()[0]
    )
