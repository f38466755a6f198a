"""Admin entry log with a year of data: page render time and CSV export memory.

``python -m bench.admin_log`` (``make bench-admin-log``):

1. fills a fresh simulated kiosk with 150 000 entries — a year at ~411 a
   day, 80 % with a booking (and its name), the rest walk-ins and priority —
   in one transaction through the storage functions;
2. logs in as an administrator and times ``GET /admin/log`` through the Flask
   test client (routing, role and CSRF hooks, the audit row each read writes,
   SQL, template): today and a past day, with and without filters, a search
   by name and a page deep in the day (keyset ``before=``). Target ≤ 100 ms;
3. streams the CSV export of all 150 000 rows (``until=`` a year later) chunk
   by chunk under ``tracemalloc`` and compares its peak with one day's export:
   the peak stays flat because rows are fetched 500 at a time and never kept.
"""

from __future__ import annotations

import argparse
import statistics
import tempfile
import time
import tracemalloc
from datetime import UTC, date, datetime, timedelta
from pathlib import Path
from typing import Any

from kiosk.config import load_config
from kiosk.datadir import init_data_dir
from kiosk.services.accounts import Accounts
from kiosk.services.runtime import Kiosk
from kiosk.storage import Booking, Entry
from kiosk.storage import repository as repo

PASSWORD = "a year of entries at the gate"
LAST_DAY = date(2026, 11, 23)
KINDS = ("booking", "booking", "booking", "booking", "walkin")
OUTCOMES = (
    ("admitted", "admitted"),
    ("admitted", "admitted"),
    ("admitted", "admitted"),
    ("denied", "booking_wrong_date"),
    ("refer", "fever"),
)


class FixedClock:
    def __init__(self, now: datetime) -> None:
        self.now = now

    def __call__(self) -> datetime:
        return self.now


def fill(kiosk: Kiosk, total: int, days: int) -> float:
    """Insert ``total`` entries over ``days`` days ending on LAST_DAY; returns seconds."""
    office = kiosk.config.site.office_id
    per_day = total // days
    started = time.perf_counter()
    n = 0
    with kiosk.db.transaction() as conn:
        for d in range(days):
            day = LAST_DAY - timedelta(days=days - 1 - d)
            count = per_day + (1 if d < total - per_day * days else 0)
            opens = datetime(day.year, day.month, day.day, 1, 0, tzinfo=UTC)  # 08:00 WIB
            for i in range(count):
                kind = KINDS[n % len(KINDS)]
                outcome, reason = OUTCOMES[n % len(OUTCOMES)]
                booking_id = f"BK-{n:08d}" if kind == "booking" else None
                if booking_id:
                    repo.insert_booking(
                        conn,
                        Booking(id=booking_id, office_id=office, date=day, name=f"Warga {n:06d}"),
                    )
                repo.insert_entry(
                    conn,
                    Entry(
                        ts=opens + timedelta(seconds=i * 60 + n % 50),
                        business_date=day,
                        office_id=office,
                        gate_id=f"gate-{1 + n % 2}",
                        kind=kind,
                        outcome=outcome,
                        reason=reason if kind == "booking" or outcome != "admitted" else "walkin",
                        uses_slot=outcome == "admitted",
                        booking_id=booking_id,
                        temp_object_c=35.1,
                        temp_ambient_c=24.0,
                        temp_estimated_c=36.6,
                        temp_source="sensor",
                    ),
                )
                n += 1
    return time.perf_counter() - started


def timed(client: Any, url: str, repeat: int) -> tuple[float, float, int]:
    times = []
    rows = 0
    for _ in range(repeat):
        t0 = time.perf_counter()
        res = client.get(url)
        body = res.get_data(as_text=True)
        times.append((time.perf_counter() - t0) * 1000)
        assert res.status_code == 200, (url, res.status_code)
        rows = body.count('data-entry-id="')
    times.sort()
    return statistics.mean(times), times[max(0, int(len(times) * 0.95) - 1)], rows


def stream_peak(client: Any, url: str) -> tuple[int, int, float]:
    """(bytes, tracemalloc peak bytes, seconds) of one CSV export consumed chunk by chunk."""
    tracemalloc.start()
    tracemalloc.reset_peak()
    t0 = time.perf_counter()
    res = client.get(url, buffered=False)
    size = 0
    for chunk in res.response:
        size += len(chunk)
    res.close()
    seconds = time.perf_counter() - t0
    _, peak = tracemalloc.get_traced_memory()
    tracemalloc.stop()
    return size, peak, seconds


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--entries", type=int, default=150_000)
    parser.add_argument("--days", type=int, default=365)
    parser.add_argument("--repeat", type=int, default=20)
    args = parser.parse_args()

    from ui import create_app

    with tempfile.TemporaryDirectory() as tmp:
        config = load_config(init_data_dir(Path(tmp) / "data"))
        kiosk = Kiosk.start(config)
        kiosk.gate.clock = FixedClock(datetime(2026, 11, 23, 8, 0, tzinfo=UTC))  # 15:00 WIB
        try:
            seconds = fill(kiosk, args.entries, args.days)
            size_mb = kiosk.db.path.stat().st_size / 1e6
            print(f"inserted {args.entries} entries over {args.days} days in {seconds:.1f} s")
            print(f"database {size_mb:.0f} MB (plus WAL)")
            Accounts(kiosk.db).add_user("admin", "admin", PASSWORD, actor="bench")
            client = create_app(kiosk).test_client()
            token = client.get("/api/csrf").get_json()["csrf_token"]
            res = client.post(
                "/login",
                data={"username": "admin", "password": PASSWORD},
                headers={"X-CSRF-Token": token},
            )
            assert res.status_code == 302, res.status_code
            past = LAST_DAY - timedelta(days=180)
            deep = client.get(f"/admin/log?day={past}").get_data(as_text=True)
            middle = int(deep.split('data-entry-id="')[6].split('"')[0]) - 150
            cases = [
                ("today, no filter", "/admin/log"),
                (
                    "today, outcome=admitted & kind=booking",
                    "/admin/log?outcome=admitted&kind=booking",
                ),
                ("past day, no filter", f"/admin/log?day={past}"),
                (
                    "past day, 10:00–12:00 & gate-2",
                    f"/admin/log?day={past}&from=10:00&to=12:00&gate=gate-2",
                ),
                ("past day, search by name", f"/admin/log?day={past}&q=warga%2007"),
                ("past day, 4th page (before=)", f"/admin/log?day={past}&before={middle}"),
            ]
            print(f"\n| admin log page ({args.repeat} runs) | rows | mean ms | p95 ms |")
            print("|---|---|---|---|")
            for label, url in cases:
                mean, p95, rows = timed(client, url, args.repeat)
                print(f"| {label} | {rows} | {mean:.1f} | {p95:.1f} |")
            first = LAST_DAY - timedelta(days=args.days - 1)
            one_day = stream_peak(client, f"/admin/log.csv?day={LAST_DAY}")
            year = stream_peak(client, f"/admin/log.csv?day={first}&until={LAST_DAY}")
            print("\n| CSV export (streamed) | size | tracemalloc peak | seconds |")
            print("|---|---|---|---|")
            for label, (size, peak, secs) in (("one day", one_day), ("all entries", year)):
                print(f"| {label} | {size / 1e3:,.0f} kB | {peak / 1e6:.2f} MB | {secs:.1f} |")
        finally:
            kiosk.close()


if __name__ == "__main__":
    main()
