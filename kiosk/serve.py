"""The production HTTP servers of ``kiosk run`` (waitress), hardened against the office LAN.

Two listeners share one Flask app but nothing else:

- the **main port** (``server.host``/``server.port``): the LAN in the demo, nginx on a Pi
  (waitress then binds 127.0.0.1 and trusts nginx's ``X-Forwarded-For``, so the login
  throttle sees the real client). Idle or trickling connections are cheap (no thread until a
  whole request has arrived) and are closed after ``channel_timeout_s`` of silence; up to
  ``connection_limit`` may be open at once, so 150 idle sockets do not stop ``/healthz``.
  waitress's defaults (100 connections, 120 s idle, 1 GB bodies, ``select()`` limited to 1024
  descriptors) let one LAN client with 100 half-open sockets stop the server.
- the **local listener** (127.0.0.1:``server.local_port``): the kiosk's own screen and the
  systemd watchdog, with its own connections, its own worker threads and its own event-stream
  slots (requests carry ``kiosk.local`` in the WSGI environ), so a flood on the main port
  cannot starve them. If the port is taken the kiosk still starts (a warning) and the main
  port serves everything.
"""

from __future__ import annotations

import contextlib
import logging
import threading
from collections.abc import Callable, Iterable
from dataclasses import dataclass
from typing import Any

from kiosk.config import Config
from kiosk.faces.images import MAX_BYTES
from kiosk.faces.registry import MAX_PHOTOS

log = logging.getLogger(__name__)

LOCAL_ENVIRON_KEY = "kiosk.local"
LOCAL_HOST = "127.0.0.1"
MAX_BODY_BYTES = MAX_PHOTOS * MAX_BYTES + 64 * 1024
"""waitress's own body limit: the largest route (staff face enrolment); Flask limits per route."""

WSGIApp = Callable[[dict[str, Any], Callable[..., Any]], Iterable[bytes]]


def mark_local(app: WSGIApp) -> WSGIApp:
    """``app`` with ``environ['kiosk.local'] = True`` on every request (the local listener)."""

    def local_app(environ: dict[str, Any], start_response: Callable[..., Any]) -> Iterable[bytes]:
        environ[LOCAL_ENVIRON_KEY] = True
        return app(environ, start_response)

    return local_app


def is_local(environ: dict[str, Any]) -> bool:
    """The request came through the local listener (the kiosk's own screen or watchdog)."""
    return bool(environ.get(LOCAL_ENVIRON_KEY))


def hardening(config: Config) -> dict[str, Any]:
    """waitress settings of the main port, from ``[server]``."""
    cfg = config.server
    settings: dict[str, Any] = {
        "threads": cfg.threads,
        "connection_limit": cfg.connection_limit,
        "channel_timeout": cfg.channel_timeout_s,
        "cleanup_interval": cfg.cleanup_interval_s,
        "max_request_body_size": MAX_BODY_BYTES,
        "max_request_header_size": 64 * 1024,
        "asyncore_use_poll": True,  # select() fails past 1024 descriptors
        "backlog": 256,
        "ident": "kiosk",
    }
    if cfg.trusted_proxy:
        settings.update(
            trusted_proxy=cfg.trusted_proxy,
            trusted_proxy_headers={"x-forwarded-for"},
            clear_untrusted_proxy_headers=True,
        )
    return settings


@dataclass
class Servers:
    """The main server and, when its port was free, the local one."""

    main: Any
    local: Any | None

    @property
    def health_url(self) -> str:
        """Where the watchdog asks ``/healthz``: the local listener when there is one."""
        if self.local is not None:
            return f"http://{LOCAL_HOST}:{self.local.effective_port}/healthz"
        host = self.main.effective_host
        host = LOCAL_HOST if host in ("0.0.0.0", "::", "") else host
        if ":" in host:
            host = f"[{host}]"
        return f"http://{host}:{self.main.effective_port}/healthz"

    def run(self) -> None:
        """Serve until :meth:`close`: the local listener in a thread, the main one here."""
        if self.local is not None:
            threading.Thread(
                target=_run_quietly, args=(self.local,), name="http-local", daemon=True
            ).start()
        _run_quietly(self.main)

    def close(self) -> None:
        """Stop listening and drop open connections (event streams, keep-alives) at once."""
        from waitress import wasyncore

        for server in (self.main, self.local):
            if server is None:
                continue
            server.close()
            if (channels := getattr(server, "_map", None)) is not None:
                wasyncore.close_all(channels)


def _run_quietly(server: Any) -> None:
    """``server.run()``; the OSError when :meth:`Servers.close` closed its socket is the end."""
    with contextlib.suppress(OSError):
        server.run()


def create_servers(
    app: WSGIApp,
    config: Config,
    *,
    host: str | None = None,
    port: int | None = None,
    local_port: int | None = None,
) -> Servers:
    """Bind the main port (errors propagate) and the local port (a warning when taken)."""
    from waitress.server import create_server

    main = create_server(
        app, host=host or config.server.host, port=port or config.server.port, **hardening(config)
    )
    wanted = config.server.local_port if local_port is None else local_port
    local = None
    if wanted:
        try:
            local = create_server(
                mark_local(app),
                host=LOCAL_HOST,
                port=wanted,
                threads=config.server.local_threads,
                connection_limit=32,
                channel_timeout=max(config.server.channel_timeout_s, 60),
                max_request_body_size=MAX_BODY_BYTES,
                asyncore_use_poll=True,
                ident="kiosk-local",
            )
        except OSError as exc:
            log.warning(
                "local listener 127.0.0.1:%s not started (%s): the screen and the watchdog "
                "use the main port",
                wanted,
                exc,
            )
    return Servers(main, local)
