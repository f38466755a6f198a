"""Booking-code keys on disk: the signing key and the public key list.

Two files, kept apart on purpose:

* The **private key** (PKCS#8 PEM, mode 0600) lives only where codes are issued, never
  in the kiosk's data folder and never on a gate. :func:`generate_key` refuses to write it
  inside ``data_dir`` and refuses to overwrite an existing file.
* The **public key list** (JSON) is copied to every gate. It maps key id to the base64
  raw public key, the date it was created and, once revoked, the revocation date::

      {"format": "kiosk-booking-keys", "version": 1,
       "keys": {"39f713d0": {"public_key": "PUAXw+hDiVqS...", "created": "2025-01-06",
                             "revoked": null}}}

Rotation: generate a new key, copy the list to the gates, switch the issuer to the new key;
codes from the old key keep working until it is revoked. Revoking rejects *every* code the
key signed (see ``docs/booking-code.md``). Dates are passed in by the caller (business date).
"""

from __future__ import annotations

import base64
import binascii
import json
import os
import stat
import tempfile
from dataclasses import replace
from datetime import date
from pathlib import Path
from typing import Any

from cryptography.exceptions import UnsupportedAlgorithm
from cryptography.hazmat.primitives.asymmetric.ed25519 import Ed25519PrivateKey
from cryptography.hazmat.primitives.serialization import (
    Encoding,
    NoEncryption,
    PrivateFormat,
    load_pem_private_key,
)

from kiosk.domain.bookingcode import KeyRing, PublicKeyEntry
from kiosk.errors import ConfigError

FORMAT = "kiosk-booking-keys"
FORMAT_VERSION = 1

PUBLISHED_TEST_KEY_IDS = frozenset({"21fe31df", "39f713d0", "dac073e0", "91384c41"})
"""Keys whose private seeds are printed in ``docs/booking-code.md`` (anyone can sign with
them). :func:`load_keyring` refuses them unless ``allow_test_keys`` is set."""

_ENTRY_FIELDS = frozenset({"public_key", "created", "revoked"})


def generate_key(
    private_key_path: Path,
    key_list_path: Path,
    *,
    today: date,
    data_dir: Path | None = None,
) -> PublicKeyEntry:
    """Create a key pair: private PEM (0600) at ``private_key_path``, public half added to
    ``key_list_path`` (created if missing). Returns the new list entry."""
    if data_dir is not None and private_key_path.resolve().is_relative_to(data_dir.resolve()):
        raise ConfigError(
            f"private key path {private_key_path} is inside the data folder {data_dir}; "
            "keep the signing key elsewhere (e.g. /etc/kiosk/booking-signing.pem, owner only)"
        )
    if not private_key_path.parent.is_dir():
        raise ConfigError(
            f"folder {private_key_path.parent} does not exist; create it (mode 0700) first"
        )
    entries = read_key_list(key_list_path) if key_list_path.exists() else []
    key = Ed25519PrivateKey.generate()
    pem = key.private_bytes(Encoding.PEM, PrivateFormat.PKCS8, NoEncryption())
    try:
        fd = os.open(private_key_path, os.O_WRONLY | os.O_CREAT | os.O_EXCL, 0o600)
    except FileExistsError:
        raise ConfigError(
            f"private key file {private_key_path} already exists; not overwritten. "
            "Choose a new path to rotate keys (the old key keeps working until revoked)"
        ) from None
    with os.fdopen(fd, "wb") as out:
        os.fchmod(out.fileno(), 0o600)
        out.write(pem)
        out.flush()
        os.fsync(out.fileno())
    entry = PublicKeyEntry.for_key(key.public_key().public_bytes_raw(), created=today)
    _write_key_list(key_list_path, [*entries, entry])
    return entry


def load_private_key(path: Path) -> Ed25519PrivateKey:
    """The signing key, for ``kiosk booking issue``."""
    try:
        mode = path.stat().st_mode
        data = path.read_bytes()
    except FileNotFoundError:
        raise ConfigError(
            f"private key file {path} not found — run `kiosk keys generate` on the issuing "
            "machine, or give the path of the existing signing key"
        ) from None
    except OSError as exc:
        raise ConfigError(f"cannot read private key file {path}: {exc.strerror}") from None
    if stat.S_IMODE(mode) & 0o077:
        raise ConfigError(
            f"private key file {path} is readable by other users "
            f"(mode {stat.S_IMODE(mode):04o}) — run `chmod 600 {path}`"
        )
    try:
        key = load_pem_private_key(data, password=None)
    except (ValueError, TypeError, UnsupportedAlgorithm):
        raise ConfigError(f"{path} is not an unencrypted PEM private key") from None
    if not isinstance(key, Ed25519PrivateKey):
        raise ConfigError(f"{path} holds a {type(key).__name__}; booking codes need Ed25519")
    return key


def read_key_list(path: Path) -> list[PublicKeyEntry]:
    """Every entry of the public key list, revoked ones included (for ``kiosk keys list``)."""
    try:
        document = json.loads(path.read_text(encoding="utf-8"))
    except FileNotFoundError:
        raise ConfigError(
            f"public key list {path} not found — copy it from the office that issues booking "
            "codes, or run `kiosk keys generate`"
        ) from None
    except (OSError, UnicodeDecodeError, json.JSONDecodeError) as exc:
        raise ConfigError(f"public key list {path} cannot be read: {exc}") from None
    if (
        not isinstance(document, dict)
        or document.get("format") != FORMAT
        or document.get("version") != FORMAT_VERSION
        or set(document) != {"format", "version", "keys"}
        or not isinstance(document["keys"], dict)
    ):
        raise ConfigError(
            f"public key list {path} is not a {FORMAT} version {FORMAT_VERSION} file "
            '(expected {"format", "version", "keys"})'
        )
    return [_entry(path, key_id, item) for key_id, item in document["keys"].items()]


def _entry(path: Path, key_id: str, item: Any) -> PublicKeyEntry:
    where = f"public key list {path}, key {key_id}"
    if not isinstance(item, dict) or set(item) != _ENTRY_FIELDS:
        raise ConfigError(f"{where}: needs exactly the fields {sorted(_ENTRY_FIELDS)}")
    try:
        raw = base64.b64decode(item["public_key"], validate=True)
        created = date.fromisoformat(item["created"])
        revoked = None if item["revoked"] is None else date.fromisoformat(item["revoked"])
        return PublicKeyEntry(key_id, raw, created, revoked)
    except (TypeError, ValueError, binascii.Error) as exc:
        raise ConfigError(f"{where}: {exc}") from None


def _write_key_list(path: Path, entries: list[PublicKeyEntry]) -> None:
    keys = {
        e.key_id: {
            "public_key": e.public_key_b64,
            "created": e.created.isoformat(),
            "revoked": e.revoked.isoformat() if e.revoked else None,
        }
        for e in entries
    }
    document = {"format": FORMAT, "version": FORMAT_VERSION, "keys": keys}
    path.parent.mkdir(parents=True, exist_ok=True)
    with tempfile.NamedTemporaryFile(
        "w", encoding="utf-8", dir=path.parent, prefix=f".{path.name}.", delete=False
    ) as out:
        json.dump(document, out, indent=2)
        out.write("\n")
        out.flush()
        os.fsync(out.fileno())
    os.chmod(out.name, 0o644)
    os.replace(out.name, path)


def revoke_key(path: Path, key_id: str, *, today: date) -> PublicKeyEntry:
    """Mark ``key_id`` revoked as of ``today``; already revoked keys keep their first date."""
    entries = read_key_list(path)
    for index, entry in enumerate(entries):
        if entry.key_id == key_id:
            if entry.revoked is None:
                entries[index] = entry = replace(entry, revoked=today)
                _write_key_list(path, entries)
            return entry
    known = ", ".join(e.key_id for e in entries) or "none"
    raise ConfigError(f"key {key_id} is not in {path} (known: {known}) — see `kiosk keys list`")


def load_keyring(path: Path, *, allow_test_keys: bool = False) -> KeyRing:
    """The gate's verification keys. Refuses a list with no usable key."""
    entries = read_key_list(path)
    published = sorted(PUBLISHED_TEST_KEY_IDS.intersection(e.key_id for e in entries))
    if published and not allow_test_keys:
        raise ConfigError(
            f"public key list {path} contains the published test key(s) {', '.join(published)}; "
            "anyone can sign codes with them — remove them and use `kiosk keys generate`"
        )
    if not any(e.revoked is None for e in entries):
        raise ConfigError(
            f"public key list {path} has no key that is not revoked, so every booking code "
            "would be refused — add the current key from the issuing office"
        )
    try:
        return KeyRing(entries)
    except ValueError as exc:
        raise ConfigError(f"public key list {path}: {exc}") from None
