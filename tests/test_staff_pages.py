"""Admin pages for staff attendance: enrol by upload, what is held, withdraw/delete, reports."""

from __future__ import annotations

import io
from pathlib import Path
from typing import Any

import pytest
from werkzeug import formparser
from werkzeug.datastructures import FileStorage, MultiDict
from werkzeug.test import encode_multipart

from kiosk.services.runtime import Kiosk
from tests.datadir import shared_data


@pytest.fixture(scope="module")
def faces() -> Path:
    return shared_data("faces")


def photo(path: Path) -> FileStorage:
    return FileStorage(io.BytesIO(path.read_bytes()), filename=path.name, content_type="image/jpeg")


def upload(client: Any, url: str, data: dict[str, Any]) -> Any:
    """A multipart POST built in memory (the test client would spool a large body to a
    temporary file and leave it open)."""
    boundary, body = encode_multipart(MultiDict(data))
    return client.post(url, data=body, content_type=f"multipart/form-data; boundary={boundary}")


def enrol(client: Any, faces: Path, name: str = "Pak Obama", consent: bool = True) -> Any:
    photos = [photo(p) for p in sorted((faces / "enroll" / "obama").iterdir())]
    data: dict[str, Any] = {"name": name, "photos": photos}
    if consent:
        data["consent"] = "yes"
    return upload(client, "/admin/staff/enroll", data)


def test_staff_pages_are_admin_only(client: Any, officer_client: Any) -> None:
    for url in ("/admin/staff", "/admin/staff/1", "/admin/staff/report"):
        assert client.get(url).status_code in (302, 401, 403)
        assert officer_client.get(url).status_code == 403


def test_enrol_by_upload_shows_what_is_held(
    admin_client: Any, kiosk: Kiosk, faces: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    written: list[str] = []

    def spy(real: Any) -> Any:
        def make(*args: Any, **kwargs: Any) -> Any:
            written.append(real.__name__)
            return real(*args, **kwargs)

        return make

    # Werkzeug's form parser spools uploads above 500 kB to these: a face photo on disk.
    monkeypatch.setattr(formparser, "SpooledTemporaryFile", spy(formparser.SpooledTemporaryFile))
    response = enrol(admin_client, faces)
    assert response.status_code == 200, response.get_data(as_text=True)
    page = response.get_data(as_text=True)
    assert 'id="enroll-result" class="flash ok"' in page
    assert page.count('<tr class="ok">') == 2
    assert written == []  # the photos (~1 MB) never went to a temporary file
    person = kiosk.attendance.registry.find("Pak Obama")
    assert (person.encodings, person.consent_by) == (2, "admin")  # who recorded the consent
    held = admin_client.get(f"/admin/staff/{person.id}").get_data(as_text=True)
    assert 'id="held-consent"' in held and " admin</dd>" in held
    local_day = person.consent_at.astimezone(kiosk.config.site.zone).date()  # office's date
    assert f'id="held-encodings">2 · {local_day}' in held
    listing = admin_client.get("/admin/staff").get_data(as_text=True)
    assert f'id="staff-{person.id}"' in listing


def test_enrolment_needs_the_consent_box(admin_client: Any, kiosk: Kiosk, faces: Path) -> None:
    response = enrol(admin_client, faces, consent=False)
    assert response.status_code == 303
    assert kiosk.attendance.registry.list_staff() == []


def test_bad_photo_is_rejected_with_its_reason(admin_client: Any, faces: Path) -> None:
    data = {
        "name": "Group",
        "consent": "yes",
        "photos": [photo(faces / "probe" / "obama_and_biden.jpg")],
    }
    response = upload(admin_client, "/admin/staff/enroll", data)
    assert response.status_code == 400
    assert "several_faces" in response.get_data(as_text=True)


def test_withdraw_then_delete_from_the_person_page(
    admin_client: Any, kiosk: Kiosk, faces: Path
) -> None:
    enrol(admin_client, faces)
    registry = kiosk.attendance.registry
    staff_id = registry.find("Pak Obama").id
    assert admin_client.post(f"/admin/staff/{staff_id}/withdraw").status_code == 303
    assert registry.find("Pak Obama").encodings == 0
    page = admin_client.get(f"/admin/staff/{staff_id}").get_data(as_text=True)
    assert 'class="flash ok"' in page and 'id="withdraw-form"' not in page  # nothing to erase
    assert admin_client.post(f"/admin/staff/{staff_id}/delete").status_code == 303
    assert registry.list_staff()  # not without the confirmation box
    admin_client.post(f"/admin/staff/{staff_id}/delete", data={"confirm": "yes"})
    assert registry.list_staff() == []
    assert admin_client.get(f"/admin/staff/{staff_id}").status_code == 404


def test_pin_and_report_pages(admin_client: Any, kiosk: Kiosk) -> None:
    response = admin_client.post("/admin/staff/add", data={"name": "Budi"})
    staff_id = int(response.headers["Location"].rsplit("/", 1)[-1])
    admin_client.post(f"/admin/staff/{staff_id}/pin", data={"pin": "4821", "pin2": "4821"})
    assert kiosk.attendance.registry.find("Budi").has_pin
    csv_file = FileStorage(io.BytesIO(b"date,name\n2026-11-23,Budi\n"), filename="piket.csv")
    upload(admin_client, "/admin/staff/roster", {"roster": csv_file})
    page = admin_client.get("/admin/staff/report?day=2026-11-23").get_data(as_text=True)
    assert "Budi" in page
    csv = admin_client.get("/admin/staff/report?day=2026-11-23&format=csv")
    assert csv.mimetype == "text/csv"
    assert csv.data.startswith(b"\xef\xbb\xbf")
    assert b"2026-11-23,%d,Budi,,,no,yes,yes,0" % staff_id in csv.data
    month = admin_client.get("/admin/staff/report?month=2026-11").get_data(as_text=True)
    assert (
        'id="attendance-totals"' in month
        and "<td>Budi</td><td>0</td><td>0</td><td>1</td><td>1</td>" in month
    )


def test_enrol_at_the_gate_camera(make_kiosk: Any, faces: Path) -> None:
    from kiosk.faces.images import read_photo
    from tests.conftest import add_staff, login, web_client
    from tests.test_attendance_service import scene

    kiosk = make_kiosk(attendance={"enabled": True})
    add_staff(kiosk, "admin", "admin")
    client = web_client(kiosk)
    assert login(client, "admin").status_code == 302
    form = {"name": "Pak Obama", "consent": "yes"}
    assert client.post("/admin/staff/capture", data=form).status_code == 303  # no frame yet
    kiosk.attendance.offer(scene(read_photo(faces / "probe" / "obama1.jpg"), face_px=200))
    response = client.post("/admin/staff/capture", data=form)
    assert response.status_code == 200, response.get_data(as_text=True)
    assert kiosk.attendance.registry.find("Pak Obama").encodings == 1
