"""The deployment test's host side (tests/deploy/nspawn.py): what it reads from the host."""

from __future__ import annotations

import hashlib
import shutil
import subprocess
from pathlib import Path

import pytest

from tests.deploy import nspawn

DEB822 = """\
Types: deb-src
URIs: http://src.example.invalid/debian
Suites: bookworm
Components: main

Types: deb
# a comment inside a stanza
URIs: http://mirror.example.invalid/debian
Suites: bookworm bookworm-updates
Components: main contrib
Signed-By: /usr/share/keyrings/debian-archive-keyring.gpg
"""


def _etc_apt(tmp_path: Path, sources: str = "", one_line: str = "") -> Path:
    etc = tmp_path / "apt"
    (etc / "sources.list.d").mkdir(parents=True)
    if sources:
        (etc / "sources.list.d" / "debian.sources").write_text(sources)
    if one_line:
        (etc / "sources.list").write_text(one_line)
    return etc


def test_mirror_from_a_deb822_source(tmp_path: Path) -> None:
    etc = _etc_apt(tmp_path, DEB822)
    assert nspawn.debian_mirror(etc) == "http://mirror.example.invalid/debian"
    assert nspawn.apt_source_files(etc) == [etc / "sources.list.d" / "debian.sources"]


def test_disabled_stanzas_and_other_suites_are_skipped(tmp_path: Path) -> None:
    sources = DEB822.replace("Types: deb\n", "Types: deb\nEnabled: no\n")
    etc = _etc_apt(
        tmp_path,
        sources,
        "# old\ndeb http://old.example.invalid/debian bullseye main\n"
        "deb [arch=amd64 signed-by=/k.gpg] http://one.example.invalid/debian bookworm main\n",
    )
    assert nspawn.debian_mirror(etc) == "http://one.example.invalid/debian"


def test_no_source_for_the_suite_is_an_error(tmp_path: Path) -> None:
    with pytest.raises(LookupError, match="bookworm"):
        nspawn.debian_mirror(_etc_apt(tmp_path, one_line="deb http://x.invalid/d trixie main\n"))


def test_pip_config_names_folders_to_bind_and_files_to_copy(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    index = tmp_path / "pypi" / "simple"
    index.mkdir(parents=True)
    wheels = tmp_path / "wheels"
    (wheels / "sub").mkdir(parents=True)
    constraints = tmp_path / "constraints.txt"
    constraints.write_text("torch<=2\n")
    conf = tmp_path / "pip.conf"
    conf.write_text(
        f"[global]\nfind-links = {wheels}\nextra-index-url = file://{index}\n"
        f"constraint = {constraints}\n"
    )
    monkeypatch.setattr(nspawn, "PIP_CONFIG_FILES", (conf, tmp_path / "absent.conf"))
    pip = nspawn.host_pip_config({"PIP_FIND_LINKS": str(wheels / "sub"), "HOME": "/root"})
    assert pip.env == {"PIP_FIND_LINKS": str(wheels / "sub")}
    assert pip.files == [conf, constraints]
    # A file:// index links to ../../files/…: its parent folder is bound.
    assert set(nspawn._outermost(pip.folders)) == {tmp_path / "pypi", wheels}


@pytest.mark.skipif(shutil.which("dpkg-deb") is None, reason="dpkg-deb not installed")
def test_dummy_debs_form_a_flat_repository(tmp_path: Path) -> None:
    nspawn.build_dummy_debs(tmp_path, {"python3-picamera2": "python3-numpy", "python3-lgpio": ""})
    index = (tmp_path / "Packages").read_text().split("\n\n")
    assert len(index) == 2
    fields = dict(line.split(": ", 1) for line in index[0].strip().splitlines())
    deb = tmp_path / fields["Filename"]
    assert fields["Package"] == "python3-picamera2"
    assert fields["Depends"] == "python3-numpy"
    assert fields["SHA256"] == hashlib.sha256(deb.read_bytes()).hexdigest()
    info = subprocess.run(
        ["dpkg-deb", "--field", str(deb), "Package", "Version"],
        check=True,
        capture_output=True,
        text=True,
    ).stdout
    assert info.split() == ["Package:", "python3-picamera2", "Version:", "0~kiosk.deploy.test"]
    files = subprocess.run(
        ["dpkg-deb", "--contents", str(deb)], check=True, capture_output=True, text=True
    ).stdout
    assert "site-packages" not in files and "dist-packages" not in files  # no fake module


def test_installer_packages_missing_from_debian_are_faked() -> None:
    """The dummies cover exactly the installer's packages that only Raspberry Pi OS has."""
    text = (nspawn.REPO / "deploy" / "install-pi.sh").read_text(encoding="utf-8")
    for name in nspawn.RPI_ONLY_PACKAGES:
        assert name in text


def test_container_steps_are_shellcheck_clean() -> None:
    if shutil.which("shellcheck") is None:
        pytest.skip("shellcheck not installed")
    subprocess.run(["shellcheck", str(nspawn.HERE / "in_container.sh")], check=True)
