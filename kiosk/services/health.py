"""Alerts for the officer console and /healthz: clock, storage, disk space.

Each alert says what is wrong and what to do; ``level`` is ``warning`` (the
gate works) or ``error`` (automatic admission is refused until fixed).
"""

from __future__ import annotations

import shutil
from datetime import datetime
from pathlib import Path
from typing import Any

from kiosk.config import Config


def disk_alert(path: Path, min_free_percent: float) -> dict[str, Any] | None:
    """A warning when the file system holding ``path`` has less free space than allowed."""
    try:
        usage = shutil.disk_usage(path)
    except OSError as exc:
        return alert("error", "disk_unreadable", f"cannot read free space of {path}: {exc}")
    free = 100.0 * usage.free / usage.total if usage.total else 0.0
    if free >= min_free_percent:
        return None
    return alert(
        "warning",
        "disk_low",
        f"only {free:.1f} % disk space free on the data folder ({usage.free // 2**20} MiB) — "
        "delete old backups or exports, or run `kiosk db purge`",
    )


DEVICE_NAMES = {
    "thermometer": "thermometer (MLX90614)",
    "camera": "camera",
    "gpio": "gate outputs (relay, lights, buzzer on GPIO)",
    "inputs": "officer button and presence sensor (GPIO)",
}


def device_alerts(status: dict[str, dict[str, Any]]) -> list[dict[str, Any]]:
    """One alert per missing device: ``device_missing`` (gate closed) or ``device_optional``."""
    alerts: list[dict[str, Any]] = []
    for name, state in status.items():
        if state.get("status") != "missing":
            continue
        label = DEVICE_NAMES.get(name, name)
        retry = state.get("retry_in_s")
        when = f"next try in {retry} s" if retry is not None else "retrying by itself"
        if state.get("required", True):
            message = (
                f"{label} not available ({state.get('error')}): the gate is closed and refers "
                f"every citizen to the officer until it answers ({when})"
            )
            item = alert("error", "device_missing", message)
        else:
            message = f"{label} not available ({state.get('error')}); the gate works ({when})"
            item = alert("warning", "device_optional", message)
        item["device"] = name
        alerts.append(item)
    return alerts


def gate_alerts(config: Config, gate: Any) -> list[dict[str, Any]]:
    alerts: list[dict[str, Any]] = []
    clock = gate.clock_guard.status()
    if not clock["trusted"]:
        alerts.append(
            alert(
                "error",
                "clock_unconfirmed",
                f"the business date is not trusted ({clock['problem']}): confirm today's date on "
                "the officer console — automatic admission refers citizens until then",
            )
        )
    for event in clock["alerts"]:
        if event["kind"] == "jump":
            alerts.append(alert("warning", "clock_jump", f"{event['ts']}: {event['detail']}"))
    partition = gate.partition
    if partition.degraded:
        alerts.append(
            alert(
                "error",
                "degraded",
                f"the shared database is unreachable ({partition.last_error}): degraded mode — "
                f"this gate admits only with its {partition.reserve} reserved slot(s) and refers "
                "everyone else; check the network to the database server",
            )
        )
    if gate.storage_problem is not None:
        when, message = gate.storage_problem
        alerts.append(
            alert("error", "cannot_record", f"{when:%H:%M:%S} UTC: {message}"),
        )
    for level, code, message in gate.screening.alerts():
        alerts.append(alert(level, code, message))
    if (disk := disk_alert(config.data_dir, config.retention.min_free_percent)) is not None:
        alerts.append(disk)
    if (locked := lockout_alert(gate.clock())) is not None:
        alerts.append(locked)
    return alerts


def lockout_alert(now: datetime) -> dict[str, Any] | None:
    """A warning while logins were locked in the last hour (a guesser on the network?).

    Counts only: /healthz is public, so neither user names nor addresses are shown here;
    the audit log (``login_locked``) and the users page say which.
    """
    from kiosk.services.accounts import LOCKOUTS

    recent = LOCKOUTS.recent(now)
    if not recent:
        return None
    clients = len({item.remote for item in recent})
    return alert(
        "warning",
        "login_locked",
        f"{len(recent)} login lock-out(s) in the last hour from {clients} address(es): someone "
        "may be guessing passwords — see the audit log; an administrator can unlock a user on "
        "the users page or with `kiosk users unlock NAME`",
    )


def alert(level: str, code: str, message: str) -> dict[str, Any]:
    return {"level": level, "code": code, "message": message}
