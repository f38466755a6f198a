"""ESC/POS thermal receipt printers through python-escpos: render a receipt, deliver its bytes.

A receipt is rendered once into escpos's :class:`~escpos.printer.Dummy` printer (which
collects the ESC/POS command bytes) and the bytes are then delivered whole to the
device: a USB printer (:class:`~escpos.printer.Usb`, vendor and product id), a network
printer on raw TCP (:class:`~escpos.printer.Network`, usually port 9100) or a file
(appended, for the simulator and for tests, which decode the bytes).

Every delivery failure raises :class:`drivers.errors.PrinterError` with a short,
readable reason; the caller decides about retries. Nothing here knows about the kiosk.
"""

from __future__ import annotations

import contextlib
import socket
from dataclasses import dataclass
from pathlib import Path
from typing import Any

from drivers.errors import PrinterError


@dataclass(frozen=True)
class Receipt:
    """What one queue-number slip says, top to bottom."""

    office: str
    service: str
    number: str
    when: str
    """Date and time as the office reads them, e.g. ``23-11-2026 08:05``."""
    footer: str = ""


def preload() -> None:
    """Import python-escpos now (about 1.5 s on a Pi-class CPU: Pillow, qrcode, its printer
    profiles), at start-up, not in the print thread while the gate is deciding."""
    import escpos.printer  # noqa: F401


def render(receipt: Receipt) -> bytes:
    """The receipt as ESC/POS bytes (initialise, centred text, a large number, cut)."""
    from escpos.printer import Dummy

    printer: Any = Dummy()
    printer.hw("INIT")
    printer.set(align="center", bold=True)
    printer.text(f"{receipt.office}\n")
    printer.set(align="center", normal_textsize=True)
    if receipt.service:
        printer.text(f"{receipt.service}\n")
    printer.text("\n")
    printer.set(align="center", bold=True, custom_size=True, width=4, height=4)
    printer.text(f"{receipt.number}\n")
    printer.set(align="center", normal_textsize=True)
    printer.text("\n")
    printer.text(f"{receipt.when}\n")
    if receipt.footer:
        printer.text(f"{receipt.footer}\n")
    printer.cut()
    return bytes(printer.output)


class ReceiptPrinter:
    """Delivers rendered receipts to one device; :meth:`send` raises :class:`PrinterError`."""

    def __init__(
        self,
        kind: str,
        *,
        file: Path | None = None,
        host: str = "",
        port: int = 9100,
        vendor_id: int = 0,
        product_id: int = 0,
        timeout_s: float = 5.0,
    ) -> None:
        if kind not in ("file", "network", "usb"):
            raise ValueError(f"unknown printer kind {kind!r}")
        if kind == "file" and file is None:
            raise ValueError("a file printer needs a file")
        self.kind = kind
        self.file = file
        self.host = host
        self.port = port
        self.vendor_id = vendor_id
        self.product_id = product_id
        self.timeout_s = timeout_s

    def describe(self) -> str:
        if self.kind == "file":
            return f"file {self.file}"
        if self.kind == "network":
            return f"network printer {self.host}:{self.port}"
        return f"USB printer {self.vendor_id:04x}:{self.product_id:04x}"

    def send(self, data: bytes) -> None:
        """Deliver ``data`` whole; raises :class:`PrinterError` naming what failed."""
        if self.kind == "file":
            assert self.file is not None
            try:
                with self.file.open("ab") as out:
                    out.write(data)
            except OSError as exc:
                raise PrinterError(f"cannot write {self.file}: {exc.strerror}") from exc
            return
        device: Any = self._device()
        try:
            device.open(raise_not_found=True)
            device._raw(data)
        except PrinterError:
            raise
        except Exception as exc:  # escpos, socket and usb errors all mean "did not print"
            raise PrinterError(f"{self.describe()}: {_reason(exc)}") from exc
        finally:
            with contextlib.suppress(Exception):
                device.close()

    def _device(self) -> Any:
        from escpos import printer

        if self.kind == "network":
            return _Network(self.host, port=self.port, timeout=self.timeout_s)
        return printer.Usb(self.vendor_id, self.product_id, timeout=int(self.timeout_s * 1000))


def _network_class() -> type[Any]:
    from escpos.printer import Network

    class Network_(Network):  # type: ignore[misc]
        """escpos's network printer whose failed connect closes its socket.

        python-escpos 3.1's ``Network.open`` drops the socket of a failed connect
        without closing it (a file descriptor per failed print while a printer is off).
        """

        def open(self, raise_not_found: bool = True) -> None:
            self.close()
            try:
                self.device = socket.create_connection((self.host, self.port), self.timeout)
            except OSError as exc:
                raise PrinterError(
                    f"network printer {self.host}:{self.port}: cannot connect ({exc})"
                ) from exc

    return Network_


def _Network(host: str, *, port: int, timeout: float) -> Any:
    return _network_class()(host, port=port, timeout=timeout)


def _reason(exc: BaseException) -> str:
    text = str(exc).strip() or type(exc).__name__
    return " ".join(text.split())[:200]
