"""Signed codes end to end: keys, issue (ticket), verify, redemption, qr decode."""

from __future__ import annotations

import threading
from pathlib import Path
from typing import Any

import cv2
import pytest
from click.testing import CliRunner

from kiosk.cli import main
from kiosk.config import load_config
from kiosk.datadir import init_data_dir
from kiosk.services.runtime import Kiosk, simulate_present
from kiosk.vision.qr import decode_frame
from tests.datadir import shared_data
from tests.test_cli import today_text


def invoke(*args: str) -> Any:
    return CliRunner().invoke(main, list(args))


def add_code(config: Path, day: str) -> str:
    """`kiosk booking add` for Budi on ``day``; its QR payload (the last output line)."""
    result = invoke("booking", "add", "--config", str(config), "--date", day, "--name", "Budi")
    assert result.exit_code == 0, result.output
    return str(result.output.strip().splitlines()[-1])


@pytest.fixture
def signed_config(tmp_path: Path) -> Path:
    path = init_data_dir(tmp_path / "data")
    (tmp_path / "secret").mkdir()
    text = path.read_text().replace(
        'private_key = ""', f'private_key = "{tmp_path / "secret" / "signing.pem"}"'
    )
    path.write_text(text)
    result = invoke("keys", "generate", "--config", str(path))
    assert result.exit_code == 0, result.output
    return path


def test_private_key_inside_data_folder_is_refused(tmp_path: Path) -> None:
    path = init_data_dir(tmp_path / "data")
    result = invoke(
        "keys", "generate", "--config", str(path), "--private-key", str(tmp_path / "data" / "k.pem")
    )
    assert result.exit_code == 1
    assert "inside the data folder" in result.output


def test_issue_writes_a_ticket_whose_qr_verifies(signed_config: Path) -> None:
    result = invoke(
        "booking",
        "issue",
        "--config",
        str(signed_config),
        "--date",
        today_text(signed_config),
        "--name",
        "Siti Rahayu",
        "--service",
        "KTP-EL",
    )
    assert result.exit_code == 0, result.output
    lines = result.output.strip().splitlines()
    code = lines[-1]
    assert code.startswith("KB:")
    png = Path(next(line.split(": ", 1)[1] for line in lines if line.endswith(".png")))
    pdf = png.with_suffix(".pdf")
    assert pdf.read_bytes().startswith(b"%PDF")
    assert decode_frame(cv2.imread(str(png))) == [code]
    verdict = invoke("booking", "verify", "--config", str(signed_config), code)
    assert verdict.exit_code == 0
    assert verdict.output.startswith("valid")


@pytest.mark.parametrize(
    "mangle, reason",
    [
        # one base32 character inside the signature: still canonical, so it must be the signature
        (lambda c: c[:-10] + ("B" if c[-10] != "B" else "C") + c[-9:], "bad_signature"),
        (lambda c: "hello", "qr_invalid"),
        (lambda c: "KB:" + "A" * 600, "qr_invalid"),
    ],
)
def test_verify_rejects_with_reason_code(signed_config: Path, mangle: Any, reason: str) -> None:
    code = add_code(signed_config, today_text(signed_config))
    result = invoke("booking", "verify", "--config", str(signed_config), mangle(code))
    assert result.exit_code == 1
    assert result.output.split("\t")[1] == reason


def test_verify_wrong_date_says_which(signed_config: Path) -> None:
    code = add_code(signed_config, "2030-01-02")
    result = invoke("booking", "verify", "--config", str(signed_config), code)
    assert result.exit_code == 1
    assert "booking_wrong_date" in result.output
    assert "2030-01-02" in result.output


def test_revoked_key_refuses_its_codes(signed_config: Path, tmp_path: Path) -> None:
    code = add_code(signed_config, today_text(signed_config))
    key_id = invoke("keys", "list", "--config", str(signed_config)).output.split("\t")[0]
    # A second key first, so the list still has an active key after the revocation.
    second = invoke(
        "keys",
        "generate",
        "--config",
        str(signed_config),
        "--private-key",
        str(tmp_path / "secret" / "k2.pem"),
    )
    assert second.exit_code == 0, second.output
    assert invoke("keys", "revoke", "--config", str(signed_config), key_id).exit_code == 0
    result = invoke("booking", "verify", "--config", str(signed_config), code)
    assert result.exit_code == 1
    assert "key_revoked" in result.output


@pytest.mark.parametrize("window, others", [(0, "booking_used"), (480, "readmitted")])
def test_concurrent_redemptions_use_exactly_one_slot(
    signed_config: Path, window: int, others: str
) -> None:
    code = add_code(signed_config, today_text(signed_config))
    # Re-entry at once and without limit, so every re-scan is a re-entry (#15 refuses them
    # by default: see test_capacity_service.py).
    reentry = {"reentry_min_minutes": 0, "reentries_per_day": 100}
    config = load_config(signed_config).replace(
        admission={"reentry_window_minutes": window, **reentry}
    )
    kiosks = [Kiosk.start(config) for _ in range(4)]  # four gates on one database
    results: list[Any] = []
    barrier = threading.Barrier(20)

    def redeem(k: Kiosk) -> None:
        barrier.wait()
        k.simulator.set_body_temperature(36.6)  # type: ignore[union-attr]
        results.append(k.gate.scan(code))

    threads = [threading.Thread(target=redeem, args=(kiosks[i % 4],)) for i in range(20)]
    for t in threads:
        t.start()
    for t in threads:
        t.join()
    for k in kiosks:
        k.close()
    reasons = sorted(r.decision.reason.value for r in results)
    assert reasons.count("admitted") == 1
    assert reasons.count(others) == 19
    assert sum(r.decision.uses_slot for r in results) == 1


def test_signed_code_through_the_simulated_camera(signed_config: Path) -> None:
    code = add_code(signed_config, today_text(signed_config))
    config = load_config(signed_config).replace(admission={"reentry_min_minutes": 0})
    kiosk = Kiosk.start(config)
    try:
        assert simulate_present(kiosk, code, 36.6).decision.reason.value == "admitted"
        assert simulate_present(kiosk, code, 36.6).decision.reason.value == "readmitted"
    finally:
        kiosk.close()


def test_qr_decode_prints_file_tab_text(tmp_path: Path) -> None:
    photos = shared_data("qr-photos")
    sample = sorted(photos.glob("qrcode-1/*.png"))[0]
    expected = sample.with_suffix(".txt").read_text(encoding="utf-8")
    blank = tmp_path / "blank.png"
    cv2.imwrite(str(blank), 255 * __import__("numpy").ones((100, 100), dtype="uint8"))
    result = invoke("qr", "decode", str(sample), str(blank))
    assert result.exit_code == 0
    lines = result.output.splitlines()
    assert lines[0].split("\t", 1)[0] == str(sample)
    assert lines[0].split("\t", 1)[1].replace("\\n", "\n") == expected
    assert lines[1] == f"{blank}\t-"
