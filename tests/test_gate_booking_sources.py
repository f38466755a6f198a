"""The gate with a live booking-system look-up, and `kiosk booking sync`, against real local servers."""

from __future__ import annotations

import socket
import time
from typing import Any

from click.testing import CliRunner

from kiosk.cli import main
from kiosk.domain.clock import business_date
from kiosk.storage import Booking
from kiosk.storage import repository as repo
from tests.test_booking_sources import ProgrammableServer, json_reply, server  # noqa: F401


def refused_url() -> str:
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        port = s.getsockname()[1]
    return f"http://127.0.0.1:{port}"


def today(kiosk: Any) -> Any:
    return business_date(kiosk.gate.clock(), kiosk.config.site.zone)


def test_live_lookup_admits_a_booking_unknown_locally(
    make_kiosk: Any, server: ProgrammableServer
) -> None:
    kiosk = make_kiosk(booking_source={"live_lookup_url": server.url})
    day = today(kiosk)
    server.program(
        json_reply(
            {
                "id": "BK-LIVE0001",
                "office_id": kiosk.config.site.office_id,
                "date": day.isoformat(),
                "status": "valid",
                "service": "KK",
            }
        )
    )
    kiosk.simulator.set_body_temperature(36.6)
    result = kiosk.gate.scan("BK-LIVE0001")
    assert result.decision.reason.value == "admitted"


def test_booking_system_down_falls_back_to_the_local_list_within_8_s(make_kiosk: Any) -> None:
    kiosk = make_kiosk(booking_source={"live_lookup_url": refused_url()})
    with kiosk.db.transaction() as conn:
        repo.insert_booking(
            conn, Booking("BK-LOCAL001", kiosk.config.site.office_id, today(kiosk), "Siti")
        )
    kiosk.simulator.set_body_temperature(36.6)
    started = time.monotonic()
    known = kiosk.gate.scan("BK-LOCAL001")
    unknown = kiosk.gate.scan("BK-NOSUCH01")
    assert time.monotonic() - started < 8.0
    assert known.decision.reason.value == "admitted"
    assert unknown.decision.reason.value == "booking_unknown"


def test_booking_sync_command(tmp_path: Any, server: ProgrammableServer) -> None:
    from kiosk.datadir import init_data_dir

    path = init_data_dir(tmp_path / "d")
    path.write_text(
        path.read_text().replace('day_list_url = ""', f'day_list_url = "{server.url}/day"')
    )
    server.program(
        json_reply(
            {
                "bookings": [
                    {"id": "BK-SYNC0001", "date": "2026-11-23", "name": "Siti", "service": "KK"}
                ]
            }
        )
    )
    result = CliRunner().invoke(
        main, ["booking", "sync", "--config", str(path), "--date", "2026-11-23"]
    )
    assert result.exit_code == 0, result.output
    assert "1 added" in result.output
    server.program(json_reply({"error": "down"}, status=500))
    failed = CliRunner().invoke(
        main, ["booking", "sync", "--config", str(path), "--date", "2026-11-23"]
    )
    assert failed.exit_code == 1
    assert "last good list is kept" in failed.output
    listing = CliRunner().invoke(
        main, ["booking", "list", "--config", str(path), "--date", "2026-11-23"]
    )
    assert "BK-SYNC0001" in listing.output


def test_serving_kiosk_pulls_the_day_list_at_start(
    make_kiosk: Any, server: ProgrammableServer
) -> None:
    kiosk = make_kiosk(booking_source={"day_list_url": f"{server.url}/day"})
    day = today(kiosk)
    server.program(
        json_reply({"bookings": [{"id": "BK-START001", "date": day.isoformat(), "name": "Siti"}]})
    )
    kiosk.start_background()
    deadline = time.monotonic() + 10
    while repo.get_booking(kiosk.db.connection(), "BK-START001") is None:
        assert time.monotonic() < deadline, "day list was not pulled at start-up"
        time.sleep(0.05)
    kiosk.close()
    assert kiosk.background == []
