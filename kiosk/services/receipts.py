"""Queue-number receipts: printed after each admission that got a number, never in the gate's way.

The gate's result listener only puts the receipt on a bounded queue
(:meth:`ReceiptService.on_result`, no I/O); one background thread renders it with
python-escpos and delivers it (:mod:`drivers.receipt_printer`). A printer that
fails is retried a few times, then the receipt is dropped; until a receipt
prints again the failure is a warning alert on ``/healthz`` and the officer
console (``printer_fault``) — the gate keeps admitting, the number stays on the
screen, the console and in the log.

``[printer]`` in the configuration chooses the device; ``kind = "auto"`` (the
default) writes the bytes to ``DATA/receipts.escpos`` in simulation and prints
nothing on real hardware until a printer is configured.
"""

from __future__ import annotations

import contextlib
import logging
import queue
import threading
from collections.abc import Callable
from datetime import datetime
from pathlib import Path
from typing import Any

from drivers.receipt_printer import Receipt, ReceiptPrinter, preload, render
from kiosk.config import Config
from kiosk.domain.reasons import Outcome
from kiosk.errors import PrinterError
from kiosk.services.results import GateResult

log = logging.getLogger(__name__)

QUEUE_SIZE = 50
"""Receipts waiting at most; beyond, new ones are dropped (and logged)."""


def printer_for(config: Config) -> ReceiptPrinter | None:
    """The configured device, or ``None`` when no receipts are printed."""
    pc = config.printer
    kind = pc.effective_kind(config.hardware.mode)
    if kind == "none":
        return None
    path = Path(pc.file)
    return ReceiptPrinter(
        kind,
        file=path if path.is_absolute() else config.data_dir / path,
        host=pc.host,
        port=pc.port,
        vendor_id=pc.vendor_id,
        product_id=pc.product_id,
        timeout_s=pc.timeout_s,
    )


def receipt_for(config: Config, result: GateResult) -> Receipt | None:
    """The slip for an admission with a queue number; ``None`` for any other result."""
    if (
        result.decision.outcome is not Outcome.ADMITTED
        or not result.queue_number
        or result.replayed
    ):
        return None
    service = config.services.get(result.service.strip().upper()) if result.service else None
    local = result.ts.astimezone(config.site.zone)
    return Receipt(
        office=config.site.office_name,
        service=service.name if service is not None else result.service,
        number=result.queue_number,
        when=local.strftime("%d-%m-%Y %H:%M"),
        footer=config.site.office_id,
    )


class ReceiptService:
    """The print queue and its one worker thread; :meth:`status` feeds the alerts."""

    def __init__(
        self,
        config: Config,
        printer: ReceiptPrinter,
        *,
        retries: int = 2,
        retry_delay_s: float = 2.0,
        clock: Callable[[], datetime] = datetime.now,
    ) -> None:
        self.config = config
        self.printer = printer
        self.retries = retries
        self.retry_delay_s = retry_delay_s
        self._clock = clock
        self._jobs: queue.Queue[Receipt | None] = queue.Queue(maxsize=QUEUE_SIZE)
        self._stop = threading.Event()
        self._lock = threading.Lock()
        self._error: str | None = None
        self._failed_at: datetime | None = None
        self.printed = 0
        self.dropped = 0
        self._thread = threading.Thread(target=self._run, name="receipt-printer", daemon=True)

    @classmethod
    def start(cls, config: Config) -> ReceiptService | None:
        printer = printer_for(config)
        if printer is None:
            return None
        preload()
        service = cls(config, printer)
        service._thread.start()
        log.info("queue-number receipts go to the %s", printer.describe())
        return service

    # -- the gate side: no I/O -------------------------------------------------------------
    def on_result(self, result: GateResult) -> None:
        """Gate listener: queue the slip of an admission with a queue number."""
        receipt = receipt_for(self.config, result)
        if receipt is None:
            return
        try:
            self._jobs.put_nowait(receipt)
        except queue.Full:
            self.dropped += 1
            log.warning("receipt for %s dropped: the print queue is full", receipt.number)

    def status(self) -> dict[str, Any]:
        with self._lock:
            return {
                "status": "fault" if self._error else "ok",
                "kind": self.printer.kind,
                "error": self._error,
                "since": self._failed_at.isoformat() if self._failed_at else None,
                "printed": self.printed,
                "waiting": self._jobs.qsize(),
                "dropped": self.dropped,
            }

    def alert(self) -> dict[str, Any] | None:
        """The officer-console / ``/healthz`` alert while the printer fails (a warning)."""
        with self._lock:
            error = self._error
        if error is None:
            return None
        from kiosk.services.health import alert

        return alert(
            "warning",
            "printer_fault",
            f"receipt printer not printing ({error}): queue numbers are still shown on the "
            "screen and the console — check its power, paper and cable; the gate works",
        )

    # -- the worker --------------------------------------------------------------------------
    def drain(self, timeout_s: float = 10.0) -> bool:
        """Wait until every queued receipt was handled (tests and shutdown)."""
        done = threading.Event()

        def wait() -> None:
            self._jobs.join()
            done.set()

        threading.Thread(target=wait, daemon=True).start()
        return done.wait(timeout_s)

    def stop(self) -> None:
        self._stop.set()
        with contextlib.suppress(queue.Full):
            self._jobs.put_nowait(None)
        if self._thread.is_alive():
            self._thread.join(timeout=self.config.printer.timeout_s + 1.0)

    def _run(self) -> None:
        while not self._stop.is_set():
            job = self._jobs.get()
            try:
                if job is not None:
                    self._print(job)
            finally:
                self._jobs.task_done()

    def _print(self, receipt: Receipt) -> None:
        data = render(receipt)
        for attempt in range(self.retries + 1):
            try:
                self.printer.send(data)
            except PrinterError as exc:
                with self._lock:
                    if self._error is None:
                        self._failed_at = self._clock()
                    self._error = str(exc)
                log.warning("receipt %s not printed (try %d): %s", receipt.number, attempt + 1, exc)
                if attempt < self.retries and self._stop.wait(self.retry_delay_s):
                    return
                continue
            with self._lock:
                if self._error is not None:
                    log.info("receipt printer works again")
                self._error = None
                self._failed_at = None
                self.printed += 1
            return
        self.dropped += 1
