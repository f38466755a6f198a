"""The ``kiosk/cli/`` package registers its own parts and no module imports it back."""

from __future__ import annotations

import ast
import subprocess
import sys
from pathlib import Path

import click

from kiosk.cli import main

CLI = Path(__file__).resolve().parent.parent / "kiosk" / "cli"


def _imported(path: Path) -> set[str]:
    """Every module (and every ``module.name``) the file imports, at any level."""
    names: set[str] = set()
    for node in ast.walk(ast.parse(path.read_text(encoding="utf-8"))):
        if isinstance(node, ast.Import):
            names.update(a.name for a in node.names)
        elif isinstance(node, ast.ImportFrom):
            assert node.level == 0, f"{path.name}: relative import"
            module = node.module or ""
            names.add(module)
            names.update(f"{module}.{a.name}" for a in node.names)
    return names


def test_no_command_module_imports_the_cli_package_back() -> None:
    modules = sorted(p for p in CLI.glob("*.py") if p.name not in ("__init__.py", "__main__.py"))
    assert len(modules) >= 10
    for path in modules:
        # `from kiosk.cli.common import load` names only the sibling; `from kiosk.cli import
        # main` (or `import kiosk.cli`) names the parent package itself.
        assert "kiosk.cli" not in _imported(path), f"{path.name} imports its parent package"


def test_the_common_helpers_are_a_leaf() -> None:
    assert not {n for n in _imported(CLI / "common.py") if n.startswith("kiosk.cli")}


def test_every_group_is_registered_on_main() -> None:
    top = set(main.commands)
    assert {"init", "check-config", "run", "booking", "today", "keys", "qr", "db", "doctor"} <= top
    assert {"calibrate", "sensor", "relay-off", "users", "faces"} <= top
    booking = main.commands["booking"]
    assert isinstance(booking, click.Group)
    assert set(booking.commands) == {"add", "import", "list", "demo", "sync", "issue", "verify"}
    db = main.commands["db"]
    assert isinstance(db, click.Group)
    assert set(db.commands) == {"upgrade", "purge", "backup", "restore"}


def test_python_dash_m_kiosk_cli_runs_the_command() -> None:
    done = subprocess.run(
        [sys.executable, "-m", "kiosk.cli", "--help"], capture_output=True, text=True, check=False
    )
    assert done.returncode == 0, done.stderr
    assert "Gate screening kiosk." in done.stdout and "check-config" in done.stdout
