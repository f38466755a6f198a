"""Network partition between a gate and the shared PostgreSQL database.

Two gates share one cap on a real PostgreSQL server; gate A reaches it through
a TCP proxy that the test cuts mid-day. A goes into degraded mode, admits at
most its reserved share (signed codes only), refers everyone else; gate B keeps
admitting. When the link returns, A reconciles and the global total stays
within the cap.
"""

from __future__ import annotations

import time
from collections.abc import Callable
from datetime import UTC, date, datetime
from pathlib import Path
from typing import Any
from urllib.parse import urlsplit, urlunsplit

import pytest

from kiosk.domain.bookingcode import sign_code
from kiosk.keys import generate_key, load_private_key
from kiosk.services.runtime import Kiosk
from tests.conftest import FakeClock
from tests.tcpproxy import TcpProxy

DAY = date(2026, 11, 23)
CAP = 10


def through(proxy: TcpProxy, url: str) -> str:
    parts = urlsplit(url)
    netloc = parts.netloc.rsplit("@", 1)
    host = f"127.0.0.1:{proxy.port}"
    return urlunsplit(parts._replace(netloc=f"{netloc[0]}@{host}" if len(netloc) == 2 else host))


@pytest.fixture
def signer(tmp_path: Path) -> Callable[[str], str]:
    key_list = tmp_path / "keys" / "public-keys.json"
    private = tmp_path / "secret" / "signing.pem"
    private.parent.mkdir(mode=0o700)
    generate_key(private, key_list, today=date(2026, 11, 1))
    key = load_private_key(private)

    def sign(booking_id: str) -> str:
        return sign_code(
            office_id="OFFICE",
            booking_id=booking_id,
            service="KTP",
            valid_from=DAY,
            private_key=key,
        )

    sign.key_list = key_list  # type: ignore[attr-defined]
    return sign


@pytest.fixture
def proxy(pg_url: str) -> Any:
    """A TCP proxy in front of the test database that a test can cut and restore."""
    port = urlsplit(pg_url).port
    assert port is not None
    proxy = TcpProxy("127.0.0.1", port)
    yield proxy
    proxy.close()


def gate(
    make_kiosk: Callable[..., Kiosk], url: str, gate_id: str, keys: Path, **extra: Any
) -> Kiosk:
    return make_kiosk(
        clock=FakeClock(datetime(2026, 11, 23, 2, 0, tzinfo=UTC)),
        paths={"database_url": url},
        site={"gate_id": gate_id},
        admission={"daily_cap": CAP},
        bookings={"public_keys": str(keys)},
        partition={"after_s": 1.0, **extra},
    )


def present(kiosk: Kiosk, code: str) -> Any:
    from kiosk.services.runtime import simulate_present

    return simulate_present(kiosk, code, 36.6)


def shared_counts(kiosk: Kiosk) -> tuple[int, int, int]:
    """(slot-using entries, counter, reserved-unused) on DAY in the shared database."""
    with kiosk.db.transaction(write=False) as conn:
        slots = conn.execute(
            "SELECT COUNT(*) FROM entries WHERE business_date = ? AND uses_slot = 1",
            (DAY.isoformat(),),
        ).fetchone()[0]
        used = conn.execute(
            "SELECT used FROM day_counters WHERE business_date = ?", (DAY.isoformat(),)
        ).fetchone()[0]
        held = conn.execute(
            "SELECT COALESCE(SUM(slots), 0) FROM gate_reservations WHERE business_date = ?",
            (DAY.isoformat(),),
        ).fetchone()[0]
    return int(slots), int(used), int(held)


def wait_degraded(kiosk: Kiosk) -> None:
    deadline = time.monotonic() + 10
    while not kiosk.gate.partition.degraded:
        assert time.monotonic() < deadline, "gate never went degraded"
        kiosk.gate.today()  # each failed attempt is noticed
        time.sleep(0.1)


def test_partition_degrades_reserves_and_reconciles_within_the_cap(
    make_kiosk: Callable[..., Kiosk], pg_url: str, proxy: TcpProxy, signer: Any
) -> None:
    a = gate(make_kiosk, through(proxy, pg_url), "gate-A", signer.key_list, reserve_slots=2)
    b = gate(make_kiosk, pg_url, "gate-B", signer.key_list)
    assert present(a, signer("A-0001")).decision.reason.value == "admitted"
    assert shared_counts(a) == (1, 3, 2)  # one admitted + two reserved by gate A
    for i in range(4):
        assert present(b, signer(f"B-{i:04d}")).decision.reason.value == "admitted"
    assert shared_counts(b) == (5, 7, 2)

    proxy.cut()
    wait_degraded(a)
    assert a.gate.today()["degraded"] is True
    assert any(alert["code"] == "degraded" for alert in a.alerts())
    # Degraded: signed codes use the reserve — including A-0001, admitted online before
    # the cut (A's journal cannot know) — then the reserve is empty; plain ids are referred.
    offline = [present(a, signer(code)) for code in ("A-0001", "A-0102", "A-0103")]
    assert [r.decision.reason.value for r in offline] == ["admitted", "admitted", "degraded"]
    assert present(a, "A-PLAIN-1").decision.reason.value in ("degraded", "qr_invalid")
    # Gate B fills the rest of the cap meanwhile.
    results = [present(b, signer(f"B-{i:04d}")).decision.reason.value for i in range(10, 15)]
    assert results == ["admitted", "admitted", "admitted", "cap_reached", "cap_reached"]
    assert shared_counts(b) == (8, 10, 2)

    proxy.restore()
    assert a.gate.partition.probe() is True
    assert a.gate.partition.pending() == 0
    slots, used, held = shared_counts(a)
    # A-0102 used one reserved slot; A-0001 already had its slot, so its offline admission is
    # stored without a second one and that reserved slot stays reserved (cap cannot refill it).
    assert (slots, used, held) == (9, 10, 1)
    assert slots + held == used <= CAP
    assert a.gate.today()["degraded"] is False
    with a.db.transaction(write=False) as conn:
        notes = [
            r[0]
            for r in conn.execute(
                "SELECT note FROM entries WHERE gate_id = 'gate-A' AND note IS NOT NULL"
            ).fetchall()
        ]
    assert sum("recorded offline" in n for n in notes) == 4  # 2 admitted + 2 referred
    assert sum("already used a slot" in n for n in notes) == 1
    # Reconciling again uploads nothing twice.
    assert a.gate.partition.reconcile() == 0
    assert shared_counts(a)[0] == 9


def test_partition_with_no_reserve_refers_everyone(
    make_kiosk: Callable[..., Kiosk], pg_url: str, proxy: TcpProxy, signer: Any
) -> None:
    a = gate(make_kiosk, through(proxy, pg_url), "gate-A", signer.key_list)
    assert present(a, signer("A-0001")).decision.reason.value == "admitted"
    proxy.cut()
    wait_degraded(a)
    reasons = [present(a, signer(f"A-{i:04d}")).decision.reason.value for i in range(2, 6)]
    assert reasons == ["degraded"] * 4  # default reserve 0: never admits while cut off
    proxy.restore()
    assert a.gate.partition.probe() is True
    assert shared_counts(a)[:2] == (1, 1)


# -- one recorder: staff and officer decisions while degraded ----------------------------------


def staff_candidate(staff_id: int) -> Any:
    from kiosk.faces.engine import Box
    from kiosk.faces.liveness import Motion
    from kiosk.faces.matcher import Match, MatchVerdict
    from kiosk.faces.pipeline import Candidate

    match = Match(MatchVerdict.MATCH, staff_id, 0.31, 0.62)
    return Candidate(match, Motion.NATURAL, Box(10, 110, 110, 10), frames=6)


def test_staff_attendance_while_degraded_is_journalled_and_reconciled_once(
    make_kiosk: Callable[..., Kiosk], pg_url: str, proxy: TcpProxy, signer: Any
) -> None:
    """What the pipeline hands on (a matched, moving face) is recorded through the recorder."""
    a = gate(make_kiosk, through(proxy, pg_url), "gate-A", signer.key_list)
    assert a.attendance is not None
    staff_id = a.attendance.registry.add_staff("Budi Staf", actor="admin")
    a.simulator.set_body_temperature(36.5)
    proxy.cut()
    wait_degraded(a)
    result = a.attendance.admit_face(staff_candidate(staff_id))
    assert (result.decision.outcome.value, result.decision.reason.value) == (
        "admitted",
        "staff",
    )
    assert result.offline and a.gate.partition.pending() == 1
    proxy.restore()
    assert a.gate.partition.probe() is True
    assert a.gate.partition.reconcile() == 0  # once
    with a.db.transaction(write=False) as conn:
        entries = conn.execute(
            "SELECT id, kind, note FROM entries WHERE gate_id = 'gate-A' AND kind = 'staff'"
        ).fetchall()
        marks = conn.execute(
            "SELECT staff_id, kind, method, entry_id, checks FROM attendance_marks"
        ).fetchall()
        audit = conn.execute(
            "SELECT action FROM audit_log WHERE action = 'offline_reconciled'"
        ).fetchall()
    assert len(entries) == 1 and "recorded offline" in entries[0][2]
    assert [tuple(m)[:4] for m in marks] == [(staff_id, "in", "face", entries[0][0])]
    assert "motion" in marks[0][4]
    assert len(audit) == 1


def test_clinical_reading_while_degraded_keeps_officer_note_and_audit(
    make_kiosk: Callable[..., Kiosk], pg_url: str, proxy: TcpProxy, signer: Any
) -> None:
    a = gate(make_kiosk, through(proxy, pg_url), "gate-A", signer.key_list, reserve_slots=1)
    assert present(a, signer("A-0001")).decision.reason.value == "admitted"  # reserve 1
    proxy.cut()
    wait_degraded(a)
    from kiosk.services.runtime import simulate_present

    referred = simulate_present(a, signer("A-0002"), 39.2)
    assert referred.decision.reason.value == "fever" and referred.offline
    assert referred.entry_id in a.gate.pending_referrals()
    assert referred.entry_id is not None
    cleared = a.gate.clinical_reading(referred.entry_id, 36.9, "Petugas Rina")
    assert cleared.offline
    assert cleared.decision.reason.value == "admitted"  # the reserved slot
    proxy.restore()
    assert a.gate.partition.probe() is True
    with a.db.transaction(write=False) as conn:
        row = conn.execute(
            "SELECT officer, note, temp_source, id FROM entries "
            "WHERE gate_id = 'gate-A' AND temp_source = 'clinical'"
        ).fetchone()
        audit = conn.execute(
            "SELECT actor, action, subject, details FROM audit_log "
            "WHERE action = 'clinical_reading'"
        ).fetchall()
    officer, note, _source, entry_id = tuple(row)
    assert officer == "Petugas Rina"
    assert note.startswith(f"clinical reading for entry {referred.entry_id}")
    assert "recorded offline" in note
    assert [tuple(r)[:3] for r in audit] == [
        ("Petugas Rina", "clinical_reading", f"entry:{entry_id}")
    ]
    assert "admitted/admitted" in audit[0][3]
