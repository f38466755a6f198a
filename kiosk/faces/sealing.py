"""Face encodings encrypted at rest (AES-256-GCM) with a key that never enters the database.

The key is a file in the data folder (``attendance.key_file``, default ``faces.key``), created
by ``kiosk init`` with mode 0600; a copy of the database alone (a stolen SD-card image of the
database, a backup, a support dump) holds only ciphertext. Each encoding is sealed with a fresh
96-bit nonce and the staff id as associated data, so a ciphertext moved to another person's
row does not decrypt. Keep a backup of the key with the database backup: without it the
encodings are unreadable and staff must enrol again (nothing else is lost).
"""

from __future__ import annotations

import base64
import os
import secrets
import stat
from pathlib import Path

import numpy as np
from cryptography.exceptions import InvalidTag
from cryptography.hazmat.primitives.ciphers.aead import AESGCM

from kiosk.errors import KioskError
from kiosk.faces.engine import Encoding

KEY_BYTES = 32
NONCE_BYTES = 12
_AAD = b"kiosk-face-encoding:v1:"
_HEADER = (
    "# kiosk face-encoding key (AES-256, base64). Keep it secret; back it up with the database.\n"
)


class FaceKeyError(KioskError):
    """The face-data key is missing, unreadable or wrong."""


def create_key_file(path: Path) -> bool:
    """Create a new random key at ``path`` (mode 0600); ``False`` if one exists already."""
    path.parent.mkdir(parents=True, exist_ok=True)
    try:
        fd = os.open(path, os.O_WRONLY | os.O_CREAT | os.O_EXCL, 0o600)
    except FileExistsError:
        return False
    with os.fdopen(fd, "w", encoding="ascii") as fh:
        fh.write(_HEADER + base64.b64encode(secrets.token_bytes(KEY_BYTES)).decode() + "\n")
        fh.flush()
        os.fsync(fh.fileno())
    return True


def load_key(path: Path) -> bytes:
    """The key in ``path``; refuses a missing file or one others may read."""
    try:
        info = path.stat()
        text = path.read_text(encoding="ascii")
    except FileNotFoundError:
        raise FaceKeyError(
            f"face-data key {path} is missing — restore it from the backup; without it the "
            "enrolled faces cannot be read (then withdraw and enrol again)"
        ) from None
    except (OSError, UnicodeDecodeError) as exc:
        raise FaceKeyError(f"cannot read face-data key {path}: {exc}") from None
    if info.st_mode & (stat.S_IRWXG | stat.S_IRWXO):
        raise FaceKeyError(f"face-data key {path} is readable by others — run: chmod 600 {path}")
    lines = [ln.strip() for ln in text.splitlines() if ln.strip() and not ln.startswith("#")]
    try:
        key = base64.b64decode(lines[0], validate=True) if lines else b""
    except ValueError:
        key = b""
    if len(key) != KEY_BYTES:
        raise FaceKeyError(f"face-data key {path} is damaged (expected {KEY_BYTES} bytes)")
    return key


class EncodingCipher:
    """Seals and opens 128-float encodings for one staff id at a time."""

    def __init__(self, key: bytes) -> None:
        self._aead = AESGCM(key)

    @classmethod
    def from_file(cls, path: Path, *, create: bool = False) -> EncodingCipher:
        if create:
            create_key_file(path)
        return cls(load_key(path))

    def seal(self, encoding: Encoding, staff_id: int) -> bytes:
        plain = np.asarray(encoding, dtype="<f8").tobytes()
        nonce = secrets.token_bytes(NONCE_BYTES)
        return nonce + self._aead.encrypt(nonce, plain, _aad(staff_id))

    def open(self, sealed: bytes, staff_id: int) -> Encoding:
        nonce, body = sealed[:NONCE_BYTES], sealed[NONCE_BYTES:]
        try:
            plain = self._aead.decrypt(nonce, body, _aad(staff_id))
        except InvalidTag:
            raise FaceKeyError(
                f"a face encoding of staff #{staff_id} does not decrypt — wrong or replaced "
                "face-data key, or a damaged database row"
            ) from None
        return np.frombuffer(plain, dtype="<f8").astype(np.float64)


def _aad(staff_id: int) -> bytes:
    return _AAD + str(int(staff_id)).encode()
