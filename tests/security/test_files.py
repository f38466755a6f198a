"""Findings 9, 10 and 11 (names): files others cannot read, records that do not pile up,
and no personal names on the public /healthz."""

from __future__ import annotations

import os
import stat
import subprocess
import sys
from datetime import UTC, date, datetime, timedelta
from pathlib import Path
from typing import Any

from kiosk.config import load_config
from kiosk.services.retention import purge_expired
from kiosk.services.runtime import Kiosk
from kiosk.storage import Database
from kiosk.storage import accounts as store
from kiosk.storage import repository as repo

KIOSK = Path(sys.executable).with_name("kiosk")


def others_may_read(path: Path) -> bool:
    return bool(path.stat().st_mode & (stat.S_IROTH | stat.S_IWOTH))


def run_with_umask(*args: str) -> subprocess.CompletedProcess[str]:
    return subprocess.run(
        [str(KIOSK), *args],
        capture_output=True,
        text=True,
        preexec_fn=lambda: os.umask(0o022),
        check=False,
    )


def test_init_and_backup_write_nothing_others_can_read(tmp_path: Path) -> None:
    data = tmp_path / "d"
    assert run_with_umask("init", str(data)).returncode == 0
    code = (data / "setup-code").read_text().strip()
    assert len(code) >= 22
    for name in ("kiosk.db", "setup-code", "secret_key", "faces.key"):
        assert not others_may_read(data / name), name
    config = load_config(data / "kiosk.toml")
    db = Database(config.database_path)  # WAL and shared memory appear with the first write
    with db.transaction() as conn:
        store.add_attempt(conn, "x", "failed", datetime.now(UTC), "-")
    try:
        for extra in ("-wal", "-shm"):
            sidecar = Path(f"{config.database_path}{extra}")
            assert sidecar.exists() and not others_may_read(sidecar), extra
        backups = tmp_path / "backups"
        done = run_with_umask(
            "db", "backup", "--config", str(data / "kiosk.toml"), "--to", str(backups)
        )
        assert done.returncode == 0, done.stderr
        made = list(backups.iterdir())
        assert made and not any(others_may_read(p) for p in made)
        assert not others_may_read(backups)
    finally:
        db.close()


def test_a_database_left_world_readable_is_closed_on_open(tmp_path: Path) -> None:
    path = tmp_path / "old.db"
    path.touch()
    path.chmod(0o644)
    db = Database(path)
    try:
        db.migrate()
    finally:
        db.close()
    assert not others_may_read(path)


def test_the_retention_job_purges_login_attempts_and_old_sessions(kiosk: Kiosk) -> None:
    now = datetime.now(UTC)
    old = now - timedelta(days=3)
    with kiosk.db.transaction() as conn:
        user_id = store.insert_user(conn, "siti", "officer", "x", now)
        for n in range(50):
            store.add_attempt(conn, f"flood{n}", "failed", old, "10.0.0.9")
        store.add_attempt(conn, "recent", "failed", now, "10.0.0.9")
        store.insert_session(conn, "old-ended", user_id, old)
        store.end_session(conn, "old-ended", old)
        store.insert_session(conn, "old-idle", user_id, old)
        store.insert_session(conn, "live", user_id, now)
    purge_expired(kiosk.db, date.today(), kiosk.config.retention.days)
    conn = kiosk.db.connection()
    left = [r[0] for r in conn.execute("SELECT username FROM login_attempts")]
    sessions = [r[0] for r in conn.execute("SELECT id_hash FROM sessions")]
    assert left == ["recent"] and sessions == ["live"]


def test_healthz_names_nobody(kiosk: Kiosk, client: Any) -> None:
    with kiosk.db.transaction() as conn:
        repo.add_calibration(
            conn,
            repo.Calibration(
                ts=datetime.now(UTC),
                gate_id=kiosk.config.site.gate_id,
                operator="Budi Santoso",
                offset_c=0.1,
                ambient_gain=0.0,
                pairs=5,
                rms_residual_c=0.1,
            ),
        )
    text = client.get("/healthz").get_data(as_text=True)
    assert "Budi" not in text and "operator" not in text
