"""Admin pages for staff attendance: enrolment, what is held per person, consent, reports.

Views stay thin: they parse the form and call the face registry
(:class:`kiosk.faces.registry.FaceRegistry`) or the report functions. Uploaded photos are read
into memory and decoded there — never written to disk, not even as the web server's temporary
upload files (see :class:`InMemoryUploads`) — and only the encrypted encodings are stored.
"""

from __future__ import annotations

import io
from datetime import date
from typing import IO, Any

from flask import (
    Blueprint,
    Flask,
    Response,
    flash,
    jsonify,
    redirect,
    render_template,
    request,
)
from flask_babel import gettext as _

from kiosk.errors import EXPECTED_ERRORS, InputError
from kiosk.faces.images import MAX_BYTES, decode_photo
from kiosk.faces.registry import MAX_PHOTOS, FaceRegistry
from kiosk.faces.report import Report, board, day_report, month_report, parse_month
from ui.helpers import kiosk, parse_day
from ui.labels import error_text
from ui.security import requires, user

bp = Blueprint("staff", __name__, url_prefix="/admin/staff")

ENROL_PATH = "/admin/staff/enroll"
ENROL_MAX_BYTES = MAX_PHOTOS * MAX_BYTES + 64 * 1024
LARGE_UPLOADS = {ENROL_PATH: ENROL_MAX_BYTES, "/api/sim/face": MAX_BYTES + 64 * 1024}
"""Routes that take photos, and their request size limits (64 kB everywhere else)."""


def init_app(app: Flask) -> None:
    """Uploads stay in memory; the enrolment form may carry up to five photos."""
    base = app.request_class

    class InMemoryUploads(base):  # type: ignore[valid-type,misc]
        """Werkzeug spools uploads above 500 kB to a temporary file: a face photo would touch
        the disk. Here every upload stays in memory (the size limits bound it)."""

        def _get_file_stream(
            self,
            total_content_length: int | None,
            content_type: str | None,
            filename: str | None = None,
            content_length: int | None = None,
        ) -> IO[bytes]:
            return io.BytesIO()

        @property
        def max_content_length(self) -> int | None:
            if self.method == "POST" and self.path in LARGE_UPLOADS:
                return LARGE_UPLOADS[self.path]
            limit: int | None = super().max_content_length
            return limit

    app.request_class = InMemoryUploads
    app.register_blueprint(bp)


def registry() -> FaceRegistry:
    k = kiosk()
    if k.attendance is not None:
        return k.attendance.registry
    return FaceRegistry(k.config, k.db)  # pragma: no cover - every started kiosk has one


def _status() -> dict[str, Any]:
    k = kiosk()
    return k.attendance.status_json() if k.attendance else {"status": "disabled"}


@bp.get("")
@requires("admin")
def index() -> str:
    return render_template(
        "staff/index.html",
        people=registry().list_staff(),
        status=_status(),
        max_photos=MAX_PHOTOS,
        today=kiosk().gate.today()["date"],
        zone=kiosk().config.site.zone,
    )


@bp.post("/enroll")
@requires("admin")
def enroll() -> Any:
    name = request.form.get("name", "")
    if request.form.get("consent") != "yes":
        flash(_("Record the staff member's written consent first."), "error")
        return redirect("/admin/staff", code=303)
    photos = []
    try:
        for upload in request.files.getlist("photos"):
            if upload.filename:
                photos.append((upload.filename, decode_photo(upload.read(), name=upload.filename)))
        result = registry().enroll(name, photos, consent_by=user().username)
    except EXPECTED_ERRORS as exc:
        flash(error_text(exc), "error")
        return redirect("/admin/staff", code=303)
    status = 200 if result.ok else 400
    return render_template("staff/enrolled.html", name=name, result=result), status


@bp.post("/capture")
@requires("admin")
def capture() -> Any:
    """Enrol from the gate camera: the staff member stands at the gate, the admin clicks."""
    k = kiosk()
    if request.form.get("consent") != "yes":
        flash(_("Record the staff member's written consent first."), "error")
        return redirect("/admin/staff", code=303)
    name = request.form.get("name", "")
    try:
        if k.attendance is None:
            raise InputError(_("Face attendance is not running."))
        frame = k.attendance.capture()
        result = registry().enroll(name, [("gate camera", frame)], consent_by=user().username)
    except EXPECTED_ERRORS as exc:
        flash(error_text(exc), "error")
        return redirect("/admin/staff", code=303)
    status = 200 if result.ok else 400
    return render_template("staff/enrolled.html", name=name, result=result), status


@bp.get("/board")
@requires("admin")
def today_board() -> Any:
    """Today's board (in / out / late / absent on duty) for the live table on the page."""
    k = kiosk()
    day = date.fromisoformat(k.gate.today()["date"])
    rows = board(k.config, k.db, day)
    labels = {
        "in": _("in"),
        "out": _("out"),
        "refused": _("refused only"),
        "absent_on_duty": _("absent on duty"),
    }
    for row in rows:
        row["state_text"] = labels[row["state"]]
    return jsonify(day=day.isoformat(), rows=rows)


@bp.get("/<int:staff_id>")
@requires("admin")
def person(staff_id: int) -> Any:
    try:
        held = registry().held(staff_id)
    except InputError as exc:
        return render_template("staff/missing.html", error=str(exc)), 404
    return render_template("staff/person.html", held=held)


@bp.post("/<int:staff_id>/withdraw")
@requires("admin")
def withdraw(staff_id: int) -> Any:
    erased, flushed = registry().withdraw_consent(staff_id, actor=user().username)
    flash(_("Consent withdrawn: %(n)s face encoding(s) erased.", n=erased), "ok")
    if not flushed:
        flash(_("The database log was busy; the erased bytes leave it shortly."), "error")
    return redirect(f"/admin/staff/{staff_id}", code=303)


@bp.post("/<int:staff_id>/delete")
@requires("admin")
def delete(staff_id: int) -> Any:
    if request.form.get("confirm") != "yes":
        flash(_("Tick the box to confirm the deletion."), "error")
        return redirect(f"/admin/staff/{staff_id}", code=303)
    erased, _flushed = registry().delete(staff_id, actor=user().username)
    flash(_("Staff member deleted with everything held (%(n)s encoding(s)).", n=erased), "ok")
    return redirect("/admin/staff", code=303)


@bp.post("/<int:staff_id>/pin")
@requires("admin")
def pin(staff_id: int) -> Any:
    value = request.form.get("pin", "")
    if request.form.get("clear") == "yes":
        registry().set_pin(staff_id, None, actor=user().username)
        flash(_("PIN removed."), "ok")
    elif value != request.form.get("pin2", ""):
        flash(_("The two PINs differ."), "error")
    else:
        try:
            registry().set_pin(staff_id, value, actor=user().username)
        except InputError as exc:
            flash(error_text(exc), "error")
        else:
            flash(_("PIN set (stored hashed)."), "ok")
    return redirect(f"/admin/staff/{staff_id}", code=303)


@bp.post("/add")
@requires("admin")
def add() -> Any:
    """A staff member without face data (they will use a PIN)."""
    try:
        staff_id = registry().add_staff(request.form.get("name", ""), actor=user().username)
    except InputError as exc:
        flash(error_text(exc), "error")
        return redirect("/admin/staff", code=303)
    return redirect(f"/admin/staff/{staff_id}", code=303)


@bp.post("/roster")
@requires("admin")
def roster() -> Any:
    upload = request.files.get("roster")
    try:
        if upload is None or not upload.filename:
            raise InputError(_("Choose a roster CSV file (columns date,name)."))
        text = upload.read().decode("utf-8-sig")
        rows, added = registry().import_roster_text(
            text, actor=user().username, origin=upload.filename
        )
    except UnicodeDecodeError:
        flash(_("The roster file is not UTF-8 text."), "error")
    except InputError as exc:
        flash(error_text(exc), "error")
    else:
        flash(_("%(rows)s duty day(s) read, %(added)s new.", rows=rows, added=added), "ok")
    return redirect("/admin/staff", code=303)


@bp.get("/report")
@requires("admin")
def report() -> Any:
    k = kiosk()
    day_text, month_text = request.args.get("day"), request.args.get("month")
    try:
        if month_text:
            year, month = parse_month(month_text)
            parse_day(f"{year:04d}-{month:02d}-01", "month")
            made: Report = month_report(k.config, k.db, year, month, actor=user().username)
        else:
            day = parse_day(day_text) if day_text else None
            made = day_report(
                k.config,
                k.db,
                day or date.fromisoformat(k.gate.today()["date"]),
                actor=user().username,
            )
    except ValueError:
        raise InputError(_("day must be YYYY-MM-DD and month YYYY-MM")) from None
    if request.args.get("format") == "csv":
        filename = made.title.replace(" ", "-") + ".csv"
        return Response(
            made.csv_bytes(),
            mimetype="text/csv",
            headers={"Content-Disposition": f'attachment; filename="{filename}"'},
        )
    return render_template("staff/report.html", report=made, month=month_text, day=day_text)
