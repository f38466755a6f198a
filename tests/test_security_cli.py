"""`kiosk users add|list|disable|enable|passwd`: staff accounts from the command line."""

from __future__ import annotations

from pathlib import Path
from typing import Any

from click.testing import CliRunner

from kiosk.cli import main
from kiosk.config import load_config
from kiosk.datadir import init_data_dir
from kiosk.services.accounts import Accounts, LoginRefused
from kiosk.storage import Database

PASSWORD = "seven blue kites over sragen"


def users(config: Path, *args: str, stdin: str | None = None) -> Any:
    return CliRunner().invoke(main, ["users", *args, "--config", str(config)], input=stdin)


def authenticate(config: Path, name: str, password: str) -> str:
    db = Database(load_config(config).database_path)
    try:
        return Accounts(db).authenticate(name, password).role
    except LoginRefused:
        return "refused"
    finally:
        db.close()


def test_users_commands(tmp_path: Path) -> None:
    config = init_data_dir(tmp_path / "d")
    assert "no users yet" in users(config, "list").output
    added = users(config, "add", "Kepala", "--role", "admin", stdin=f"{PASSWORD}\n{PASSWORD}\n")
    assert added.exit_code == 0, added.output
    assert "added admin kepala" in added.output
    assert PASSWORD not in added.output  # hidden prompt
    assert users(config, "add", "siti", "--password-stdin", stdin=f"{PASSWORD}\n").exit_code == 0
    listing = users(config, "list").output
    assert "kepala\tadmin\tactive" in listing and "siti\tofficer\tactive" in listing
    assert authenticate(config, "siti", PASSWORD) == "officer"

    assert users(config, "disable", "siti").exit_code == 0
    assert "siti\tofficer\tdisabled" in users(config, "list").output
    assert authenticate(config, "siti", PASSWORD) == "refused"
    assert users(config, "enable", "siti").exit_code == 0

    new = "another long passphrase here"
    assert users(config, "passwd", "siti", "--password-stdin", stdin=new + "\n").exit_code == 0
    assert authenticate(config, "siti", new) == "officer"


def test_users_errors_are_one_line(tmp_path: Path) -> None:
    config = init_data_dir(tmp_path / "d")
    weak = users(config, "add", "budi", "--password-stdin", stdin="password1234\n")
    assert weak.exit_code == 1 and "error: password is too common" in weak.output
    users(config, "add", "kepala", "--role", "admin", "--password-stdin", stdin=PASSWORD + "\n")
    last = users(config, "disable", "kepala")
    assert last.exit_code == 1 and "last administrator" in last.output
    assert users(config, "disable", "nobody").exit_code == 1
    dup = users(config, "add", "KEPALA", "--password-stdin", stdin=PASSWORD + "\n")
    assert "already exists" in dup.output
