"""Erasing face data erases the bytes: the database file and its WAL are read raw to prove it."""

from __future__ import annotations

from pathlib import Path

import numpy as np
import pytest

from kiosk.config import Config, load_config
from kiosk.datadir import init_data_dir
from kiosk.faces.registry import FaceRegistry
from kiosk.storage import Database
from kiosk.storage import staff as store

RNG = np.random.default_rng(11)


@pytest.fixture
def setup(tmp_path: Path) -> tuple[Config, Database, FaceRegistry]:
    config = load_config(init_data_dir(tmp_path / "d"))
    db = Database(config.database_path)
    db.migrate()
    yield config, db, FaceRegistry(config, db)
    db.close()


def raw_bytes(config: Config) -> bytes:
    """Everything SQLite keeps on disk for the database: the file and its write-ahead log."""
    db_file = config.database_path
    wal = db_file.with_name(db_file.name + "-wal")
    return db_file.read_bytes() + (wal.read_bytes() if wal.exists() else b"")


def enrol_synthetic(registry: FaceRegistry, db: Database, name: str, n: int) -> list[bytes]:
    """Store ``n`` sealed encodings exactly as enrolment does (without photos); returns the
    ciphertexts and plain encodings' bytes."""
    cipher = registry.cipher(create=True)
    secrets: list[bytes] = []
    with db.transaction() as conn:
        staff_id = store.add_staff(conn, name)
        for _ in range(n):
            encoding = RNG.normal(size=128) * 0.1
            sealed = cipher.seal(encoding, staff_id)
            store.add_encoding(conn, staff_id, sealed)
            secrets += [sealed, encoding.astype("<f8").tobytes()]
        store.record_consent(conn, staff_id, "admin")
    return secrets


@pytest.mark.parametrize("how", ["delete", "withdraw"])
def test_erased_encodings_are_gone_from_the_database_file_and_wal(
    setup: tuple[Config, Database, FaceRegistry], how: str
) -> None:
    config, db, registry = setup
    # Python's bundled SQLite may default to secure_delete=ON; others (distribution builds,
    # a PostgreSQL helper's SQLite) default to OFF. Start from OFF: the kiosk must turn it on.
    db.connection().execute("PRAGMA secure_delete = OFF")
    # Enough people that the table spans many pages and pages split while filling.
    kept = [enrol_synthetic(registry, db, f"staff {i}", 5) for i in range(30)]
    victim_secrets = enrol_synthetic(registry, db, "Leaving Person", 5)
    kept += [enrol_synthetic(registry, db, f"late {i}", 5) for i in range(10)]
    sealed_victim = victim_secrets[0::2]
    plain_victim = victim_secrets[1::2]
    before = raw_bytes(config)
    assert all(s in before for s in sealed_victim)  # the ciphertext really was on disk
    assert not any(p in before for p in plain_victim)  # and never the plain encoding

    victim = registry.find("Leaving Person").id
    if how == "delete":
        erased, flushed = registry.delete(victim, actor="admin")
    else:
        erased, flushed = registry.withdraw_consent(victim, actor="admin")
    assert (erased, flushed) == (5, True)

    after = raw_bytes(config)
    for secret in sealed_victim:
        assert secret not in after
        assert secret[:16] not in after  # not even a fragment (nonce + first ciphertext bytes)
    # Everybody else's encodings are intact and still decrypt.
    assert all(s in after for s in kept[3][0::2])
    assert len(registry.gallery(max_age_s=0)) == 40 * 5


def test_erasure_is_audited_and_the_gallery_forgets_at_once(
    setup: tuple[Config, Database, FaceRegistry],
) -> None:
    _, db, registry = setup
    enrol_synthetic(registry, db, "Ani", 2)
    assert registry.gallery(max_age_s=0).people == 1
    registry.withdraw_consent(registry.find("Ani").id, actor="Admin Sari")
    assert registry.gallery().people == 0  # no waiting for the cache
    row = db.connection().execute("SELECT actor, action, details FROM audit_log").fetchall()[-1]
    assert tuple(row) == ("Admin Sari", "face_consent_withdrawn", "2 encoding(s) erased")
    person = registry.find("Ani")
    assert person.consent_at is None and person.encodings == 0


def test_what_is_held_lists_everything_but_the_secret_values(
    setup: tuple[Config, Database, FaceRegistry],
) -> None:
    _, db, registry = setup
    enrol_synthetic(registry, db, "Ani", 3)
    held = registry.held(registry.find("Ani").id)
    assert held["name"] == "Ani" and held["consent_by"] == "admin"
    assert len(held["face_encodings"]) == 3
    assert held["photos"].startswith("none")
    assert held["pin"] == "none"
    assert all(set(e) == {"id", "enrolled_at", "bytes"} for e in held["face_encodings"])


def test_the_byte_check_is_real_without_secure_delete_bytes_would_linger(
    setup: tuple[Config, Database, FaceRegistry], monkeypatch: pytest.MonkeyPatch
) -> None:
    config, db, registry = setup
    monkeypatch.setattr(
        store, "secure_delete_on", lambda conn: conn.execute("PRAGMA secure_delete = OFF")
    )
    db.connection().execute("PRAGMA secure_delete = OFF")
    for i in range(10):
        enrol_synthetic(registry, db, f"staff {i}", 5)
    sealed = enrol_synthetic(registry, db, "Leaving Person", 5)[0::2]
    registry.delete(registry.find("Leaving Person").id, actor="admin")
    after = raw_bytes(config)
    assert any(s in after for s in sealed)


def test_init_creates_the_face_key_outside_the_database(
    setup: tuple[Config, Database, FaceRegistry],
) -> None:
    import stat

    config, _, registry = setup
    key = config.data_dir / config.attendance.key_file
    assert registry.key_path == key and key.is_file()
    assert stat.S_IMODE(key.stat().st_mode) == 0o600
    assert key.parent == config.database_path.parent  # beside the database, never inside it
