"""Staff accounts: users and roles, throttled login, server-side sessions, first-run setup.

Everything that must hold across worker processes and gates lives in the
database: failed logins, sessions (a logout, a disabled user or a password
reset ends them everywhere) and the idle timeout.

Logins are throttled per (user name, client address), so a guesser on the LAN
cannot lock the administrator out of her own desk: after
:data:`THROTTLE_FREE` failures of that pair (whether or not the name exists)
the pair waits :data:`FIRST_WAIT`, doubling with every further failure up to
:data:`MAX_WAIT`; one client failing on any names :data:`CLIENT_FREE` times in
:data:`FIRST_WAIT` waits too (random-name sprays). A success for the name, or
``kiosk users unlock NAME`` / the users page, clears it. A refusal while
waiting costs no password hash and writes nothing; each new lock raises an
alert (officer console, /healthz) and an audit row.

Passwords are hashed with Werkzeug's scrypt, at most :data:`HASH_SLOTS` at a
time per process (a flood of logins cannot take the CPU the gate needs); a
login that waits longer than :data:`HASH_WAIT_S` for a slot is told to try
again (:class:`LoginBusy`, HTTP 429). Unknown names are checked against a
dummy hash, so they cost the same. The first administrator is created on the
one-time setup page with a 130-bit code written to the data folder (no
default credentials; the code is throttled like a login and deleted once an
administrator exists), or with ``kiosk users add``.
"""

from __future__ import annotations

import hashlib
import hmac
import logging
import os
import re
import secrets
import threading
from collections import deque
from collections.abc import Callable
from dataclasses import dataclass
from datetime import UTC, datetime, timedelta
from functools import cache
from pathlib import Path

from werkzeug.security import check_password_hash, generate_password_hash

from kiosk.errors import KioskError, LocalizedInputError
from kiosk.passwords import N_, password_refusal
from kiosk.storage import Backend, Connection
from kiosk.storage import accounts as store
from kiosk.storage import repository as repo

log = logging.getLogger(__name__)

ROLES = ("officer", "admin")
THROTTLE_FREE = 5
"""Failures of one (name, client) pair before it has to wait."""
FIRST_WAIT = timedelta(minutes=15)
MAX_WAIT = timedelta(hours=24)
CLIENT_FREE = 20
"""Failures of one client on any names within FIRST_WAIT before it has to wait."""
LOOKBACK = timedelta(days=1)
"""Failures older than this are forgotten (and purged)."""
HASH_SLOTS = 2
HASH_WAIT_S = 3.0
LOCKOUT_FAILURES = THROTTLE_FREE
LOCKOUT_WINDOW = FIRST_WAIT
SETUP_NAME = "#setup"
"""The throttle's name for setup-code attempts (no user name starts with '#')."""
SETUP_CODE_ALPHABET = "abcdefghijkmnpqrstuvwxyz23456789"
SETUP_CODE_LENGTH = 26
"""26 symbols of 32: 130 bits."""
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


class LoginBusy(KioskError):
    """Every password-hashing slot stayed busy: try again in a moment (HTTP 429)."""

    def __init__(self) -> None:
        super().__init__("too many logins at this moment — try again in a few seconds")


_HASHING = threading.BoundedSemaphore(HASH_SLOTS)


@dataclass(frozen=True)
class Lockout:
    """A (name, client) pair that started to wait: shown as an alert for an hour."""

    at: datetime
    username: str
    remote: str


class LockoutLog:
    """Recent lock-outs of this process (the kiosk serves from one process)."""

    KEEP = timedelta(hours=1)

    def __init__(self) -> None:
        self._items: deque[Lockout] = deque(maxlen=200)
        self._lock = threading.Lock()

    def add(self, item: Lockout) -> None:
        with self._lock:
            self._items.append(item)

    def forget(self, username: str) -> None:
        with self._lock:
            kept = [i for i in self._items if i.username != username]
            self._items.clear()
            self._items.extend(kept)

    def forget_all(self) -> None:
        with self._lock:
            self._items.clear()

    def recent(self, now: datetime) -> list[Lockout]:
        with self._lock:
            return [i for i in self._items if now - i.at <= self.KEEP]


LOCKOUTS = LockoutLog()


def wait_for(failures: int) -> timedelta:
    """How long a pair with ``failures`` recent failures waits after the last one."""
    if failures < THROTTLE_FREE:
        return timedelta(0)
    return min(FIRST_WAIT * (1 << min(failures - THROTTLE_FREE, 16)), MAX_WAIT)


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
        raise LocalizedInputError(
            N_(
                "user name must be 2–32 characters: letters, digits, '.', '_' or '-', "
                "starting with a letter or digit"
            )
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
            raise LocalizedInputError(N_("role must be one of {roles}"), roles=", ".join(ROLES))
        self._check_password(password, name)
        hashed = generate_password_hash(password, method="scrypt")
        now = self.clock()
        with self.db.transaction() as conn:
            if store.user_by_name(conn, name) is not None:
                raise LocalizedInputError(N_("user {name!r} already exists"), name=name)
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
                raise LocalizedInputError(N_("the administrator already exists — log in instead"))
            if store.user_by_name(conn, name) is not None:
                raise LocalizedInputError(N_("user {name!r} already exists"), name=name)
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
                raise LocalizedInputError(N_("cannot disable the last administrator"))
            store.set_disabled(conn, user.id, disabled)
            if disabled:
                store.end_user_sessions(conn, user.id, now)
            action = "user_disabled" if disabled else "user_enabled"
            repo.add_audit(conn, actor, action, subject=f"user:{user.username}", now=now)

    def set_role(self, username: str, role: str, *, actor: str) -> None:
        if role not in ROLES:
            raise LocalizedInputError(N_("role must be one of {roles}"), roles=", ".join(ROLES))
        now = self.clock()
        with self.db.transaction() as conn:
            user = self._existing(conn, username)
            last_admin = (
                user.role == "admin" and not user.disabled and store.active_admins(conn) <= 1
            )
            if role != "admin" and last_admin:
                raise LocalizedInputError(N_("cannot demote the last administrator"))
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
            raise LocalizedInputError(
                N_("no user named {name!r}"), name=normalize_username(username)
            )
        return user

    @staticmethod
    def _check_password(password: str, username: str) -> None:
        if not isinstance(password, str):
            raise LocalizedInputError(N_("password is required"))
        if refusal := password_refusal(password, username=username):
            raise LocalizedInputError(refusal[0], **refusal[1])

    # -- login -------------------------------------------------------------
    def authenticate(self, username: str, password: str, *, remote: str | None = None) -> Identity:
        """The user, if the password is right and this (name, client) need not wait.

        An attempt is written *before* the password is checked (as 'pending',
        which counts as a failure), so parallel guesses through several
        processes cannot exceed the limit. Unknown names are counted and
        throttled exactly like real ones.
        """
        name = normalize_username(username)[:64] or "-"
        client = _client(remote)
        if self._waiting(self.db.connection(), name, client, self.clock()):
            raise LoginRefused()  # no hash, no row: a flood on a locked name costs nothing
        if not _HASHING.acquire(timeout=HASH_WAIT_S):
            log.warning("login of %r refused: every password-hashing slot is busy", name)
            raise LoginBusy()
        try:
            return self._check(name, client, password)
        finally:
            _HASHING.release()

    def _check(self, name: str, client: str, password: str) -> Identity:
        now = self.clock()
        with self.db.transaction() as conn:
            waiting = self._waiting(conn, name, client, now)
            attempt = None if waiting else store.add_attempt(conn, name, "pending", now, client)
            user = store.user_by_name(conn, name)
        if attempt is None:
            raise LoginRefused()
        hashed = user.password_hash if user is not None else _dummy_hash()
        ok = check_password_hash(hashed, password or "") and user is not None
        ok = ok and user is not None and not user.disabled
        with self.db.transaction() as conn:
            store.finish_attempt(conn, attempt, "ok" if ok else "failed")
            if ok:
                assert user is not None
                repo.add_audit(conn, user.username, "login", subject=f"user:{user.username}")
            else:
                self._note_lock(conn, name, client, now)
        if not ok or user is None:
            raise LoginRefused()
        return Identity(user.id, user.username, user.role)

    def _waiting(self, conn: object, name: str, client: str, now: datetime) -> bool:
        failures, last = store.pair_failures(conn, name, client, now - LOOKBACK)
        if last is not None and now < last + wait_for(failures):
            return True
        return store.client_failures(conn, client, now - FIRST_WAIT) >= CLIENT_FREE

    def _note_lock(self, conn: Connection, name: str, client: str, now: datetime) -> None:
        """After a failure: if the pair (or the client) must now wait, alert and audit it."""
        failures, _last = store.pair_failures(conn, name, client, now - LOOKBACK)
        spray = store.client_failures(conn, client, now - FIRST_WAIT) == CLIENT_FREE
        if failures < THROTTLE_FREE and not spray:
            return
        shown = name if failures >= THROTTLE_FREE else "(several names)"
        LOCKOUTS.add(Lockout(now, shown, client))
        wait = wait_for(max(failures, THROTTLE_FREE))
        log.warning(
            "login locked: %r from %s waits %d min after %d failures",
            shown,
            client,
            wait.total_seconds() // 60,
            failures,
        )
        repo.add_audit(
            conn,
            "system",
            "login_locked",
            subject=f"user:{shown}",
            details=f"from {client}, {failures} failures, waits {wait}",
            now=now,
        )

    def locked_out(self, username: str, remote: str | None = None) -> bool:
        """Must ``username`` wait when it logs in from ``remote`` (any client when ``None``)?"""
        name = normalize_username(username)
        now = self.clock()
        conn = self.db.connection()
        if remote is not None:
            return self._waiting(conn, name, _client(remote), now)
        rows = conn.execute(
            "SELECT DISTINCT remote FROM login_attempts WHERE username = ?", (name,)
        ).fetchall()
        return any(self._waiting(conn, name, str(r[0] or "-"), now) for r in rows)

    def unlock(self, username: str, *, actor: str) -> int:
        """Forget the failed logins on an existing user's name (every client); audited."""
        now = self.clock()
        with self.db.transaction() as conn:
            user = self._existing(conn, username)
            cleared = store.clear_failures(conn, user.username)
            repo.add_audit(
                conn,
                actor,
                "user_unlocked",
                subject=f"user:{user.username}",
                details=f"{cleared} failed attempt(s) forgotten",
                now=now,
            )
        LOCKOUTS.forget(user.username)
        return cleared

    def setup_code_ok(self, data_dir: Path, given: str, *, remote: str | None = None) -> bool:
        """Is ``given`` the setup code? Throttled per client like a login (raises LoginRefused)."""
        client = _client(remote)
        now = self.clock()
        with self.db.transaction() as conn:
            if self._waiting(conn, SETUP_NAME, client, now):
                raise LoginRefused()
            ok = setup_code_matches(data_dir, given)
            store.add_attempt(conn, SETUP_NAME, "ok" if ok else "failed", now, client)
            if not ok:
                self._note_lock(conn, SETUP_NAME, client, now)
        return ok

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


def _new_setup_code() -> str:
    return "".join(secrets.choice(SETUP_CODE_ALPHABET) for _ in range(SETUP_CODE_LENGTH))


def setup_code(data_dir: Path) -> str:
    """The one-time code the setup page asks for (proves access to the data folder).

    130 bits; a short code left by an older version is replaced.
    """
    path = data_dir / SETUP_CODE_FILE
    code = _read_or_create(path, _new_setup_code)
    if len(code) < SETUP_CODE_LENGTH:
        path.unlink(missing_ok=True)
        code = _read_or_create(path, _new_setup_code)
    return code


def setup_code_matches(data_dir: Path, given: str) -> bool:
    expected = setup_code(data_dir)
    typed = re.sub(r"[\s-]", "", (given or "").lower())[:64]
    return hmac.compare_digest(expected.encode(), typed.encode("utf-8", "replace"))


def _client(remote: str | None) -> str:
    return (remote or "-")[:64]


def forget_setup_code(data_dir: Path) -> None:
    (data_dir / SETUP_CODE_FILE).unlink(missing_ok=True)
