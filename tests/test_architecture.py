"""Layering rules that keep the domain pure and the UI thin."""

from __future__ import annotations

import subprocess
import sys
from pathlib import Path

ROOT = Path(__file__).resolve().parent.parent
FORBIDDEN_IN_DOMAIN = (
    "flask",
    "cv2",
    "smbus2",
    "gpiozero",
    "sqlite3",
    "numpy",
    "zxingcpp",
    "drivers",
    "ui",
    "kiosk.storage",
    "kiosk.services",
)


def test_domain_imports_no_framework_or_hardware_module() -> None:
    code = (
        "import sys, kiosk.domain.admission, kiosk.domain.clock, kiosk.domain.temperature, "
        "kiosk.domain.reasons\n"
        f"bad = [m for m in sys.modules if m.split('.')[0] in {FORBIDDEN_IN_DOMAIN!r} "
        f"or m in {FORBIDDEN_IN_DOMAIN!r}]\n"
        "print(','.join(sorted(bad)))"
    )
    out = subprocess.run(
        [sys.executable, "-c", code], capture_output=True, text=True, check=True, cwd=ROOT
    ).stdout.strip()
    assert out == ""


def test_declared_layer_contracts_hold() -> None:
    """The import rules are import-linter contracts in pyproject.toml ([tool.importlinter]):
    a pure domain, drivers without the kiosk, a UI without devices or SQL, storage below the
    services, and the layers ui/cli → services → domain. ``make lint`` runs them too."""
    lint_imports = Path(sys.executable).with_name("lint-imports")
    result = subprocess.run(
        [str(lint_imports), "--no-cache"], capture_output=True, text=True, cwd=ROOT
    )
    assert result.returncode == 0, result.stdout + result.stderr
    assert "0 broken" in result.stdout


def test_sql_lives_only_in_the_storage_package() -> None:
    for path in list((ROOT / "kiosk").rglob("*.py")) + list((ROOT / "ui").rglob("*.py")):
        if "storage" in path.parts:
            continue
        text = path.read_text(encoding="utf-8")
        for keyword in ("INSERT INTO", "UPDATE day_counters", "SELECT * FROM"):
            assert keyword not in text, (path, keyword)


def test_drivers_load_without_the_kiosk() -> None:
    """Every driver module imports in a fresh interpreter without loading ``kiosk`` or ``ui``.

    ``lgpio_factory`` needs the Pi's ``lgpio`` module, absent here: its imports are checked by
    the import-linter contract instead.
    """
    names = sorted(
        f"drivers.{p.stem}"
        for p in (ROOT / "drivers").glob("*.py")
        if p.stem not in ("__init__", "lgpio_factory")
    )
    assert "drivers.mlx90614" in names and "drivers.camera_factory" in names
    code = (
        f"import sys, {', '.join(names)}\n"
        "print(','.join(sorted(m for m in sys.modules if m.split('.')[0] in ('kiosk', 'ui'))))"
    )
    out = subprocess.run(
        [sys.executable, "-c", code], capture_output=True, text=True, check=True, cwd=ROOT
    ).stdout.strip()
    assert out == ""


def test_the_kiosk_and_the_drivers_share_one_class_per_device_error() -> None:
    import drivers.errors
    import kiosk.errors

    for name in ("SensorError", "CameraError", "DeviceError", "InputError"):
        assert getattr(kiosk.errors, name) is getattr(drivers.errors, name), name
        assert issubclass(getattr(kiosk.errors, name), drivers.errors.DriverError)
    assert set(kiosk.errors.EXPECTED_ERRORS) == {
        kiosk.errors.KioskError,
        drivers.errors.DriverError,
    }
