"""Host side of the deployment test: a Debian 12 container booted with systemd-nspawn.

The base root file system (debootstrap --variant=minbase) is cached outside the repository
(``KIOSK_DEPLOY_CACHE``, default /var/cache/kiosk-deploy-test) together with the .debs and
wheels the installer downloads, so a second run only copies it and boots. Everything the
container needs from the network is configured from the host's own settings: the APT
sources, the pip configuration and the folders it points to. No host name is written here.
"""

from __future__ import annotations

import contextlib
import hashlib
import os
import re
import shlex
import shutil
import signal
import subprocess
import time
from collections.abc import Iterable, Iterator
from dataclasses import dataclass, field
from pathlib import Path

REPO = Path(__file__).resolve().parents[2]
HERE = Path(__file__).resolve().parent
SUITE = "bookworm"
INCLUDE = "systemd,systemd-sysv,dbus,python3,python3-venv,ca-certificates,curl"
BASE_STAMP = ".kiosk-deploy-base"

# Packages the installer takes from the Raspberry Pi repository (absent from Debian 12):
# name -> Depends of the dummy. python3-picamera2's real package depends on Debian's numpy
# (with simplejpeg, libcamera … that exist only there); the dummy brings no module at all,
# so the kiosk sees no camera stack, as on a Pi without a camera.
RPI_ONLY_PACKAGES = {
    "python3-picamera2": "python3-numpy",
    "python3-lgpio": "",
}

APT_SOURCES = Path("/etc/apt")
PIP_CONFIG_FILES = (
    Path("/etc/pip.conf"),
    Path("/etc/xdg/pip/pip.conf"),
    Path("/root/.config/pip/pip.conf"),
    Path("/root/.pip/pip.conf"),
)


def cache_dir() -> Path:
    return Path(os.environ.get("KIOSK_DEPLOY_CACHE", "/var/cache/kiosk-deploy-test"))


# -- the host's configuration ------------------------------------------------------------------


def _deb822_stanzas(text: str) -> Iterator[dict[str, str]]:
    stanza: dict[str, str] = {}
    key = ""
    for line in [*text.splitlines(), ""]:
        if line.startswith("#"):
            continue
        if not line.strip():
            if stanza:
                yield stanza
            stanza, key = {}, ""
        elif line[0].isspace() and key:
            stanza[key] += " " + line.strip()
        elif ":" in line:
            key, _, value = line.partition(":")
            key = key.strip().lower()
            stanza[key] = value.strip()


def debian_mirror(etc_apt: Path = APT_SOURCES, suite: str = SUITE) -> str:
    """The URI of the host's APT source for ``suite`` main (deb822 files first)."""
    for path in sorted((etc_apt / "sources.list.d").glob("*.sources")):
        for st in _deb822_stanzas(path.read_text(encoding="utf-8")):
            if st.get("enabled", "yes").lower() == "no" or "deb" not in st.get("types", "").split():
                continue
            if suite in st.get("suites", "").split() and "main" in st.get("components", "").split():
                return st["uris"].split()[0]
    lists = [etc_apt / "sources.list", *sorted((etc_apt / "sources.list.d").glob("*.list"))]
    for path in lists:
        if not path.is_file():
            continue
        for line in path.read_text(encoding="utf-8").splitlines():
            words = re.sub(r"\[[^]]*\]", " ", line.split("#", 1)[0]).split()
            if len(words) >= 4 and words[0] == "deb" and words[2] == suite and "main" in words[3:]:
                return words[1]
    raise LookupError(f"no APT source for {suite} main in {etc_apt}")


def apt_source_files(etc_apt: Path = APT_SOURCES) -> list[Path]:
    found = [etc_apt / "sources.list"] if (etc_apt / "sources.list").is_file() else []
    for pattern in ("*.list", "*.sources"):
        found += sorted((etc_apt / "sources.list.d").glob(pattern))
    return found


def _paths_in(text: str) -> Iterator[Path]:
    for token in re.split(r"[\s,=;]+", text):
        token = token.removeprefix("file://")
        if token.startswith("/"):
            yield Path(token)


@dataclass
class PipConfig:
    """The host's pip configuration: files to copy, folders to bind read-only, environment."""

    files: list[Path] = field(default_factory=list)
    folders: list[Path] = field(default_factory=list)
    env: dict[str, str] = field(default_factory=dict)


def host_pip_config(environ: dict[str, str] | None = None) -> PipConfig:
    environ = dict(os.environ if environ is None else environ)
    conf = PipConfig(env={k: v for k, v in environ.items() if k.startswith("PIP_")})
    texts = list(conf.env.values())
    configs = [*PIP_CONFIG_FILES]
    if "PIP_CONFIG_FILE" in conf.env:
        configs.append(Path(conf.env["PIP_CONFIG_FILE"]))
    for path in configs:
        if path.is_file():
            conf.files.append(path)
            text = path.read_text(encoding="utf-8")
            texts.append(text)
    for path in (p for text in texts for p in _paths_in(text)):
        path = path.resolve() if path.exists() else path
        if path.is_dir() and path.name == "simple":
            path = path.parent  # a file:// index links to ../../files/… next to it
        if path.is_dir() and path not in conf.folders:
            conf.folders.append(path)
        elif path.is_file() and path not in conf.files:
            conf.files.append(path)
    return conf


# -- root file systems -------------------------------------------------------------------------


def _run(cmd: list[str], **kw: object) -> subprocess.CompletedProcess[str]:
    return subprocess.run(cmd, check=True, text=True, **kw)  # type: ignore[call-overload,no-any-return]


def base_root(mirror: str, log: Path) -> tuple[Path, bool]:
    """The cached debootstrap root (built when missing); True when it was built now."""
    cache = cache_dir()
    base = cache / "base"
    stamp = f"debootstrap --variant=minbase --include={INCLUDE} {SUITE}\n"
    if (base / BASE_STAMP).is_file() and (base / BASE_STAMP).read_text() == stamp:
        return base, False
    cache.mkdir(parents=True, exist_ok=True)
    tmp = cache / "base.tmp"
    shutil.rmtree(tmp, ignore_errors=True)
    cmd = ["debootstrap", "--variant=minbase", f"--include={INCLUDE}", SUITE, str(tmp), mirror]
    with log.open("a") as out:
        out.write("$ " + shlex.join(cmd) + "\n")
        out.flush()
        _run(cmd, stdout=out, stderr=subprocess.STDOUT, timeout=900)
    (tmp / BASE_STAMP).write_text(stamp)
    shutil.rmtree(base, ignore_errors=True)
    tmp.rename(base)
    return base, True


def copy_root(base: Path, dest: Path) -> None:
    shutil.rmtree(dest, ignore_errors=True)
    _run(["cp", "-a", "--reflink=auto", str(base), str(dest)])


def build_dummy_debs(repo: Path, packages: dict[str, str]) -> None:
    """Empty packages named like the Raspberry Pi repository's, as a flat APT repository."""
    repo.mkdir(parents=True, exist_ok=True)
    entries = []
    for name, depends in packages.items():
        pkg = repo / f"{name}.build"
        (pkg / "DEBIAN").mkdir(parents=True)
        doc = pkg / "usr" / "share" / "doc" / name
        doc.mkdir(parents=True)
        (doc / "README.kiosk-deploy-test").write_text(
            "Placeholder for a Raspberry Pi OS package (kiosk deployment test): no files.\n"
        )
        control = [
            f"Package: {name}",
            "Version: 0~kiosk.deploy.test",
            "Architecture: all",
            "Maintainer: kiosk deployment test <root@localhost>",
            *([f"Depends: {depends}"] if depends else []),
            f"Description: placeholder for the Raspberry Pi OS package {name}",
        ]
        (pkg / "DEBIAN" / "control").write_text("\n".join(control) + "\n")
        deb = repo / f"{name}_0~kiosk.deploy.test_all.deb"
        _run(["dpkg-deb", "--root-owner-group", "--build", str(pkg), str(deb)], capture_output=True)
        shutil.rmtree(pkg)
        data = deb.read_bytes()
        entries.append(
            "\n".join(
                [
                    *control[:-1],
                    f"Filename: ./{deb.name}",
                    f"Size: {len(data)}",
                    f"SHA256: {hashlib.sha256(data).hexdigest()}",
                    control[-1],
                ]
            )
        )
    (repo / "Packages").write_text("\n\n".join(entries) + "\n")


def source_files(repo: Path = REPO) -> Iterable[str]:
    """Tracked and untracked, not ignored files of the working tree (no .git, .venv, var)."""
    out = _run(
        ["git", "-C", str(repo), "ls-files", "-z", "-c", "-o", "--exclude-standard"],
        capture_output=True,
    ).stdout
    return sorted({name for name in out.split("\0") if name})


def copy_source(dest: Path, repo: Path = REPO) -> None:
    for name in source_files(repo):
        src = repo / name
        if not src.is_file() or src.is_symlink():
            continue
        target = dest / name
        target.parent.mkdir(parents=True, exist_ok=True)
        shutil.copy2(src, target)


def _copy_into(root: Path, path: Path) -> None:
    target = root / path.relative_to("/")
    target.parent.mkdir(parents=True, exist_ok=True)
    shutil.copy2(path, target)


@dataclass
class Prepared:
    root: Path
    results: Path
    binds: list[str]


def prepare_root(
    root: Path, results: Path, pip: PipConfig, *, wait_s: int, install_timeout_s: int
) -> Prepared:
    """Fakes, host configuration, the source tree and the test unit in a copied root."""
    # What only Raspberry Pi OS has.
    (root / "boot" / "firmware").mkdir(parents=True, exist_ok=True)
    (root / "boot" / "firmware" / "config.txt").write_text("")
    fakes = root / "opt" / "kiosk-deploy-test" / "rpi-fakes"
    build_dummy_debs(fakes, RPI_ONLY_PACKAGES)
    # APT: the host's sources (and the keyrings they name), plus the fakes' repository.
    (root / "etc" / "apt" / "sources.list").unlink(missing_ok=True)
    for path in apt_source_files():
        _copy_into(root, path)
        for key in _paths_in(path.read_text(encoding="utf-8")):
            if key.is_file() and not (root / key.relative_to("/")).exists():
                _copy_into(root, key)
    for path in sorted((APT_SOURCES / "apt.conf.d").glob("*")):
        if path.is_file() and "proxy" in path.read_text(errors="replace").lower():
            _copy_into(root, path)
    (root / "etc/apt/sources.list.d/kiosk-deploy-test-fakes.list").write_text(
        "deb [trusted=yes] file:/opt/kiosk-deploy-test/rpi-fakes ./\n"
    )
    # pip: configuration files and the files they name (e.g. the CA bundle of `cert =`)
    # copied, the folders they name bound read-only.
    for path in pip.files:
        _copy_into(root, path)
    env = "".join(f"{k}={shlex.quote(v)}\n" for k, v in sorted(pip.env.items()))
    env += f"KIOSK_DEPLOY_WAIT_S={wait_s}\nKIOSK_DEPLOY_INSTALL_TIMEOUT_S={install_timeout_s}\n"
    (root / "etc" / "kiosk-deploy-test.env").write_text(env)
    # The source folder, and the steps run at boot.
    copy_source(root / "root" / "src")
    script = root / "usr" / "local" / "sbin" / "kiosk-deploy-test"
    script.parent.mkdir(parents=True, exist_ok=True)
    shutil.copy2(HERE / "in_container.sh", script)
    script.chmod(0o755)
    unit = root / "etc" / "systemd" / "system" / "kiosk-deploy-test.service"
    shutil.copy2(HERE / "kiosk-deploy-test.service", unit)
    wants = root / "etc" / "systemd" / "system" / "multi-user.target.wants"
    wants.mkdir(parents=True, exist_ok=True)
    (wants / unit.name).unlink(missing_ok=True)
    (wants / unit.name).symlink_to("/etc/systemd/system/kiosk-deploy-test.service")
    # No login prompt on the console: its output is the test's log.
    (root / "etc/systemd/system/console-getty.service").symlink_to("/dev/null")
    results.mkdir(parents=True, exist_ok=True)
    apt_cache = cache_dir() / "apt-archives"
    pip_cache = cache_dir() / "pip-cache"
    (apt_cache / "partial").mkdir(parents=True, exist_ok=True)
    pip_cache.mkdir(parents=True, exist_ok=True)
    binds = [
        f"--bind={results}:/results",
        f"--bind={apt_cache}:/var/cache/apt/archives",
        f"--bind={pip_cache}:/root/.cache/pip",
        *(f"--bind-ro={folder}" for folder in _outermost(pip.folders)),
    ]
    return Prepared(root, results, binds)


def _outermost(folders: list[Path]) -> list[Path]:
    ordered = sorted(set(folders), key=lambda p: len(p.parts))
    keep: list[Path] = []
    for folder in ordered:
        if not any(folder.is_relative_to(k) for k in keep):
            keep.append(folder)
    return keep


# -- booting -----------------------------------------------------------------------------------

REBOOT = 133  # systemd-nspawn's exit status when the container asked for a reboot


def boot(prepared: Prepared, log: Path, timeout_s: float) -> int:
    """Boot the container until it powers off or reboots; killed when it outlives timeout_s."""
    cmd = [
        "systemd-nspawn",
        "--register=no",
        "--keep-unit",
        "--quiet",
        "--console=read-only",
        f"--machine={prepared.root.name}",
        "-D",
        str(prepared.root),
        *prepared.binds,
        "-b",
    ]
    with log.open("a") as out:
        out.write(f"\n$ {shlex.join(cmd)}\n")
        out.flush()
        proc = subprocess.Popen(
            cmd,
            stdin=subprocess.DEVNULL,
            stdout=out,
            stderr=subprocess.STDOUT,
            start_new_session=True,
        )
        try:
            return proc.wait(timeout=timeout_s)
        except subprocess.TimeoutExpired:
            out.write(f"\n!! container still running after {timeout_s:.0f} s: stopping it\n")
            stop(proc, prepared.root)
            return -1
        finally:
            if proc.poll() is None:
                stop(proc, prepared.root)


def stop(proc: subprocess.Popen[bytes], root: Path) -> None:
    """SIGTERM (an orderly poweroff inside), then SIGKILL to nspawn and what runs in root."""
    with contextlib.suppress(OSError):
        os.killpg(proc.pid, signal.SIGTERM)
    try:
        proc.wait(timeout=20)
    except subprocess.TimeoutExpired:
        with contextlib.suppress(OSError):
            os.killpg(proc.pid, signal.SIGKILL)
        proc.wait(timeout=10)
    for pid in processes_in(root):
        with contextlib.suppress(OSError):
            os.kill(pid, signal.SIGKILL)


def processes_in(root: Path) -> list[int]:
    """Processes whose root directory is ``root`` (left over from a killed container)."""
    found = []
    for entry in Path("/proc").iterdir():
        if entry.name.isdigit():
            with contextlib.suppress(OSError):
                if os.readlink(entry / "root") == str(root):
                    found.append(int(entry.name))
    return found


def wait_gone(root: Path, timeout_s: float = 10.0) -> None:
    deadline = time.monotonic() + timeout_s
    while processes_in(root) and time.monotonic() < deadline:
        time.sleep(0.2)
