"""``kiosk run``: serve the kiosk with waitress; SIGTERM closes the gate first."""

from __future__ import annotations

import logging
import signal
from pathlib import Path
from typing import Any

import click

from kiosk.cli.common import config_option, load


@click.command()
@config_option
@click.option("--sim", is_flag=True, help="Force simulated hardware.")
@click.option("--host", default=None, help="Address to bind (default from config).")
@click.option(
    "--port", type=click.IntRange(1, 65535), default=None, help="Port (default from config)."
)
def run(config_path: Path | None, sim: bool, host: str | None, port: int | None) -> None:
    """Serve the kiosk over HTTP with a production WSGI server (waitress)."""
    from kiosk.serve import create_servers
    from kiosk.services.runtime import Kiosk
    from ui import create_app

    config = load(config_path)
    if sim:
        config = config.replace(hardware={"mode": "sim"})
    kiosk = Kiosk.start(config)
    kiosk.start_background()
    servers = create_servers(create_app(kiosk), config, host=host, port=port)
    server = servers.main

    from kiosk import watchdog

    dog = watchdog.Watchdog(lambda: _serves(servers.health_url))

    def stopping() -> None:
        watchdog.notify_stopping()
        dog.stop()
        servers.close()

    install_shutdown(kiosk, stopping)
    local = f", screen on http://127.0.0.1:{servers.local.effective_port}" if servers.local else ""
    click.echo(
        f"kiosk serving on http://{server.effective_host}:{server.effective_port}{local} "
        f"({config.hardware.mode} hardware, data {config.data_dir}, {kiosk.db.describe()})"
    )
    watchdog.notify_ready(f"serving on port {server.effective_port}")
    dog.start()
    try:
        servers.run()
    finally:
        dog.stop()
        kiosk.close()


def _serves(url: str) -> bool:
    """Health for the systemd watchdog: the server really answers /healthz with 200."""
    import urllib.request

    with urllib.request.urlopen(url, timeout=2) as response:
        return bool(response.status == 200)


def install_shutdown(kiosk: Any, then: Any = None) -> None:
    """On SIGTERM/SIGINT: close the gate (relay de-energised) first, then stop serving."""

    def stop(signum: int, _frame: Any) -> None:
        logging.getLogger("kiosk").info("signal %s: closing the gate and stopping", signum)
        kiosk.close()
        if then is not None:
            then()

    signal.signal(signal.SIGTERM, stop)
    signal.signal(signal.SIGINT, stop)


def register(main: click.Group) -> None:
    main.add_command(run)
