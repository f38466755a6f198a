"""Staff accounts: users and roles, login with lockout, server-side sessions, first-run setup.

Everything that must hold across worker processes and gates lives in the
database: failed logins (lockout after 5 failures in 15 minutes per user
name, whether or not the name exists), sessions (a logout, a disabled user
or a password reset ends them everywhere) and the idle timeout.

Passwords are hashed with Werkzeug's scrypt. The first administrator is
created on the one-time setup page with a code written to the data folder
(no default credentials), or with ``kiosk users add``.
"""

from __future__ import annotations

import hashlib
import hmac
import logging
import os
import re
import secrets
from collections.abc import Callable
from dataclasses import dataclass
from datetime import UTC, datetime, timedelta
from functools import cache
from pathlib import Path

from werkzeug.security import check_password_hash, generate_password_hash

from kiosk.errors import InputError, KioskError
from kiosk.passwords import password_problem
from kiosk.storage import Backend
from kiosk.storage import accounts as store
from kiosk.storage import repository as repo

log = logging.getLogger(__name__)

ROLES = ("officer", "admin")
LOCKOUT_FAILURES = 5
LOCKOUT_WINDOW = timedelta(minutes=15)
_USERNAME = re.compile(r"^[a-z0-9][a-z0-9._-]{1,31}$")
SECRET_KEY_FILE = "secret_key"
SETUP_CODE_FILE = "setup-code"

LOGIN_REFUSED = (
    "wrong user name or password, or too many failed attempts "
    f"(after {LOCKOUT_FAILURES} in {LOCKOUT_WINDOW.seconds // 60} minutes the account waits)"
)


class LoginRefused(KioskError):
    """Wrong name or password, disabled account or lockout — deliberately one message."""

    def __init__(self) -> None:
        super().__init__(LOGIN_REFUSED)


@dataclass(frozen=True)
class Identity:
    """The logged-in staff member of a request."""

    user_id: int
    username: str
    role: str

    def may(self, role: str) -> bool:
        """An admin may do everything an officer may."""
        return role == "public" or self.role == "admin" or self.role == role


def normalize_username(name: str) -> str:
    return (name or "").strip().lower()


def check_username(name: str) -> str:
    username = normalize_username(name)
    if not _USERNAME.match(username):
        raise InputError(
            "user name must be 2–32 characters: letters, digits, '.', '_' or '-', "
            "starting with a letter or digit"
        )
    return username


def _hash_token(token: str) -> str:
    return hashlib.sha256(token.encode("ascii", "replace")).hexdigest()


@cache
def _dummy_hash() -> str:
    """Checked against when the user does not exist, so timing does not tell."""
    return generate_password_hash(secrets.token_hex(16), method="scrypt")


class Accounts:
    def __init__(
        self,
        db: Backend,
        clock: Callable[[], datetime] = lambda: datetime.now(UTC),
        *,
        idle_timeout: timedelta = timedelta(minutes=15),
        max_age: timedelta = timedelta(hours=12),
    ) -> None:
        self.db = db
        self.clock = clock
        self.idle_timeout = idle_timeout
        self.max_age = max_age

    # -- users -------------------------------------------------------------
    def needs_setup(self) -> bool:
        """True while no enabled administrator exists."""
        return store.active_admins(self.db.connection()) == 0

    def users(self) -> list[store.User]:
        return store.list_users(self.db.connection())

    def add_user(self, username: str, role: str, password: str, *, actor: str) -> store.User:
        name = check_username(username)
        if role not in ROLES:
            raise InputError(f"role must be one of {', '.join(ROLES)}")
        self._check_password(password, name)
        hashed = generate_password_hash(password, method="scrypt")
        now = self.clock()
        with self.db.transaction() as conn:
            if store.user_by_name(conn, name) is not None:
                raise InputError(f"user {name!r} already exists")
            store.insert_user(conn, name, role, hashed, now)
            repo.add_audit(conn, actor, "user_added", subject=f"user:{name}", details=role, now=now)
            user = store.user_by_name(conn, name)
        assert user is not None
        return user

    def create_first_admin(self, username: str, password: str) -> store.User:
        """The one-time setup: refused as soon as an enabled administrator exists."""
        name = check_username(username)
        self._check_password(password, name)
        hashed = generate_password_hash(password, method="scrypt")
        now = self.clock()
        with self.db.transaction() as conn:  # BEGIN IMMEDIATE: two setups cannot both win
            if store.active_admins(conn) > 0:
                raise InputError("the administrator already exists — log in instead")
            if store.user_by_name(conn, name) is not None:
                raise InputError(f"user {name!r} already exists")
            store.insert_user(conn, name, "admin", hashed, now)
            repo.add_audit(conn, name, "setup_admin_created", subject=f"user:{name}", now=now)
            user = store.user_by_name(conn, name)
        assert user is not None
        return user

    def set_disabled(self, username: str, disabled: bool, *, actor: str) -> None:
        now = self.clock()
        with self.db.transaction() as conn:
            user = self._existing(conn, username)
            last_admin = (
                user.role == "admin" and not user.disabled and store.active_admins(conn) <= 1
            )
            if disabled and last_admin:
                raise InputError("cannot disable the last administrator")
            store.set_disabled(conn, user.id, disabled)
            if disabled:
                store.end_user_sessions(conn, user.id, now)
            action = "user_disabled" if disabled else "user_enabled"
            repo.add_audit(conn, actor, action, subject=f"user:{user.username}", now=now)

    def set_role(self, username: str, role: str, *, actor: str) -> None:
        if role not in ROLES:
            raise InputError(f"role must be one of {', '.join(ROLES)}")
        now = self.clock()
        with self.db.transaction() as conn:
            user = self._existing(conn, username)
            last_admin = (
                user.role == "admin" and not user.disabled and store.active_admins(conn) <= 1
            )
            if role != "admin" and last_admin:
                raise InputError("cannot demote the last administrator")
            store.set_role(conn, user.id, role)
            store.end_user_sessions(conn, user.id, now)
            repo.add_audit(
                conn, actor, "user_role", subject=f"user:{user.username}", details=role, now=now
            )

    def set_password(self, username: str, password: str, *, actor: str) -> None:
        """Reset a password; every session of that user ends."""
        name = normalize_username(username)
        self._check_password(password, name)
        hashed = generate_password_hash(password, method="scrypt")
        now = self.clock()
        with self.db.transaction() as conn:
            user = self._existing(conn, name)
            store.set_password_hash(conn, user.id, hashed, now)
            store.end_user_sessions(conn, user.id, now)
            repo.add_audit(conn, actor, "password_reset", subject=f"user:{user.username}", now=now)

    def _existing(self, conn: object, username: str) -> store.User:
        user = store.user_by_name(conn, normalize_username(username))
        if user is None:
            raise InputError(f"no user named {normalize_username(username)!r}")
        return user

    @staticmethod
    def _check_password(password: str, username: str) -> None:
        if not isinstance(password, str):
            raise InputError("password is required")
        if problem := password_problem(password, username=username):
            raise InputError(problem)

    # -- login -------------------------------------------------------------
    def authenticate(self, username: str, password: str, *, remote: str | None = None) -> Identity:
        """The user, if the password is right and the name is not locked out.

        An attempt is written *before* the password is checked (as 'pending',
        which counts as a failure), so parallel guesses through several
        processes cannot exceed the limit. Unknown names are counted and
        locked exactly like real ones.
        """
        name = normalize_username(username)[:64] or "-"
        now = self.clock()
        with self.db.transaction() as conn:
            if store.recent_failures(conn, name, now - LOCKOUT_WINDOW) >= LOCKOUT_FAILURES:
                store.add_attempt(conn, name, "locked", now, remote)
                attempt = None
            else:
                attempt = store.add_attempt(conn, name, "pending", now, remote)
            user = store.user_by_name(conn, name)
        if attempt is None:
            log.warning("login refused: %r is locked out", name)
            raise LoginRefused()
        hashed = user.password_hash if user is not None else _dummy_hash()
        ok = check_password_hash(hashed, password or "") and user is not None
        ok = ok and user is not None and not user.disabled
        with self.db.transaction() as conn:
            store.finish_attempt(conn, attempt, "ok" if ok else "failed")
            if ok:
                assert user is not None
                repo.add_audit(conn, user.username, "login", subject=f"user:{user.username}")
        if not ok or user is None:
            raise LoginRefused()
        return Identity(user.id, user.username, user.role)

    def locked_out(self, username: str) -> bool:
        since = self.clock() - LOCKOUT_WINDOW
        name = normalize_username(username)
        return store.recent_failures(self.db.connection(), name, since) >= LOCKOUT_FAILURES

    # -- sessions ----------------------------------------------------------
    def open_session(self, identity: Identity) -> str:
        """A new random session id (the cookie holds it; the database holds its hash)."""
        token = secrets.token_urlsafe(32)
        with self.db.transaction() as conn:
            store.insert_session(conn, _hash_token(token), identity.user_id, self.clock())
        return token

    def session_identity(self, token: str, *, touch: bool = True) -> Identity | None:
        """Who holds this session, or ``None`` if it ended, idled out, expired or was disabled.

        ``touch`` records activity (a person clicked); background polling
        passes ``touch=False`` so an unattended screen still times out.
        """
        id_hash = _hash_token(token)
        now = self.clock()
        row = store.session_by_hash(self.db.connection(), id_hash)
        if row is None or row.ended or row.user.disabled:
            return None
        if now - row.last_seen > self.idle_timeout or now - row.created_at > self.max_age:
            with self.db.transaction() as conn:
                store.end_session(conn, id_hash, now)
            return None
        if touch and now - row.last_seen >= timedelta(seconds=5):
            with self.db.transaction() as conn:
                store.touch_session(conn, id_hash, now)
        return Identity(row.user.id, row.user.username, row.user.role)

    def close_session(self, token: str, *, actor: str | None = None) -> None:
        now = self.clock()
        with self.db.transaction() as conn:
            store.end_session(conn, _hash_token(token), now)
            if actor:
                repo.add_audit(conn, actor, "logout", subject=f"user:{actor}", now=now)


# -- files in the data folder ----------------------------------------------
def _read_or_create(path: Path, make: Callable[[], str]) -> str:
    """Read ``path``, or create it with mode 0600 (exclusive: two processes agree)."""
    try:
        fd = os.open(path, os.O_WRONLY | os.O_CREAT | os.O_EXCL, 0o600)
    except FileExistsError:
        if path.stat().st_mode & 0o077:
            os.chmod(path, 0o600)
            log.warning("%s was readable by others; permissions reset to 0600", path)
        return path.read_text("ascii").strip()
    with os.fdopen(fd, "w", encoding="ascii") as out:
        value = make()
        out.write(value + "\n")
    return value


def load_secret_key(data_dir: Path) -> str:
    """The session-signing key: generated once, kept in the data folder (0600), never in git."""
    return _read_or_create(data_dir / SECRET_KEY_FILE, lambda: secrets.token_hex(32))


def setup_code(data_dir: Path) -> str:
    """The one-time code the setup page asks for (proves access to the data folder)."""
    return _read_or_create(data_dir / SETUP_CODE_FILE, lambda: secrets.token_hex(4))


def setup_code_matches(data_dir: Path, given: str) -> bool:
    expected = setup_code(data_dir)
    return hmac.compare_digest(expected.encode(), (given or "").strip().lower().encode())


def forget_setup_code(data_dir: Path) -> None:
    (data_dir / SETUP_CODE_FILE).unlink(missing_ok=True)
