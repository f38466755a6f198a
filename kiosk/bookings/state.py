"""The day-list sync's state file: when the last sync succeeded, and the last failure.

A small JSON file (``booking_source.sync_state_file`` in the data folder),
written atomically so a reader sees the old or the new content, never half::

    {"last_success": {"at": "…Z", "office_id": "3314-SRG", "day": "2026-11-23", "total": 42},
     "last_failure": {"at": "…Z", "error": "day list not synced: …"}}

A missing or damaged file reads as "never synced"; a file that cannot be
written is a warning, never a failed sync.
"""

from __future__ import annotations

import contextlib
import json
import logging
import os
import tempfile
from collections.abc import Callable, Mapping
from dataclasses import dataclass
from datetime import UTC, date, datetime
from pathlib import Path
from typing import Any

log = logging.getLogger(__name__)


@dataclass(frozen=True)
class SyncState:
    """The state file's content: the last successful sync and the last failure."""

    last_success_at: datetime | None = None
    last_success_office: str | None = None
    last_success_day: date | None = None
    last_success_total: int | None = None
    last_failure_at: datetime | None = None
    last_error: str | None = None


def _load_state(path: Path) -> dict[str, Any]:
    try:
        data = json.loads(path.read_text(encoding="utf-8"))
    except (OSError, ValueError):
        return {}
    return data if isinstance(data, dict) else {}


def _write_json_atomic(path: Path, data: Mapping[str, Any]) -> None:
    """Write ``data`` to ``path`` so readers see the old or the new file, never half."""
    fd, tmp = tempfile.mkstemp(prefix=f".{path.name}.", suffix=".tmp", dir=path.parent)
    try:
        with os.fdopen(fd, "w", encoding="utf-8") as out:
            json.dump(data, out, indent=2, sort_keys=True)
            out.write("\n")
            out.flush()
            os.fsync(out.fileno())
        os.replace(tmp, path)
    except BaseException:
        with contextlib.suppress(OSError):
            os.unlink(tmp)
        raise
    with contextlib.suppress(OSError):  # make the rename itself durable (POSIX)
        dir_fd = os.open(path.parent, os.O_RDONLY)
        try:
            os.fsync(dir_fd)
        finally:
            os.close(dir_fd)


def record_success(
    path: Path | None, at: datetime, office_id: str, day: date, total: int
) -> str | None:
    """Record a successful sync; a warning to report if the file cannot be written."""
    if path is None:
        return None
    state = _load_state(path)
    state["last_success"] = {
        "at": at.isoformat(),
        "office_id": office_id,
        "day": day.isoformat(),
        "total": total,
    }
    try:
        _write_json_atomic(path, state)
    except OSError as exc:
        log.warning("cannot write sync state %s: %s", path, exc)
        return f"bookings imported, but the sync state file {path} cannot be written: {exc}"
    return None


def record_failure(path: Path | None, error: str) -> None:
    """Record a failed sync (the last success stays as it was)."""
    if path is None:
        return
    state = _load_state(path)
    state["last_failure"] = {"at": datetime.now(UTC).isoformat(), "error": error}
    try:
        _write_json_atomic(path, state)
    except OSError as exc:
        log.warning("cannot write sync state %s: %s", path, exc)


def read_sync_state(path: Path) -> SyncState:
    """The state file's content; an empty :class:`SyncState` if missing or unreadable."""
    state = _load_state(path)
    ok = state.get("last_success")
    ok = ok if isinstance(ok, dict) else {}
    bad = state.get("last_failure")
    bad = bad if isinstance(bad, dict) else {}

    def when(value: Any, parse: Callable[[str], Any]) -> Any:
        try:
            return parse(value) if isinstance(value, str) else None
        except ValueError:
            return None

    total = ok.get("total")
    return SyncState(
        last_success_at=when(ok.get("at"), datetime.fromisoformat),
        last_success_office=ok.get("office_id") if isinstance(ok.get("office_id"), str) else None,
        last_success_day=when(ok.get("day"), date.fromisoformat),
        last_success_total=total if isinstance(total, int) else None,
        last_failure_at=when(bad.get("at"), datetime.fromisoformat),
        last_error=bad.get("error") if isinstance(bad.get("error"), str) else None,
    )
