"""CLI: ``kiosk faces …`` — staff enrolment, identification, consent, PINs, roster, reports.

Registered on the main ``kiosk`` group by :func:`register`. Photos are read into memory,
checked and encoded; only the encrypted encodings are stored, never the photos.
"""

from __future__ import annotations

import getpass
import sys
from pathlib import Path

import click

from kiosk.cli.common import config_option, load, open_database
from kiosk.errors import InputError


def _actor(given: str | None) -> str:
    if given and given.strip():
        return given.strip()
    try:
        return f"cli:{getpass.getuser()}"
    except (KeyError, OSError):  # no user name (e.g. a container without /etc/passwd entry)
        return "cli"


@click.group()
def faces() -> None:
    """Staff face attendance: enrol, identify, consent, PINs, roster, reports."""


@faces.command("check")
@config_option
def faces_check(config_path: Path | None) -> None:
    """Load the face stack and say whether face attendance can run."""
    from kiosk.faces.engine import load_engine

    config = load(config_path)
    engine = load_engine(config.attendance.models_dir or None)
    state = "enabled" if config.attendance.enabled else "disabled in the configuration"
    click.echo(f"face stack ok: dlib {engine.dlib_version}, models in {engine.folder}; {state}")


@faces.command("enroll")
@config_option
@click.option("--name", required=True, help="Staff member's name (created when new).")
@click.option(
    "--consent-by",
    default=None,
    help="Who recorded the staff member's written consent (default: cli:<your user name>).",
)
@click.option("--replace", is_flag=True, help="Replace the encodings held instead of adding.")
@click.option(
    "--jitters",
    type=click.IntRange(1, 20),
    default=1,
    show_default=True,
    help="Encode each photo this many times, randomly shifted and mirrored, and average "
    "(slower; see bench/recognition.py).",
)
@click.argument("files", nargs=-1, required=True, type=click.Path(dir_okay=False, path_type=Path))
def faces_enroll(
    config_path: Path | None,
    name: str,
    consent_by: str | None,
    replace: bool,
    jitters: int,
    files: tuple[Path, ...],
) -> None:
    """Enrol 1–5 photos of one staff member (all accepted or none).

    Prints FILE<TAB>ok or FILE<TAB>rejected: REASON — what to do, per photo.
    """
    from kiosk.faces.images import read_photo
    from kiosk.faces.registry import FaceRegistry

    config = load(config_path)
    photos = []
    unreadable = []
    for path in files:
        try:
            photos.append((str(path), read_photo(path)))
        except InputError as exc:
            unreadable.append((path, str(exc)))
    for path, why in unreadable:
        click.echo(f"{path}\trejected: unreadable — {why}")
    if unreadable:
        click.echo("nothing enrolled", err=True)
        sys.exit(1)
    with open_database(config) as db:
        result = FaceRegistry(config, db).enroll(
            name, photos, consent_by=_actor(consent_by), replace=replace, jitters=jitters
        )
    for v in result.verdicts:
        if v.ok and result.ok:
            click.echo(f"{v.name}\tok")
        elif v.ok:
            click.echo(f"{v.name}\tok (not stored: another photo was rejected)")
        else:
            click.echo(f"{v.name}\trejected: {v.rejection} — {v.detail}")
    if not result.ok:
        click.echo("nothing enrolled", err=True)
        sys.exit(1)
    click.echo(f"enrolled staff #{result.staff_id}: {result.stored} encoding(s), consent recorded")


@faces.command("identify")
@config_option
@click.argument("files", nargs=-1, required=True, type=click.Path(dir_okay=False, path_type=Path))
def faces_identify(config_path: Path | None, files: tuple[Path, ...]) -> None:
    """Print FILE<TAB>NAME per face found (left to right), FILE<TAB>unknown for a face that
    matches nobody, FILE<TAB>- when a photo has no face. The distances go to the log (stderr)."""
    from kiosk.faces.images import read_photo
    from kiosk.faces.registry import FaceRegistry

    config = load(config_path)
    failed = False
    with open_database(config) as db:
        registry = FaceRegistry(config, db)
        for path in files:
            try:
                rgb = read_photo(path)
            except InputError as exc:
                click.echo(f"{path}\t-\t({exc})", err=True)
                click.echo(f"{path}\t-")
                failed = True
                continue
            found = registry.identify(rgb)
            for face in found:
                click.echo(f"{path}\t{face.name or 'unknown'}")
            if not found:
                click.echo(f"{path}\t-")
    if failed:
        sys.exit(1)


@faces.command("list")
@config_option
def faces_list(config_path: Path | None) -> None:
    """Staff members and what is held for each (never the encodings themselves)."""
    from kiosk.faces.registry import FaceRegistry

    config = load(config_path)
    with open_database(config) as db:
        people = FaceRegistry(config, db).list_staff()
    click.echo("id\tname\tencodings\tconsent\tconsent_by\tpin\tactive")
    for p in people:
        consent = (
            p.consent_at.astimezone(config.site.zone).date().isoformat() if p.consent_at else "-"
        )
        click.echo(
            f"{p.id}\t{p.name}\t{p.encodings}\t{consent}\t{p.consent_by or '-'}\t"
            f"{'yes' if p.has_pin else 'no'}\t{'yes' if p.active else 'no'}"
        )


@faces.command("show")
@config_option
@click.argument("who")
def faces_show(config_path: Path | None, who: str) -> None:
    """Everything held about one staff member (NAME or #ID)."""
    from kiosk.faces.registry import FaceRegistry

    config = load(config_path)
    with open_database(config) as db:
        registry = FaceRegistry(config, db)
        held = registry.held(registry.find(who).id)
    for key, value in held.items():
        if key == "face_encodings":
            click.echo(f"{key}: {len(value)} (encrypted, 128 numbers each)")
            for item in value:
                click.echo(f"  #{item['id']} enrolled {item['enrolled_at']}")
        else:
            click.echo(f"{key}: {value if value is not None else '-'}")


@faces.command("withdraw")
@config_option
@click.argument("who")
@click.option("--by", "actor", default=None, help="Who records the withdrawal.")
def faces_withdraw(config_path: Path | None, who: str, actor: str | None) -> None:
    """Consent withdrawn: erase the staff member's face encodings now (PIN and marks stay)."""
    from kiosk.faces.registry import FaceRegistry

    config = load(config_path)
    with open_database(config) as db:
        registry = FaceRegistry(config, db)
        person = registry.find(who)
        erased, flushed = registry.withdraw_consent(person.id, actor=_actor(actor))
    click.echo(f"staff #{person.id}: {erased} encoding(s) erased, consent withdrawn")
    if not flushed:
        click.echo(
            "warning: the database log is busy; the erased bytes leave it at the next checkpoint",
            err=True,
        )


@faces.command("delete")
@config_option
@click.argument("who")
@click.option("--by", "actor", default=None, help="Who deletes.")
@click.option("--yes", is_flag=True, help="Do not ask for confirmation.")
def faces_delete(config_path: Path | None, who: str, actor: str | None, yes: bool) -> None:
    """Delete a staff member and everything held about them (encodings, PIN, marks, roster)."""
    from kiosk.faces.registry import FaceRegistry

    config = load(config_path)
    with open_database(config) as db:
        registry = FaceRegistry(config, db)
        person = registry.find(who)
        if not yes:
            click.confirm(f"Delete {person.name} (#{person.id}) and all their data?", abort=True)
        erased, flushed = registry.delete(person.id, actor=_actor(actor))
    click.echo(f"staff #{person.id} deleted ({erased} encoding(s) erased)")
    if not flushed:
        click.echo(
            "warning: the database log is busy; the erased bytes leave it at the next checkpoint",
            err=True,
        )


@faces.command("pin")
@config_option
@click.argument("who")
@click.option("--by", "actor", default=None, help="Who sets the PIN.")
@click.option("--clear", is_flag=True, help="Remove the PIN.")
@click.option("--pin-stdin", is_flag=True, help="Read the PIN from standard input (scripts).")
def faces_pin(
    config_path: Path | None, who: str, actor: str | None, clear: bool, pin_stdin: bool
) -> None:
    """Set the attendance PIN of a staff member (created when new): the alternative for staff
    who decline face data. The PIN is stored hashed only."""
    from kiosk.faces.registry import FaceRegistry

    config = load(config_path)
    pin: str | None = None
    if not clear:
        if pin_stdin:
            pin = sys.stdin.readline().strip()
        else:
            pin = click.prompt("PIN (4–8 digits)", hide_input=True, confirmation_prompt=True)
    with open_database(config) as db:
        registry = FaceRegistry(config, db)
        try:
            staff_id = registry.find(who).id
        except InputError:
            staff_id = registry.add_staff(who, actor=_actor(actor))
        registry.set_pin(staff_id, pin, actor=_actor(actor))
    click.echo(f"staff #{staff_id}: PIN {'cleared' if clear else 'set'}")


@faces.group("roster")
def faces_roster() -> None:
    """Duty roster ("piket"): who is expected on which day."""


@faces_roster.command("import")
@config_option
@click.argument("file", type=click.Path(dir_okay=False, path_type=Path))
@click.option("--by", "actor", default=None, help="Who imports.")
def roster_import(config_path: Path | None, file: Path, actor: str | None) -> None:
    """Import FILE.csv with the columns date,name[,start,end] (all rows or none).

    start and end (HH:MM, local time) make the day a shift; an end before the start crosses
    midnight (22:00,06:00 belongs to the date it starts on). Re-importing a day updates its
    times."""
    from kiosk.faces.registry import FaceRegistry

    config = load(config_path)
    with open_database(config) as db:
        rows, added = FaceRegistry(config, db).import_roster(file, actor=_actor(actor))
    click.echo(f"{rows} duty day(s) read, {added} new")


@faces.command("report")
@config_option
@click.option("--day", default=None, help="Business date YYYY-MM-DD.")
@click.option("--month", default=None, help="Month YYYY-MM.")
@click.option(
    "--out",
    type=click.Path(dir_okay=False, path_type=Path),
    default=None,
    help="Write the CSV here (default: standard output).",
)
@click.option("--by", "actor", default=None, help="Who exports (audited).")
def faces_report(
    config_path: Path | None,
    day: str | None,
    month: str | None,
    out: Path | None,
    actor: str | None,
) -> None:
    """Attendance CSV (UTF-8 with BOM, local dates and times): first in, last out, late,
    on duty, absent on duty, refusals — per staff member and day."""
    from kiosk.bookings import parse_date
    from kiosk.faces.report import day_report, month_report, parse_month

    if (day is None) == (month is None):
        raise InputError("give exactly one of --day YYYY-MM-DD or --month YYYY-MM")
    config = load(config_path)
    with open_database(config) as db:
        if day is not None:
            report = day_report(config, db, parse_date(day), actor=_actor(actor))
        else:
            year, mon = parse_month(month or "")
            report = month_report(config, db, year, mon, actor=_actor(actor))
    data = report.csv_bytes()
    if out is None:
        sys.stdout.flush()
        sys.stdout.buffer.write(data)  # bytes as they are: the BOM and CRLF line ends stay
        sys.stdout.buffer.flush()
    else:
        out.write_bytes(data)
        click.echo(f"{out}: {len(report.rows)} row(s)")


def register(main: click.Group) -> None:
    main.add_command(faces)
