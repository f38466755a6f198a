"""The running kiosk: configuration, database, devices and services in one place."""

from __future__ import annotations

import logging
from dataclasses import dataclass

from kiosk.config import Config
from kiosk.services.devices import Devices, Simulator, open_devices
from kiosk.services.gate import GateResult, GateService
from kiosk.storage import Database

log = logging.getLogger(__name__)


@dataclass
class Kiosk:
    config: Config
    db: Database
    devices: Devices
    gate: GateService

    @property
    def simulator(self) -> Simulator | None:
        return self.devices.simulator

    @classmethod
    def start(cls, config: Config) -> Kiosk:
        """Open the database (applying migrations) and every device.

        Raises :class:`~kiosk.errors.KioskError` subclasses with a message
        saying what to fix; nothing is left open on failure.
        """
        db = Database(config.database_path)
        try:
            applied = db.migrate()
            if applied:
                log.info("database %s migrated to version %s", db.path, applied[-1])
            devices = open_devices(config)
        except BaseException:
            db.close()
            raise
        return cls(config, db, devices, GateService(config, db, devices))

    def close(self) -> None:
        self.devices.close()
        self.gate.close()
        self.db.close()


class NoCodeInView(Exception):
    """The decoder found no QR code in the simulated camera frame."""


def simulate_present(
    kiosk: Kiosk,
    qr: str,
    body_c: float | None,
    *,
    ambient_c: float | None = None,
    idempotency_key: str | None = None,
) -> GateResult:
    """Sim mode: a person at ``body_c`` shows ``qr`` to the camera; run the real pipeline.

    The frame is rendered, read back from the camera, decoded by the real
    decoder and handed to the gate service exactly as a real frame would be.
    """
    sim = kiosk.simulator
    if sim is None:
        raise RuntimeError("not in simulation mode")
    with sim.lock:
        sim.set_body_temperature(body_c, ambient_c)
        sim.present(qr)
        try:
            frame = kiosk.devices.camera.read()
            result = kiosk.gate.handle_frame(frame, idempotency_key=idempotency_key)
        finally:
            sim.clear()
            sim.set_body_temperature(None)
    if result is None:
        raise NoCodeInView("no QR code found in the camera frame")
    return result
