"""The entry log as an Excel workbook (XLSX) beside the CSV export.

Spreadsheets in Indonesia read "36.59" from a CSV as text (their decimal mark is a
comma); a workbook holds real values instead: the temperature as a number shown with
one decimal, the business date as an Excel date (dd/mm/yyyy) and the time as an Excel
time. Headers and the words for outcomes, reasons and kinds are in the page's language.
The workbook is written row by row (openpyxl's write-only mode) to a temporary file,
never held whole in memory, and the export is audited like the CSV.
"""

from __future__ import annotations

import tempfile
from collections.abc import Iterator
from typing import Any

from flask import Blueprint, Response
from flask_babel import lazy_gettext as _l
from openpyxl import Workbook
from openpyxl.cell import WriteOnlyCell

from kiosk.storage import entry_log
from ui import admin
from ui.helpers import kiosk
from ui.labels import gate_name, label
from ui.security import requires

bp = Blueprint("admin_export", __name__, url_prefix="/admin")

XLSX_MIMETYPE = "application/vnd.openxmlformats-officedocument.spreadsheetml.sheet"
HEADERS = (
    _l("Visit no."),
    _l("Date"),
    _l("Time"),
    _l("Gate"),
    _l("Kind"),
    _l("Decision"),
    _l("Reason"),
    _l("Booking"),
    _l("Name"),
    _l("Temperature (°C)"),
    _l("Temperature source"),
    _l("Officer"),
    _l("Note"),
    _l("Undone by"),
    _l("Undo reason"),
)
DATE_FORMAT = "dd/mm/yyyy"
TIME_FORMAT = "hh:mm:ss"
TEMPERATURE_FORMAT = "0.0"
WIDTHS = (8, 12, 10, 12, 12, 12, 24, 16, 24, 10, 12, 14, 30, 14, 24)


def _text(sheet: Any, value: str | None) -> WriteOnlyCell:
    """A text cell that stays text: "=HYPERLINK(…)" is never stored as a formula."""
    cell = WriteOnlyCell(sheet, value=value or None)
    if value:
        cell.data_type = "s"
    return cell


def _number(sheet: Any, value: Any, number_format: str) -> WriteOnlyCell:
    cell = WriteOnlyCell(sheet, value=value)
    if value is not None:
        cell.number_format = number_format
    return cell


def write_workbook(f: entry_log.LogFilter, target: Any) -> int:
    """Write the entries ``f`` selects as a workbook to the binary file ``target``."""
    k = kiosk()
    zone = k.config.site.zone
    book = Workbook(write_only=True)
    sheet = book.create_sheet(title=str(_l("Visits")))
    for n, width in enumerate(WIDTHS):
        sheet.column_dimensions[chr(ord("A") + n)].width = width
    sheet.freeze_panes = "A2"
    sheet.append([str(h) for h in HEADERS])
    count = 0
    with k.db.transaction(write=False) as conn:  # one consistent snapshot
        for row in entry_log.log_rows(conn, f, batch=500):
            local = row.ts.astimezone(zone)
            temp = None if row.temp_estimated_c is None else round(row.temp_estimated_c, 2)
            sheet.append(
                [
                    row.id,
                    _number(sheet, row.business_date, DATE_FORMAT),
                    _number(sheet, local.time().replace(microsecond=0), TIME_FORMAT),
                    _text(sheet, gate_name(row.gate_id)),
                    _text(sheet, label(row.kind, "kind")),
                    _text(sheet, label(row.outcome, "outcome")),
                    _text(sheet, label(row.reason, "reason")),
                    _text(sheet, row.booking_id),
                    _text(sheet, row.name),
                    _number(sheet, temp, TEMPERATURE_FORMAT),
                    _text(sheet, row.temp_source),
                    _text(sheet, row.officer),
                    _text(sheet, row.note),
                    _text(sheet, row.undone_by),
                    _text(sheet, row.undo_reason),
                ]
            )
            count += 1
    book.save(target)
    return count


@bp.get("/log.xlsx")
@requires("admin")
def export_xlsx() -> Any:
    f = admin.log_filter(allow_range=True)
    admin._audit("entries_exported", admin._describe(f) + " format=xlsx")
    days = f.day.isoformat() + (f"_{f.last_day.isoformat()}" if f.last_day else "")
    name = f"entries-{kiosk().config.site.office_id}-{days}.xlsx"
    spool = tempfile.TemporaryFile()  # noqa: SIM115 - closed by chunks() once sent
    try:
        write_workbook(f, spool)
        spool.seek(0)
    except BaseException:
        spool.close()
        raise

    def chunks() -> Iterator[bytes]:
        with spool:
            while block := spool.read(64 * 1024):
                yield block

    return Response(
        chunks(),
        mimetype=XLSX_MIMETYPE,
        headers={"Content-Disposition": f'attachment; filename="{name}"'},
    )
