"""Deployment files: systemd units, the Chromium policy and the Pi install script."""

from __future__ import annotations

import json
import re
import shutil
import subprocess
from pathlib import Path
from urllib.parse import urlsplit

import pytest

ROOT = Path(__file__).resolve().parent.parent
SYSTEMD = ROOT / "systemd"
INSTALL = ROOT / "deploy" / "install-pi.sh"
KIOSK_URL = "http://127.0.0.1:8081"  # the local listener: the screen never queues behind the LAN

Unit = dict[str, list[tuple[str, str]]]


def parse_unit(path: Path) -> Unit:
    """A systemd unit as ``{section: [(key, value), …]}``; keys may repeat."""
    sections: Unit = {}
    current: list[tuple[str, str]] | None = None
    logical = ""
    for raw in path.read_text(encoding="utf-8").splitlines():
        line = logical + raw.strip()
        if line.endswith("\\"):
            logical = line[:-1] + " "
            continue
        logical = ""
        if not line or line.startswith(("#", ";")):
            continue
        if line.startswith("[") and line.endswith("]"):
            current = sections.setdefault(line[1:-1], [])
            continue
        assert current is not None, f"{path.name}: {line!r} outside a section"
        key, sep, value = line.partition("=")
        assert sep and key.strip() and key.strip() == key.strip().replace(" ", ""), line
        current.append((key.strip(), value.strip()))
    assert not logical, f"{path.name}: dangling line continuation"
    return sections


def values(unit: Unit, section: str, key: str) -> list[str]:
    return [v for k, v in unit.get(section, []) if k == key]


def value(unit: Unit, section: str, key: str) -> str:
    found = values(unit, section, key)
    assert len(found) == 1, f"[{section}] {key}: {found}"
    return found[0]


# -- kiosk.service -----------------------------------------------------------------------------


@pytest.fixture(scope="module")
def service() -> Unit:
    return parse_unit(SYSTEMD / "kiosk.service")


@pytest.mark.parametrize(
    ("key", "expected"),
    [
        ("User", "kiosk"),
        ("ExecStart", "/opt/kiosk/.venv/bin/kiosk run"),
        ("Type", "notify"),
        ("Restart", "on-failure"),
        ("WorkingDirectory", "/var/lib/kiosk"),
        ("StateDirectory", "kiosk"),
        ("ReadWritePaths", "/var/lib/kiosk"),
        ("KillSignal", "SIGTERM"),
        ("TimeoutStopSec", "10"),
        ("NoNewPrivileges", "yes"),
        ("ProtectSystem", "strict"),
        ("ProtectHome", "yes"),
        ("PrivateTmp", "yes"),
        ("PrivateDevices", "no"),
        ("DevicePolicy", "closed"),
    ],
)
def test_kiosk_service_setting(service: Unit, key: str, expected: str) -> None:
    assert value(service, "Service", key) == expected


def test_kiosk_service_needs_no_signing_key(service: Unit) -> None:
    """A gate has no signing key; LoadCredential= naming a missing file fails the unit."""
    assert not values(service, "Service", "LoadCredential")
    assert not values(service, "Service", "SetCredential")


def test_signing_key_drop_in_is_installed_only_with_the_key() -> None:
    drop_in = parse_unit(SYSTEMD / "kiosk.service.d" / "signing-key.conf")
    assert values(drop_in, "Service", "LoadCredential") == [
        "booking-signing.pem:/etc/kiosk/credentials/booking-signing.pem"
    ]
    text = INSTALL.read_text(encoding="utf-8")
    assert 'SIGNING_KEY="$ETC/credentials/booking-signing.pem"' in text
    guarded = re.search(
        r"if \[\[ -f \$SIGNING_KEY \]\]; then\n(.*?)\n    else\n(.*?)\n    fi", text, re.S
    )
    assert guarded, "the drop-in must be installed only when the key exists"
    assert "kiosk.service.d/signing-key.conf" in guarded.group(1)
    assert 'rm -f "$UNIT_DIR/kiosk.service.d/signing-key.conf"' in guarded.group(2)


def test_kiosk_service_groups_devices_and_environment(service: Unit) -> None:
    assert set(value(service, "Service", "SupplementaryGroups").split()) == {"gpio", "i2c", "video"}
    allowed = {v.split()[0] for v in values(service, "Service", "DeviceAllow")}
    assert allowed == {
        "char-i2c",
        "char-gpiochip",
        "char-video4linux",
        "char-media",
        "char-dma_heap",
    }
    env = values(service, "Service", "Environment")
    assert "KIOSK_CONFIG=/etc/kiosk/kiosk.toml" in env
    assert value(service, "Install", "WantedBy") == "multi-user.target"


def test_watchdog_is_set_only_with_notify_access(service: Unit) -> None:
    """WatchdogSec without someone pinging would kill a healthy kiosk every 30 s."""
    assert int(value(service, "Service", "WatchdogSec")) >= 10
    assert value(service, "Service", "NotifyAccess") == "main"
    assert (ROOT / "kiosk" / "watchdog.py").is_file()


# -- kiosk-browser.service ---------------------------------------------------------------------


@pytest.fixture(scope="module")
def browser() -> Unit:
    return parse_unit(SYSTEMD / "kiosk-browser.service")


def test_browser_runs_as_its_own_unprivileged_user(browser: Unit) -> None:
    assert value(browser, "Service", "User") == "kiosk-ui"
    after = " ".join(values(browser, "Unit", "After")).split()
    assert "kiosk.service" in after and "graphical.target" in after
    assert value(browser, "Install", "WantedBy") == "graphical.target"


def test_browser_waits_for_the_kiosk_health_check(browser: Unit) -> None:
    assert f"{KIOSK_URL}/healthz" in value(browser, "Service", "ExecStartPre")


@pytest.mark.parametrize(
    "flag",
    [
        "--kiosk",
        "--noerrdialogs",
        "--disable-infobars",
        "--incognito",
        "--no-first-run",
        "--disable-translate",
        "--overscroll-history-navigation=0",
        "--disable-pinch",
    ],
)
def test_browser_kiosk_flags(browser: Unit, flag: str) -> None:
    command = value(browser, "Service", "ExecStart").split()
    assert "/usr/bin/chromium" in command
    assert flag in command
    assert command[-1] == f"{KIOSK_URL}/"


# -- Chromium policy ---------------------------------------------------------------------------


@pytest.fixture(scope="module")
def policy() -> dict[str, object]:
    data = json.loads((SYSTEMD / "chromium-policy.json").read_text(encoding="utf-8"))
    assert isinstance(data, dict)
    return data


def _filter_parts(pattern: str) -> tuple[str | None, str, int | None, str] | None:
    """``scheme, host, port, path`` of an http(s)/wildcard URL filter (else None)."""
    if pattern == "*":
        return None, "*", None, ""
    scheme, sep, rest = pattern.partition("://")
    if not sep:
        scheme, rest = "", pattern
    if scheme not in ("", "http", "https"):
        return None  # file://, chrome:// … never match an http URL
    hostport, slash, path = rest.partition("/")
    host, _, port = hostport.partition(":")
    if port and not port.isdigit():
        return None  # "view-source:*" and other custom-scheme patterns
    return scheme or None, host, int(port) if port else None, slash + path


def allowed(policy: dict[str, object], url: str) -> bool:
    """Chromium's URLBlocklist/URLAllowlist decision for an http URL (documented filter
    format: the most specific host wins, then the longest path prefix; an allowlist
    filter wins a tie; '*' is searched last; nothing matching means allowed)."""
    parts = urlsplit(url)
    port = parts.port or (443 if parts.scheme == "https" else 80)
    best: tuple[int, int, bool] | None = None  # (host rank, path length, allow)
    for allow, key in ((False, "URLBlocklist"), (True, "URLAllowlist")):
        for pattern in policy.get(key, []):  # type: ignore[attr-defined]
            filt = _filter_parts(pattern)
            if filt is None:
                continue
            scheme, host, fport, path = filt
            if host != "*" and host.lstrip(".") != parts.hostname:
                continue
            if scheme not in (None, parts.scheme) or fport not in (None, port):
                continue
            if not (parts.path or "/").startswith(path):
                continue
            rank = (0 if host == "*" else 1, len(path), allow)
            best = rank if best is None or rank > best else best
    return True if best is None else best[2]


@pytest.mark.parametrize(
    "path",
    [
        "/",
        "/?lang=en",
        "/static/kiosk.js",
        "/static/kiosk.css",
        "/static/sounds/admitted.wav",
        "/api/today",
        "/api/events",
        "/api/staff/pin",
        "/api/csrf",
        "/static/staff-pin.js",
    ],
)
def test_policy_allows_the_citizen_page_and_what_it_loads(
    policy: dict[str, object], path: str
) -> None:
    assert allowed(policy, KIOSK_URL + path)


@pytest.mark.parametrize(
    "url",
    [
        f"{KIOSK_URL}/officer",
        f"{KIOSK_URL}/officer/login",
        f"{KIOSK_URL}/admin",
        f"{KIOSK_URL}/admin/users?x=1",
        f"{KIOSK_URL}/sim",
        f"{KIOSK_URL}/api/sim/present",
        f"{KIOSK_URL}/api/officer/override",
        f"{KIOSK_URL}/healthz",
        "http://127.0.0.1:8080/",
        "https://127.0.0.1:8081/officer",
        "http://localhost:8081/officer",
        "https://www.google.com/",
        "http://192.168.1.1/",
    ],
)
def test_policy_blocks_staff_pages_and_everything_else(policy: dict[str, object], url: str) -> None:
    assert not allowed(policy, url)


def test_policy_blocks_local_files_and_browser_pages(policy: dict[str, object]) -> None:
    blocked = policy["URLBlocklist"]
    assert {"*", "file://*", "chrome://*", "view-source:*"} <= set(blocked)  # type: ignore[arg-type]


def test_policy_every_route_but_the_citizen_ones_is_blocked(
    policy: dict[str, object], client: object
) -> None:
    """Routes added later (officer, admin, …) must be blocked here or listed as citizen's."""
    citizen = {
        "/",
        "/static/<path:filename>",
        "/api/today",
        "/api/events",
        "/api/staff/pin",
        "/api/csrf",  # the staff keypad's token, fetched only when it is used
    }
    app = client.application  # type: ignore[attr-defined]
    for rule in app.url_map.iter_rules():
        path = re.sub(r"<[^>]+>", "x", rule.rule)
        assert allowed(policy, KIOSK_URL + path) is (rule.rule in citizen), rule.rule


@pytest.mark.parametrize(
    ("key", "expected"),
    [
        ("DeveloperToolsAvailability", 2),
        ("DownloadRestrictions", 3),
        ("PrintingEnabled", False),
        ("PasswordManagerEnabled", False),
        ("AutofillAddressEnabled", False),
        ("AutofillCreditCardEnabled", False),
        ("IncognitoModeAvailability", 2),
        ("BrowserGuestModeEnabled", False),
        ("ExtensionInstallBlocklist", ["*"]),
    ],
)
def test_policy_lockdown_settings(policy: dict[str, object], key: str, expected: object) -> None:
    assert policy[key] == expected


# -- install script ----------------------------------------------------------------------------


def test_install_script_is_valid_bash() -> None:
    subprocess.run(["bash", "-n", str(INSTALL)], check=True)


def test_install_script_is_shellcheck_clean() -> None:
    if shutil.which("shellcheck") is None:
        pytest.skip("shellcheck not installed")
    subprocess.run(["shellcheck", str(INSTALL)], check=True)


def test_install_script_is_strict_and_uses_system_site_packages() -> None:
    text = INSTALL.read_text(encoding="utf-8")
    assert "set -euo pipefail" in text
    assert "--system-site-packages" in text
    packages = re.search(r"^APT_PACKAGES=\(([^)]*)\)", text, re.M)
    assert packages
    assert {
        "python3-venv",
        "python3-picamera2",
        "python3-numpy",
        "python3-lgpio",
        "i2c-tools",
        "v4l-utils",
        "chromium",
        "cage",
        "curl",
    } <= set(packages.group(1).split())


def test_install_script_sets_the_hardware_watchdog_idempotently(tmp_path: Path) -> None:
    conf_dir = tmp_path / "system.conf.d"
    calls = tmp_path / "calls"
    script = (
        f'source "{INSTALL}"; SYSTEM_CONF_DIR="{conf_dir}"; '
        f'systemctl() {{ echo "$*" >>"{calls}"; }}; set_watchdog; set_watchdog'
    )
    subprocess.run(["bash", "-c", script], check=True, capture_output=True)
    text = (conf_dir / "kiosk-watchdog.conf").read_text(encoding="utf-8")
    assert "[Manager]\nRuntimeWatchdogSec=15s\n" in text
    assert calls.read_text(encoding="utf-8") == "daemon-reexec\n"  # the second run changed nothing


def test_install_script_creates_the_groups_the_unit_names(service: Unit) -> None:
    text = INSTALL.read_text(encoding="utf-8")
    created = re.search(r"for group in ([a-z0-9 ]+); do\n\s+getent group \"\$group\"", text)
    assert created, "the installer must create missing groups (groupadd --system)"
    assert set(value(service, "Service", "SupplementaryGroups").split()) <= set(
        created.group(1).split()
    )


def test_install_script_sets_i2c_to_50_khz_idempotently(tmp_path: Path) -> None:
    config = tmp_path / "config.txt"
    config.write_text("dtparam=audio=on\ndtparam=i2c_arm=on,i2c_arm_baudrate=400000\n")
    other = tmp_path / "bare.txt"
    other.write_text("# nothing yet\n[cm4]\notg_mode=1\n")

    def run() -> None:
        script = f'source "{INSTALL}"; set_i2c_config "{config}"; set_i2c_config "{other}"'
        subprocess.run(["bash", "-c", script], check=True)

    run()
    first = config.read_text(), other.read_text()
    run()
    assert (config.read_text(), other.read_text()) == first
    assert "dtparam=i2c_arm=on,i2c_arm_baudrate=50000" in first[0]
    assert "400000" not in first[0]
    assert first[1].endswith(
        "[all]\n# gate kiosk: I2C for the MLX90614 thermometer (10-100 kHz only)\ndtparam=i2c_arm=on\ndtparam=i2c_arm_baudrate=50000\n"
    )
