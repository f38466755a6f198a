"""SQL for staff accounts, login attempts, sessions and admin setting overrides.

Like :mod:`kiosk.storage.repository`, functions take an open connection so
the caller decides the transaction. Login attempts and sessions live in the
database (not in process memory) so a lockout or a logout holds for every
worker process and every gate sharing the database.
"""

from __future__ import annotations

from dataclasses import dataclass
from datetime import datetime
from typing import Any

from kiosk.storage.database import utc_now_text


@dataclass(frozen=True)
class User:
    id: int
    username: str
    role: str
    password_hash: str
    created_at: datetime
    password_changed_at: datetime
    disabled: bool


def _user(row: Any) -> User:
    return User(
        id=int(row["id"]),
        username=row["username"],
        role=row["role"],
        password_hash=row["password_hash"],
        created_at=datetime.fromisoformat(row["created_at"]),
        password_changed_at=datetime.fromisoformat(row["password_changed_at"]),
        disabled=bool(row["disabled"]),
    )


# -- users ------------------------------------------------------------------
def insert_user(conn: Any, username: str, role: str, password_hash: str, now: datetime) -> int:
    row = conn.execute(
        "INSERT INTO users (username, role, password_hash, created_at, password_changed_at, "
        "disabled) VALUES (?, ?, ?, ?, ?, 0) RETURNING id",
        (username, role, password_hash, utc_now_text(now), utc_now_text(now)),
    ).fetchone()
    return int(row[0])


def user_by_name(conn: Any, username: str) -> User | None:
    row = conn.execute("SELECT * FROM users WHERE username = ?", (username,)).fetchone()
    return _user(row) if row else None


def user_by_id(conn: Any, user_id: int) -> User | None:
    row = conn.execute("SELECT * FROM users WHERE id = ?", (user_id,)).fetchone()
    return _user(row) if row else None


def list_users(conn: Any) -> list[User]:
    return [_user(r) for r in conn.execute("SELECT * FROM users ORDER BY username").fetchall()]


def active_admins(conn: Any) -> int:
    row = conn.execute(
        "SELECT COUNT(*) FROM users WHERE role = 'admin' AND disabled = 0"
    ).fetchone()
    return int(row[0])


def set_disabled(conn: Any, user_id: int, disabled: bool) -> None:
    conn.execute("UPDATE users SET disabled = ? WHERE id = ?", (int(disabled), user_id))


def set_role(conn: Any, user_id: int, role: str) -> None:
    conn.execute("UPDATE users SET role = ? WHERE id = ?", (role, user_id))


def set_password_hash(conn: Any, user_id: int, password_hash: str, now: datetime) -> None:
    conn.execute(
        "UPDATE users SET password_hash = ?, password_changed_at = ? WHERE id = ?",
        (password_hash, utc_now_text(now), user_id),
    )


# -- login attempts ---------------------------------------------------------
def pair_failures(
    conn: Any, username: str, remote: str, since: datetime
) -> tuple[int, datetime | None]:
    """Failed (or pending) attempts on ``username`` from ``remote`` since ``since`` and since
    the name's last success, and when the latest of them was."""
    row = conn.execute(
        "SELECT COUNT(*), MAX(ts_utc) FROM login_attempts WHERE username = ? AND remote = ? "
        "AND ts_utc >= ? AND result IN ('pending', 'failed') AND ts_utc > COALESCE("
        "(SELECT MAX(ts_utc) FROM login_attempts WHERE username = ? AND result = 'ok'), '')",
        (username, remote, utc_now_text(since), username),
    ).fetchone()
    last = datetime.fromisoformat(row[1]) if row[1] else None
    return int(row[0]), last


def client_failures(conn: Any, remote: str, since: datetime) -> int:
    """Failed (or pending) attempts from ``remote`` on any name since ``since``."""
    row = conn.execute(
        "SELECT COUNT(*) FROM login_attempts WHERE remote = ? AND ts_utc >= ? "
        "AND result IN ('pending', 'failed')",
        (remote, utc_now_text(since)),
    ).fetchone()
    return int(row[0])


def recent_failures(conn: Any, username: str, since: datetime) -> int:
    """Failed (or still pending) attempts on ``username`` from any client since ``since`` and
    since the last success."""
    row = conn.execute(
        "SELECT COUNT(*) FROM login_attempts WHERE username = ? AND ts_utc >= ? "
        "AND result IN ('pending', 'failed') AND ts_utc > COALESCE("
        "(SELECT MAX(ts_utc) FROM login_attempts WHERE username = ? AND result = 'ok'), '')",
        (username, utc_now_text(since), username),
    ).fetchone()
    return int(row[0])


def clear_failures(conn: Any, username: str) -> int:
    """Forget the failed attempts on ``username`` (an administrator unlocked it)."""
    cur = conn.execute(
        "DELETE FROM login_attempts WHERE username = ? AND result IN ('failed', 'locked')",
        (username,),
    )
    return int(cur.rowcount)


def add_attempt(
    conn: Any, username: str, result: str, now: datetime, remote: str | None = None
) -> int:
    row = conn.execute(
        "INSERT INTO login_attempts (username, ts_utc, result, remote) VALUES (?, ?, ?, ?) "
        "RETURNING id",
        (username, utc_now_text(now), result, remote),
    ).fetchone()
    return int(row[0])


def finish_attempt(conn: Any, attempt_id: int, result: str) -> None:
    conn.execute("UPDATE login_attempts SET result = ? WHERE id = ?", (result, attempt_id))


def purge_attempts_before(conn: Any, cutoff: datetime) -> int:
    """Delete login attempts older than ``cutoff`` (the throttle looks back less far)."""
    cur = conn.execute("DELETE FROM login_attempts WHERE ts_utc < ?", (utc_now_text(cutoff),))
    return int(cur.rowcount)


def purge_sessions_before(conn: Any, cutoff: datetime) -> int:
    """Delete sessions that ended, or were last used, before ``cutoff``."""
    text = utc_now_text(cutoff)
    cur = conn.execute(
        "DELETE FROM sessions WHERE COALESCE(ended_at, last_seen) < ? OR last_seen < ?",
        (text, text),
    )
    return int(cur.rowcount)


# -- sessions ---------------------------------------------------------------
@dataclass(frozen=True)
class SessionRow:
    user: User
    created_at: datetime
    last_seen: datetime
    ended: bool


def insert_session(conn: Any, id_hash: str, user_id: int, now: datetime) -> None:
    conn.execute(
        "INSERT INTO sessions (id_hash, user_id, created_at, last_seen) VALUES (?, ?, ?, ?)",
        (id_hash, user_id, utc_now_text(now), utc_now_text(now)),
    )


def session_by_hash(conn: Any, id_hash: str) -> SessionRow | None:
    row = conn.execute(
        "SELECT s.created_at AS s_created, s.last_seen, s.ended_at, u.* "
        "FROM sessions s JOIN users u ON u.id = s.user_id WHERE s.id_hash = ?",
        (id_hash,),
    ).fetchone()
    if row is None:
        return None
    return SessionRow(
        user=_user(row),
        created_at=datetime.fromisoformat(row["s_created"]),
        last_seen=datetime.fromisoformat(row["last_seen"]),
        ended=row["ended_at"] is not None,
    )


def touch_session(conn: Any, id_hash: str, now: datetime) -> None:
    conn.execute(
        "UPDATE sessions SET last_seen = ? WHERE id_hash = ? AND ended_at IS NULL",
        (utc_now_text(now), id_hash),
    )


def end_session(conn: Any, id_hash: str, now: datetime) -> None:
    conn.execute(
        "UPDATE sessions SET ended_at = ? WHERE id_hash = ? AND ended_at IS NULL",
        (utc_now_text(now), id_hash),
    )


def end_user_sessions(conn: Any, user_id: int, now: datetime) -> None:
    conn.execute(
        "UPDATE sessions SET ended_at = ? WHERE user_id = ? AND ended_at IS NULL",
        (utc_now_text(now), user_id),
    )


# -- settings ---------------------------------------------------------------
def settings(conn: Any) -> dict[str, str]:
    """Every stored override as ``key -> JSON text``."""
    return {r["key"]: r["value"] for r in conn.execute("SELECT key, value FROM settings")}


def settings_version(conn: Any) -> str:
    row = conn.execute("SELECT MAX(updated_at) FROM settings").fetchone()
    return str(row[0] or "")


def put_setting(conn: Any, key: str, value: str, who: str, now: datetime) -> None:
    conn.execute(
        "INSERT INTO settings (key, value, updated_at, updated_by) VALUES (?, ?, ?, ?) "
        "ON CONFLICT (key) DO UPDATE SET value = excluded.value, "
        "updated_at = excluded.updated_at, updated_by = excluded.updated_by",
        (key, value, utc_now_text(now), who),
    )
