"""CLI commands for signed booking codes, keys and QR diagnostics.

``keys`` and ``qr`` are registered on the main group; ``booking issue`` and ``booking verify``
join the ``booking`` group of :mod:`kiosk.cli.bookings`.
"""

from __future__ import annotations

import re
from datetime import UTC, datetime, time
from pathlib import Path

import click

from kiosk.bookings import clean_name, is_signed_code, parse_date
from kiosk.cli.common import business_today, config_option, load, open_database
from kiosk.config import Config
from kiosk.errors import ConfigError, InputError
from kiosk.storage import Booking
from kiosk.storage import repository as repo


def service_code(config: Config, service: str) -> str:
    """Booking-code service field: up to 8 of A–Z, 0–9 and '-'."""
    code = re.sub(r"[^A-Z0-9-]", "", service.upper())[:8]
    return code or config.bookings.default_service


def checked_service(config: Config, service: str, *, option: str = "--service") -> str:
    """``service`` as given, refused (naming ``option``) when it is not a configured service."""
    from kiosk.bookings import check_service, clean_service

    try:
        return check_service(clean_service(service), tuple(config.services))
    except InputError as exc:
        raise InputError(f"{option}: {exc}") from None


def checked_window(arrive_from: str, arrive_until: str) -> tuple[str | None, str | None]:
    """The ``--arrive-from`` / ``--arrive-until`` window as ``HH:MM`` texts."""
    from kiosk.bookings import parse_window

    try:
        return parse_window(arrive_from, arrive_until)
    except InputError as exc:
        raise InputError(f"--arrive-from/--arrive-until: {exc}") from None


def _clock(text: str | None) -> time | None:
    return time.fromisoformat(text) if text else None


def issue_signed(
    config: Config,
    *,
    day: str,
    name: str,
    service: str,
    arrive_from: str = "",
    arrive_until: str = "",
) -> tuple[Booking, str]:
    """Store a booking and return it with its signed QR text.

    With an arrival window the code is signed in the version that carries it
    (``docs/booking-code.md``); without, in the version codes were printed in before.
    """
    from kiosk.bookings import new_booking_id
    from kiosk.domain.bookingcode import sign_code
    from kiosk.keys import load_private_key

    checked_service(config, service)
    window = checked_window(arrive_from, arrive_until)
    key_path = config.private_key_path
    if key_path is None:
        raise ConfigError(
            "no signing key configured: set bookings.private_key in the configuration "
            "and create it with `kiosk keys generate`"
        )
    private_key = load_private_key(key_path)
    new = Booking(
        id=new_booking_id(),
        office_id=config.site.office_id,
        date=parse_date(day),
        name=clean_name(name),
        service=service_code(config, service),
        source="issued",
        arrive_from=window[0],
        arrive_until=window[1],
    )
    text = sign_code(
        office_id=new.office_id,
        booking_id=new.id,
        service=new.service,
        valid_from=new.date,
        private_key=private_key,
        arrive_from=_clock(new.arrive_from),
        arrive_until=_clock(new.arrive_until),
    )
    with open_database(config) as db, db.transaction() as conn:
        repo.insert_booking(conn, new)
    return new, text


@click.command("issue")
@config_option
@click.option("--date", "day", required=True, help="Booking date, YYYY-MM-DD.")
@click.option(
    "--name", required=True, help="Citizen's name (printed on the ticket, not in the code)."
)
@click.option("--service", default="", help="Service code, e.g. KTP-EL.")
@click.option("--arrive-from", default="", help="Start of the arrival window, HH:MM.")
@click.option("--arrive-until", default="", help="End of the arrival window, HH:MM.")
@click.option(
    "--out",
    "out_dir",
    type=click.Path(file_okay=False, path_type=Path),
    default=None,
    help="Folder for the printable ticket (default: DATA/tickets).",
)
def booking_issue(
    config_path: Path | None,
    day: str,
    name: str,
    service: str,
    arrive_from: str,
    arrive_until: str,
    out_dir: Path | None,
) -> None:
    """Sign a booking and write a printable ticket (PNG and PDF); last line: the QR text."""
    from kiosk.domain.bookingcode import short_code
    from kiosk.tickets import render_ticket, write_ticket

    config = load(config_path)
    new, text = issue_signed(
        config,
        day=day,
        name=name,
        service=service,
        arrive_from=arrive_from,
        arrive_until=arrive_until,
    )
    ticket = render_ticket(
        qr_text=text,
        name=new.name,
        date=new.date,
        service=new.service,
        office_name=config.site.office_name,
        office_id=config.site.office_id,
        short_code=short_code(new.office_id, new.id),
    )
    folder = out_dir or config.data_dir / "tickets"
    folder.mkdir(parents=True, exist_ok=True)
    png, pdf = write_ticket(ticket, folder, new.id)
    click.echo(f"booking {new.id} for {new.date} ({new.service}) signed")
    click.echo(f"ticket: {png}")
    click.echo(f"ticket: {pdf}")
    click.echo(text)


@click.command("verify")
@config_option
@click.argument("text")
def booking_verify(config_path: Path | None, text: str) -> None:
    """Check a booking code without redeeming it; exit status 0 only for a valid code."""
    from kiosk.domain.admission import BookingFacts, Kind, Visit, precheck
    from kiosk.messages import message
    from kiosk.services.gate import load_gate_keyring, policy_from

    config = load(config_path)
    policy = policy_from(config)
    now = datetime.now(UTC)
    with open_database(config) as db:
        from kiosk.bookings import lookup_facts

        facts: BookingFacts = lookup_facts(
            db.connection(),
            text,
            business_day=business_today(config),
            keyring=load_gate_keyring(config),
        )
    problem = precheck(visit=Visit(Kind.BOOKING, booking=facts), policy=policy, now=now)
    if problem is None:
        kind = "signed" if is_signed_code(text) else "plain"
        click.echo(f"valid\t{facts.booking_id}\t{facts.valid_from}\t({kind} code, not redeemed)")
        return
    click.echo(f"invalid\t{problem.reason.value}\t{message(problem.reason, problem.detail, 'en')}")
    raise SystemExit(1)


@click.group()
def keys() -> None:
    """Signing keys for booking codes (public list at bookings.public_keys)."""


@keys.command("generate")
@config_option
@click.option(
    "--private-key",
    "private_key",
    type=click.Path(dir_okay=False, path_type=Path),
    default=None,
    help="Where to write the private key (default: bookings.private_key).",
)
def keys_generate(config_path: Path | None, private_key: Path | None) -> None:
    """Create a key pair; the public half joins the gate's key list."""
    from kiosk.keys import generate_key

    config = load(config_path)
    target = private_key or config.private_key_path
    if target is None:
        raise ConfigError(
            "give --private-key PATH or set bookings.private_key in the configuration"
        )
    config.public_keys_path.parent.mkdir(parents=True, exist_ok=True)
    entry = generate_key(
        target, config.public_keys_path, today=business_today(config), data_dir=config.data_dir
    )
    click.echo(f"key {entry.key_id}: private {target}, public list {config.public_keys_path}")


@keys.command("list")
@config_option
def keys_list(config_path: Path | None) -> None:
    """List the public keys the gate accepts."""
    from kiosk.keys import read_key_list

    config = load(config_path)
    for entry in read_key_list(config.public_keys_path):
        state = f"revoked {entry.revoked}" if entry.revoked else "active"
        click.echo(f"{entry.key_id}\tcreated {entry.created}\t{state}")


@keys.command("revoke")
@config_option
@click.argument("key_id")
def keys_revoke(config_path: Path | None, key_id: str) -> None:
    """Revoke a key: every code it signed is refused from now on."""
    from kiosk.keys import revoke_key

    config = load(config_path)
    entry = revoke_key(config.public_keys_path, key_id, today=business_today(config))
    click.echo(f"key {entry.key_id} revoked on {entry.revoked}")


@click.group()
def qr() -> None:
    """QR diagnostics."""


@qr.command("decode")
@click.argument("files", nargs=-1, required=True, type=click.Path(path_type=Path))
def qr_decode(files: tuple[Path, ...]) -> None:
    """Print FILE<TAB>TEXT per code found, FILE<TAB>- when none (for pointing the camera)."""
    from kiosk.vision.qr import decode_frame, load_image

    failed = False
    for path in files:
        try:
            texts = decode_frame(load_image(path))
        except InputError as exc:
            click.echo(f"{path}\t-\t({exc})", err=True)
            click.echo(f"{path}\t-")
            failed = True
            continue
        for text in texts or ["-"]:
            click.echo(f"{path}\t{_printable(text)}")
    if failed:
        raise SystemExit(1)


def _printable(text: str) -> str:
    return text.replace("\t", "\\t").replace("\n", "\\n").replace("\r", "\\r")


def register(main: click.Group) -> None:
    main.add_command(keys)
    main.add_command(qr)
