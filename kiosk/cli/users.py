"""CLI commands for staff accounts: ``kiosk users add|list|disable|enable|passwd|unlock``.

Registered on the main ``kiosk`` group by :func:`register`. Passwords are
asked for twice on the terminal (never taken as an argument, which would land
in the shell history); ``--password-stdin`` reads one line for scripts.
"""

from __future__ import annotations

import getpass
import sys
from pathlib import Path

import click

from kiosk.cli.common import config_option, load, open_database
from kiosk.services.accounts import ROLES, Accounts, forget_setup_code


def _actor() -> str:
    try:
        return f"cli:{getpass.getuser()}"
    except (KeyError, OSError):
        return "cli"


def _password(from_stdin: bool) -> str:
    if from_stdin:
        return sys.stdin.readline().rstrip("\r\n")
    return str(click.prompt("Password", hide_input=True, confirmation_prompt=True))


password_stdin = click.option(
    "--password-stdin", is_flag=True, help="Read the password from one line of standard input."
)


@click.group()
def users() -> None:
    """Officer and administrator accounts (the web console's logins)."""


@users.command("add")
@click.argument("username")
@click.option("--role", type=click.Choice(ROLES), default="officer", show_default=True)
@password_stdin
@config_option
def users_add(username: str, role: str, password_stdin: bool, config_path: Path | None) -> None:
    """Add a user (at least 12 characters; common passwords are refused)."""
    config = load(config_path)
    password = _password(password_stdin)
    with open_database(config) as db:
        user = Accounts(db).add_user(username, role, password, actor=_actor())
    if user.role == "admin":
        forget_setup_code(config.data_dir)  # an administrator exists: the setup page is gone
    click.echo(f"added {user.role} {user.username}")


@users.command("list")
@config_option
def users_list(config_path: Path | None) -> None:
    """List users: name, role, status, created."""
    config = load(config_path)
    with open_database(config) as db:
        found = Accounts(db).users()
    if not found:
        click.echo("no users yet: add the administrator with `kiosk users add NAME --role admin`")
    for u in found:
        status = "disabled" if u.disabled else "active"
        click.echo(f"{u.username}\t{u.role}\t{status}\t{u.created_at:%Y-%m-%d}")


@users.command("disable")
@click.argument("username")
@config_option
def users_disable(username: str, config_path: Path | None) -> None:
    """Disable a user; their sessions end at once (the last administrator stays)."""
    config = load(config_path)
    with open_database(config) as db:
        Accounts(db).set_disabled(username, True, actor=_actor())
    click.echo(f"disabled {username}")


@users.command("enable")
@click.argument("username")
@config_option
def users_enable(username: str, config_path: Path | None) -> None:
    """Enable a disabled user again."""
    config = load(config_path)
    with open_database(config) as db:
        Accounts(db).set_disabled(username, False, actor=_actor())
    click.echo(f"enabled {username}")


@users.command("passwd")
@click.argument("username")
@password_stdin
@config_option
def users_passwd(username: str, password_stdin: bool, config_path: Path | None) -> None:
    """Set a new password; the user's sessions end."""
    config = load(config_path)
    password = _password(password_stdin)
    with open_database(config) as db:
        Accounts(db).set_password(username, password, actor=_actor())
    click.echo(f"password of {username} changed")


@users.command("unlock")
@click.argument("username")
@config_option
def users_unlock(username: str, config_path: Path | None) -> None:
    """Forget a user's failed logins, so every client may try again at once."""
    config = load(config_path)
    with open_database(config) as db:
        cleared = Accounts(db).unlock(username, actor=_actor())
    click.echo(f"unlocked {username} ({cleared} failed attempt(s) forgotten)")


def register(main: click.Group) -> None:
    main.add_command(users)
