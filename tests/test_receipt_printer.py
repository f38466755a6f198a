"""Queue-number receipts (#15): ESC/POS bytes decoded, the simulator's file, a network
printer on a real socket, and a printer fault that is an alert, never a gate fault."""

from __future__ import annotations

import socket
import threading
from datetime import UTC, datetime
from pathlib import Path
from typing import Any

import pytest
from click.testing import CliRunner

from drivers.receipt_printer import Receipt, ReceiptPrinter, render
from kiosk.cli import main
from kiosk.config import load_config
from kiosk.datadir import init_data_dir, render_config
from kiosk.errors import ConfigError, PrinterError
from kiosk.services.runtime import Kiosk
from tests.conftest import FAST_MEASUREMENT, FakeClock, web_client

NOW = datetime(2026, 11, 23, 2, 5, tzinfo=UTC)  # 09:05 WIB, a Monday
SERVICES = {"KTP-EL": {"name": "Perekaman KTP-el", "daily_cap": 3}}

# ESC/POS commands this receipt uses: prefix bytes → number of argument bytes.
_COMMANDS = {
    b"\x1b@": 0,  # initialise
    b"\x1bE": 1,  # bold on/off
    b"\x1ba": 1,  # align
    b"\x1bt": 1,  # code page
    b"\x1b!": 1,  # print mode
    b"\x1bd": 1,  # feed n lines
    b"\x1d!": 1,  # character size (GS !)
    b"\x1dV": 1,  # cut (GS V)
}


def decode(data: bytes) -> list[tuple[str, Any]]:
    """Split ESC/POS bytes into ``("cmd", (prefix, arg))`` and ``("text", str)``; unknown
    control bytes fail the test."""
    items: list[tuple[str, Any]] = []
    i, text = 0, bytearray()
    while i < len(data):
        prefix = data[i : i + 2]
        if prefix in _COMMANDS:
            if text:
                items.append(("text", text.decode("ascii")))
                text = bytearray()
            n = _COMMANDS[prefix]
            items.append(("cmd", (prefix, data[i + 2 : i + 2 + n])))
            i += 2 + n
            continue
        byte = data[i]
        assert byte == 0x0A or 0x20 <= byte < 0x7F, f"unexpected byte {byte:#x} at {i}"
        text.append(byte)
        i += 1
    if text:
        items.append(("text", text.decode("ascii")))
    return items


def texts(items: list[tuple[str, Any]]) -> list[str]:
    return [line for kind, t in items if kind == "text" for line in t.split("\n") if line]


def test_receipt_bytes_decode_to_office_service_large_number_time_and_cut() -> None:
    data = render(
        Receipt("Disdukcapil Semarang", "Perekaman KTP-el", "KTP-EL-001", "23-11-2026 09:05")
    )
    items = decode(data)
    assert items[0] == ("cmd", (b"\x1b@", b""))
    assert texts(items) == [
        "Disdukcapil Semarang",
        "Perekaman KTP-el",
        "KTP-EL-001",
        "23-11-2026 09:05",
    ]
    # The number is printed large: the last character size before it is more than 1×1.
    at = items.index(("text", "KTP-EL-001\n"))
    sizes = [arg for kind, (p, arg) in (x for x in items[:at] if x[0] == "cmd") if p == b"\x1d!"]
    assert sizes and sizes[-1][0] >= 0x11
    after = [arg for kind, (p, arg) in (x for x in items[at:] if x[0] == "cmd") if p == b"\x1b!"]
    assert after and after[0] == b"\x00"  # back to normal size after the number
    assert items[-1][1][0] == b"\x1dV"  # cut


def _office(tmp_path: Path, **printer: Any) -> Path:
    path = init_data_dir(tmp_path / "data")
    sections: dict[str, Any] = {
        "admission": {"daily_cap": 10},
        "services": SERVICES,
        "temperature": FAST_MEASUREMENT,
    }
    if printer:
        sections["printer"] = printer
    config = load_config(path).replace(**sections)
    path.write_text(render_config(config), encoding="utf-8")
    return path


def _booking(path: Path, service: str) -> str:
    result = CliRunner().invoke(
        main,
        [
            "booking",
            "add",
            "--config",
            str(path),
            "--date",
            "2026-11-23",
            "--name",
            "Siti",
            "--service",
            service,
        ],
        catch_exceptions=False,
    )
    assert result.exit_code == 0, result.output
    return str(result.output.strip().splitlines()[-1])


def test_simulation_writes_each_admission_receipt_to_the_data_folder(tmp_path: Path) -> None:
    office = _office(tmp_path)
    assert "[printer]" in office.read_text(encoding="utf-8")
    codes = [_booking(office, "KTP-EL") for _ in range(2)]
    kiosk = Kiosk.start(load_config(office))
    kiosk.gate.clock = FakeClock(NOW)
    try:
        client = web_client(kiosk)
        answers = [
            client.post("/api/sim/present", json={"qr": c, "temperature_c": 36.6}).get_json()
            for c in [codes[0], codes[1], codes[1]]  # the third is a refused re-scan
        ]
        assert kiosk.receipts is not None and kiosk.receipts.drain()
        health = client.get("/healthz").get_json()
    finally:
        kiosk.close()
    assert [a["queue_number"] for a in answers] == ["KTP-EL-001", "KTP-EL-002", None]
    data = (tmp_path / "data" / "receipts.escpos").read_bytes()
    lines = texts(decode(data))
    office_name = load_config(office).site.office_name
    office_id = load_config(office).site.office_id
    assert lines == [
        *(office_name, "Perekaman KTP-el", "KTP-EL-001", "23-11-2026 09:05", office_id),
        *(office_name, "Perekaman KTP-el", "KTP-EL-002", "23-11-2026 09:05", office_id),
    ]  # 09:05 in the office's zone (WIB), not 02:05 UTC
    assert health["printer"]["status"] == "ok" and health["printer"]["printed"] == 2


class PrinterSocket:
    """A network printer: a TCP listener that keeps every byte it is sent."""

    def __init__(self) -> None:
        self.server = socket.create_server(("127.0.0.1", 0))
        self.port = self.server.getsockname()[1]
        self.received = bytearray()
        self.thread = threading.Thread(target=self._serve, daemon=True)
        self.thread.start()

    def _serve(self) -> None:
        while True:
            try:
                conn, _ = self.server.accept()
            except OSError:
                return
            with conn:
                while chunk := conn.recv(4096):
                    self.received.extend(chunk)

    def close(self) -> None:
        self.server.close()


def test_network_printer_receives_the_receipt() -> None:
    listener = PrinterSocket()
    try:
        printer = ReceiptPrinter("network", host="127.0.0.1", port=listener.port, timeout_s=2)
        data = render(Receipt("Kantor", "KK", "KK-004", "23-11-2026 10:00"))
        printer.send(data)
        deadline = datetime.now().timestamp() + 5
        while len(listener.received) < len(data) and datetime.now().timestamp() < deadline:
            threading.Event().wait(0.02)
    finally:
        listener.close()
    assert bytes(listener.received) == data
    assert "KK-004" in texts(decode(bytes(listener.received)))


def _free_port() -> int:
    with socket.create_server(("127.0.0.1", 0)) as s:
        return int(s.getsockname()[1])


def test_unreachable_network_printer_raises_printer_error() -> None:
    printer = ReceiptPrinter("network", host="127.0.0.1", port=_free_port(), timeout_s=1)
    with pytest.raises(PrinterError, match=r"network printer 127\.0\.0\.1"):
        printer.send(b"\x1b@")


def test_a_dead_printer_is_an_alert_and_the_gate_still_admits(tmp_path: Path) -> None:
    port = _free_port()
    office = _office(tmp_path, kind="network", host="127.0.0.1", port=port, timeout_s=1.0)
    code = _booking(office, "KTP-EL")
    kiosk = Kiosk.start(load_config(office))
    kiosk.gate.clock = FakeClock(NOW)
    assert kiosk.receipts is not None
    kiosk.receipts.retry_delay_s = 0.01
    try:
        client = web_client(kiosk)
        answer = client.post("/api/sim/present", json={"qr": code, "temperature_c": 36.6})
        assert kiosk.receipts.drain()
        health = client.get("/healthz").get_json()
        alerts = {a["code"]: a for a in kiosk.alerts()}
        # The printer comes back: the next receipt prints and the alert goes.
        listener = PrinterSocket.__new__(PrinterSocket)
        listener.server = socket.create_server(("127.0.0.1", port))
        listener.port, listener.received = port, bytearray()
        listener.thread = threading.Thread(target=listener._serve, daemon=True)
        listener.thread.start()
        second = client.post(
            "/api/sim/present", json={"qr": _booking(office, "KTP-EL"), "temperature_c": 36.6}
        )
        assert kiosk.receipts.drain()
        after = {a["code"] for a in kiosk.alerts()}
        listener.close()
    finally:
        kiosk.close()
    assert answer.get_json()["decision"] == "admitted"
    assert answer.get_json()["queue_number"] == "KTP-EL-001"
    assert health["status"] == "ok"  # not a gate fault
    assert health["printer"]["status"] == "fault"
    assert alerts["printer_fault"]["level"] == "warning"
    assert "the gate works" in alerts["printer_fault"]["message"]
    assert second.get_json()["queue_number"] == "KTP-EL-002"
    assert "printer_fault" not in after


def test_network_printer_needs_a_host(tmp_path: Path) -> None:
    path = init_data_dir(tmp_path / "data")
    path.write_text(
        path.read_text(encoding="utf-8")
        .replace("[printer]", '[printer]\nkind = "network"', 1)
        .replace('kind = "auto"\n', "", 1),
        encoding="utf-8",
    )
    with pytest.raises(ConfigError, match=r"printer\.host"):
        load_config(path)


def test_real_hardware_prints_nothing_unless_configured(tmp_path: Path) -> None:
    config = load_config(init_data_dir(tmp_path / "data"))
    assert config.printer.effective_kind("real") == "none"
    assert config.printer.effective_kind("sim") == "file"
    assert config.replace(printer={"kind": "usb"}).printer.effective_kind("real") == "usb"
