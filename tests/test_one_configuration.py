"""One effective configuration (file + admin settings) for every component and the CLI,
and a citizen screen that never shows an error page."""

from __future__ import annotations

import json
import os
import socket
import subprocess
import sys
import threading
import time
import urllib.request
from collections.abc import Callable
from datetime import UTC, datetime, timedelta
from http.cookiejar import CookieJar
from pathlib import Path
from typing import Any

from click.testing import CliRunner

from kiosk.cli import main
from kiosk.config import load_config
from kiosk.datadir import init_data_dir
from kiosk.services import settings as settings_service
from kiosk.services.runtime import Kiosk, simulate_present
from kiosk.storage import Database, Entry
from kiosk.storage import repository as repo
from tests.conftest import FAST_MEASUREMENT, web_client
from tests.pg import TemporaryServer


def admin_sets(config_path: Path, **changes: Any) -> None:
    config = load_config(config_path)
    db = Database(config.database_path)
    try:
        db.migrate()
        settings_service.save(db, config, changes, who="admin", now=datetime.now(UTC))
    finally:
        db.close()


def test_kiosk_today_shows_the_administrators_cap(tmp_path: Path) -> None:
    config_path = init_data_dir(tmp_path / "data")
    admin_sets(config_path, **{"admission.daily_cap": 7})
    result = CliRunner().invoke(main, ["today", "--config", str(config_path)])
    assert result.exit_code == 0, result.output
    assert " 0 / 7 admitted" in result.output


def test_the_kiosk_starts_with_the_administrators_settings(tmp_path: Path) -> None:
    config_path = init_data_dir(tmp_path / "data")
    admin_sets(config_path, **{"admission.daily_cap": 7, "retention.days": 90})
    kiosk = Kiosk.start(load_config(config_path))
    try:
        assert kiosk.config.admission.daily_cap == 7
        assert kiosk.gate.policy.daily_cap == 7
        assert kiosk.gate.today()["cap"] == 7
        assert kiosk.config.retention.days == 90
        assert kiosk.base_config is not None and kiosk.base_config.retention.days == 30
    finally:
        kiosk.close()


def test_the_purge_at_start_keeps_what_the_administrator_chose_to_keep(tmp_path: Path) -> None:
    """`kiosk run` purges at once; the admin's 90 days must apply, not the file's 30."""
    config_path = init_data_dir(tmp_path / "data")
    admin_sets(config_path, **{"retention.days": 90})
    config = load_config(config_path)
    old = datetime.now(UTC) - timedelta(days=45)
    db = Database(config.database_path)
    with db.transaction() as conn:
        repo.insert_entry(
            conn,
            Entry(
                ts=old,
                business_date=old.date(),
                office_id=config.site.office_id,
                gate_id=config.site.gate_id,
                kind="booking",
                outcome="denied",
                reason="booking_unknown",
                uses_slot=False,
            ),
        )
    db.close()
    kiosk = Kiosk.start(config.replace(clock={"trust": "always"}))
    try:
        kiosk.start_background()  # the purge scheduler purges once at start
        result = kiosk.purge_expired()
        assert result is not None and result.entries == 0
        with kiosk.db.transaction(write=False) as conn:
            count = conn.execute("SELECT COUNT(*) FROM entries").fetchone()[0]
        assert count == 1
    finally:
        kiosk.close()
    out = CliRunner().invoke(main, ["db", "purge", "--dry-run", "--config", str(config_path)])
    assert out.exit_code == 0, out.output
    assert "0 entries" in out.output and "90-day retention" in out.output


def test_a_settings_change_reaches_the_gate_and_the_screens_at_once(
    make_kiosk: Callable[..., Kiosk],
) -> None:
    kiosk = make_kiosk()
    pushed: list[str] = []
    kiosk.gate.status_listeners.append(lambda: pushed.append("today"))
    kiosk.save_settings({"admission.daily_cap": 3}, who="admin", now=datetime.now(UTC))
    assert kiosk.gate.policy.daily_cap == 3 and kiosk.gate.today()["cap"] == 3
    assert pushed == ["today"]


# -- the citizen screen when the database is away ------------------------------------------


def in_a_new_thread(call: Callable[[], Any]) -> Any:
    """As a waitress worker would: a thread with no open database connection yet."""
    out: list[Any] = []
    worker = threading.Thread(target=lambda: out.append(call()))
    worker.start()
    worker.join(60)
    assert out, "the call raised"
    return out[0]


def test_citizen_page_renders_while_the_sqlite_file_is_unreadable(
    make_kiosk: Callable[..., Kiosk],
) -> None:
    kiosk = make_kiosk()
    client = web_client(kiosk)
    assert client.get("/").status_code == 200
    # The database file vanishes under the running kiosk (a directory stands in its place:
    # even root cannot open it), so every new connection fails.
    path = kiosk.config.database_path
    for suffix in ("", "-wal", "-shm"):
        Path(f"{path}{suffix}").unlink(missing_ok=True)
    path.mkdir()
    page = in_a_new_thread(lambda: client.get("/"))
    assert page.status_code == 200
    html = page.get_data(as_text=True)
    assert "Kuota hari ini: – dari 50 terpakai" in html  # the count is unknown, not crashed
    assert in_a_new_thread(lambda: client.get("/healthz")).status_code == 200
    assert kiosk.simulator is not None
    result = in_a_new_thread(lambda: simulate_present(kiosk, "DEMO-0001", 36.6))
    assert (result.decision.outcome.value, result.decision.reason.value) == (
        "refer",
        "cannot_record",
    )


def test_citizen_page_renders_in_safe_mode(tmp_path: Path) -> None:
    config = load_config(init_data_dir(tmp_path / "data")).replace(temperature=FAST_MEASUREMENT)
    raw = bytearray(config.database_path.read_bytes())
    raw[:16] = b"not a database!!"
    config.database_path.write_bytes(bytes(raw))
    kiosk = Kiosk.start(config)
    try:
        assert kiosk.safe_mode is not None
        page = web_client(kiosk).get("/")
        assert page.status_code == 200
        assert 'id="idle"' in page.get_data(as_text=True)
    finally:
        kiosk.close()


def _free_port() -> int:
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return int(s.getsockname()[1])


def test_with_postgresql_stopped_the_screen_answers_and_scans_get_decisions(
    tmp_path: Path, pg_server: TemporaryServer, pg_url: str
) -> None:
    """The acceptance check: `/` 200 every second, /api/sim/present a decision, never 5xx."""
    config_path = init_data_dir(tmp_path / "data", demo=True)
    port = _free_port()
    env = {**os.environ, "KIOSK_DATABASE_URL": pg_url}
    command = [sys.executable, "-m", "kiosk.cli", "run", "--config", str(config_path), "--sim"]
    proc = subprocess.Popen(
        [*command, "--host", "127.0.0.1", "--port", str(port)],
        env=env,
        stdout=subprocess.PIPE,
        stderr=subprocess.STDOUT,
        text=True,
    )
    base = f"http://127.0.0.1:{port}"
    jar = CookieJar()
    opener = urllib.request.build_opener(urllib.request.HTTPCookieProcessor(jar))
    try:
        deadline = time.monotonic() + 30
        while True:
            assert proc.poll() is None, proc.stdout.read() if proc.stdout else ""
            try:
                with opener.open(f"{base}/healthz", timeout=2) as r:
                    if r.status == 200:
                        break
            except OSError:
                assert time.monotonic() < deadline
                time.sleep(0.2)
        with opener.open(f"{base}/api/csrf", timeout=5) as r:
            token = json.loads(r.read())["csrf_token"]

        def present() -> tuple[int, dict[str, Any]]:
            body = json.dumps({"qr": "NO-SUCH-BOOKING", "temperature_c": 36.6}).encode()
            request = urllib.request.Request(
                f"{base}/api/sim/present",
                data=body,
                headers={"Content-Type": "application/json", "X-CSRF-Token": token},
            )
            try:
                with opener.open(request, timeout=30) as r:
                    return r.status, json.loads(r.read())
            except urllib.error.HTTPError as exc:
                return exc.code, json.loads(exc.read() or b"{}")

        assert present()[0] == 200
        pg_server.stop()
        try:
            decisions = []
            for _ in range(8):
                started = time.monotonic()
                with opener.open(f"{base}/", timeout=5) as r:
                    assert r.status == 200
                status, answer = present()
                assert status < 500, answer
                decisions.append(answer["decision"])
                time.sleep(max(0.0, 1.0 - (time.monotonic() - started)))
            assert set(decisions) <= {"admitted", "denied", "refer"}
            assert decisions[-1] == "refer"
        finally:
            pg_server.start()
    finally:
        proc.terminate()
        proc.communicate(timeout=20)
