"""Who is enrolled, and with what: enrolment, identification, consent, PINs, erasure, roster.

Used by the ``kiosk faces`` commands, the admin pages and the gate's attendance service alike;
it needs the database and (for photos) the face engine, never the gate's devices.

What is held per staff member: name, active flag, consent (when, recorded by whom), whether a
PIN hash exists, 1–5 encrypted encodings (128 numbers each, never a photo), attendance marks
and duty days. Enrolment photos live in memory only while they are checked and encoded.
"""

from __future__ import annotations

import csv
import logging
import threading
import time
from collections.abc import Callable, Sequence
from dataclasses import dataclass, field
from datetime import date, datetime
from pathlib import Path
from typing import Any

import numpy as np

from kiosk.config import Config
from kiosk.domain.attendance import parse_hhmm
from kiosk.errors import InputError
from kiosk.faces.engine import Box, FaceStack, Image, load_engine
from kiosk.faces.matcher import EMPTY_GALLERY, Gallery, Match
from kiosk.faces.pins import check_pin_format, dummy_hash, hash_pin, verify_pin
from kiosk.faces.quality import PhotoVerdict, Rejection, check_photo, find_faces, same_person
from kiosk.faces.sealing import EncodingCipher, create_key_file, load_key
from kiosk.storage import repository as repo
from kiosk.storage import staff as store

log = logging.getLogger(__name__)

MAX_PHOTOS = 5
MAX_JITTERS = 20
SAME_PERSON_MAX = 0.6
"""Photos of one enrolment must all be within the library's own tolerance of each other."""
NAME_MAX = 80


@dataclass(frozen=True)
class Enrolment:
    staff_id: int | None
    verdicts: list[PhotoVerdict]
    stored: int = 0

    @property
    def ok(self) -> bool:
        return self.stored > 0


@dataclass(frozen=True)
class FaceFound:
    box: Box
    match: Match
    name: str | None
    """The staff member's name when the match is accepted, else ``None`` (unknown)."""


@dataclass
class _GalleryCache:
    gallery: Gallery = field(default_factory=lambda: EMPTY_GALLERY)
    signature: tuple[int, int] | None = None
    checked: float = -1e9


def clean_name(name: str) -> str:
    text = " ".join((name or "").split())
    if not text or len(text) > NAME_MAX:
        raise InputError(f"staff name must be 1–{NAME_MAX} characters")
    return text


class FaceRegistry:
    """Enrolled staff over one database; thread-safe."""

    def __init__(
        self,
        config: Config,
        db: Any,
        *,
        engine: FaceStack | None = None,
        engine_loader: Callable[[], FaceStack] | None = None,
        monotonic: Callable[[], float] = time.monotonic,
    ) -> None:
        self.config = config
        self.settings = config.attendance
        self.db = db
        self._engine = engine
        self._engine_loader = engine_loader or (
            lambda: load_engine(self.settings.models_dir or None)
        )
        self._cipher: EncodingCipher | None = None
        self._cache = _GalleryCache()
        self._lock = threading.Lock()
        self._monotonic = monotonic

    # -- parts -----------------------------------------------------------------------
    @property
    def key_path(self) -> Path:
        return self.config.data_dir / self.settings.key_file

    @property
    def engine(self) -> FaceStack:
        if self._engine is None:
            self._engine = self._engine_loader()
        return self._engine

    def cipher(self, *, create: bool = False) -> EncodingCipher:
        """The encoding cipher; ``create`` makes a key only while no encoding exists yet."""
        if self._cipher is None:
            if create and not self.key_path.exists():
                with self.db.transaction(write=False) as conn:
                    held = store.encoding_count(conn)
                if held == 0 and create_key_file(self.key_path):
                    log.info("created face-data key %s", self.key_path)
            self._cipher = EncodingCipher(load_key(self.key_path))
        return self._cipher

    # -- the gallery -----------------------------------------------------------------
    def gallery(self, *, max_age_s: float = 1.0) -> Gallery:
        """All usable encodings, decrypted; re-read when the stored set changed (checked at
        most every ``max_age_s``, so enrolments by the CLI reach a running gate quickly)."""
        with self._lock:
            now = self._monotonic()
            if now - self._cache.checked < max_age_s:
                return self._cache.gallery
            self._cache.checked = now
            with self.db.transaction(write=False) as conn:
                signature = store.gallery_signature(conn)
                if signature == self._cache.signature:
                    return self._cache.gallery
                sealed = store.usable_encodings(conn) if signature[0] else []
            if sealed:
                cipher = self.cipher()
                ids = [s.staff_id for s in sealed]
                matrix = np.stack([cipher.open(s.sealed, s.staff_id) for s in sealed])
                gallery = Gallery(ids, matrix)
            else:
                gallery = EMPTY_GALLERY
            self._cache.gallery, self._cache.signature = gallery, signature
            log.info("face gallery: %d encoding(s) of %d staff", len(gallery), gallery.people)
            return gallery

    def invalidate(self) -> None:
        with self._lock:
            self._cache.checked = -1e9

    # -- enrolment -------------------------------------------------------------------
    def enroll(
        self,
        name: str,
        photos: Sequence[tuple[str, Image]],
        *,
        consent_by: str,
        replace: bool = False,
        jitters: int = 1,
    ) -> Enrolment:
        """Check every photo and store their encodings — all of them or none.

        Creates the staff member when new and records the consent (now, ``consent_by``).
        A photo is refused when it has no face, several faces, a face too small or too
        blurred, when the photos show different people, or when the face is already
        enrolled as somebody else. ``jitters`` (1–20) as for
        :func:`~kiosk.faces.quality.check_photo` (``bench/recognition.py`` measures it).
        """
        name = clean_name(name)
        consent_by = (consent_by or "").strip()
        if not consent_by or len(consent_by) > 64:
            raise InputError("who recorded the consent is required (1–64 characters)")
        if not 1 <= len(photos) <= MAX_PHOTOS:
            raise InputError(f"enrol 1 to {MAX_PHOTOS} photos per staff member")
        if not 1 <= jitters <= MAX_JITTERS:
            raise InputError(f"jitters must be 1 to {MAX_JITTERS}")
        s = self.settings
        verdicts = [
            check_photo(
                self.engine,
                rgb,
                name=label,
                min_face_px=s.min_face_px,
                min_sharpness=s.min_sharpness,
                jitters=jitters,
            )
            for label, rgb in photos
        ]
        with self.db.transaction(write=False) as conn:
            existing = store.staff_by_name(conn, name)
        if all(v.ok for v in verdicts):
            verdicts = self._cross_check(verdicts, existing.id if existing else None)
        if not all(v.ok for v in verdicts):
            return Enrolment(existing.id if existing else None, verdicts)
        held = 0 if existing is None or replace else existing.encodings
        if held + len(verdicts) > MAX_PHOTOS:
            raise InputError(
                f"{name} already has {held} encoding(s); at most {MAX_PHOTOS} in all "
                "(use replace to start over)"
            )
        cipher = self.cipher(create=True)
        with self.db.transaction() as conn:
            store.secure_delete_on(conn)
            current = store.staff_by_name(conn, name)
            staff_id = current.id if current else store.add_staff(conn, name)
            if replace:
                store.delete_encodings(conn, staff_id)
            for v in verdicts:
                assert v.encoding is not None
                store.add_encoding(conn, staff_id, cipher.seal(v.encoding, staff_id))
            store.record_consent(conn, staff_id, consent_by)
            repo.add_audit(
                conn,
                consent_by,
                "face_enrolled",
                subject=f"staff:{staff_id}",
                details=f"{len(verdicts)} encoding(s){' (replaced)' if replace else ''}",
            )
        if replace:
            store.checkpoint_wal(self.db)
        self.invalidate()
        return Enrolment(staff_id, verdicts, stored=len(verdicts))

    def _cross_check(
        self, verdicts: list[PhotoVerdict], staff_id: int | None
    ) -> list[PhotoVerdict]:
        encodings = [v.encoding for v in verdicts if v.encoding is not None]
        if not same_person(encodings, SAME_PERSON_MAX):
            return [
                PhotoVerdict(
                    v.name,
                    rejection=Rejection.DIFFERENT_PEOPLE,
                    detail="the photos do not show the same person",
                )
                for v in verdicts
            ]
        gallery = self.gallery(max_age_s=0)
        out = []
        for v in verdicts:
            assert v.encoding is not None
            other = gallery.match(v.encoding, tolerance=self.settings.tolerance, margin=0.0)
            if other.accepted and other.staff_id != staff_id:
                v = PhotoVerdict(
                    v.name,
                    rejection=Rejection.ALREADY_ENROLLED,
                    detail=f"this face is already enrolled as staff #{other.staff_id}",
                )
            out.append(v)
        return out

    # -- identification --------------------------------------------------------------
    def identify(self, rgb: Image) -> list[FaceFound]:
        """Every face in a still photo with its match (distances logged, nothing stored)."""
        gallery = self.gallery(max_age_s=0)
        with self.db.transaction(write=False) as conn:
            names = store.staff_names(conn)
        found = []
        for box in find_faces(self.engine, rgb):
            match = gallery.match(
                self.engine.encode(rgb, box),
                tolerance=self.settings.tolerance,
                margin=self.settings.margin,
            )
            log.info("face distances: %s (face %d px)", match.describe(), box.width)
            name = names.get(match.staff_id) if match.accepted and match.staff_id else None
            found.append(FaceFound(box, match, name))
        return sorted(found, key=lambda f: (f.box.left, f.box.top))

    # -- consent, erasure, PINs ------------------------------------------------------
    def find(self, name_or_id: str) -> store.Staff:
        text = (name_or_id or "").strip()
        with self.db.transaction(write=False) as conn:
            person = store.staff_by_name(conn, " ".join(text.split()))
            if person is None and text.lstrip("#").isdigit():
                person = store.get_staff(conn, int(text.lstrip("#")))
        if person is None:
            raise InputError(f"no staff member {text!r} (see `kiosk faces list`)")
        return person

    def withdraw_consent(self, staff_id: int, *, actor: str) -> tuple[int, bool]:
        """Consent withdrawn: the encodings are erased at once; the PIN and marks stay."""
        result = store.erase_face_data(
            self.db, staff_id, actor=actor, action="face_consent_withdrawn"
        )
        self.invalidate()
        return result

    def delete(self, staff_id: int, *, actor: str) -> tuple[int, bool]:
        """The staff member and everything held about them are erased at once."""
        result = store.erase_face_data(
            self.db, staff_id, actor=actor, action="staff_deleted", remove_staff=True
        )
        self.invalidate()
        return result

    def add_staff(self, name: str, *, actor: str) -> int:
        """A staff member without face data (e.g. PIN only); returns the id (existing or new)."""
        name = clean_name(name)
        with self.db.transaction() as conn:
            current = store.staff_by_name(conn, name)
            if current is not None:
                return current.id
            staff_id = store.add_staff(conn, name)
            repo.add_audit(conn, actor, "staff_added", subject=f"staff:{staff_id}")
        return staff_id

    def set_pin(self, staff_id: int, pin: str | None, *, actor: str) -> None:
        value = None if pin is None else hash_pin(check_pin_format(pin))
        with self.db.transaction() as conn:
            store.set_pin_hash(conn, staff_id, value)
            repo.add_audit(
                conn, actor, "pin_set" if value else "pin_cleared", subject=f"staff:{staff_id}"
            )

    def pin_matches(self, staff_id: int, pin: str) -> bool:
        """Whether ``pin`` is ``staff_id``'s PIN. A staff number without a PIN, or without a
        staff member, costs the same hash check as a wrong PIN (no timing difference)."""
        with self.db.transaction(write=False) as conn:
            stored = store.pin_hash(conn, staff_id)
        matched = verify_pin(pin, stored or dummy_hash())
        return matched and stored is not None

    def held(self, staff_id: int) -> dict[str, Any]:
        """What is held about one staff member (for them, or for the admin page)."""
        with self.db.transaction(write=False) as conn:
            person = store.get_staff(conn, staff_id)
            if person is None:
                raise InputError(f"no staff member #{staff_id}")
            encodings = store.encodings_of(conn, staff_id)
            marks = store.count_marks(conn, staff_id)
            duty = store.roster_days_of(conn, staff_id)
        zone = self.config.site.zone  # local times, as the office reads them

        def local(instant: datetime) -> str:
            return instant.astimezone(zone).isoformat(timespec="minutes")

        return {
            "id": person.id,
            "name": person.name,
            "active": person.active,
            "consent_at": local(person.consent_at) if person.consent_at else None,
            "consent_by": person.consent_by,
            "pin": "set (hashed)" if person.has_pin else "none",
            "face_encodings": [
                {"id": e.id, "enrolled_at": local(e.created_at), "bytes": len(e.sealed)}
                for e in encodings
            ],
            "photos": "none (photos are never stored)",
            "attendance_marks": marks,
            "duty_days": duty,
        }

    def list_staff(self) -> list[store.Staff]:
        with self.db.transaction(write=False) as conn:
            return store.list_staff(conn)

    # -- roster ----------------------------------------------------------------------
    def import_roster(self, path: Path, *, actor: str) -> tuple[int, int]:
        """Import a duty roster CSV (``date,name`` and optionally ``start,end`` as ``HH:MM``, an
        end before the start crossing midnight; both empty = a whole-day duty); all rows or
        none. Returns (rows, new)."""
        try:
            text = path.read_text(encoding="utf-8-sig")
        except (OSError, UnicodeDecodeError) as exc:
            raise InputError(f"{path}: cannot read ({exc})") from None
        return self.import_roster_text(text, actor=actor, origin=str(path))

    def import_roster_text(
        self, text: str, *, actor: str, origin: str = "roster"
    ) -> tuple[int, int]:
        reader = csv.DictReader(text.splitlines())
        fields = [f.strip().lower() for f in reader.fieldnames or []]
        if "date" not in fields or "name" not in fields:
            raise InputError(f"{origin}: expected a header with the columns date,name")
        reader.fieldnames = fields
        with self.db.transaction(write=False) as conn:
            people = {n.casefold(): i for i, n in store.staff_names(conn).items()}
        rows: list[store.RosterRow] = []
        errors: list[str] = []
        for row in reader:
            line = reader.line_num
            try:
                day = date.fromisoformat((row.get("date") or "").strip())
            except ValueError:
                errors.append(f"line {line}: date must be YYYY-MM-DD")
                continue
            name = " ".join((row.get("name") or "").split())
            if name.casefold() not in people:
                errors.append(f"line {line}: no staff member {name!r}")
                continue
            try:
                times = _shift_times(row.get("start"), row.get("end"))
            except ValueError as exc:
                errors.append(f"line {line}: {exc}")
                continue
            if times is None:
                rows.append((day, people[name.casefold()]))
            else:
                rows.append((day, people[name.casefold()], *times))
        if errors:
            raise InputError(
                f"{origin}: {len(errors)} row(s) have errors; nothing was imported:\n  "
                + "\n  ".join(errors)
            )
        with self.db.transaction() as conn:
            added = store.add_roster(conn, rows)
            repo.add_audit(conn, actor, "roster_imported", details=f"{len(rows)} rows, {added} new")
        return len(rows), added


def _shift_times(start: str | None, end: str | None) -> tuple[int, int] | None:
    """A roster row's ``start,end`` as minutes (``None``: both empty, a whole-day duty)."""
    start, end = (start or "").strip(), (end or "").strip()
    if not start and not end:
        return None
    if not start or not end:
        raise ValueError("a shift needs both start and end (HH:MM), or neither")
    first, last = parse_hhmm(start), parse_hhmm(end)
    if first == last:
        raise ValueError("a shift must end at another time than it starts")
    return first, last
