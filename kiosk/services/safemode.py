"""Safe mode: what the kiosk does when its SQLite database is found damaged at start-up.

Crash-looping under systemd would leave the gate dark and the officer blind.
Instead the kiosk starts on a separate *journal* database in the data folder
(``safe-mode-journal.db``): automatic admission refers every citizen to the
officer (reason ``safe_mode``), officers admit walk-ins and priority cases by
hand (recorded in the journal, audited as usual), every page shows a banner
and ``/healthz`` says ``safe_mode`` with the restore command. The damaged
file is never touched: ``kiosk db restore BACKUP`` moves it aside and
restores a verified backup; the journal stays for the office's records.
"""

from __future__ import annotations

import logging
import sqlite3
from dataclasses import dataclass
from pathlib import Path
from typing import Any

from kiosk.config import Config
from kiosk.errors import StorageError
from kiosk.storage import Database
from kiosk.storage.backup import SQLITE_SUFFIX, backups_in

log = logging.getLogger(__name__)

JOURNAL_NAME = "safe-mode-journal.db"


@dataclass(frozen=True)
class SafeMode:
    problem: str
    damaged: str
    journal: Path
    latest_backup: Path | None

    @property
    def restore_hint(self) -> str:
        backup = str(self.latest_backup) if self.latest_backup else "BACKUP"
        return f"stop the kiosk, then run `kiosk db restore {backup}`"

    def as_json(self) -> dict[str, Any]:
        return {
            "problem": self.problem,
            "damaged": self.damaged,
            "journal": str(self.journal),
            "latest_backup": str(self.latest_backup) if self.latest_backup else None,
            "restore": self.restore_hint,
        }


def database_damage(db: Any) -> str | None:
    """Why the SQLite database cannot be trusted, or ``None`` when it passes a quick check.

    A database that does not exist yet is fine (it is created). PostgreSQL
    keeps its own integrity; an unreachable server is not damage.
    """
    if getattr(db, "dialect", "sqlite") != "sqlite":
        return None
    path = Path(db.path)
    if not path.exists() or path.stat().st_size == 0:
        return None
    try:
        ok = db.integrity_ok()
    except (StorageError, sqlite3.DatabaseError) as exc:
        return f"{path}: {exc}"
    return None if ok else f"{path}: integrity check failed"


def enter_safe_mode(config: Config, problem: str) -> tuple[Database, SafeMode]:
    """Open the journal database and describe the safe mode for screens and logs."""
    journal = config.data_dir / JOURNAL_NAME
    db = Database(journal)
    backups = backups_in(config.backup_dir, SQLITE_SUFFIX)
    mode = SafeMode(problem, str(config.database_target), journal, backups[-1] if backups else None)
    log.critical(
        "DATABASE DAMAGED (%s): safe mode — automatic admission is off, officers admit by hand "
        "into %s; %s",
        problem,
        journal,
        mode.restore_hint,
    )
    return db, mode
