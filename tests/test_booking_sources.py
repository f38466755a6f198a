"""Day-list sync and live look-up against a real HTTP server on 127.0.0.1.

Each test programs the server's behaviour; faults (slow, 5xx, malformed,
wrong types, huge, refused) must end in the documented fallback: the sync
keeps the last good list, the look-up falls back to the local cache within
the decision time bound.
"""

from __future__ import annotations

import contextlib
import gzip
import json
import socket
import threading
import time
from collections.abc import Callable, Iterator
from datetime import UTC, date, datetime
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from pathlib import Path
from typing import Any

import pytest
import requests

from kiosk.bookings import (
    CACHE,
    LIVE,
    MAX_SYNC_BYTES,
    BookingSyncConflict,
    LiveLookup,
    LiveStatus,
    facts_for_answer,
    facts_with_fallback,
    read_sync_state,
    sync_day_list,
)
from kiosk.domain.reasons import Reason
from kiosk.errors import ConfigError, InputError
from kiosk.storage import Booking, Database, Entry
from kiosk.storage import repository as repo

OFFICE = "3314-SRG"
DAY = date(2026, 11, 23)
DECISION_BOUND_S = 8.0
FAST = {"connect_timeout": 0.5, "read_timeout": 0.3, "backoff": 0.01}

Behaviour = Callable[[BaseHTTPRequestHandler], None]


# -- a programmable HTTP server ---------------------------------------------
class _Handler(BaseHTTPRequestHandler):
    server: ProgrammableServer
    timeout = 10  # a stuck client cannot keep a handler thread forever

    def do_GET(self) -> None:
        self.server.hits.append(self.path)
        behaviour = self.server.next_behaviour()
        # The client may give up (timeout, size limit): expected in these tests.
        with contextlib.suppress(BrokenPipeError, ConnectionResetError):
            behaviour(self)

    def log_message(self, format: str, *args: Any) -> None:
        pass


class ProgrammableServer(ThreadingHTTPServer):
    daemon_threads = False
    block_on_close = True  # server_close() joins every handler thread

    def __init__(self) -> None:
        super().__init__(("127.0.0.1", 0), _Handler)
        self.release = threading.Event()  # set at teardown: hanging handlers return
        self.hits: list[str] = []
        self.behaviours: list[Behaviour] = []
        self._lock = threading.Lock()

    @property
    def url(self) -> str:
        return f"http://127.0.0.1:{self.server_address[1]}"

    def program(self, *behaviours: Behaviour) -> None:
        """Answer requests with these behaviours in turn; the last one repeats."""
        with self._lock:
            self.behaviours = list(behaviours)

    def next_behaviour(self) -> Behaviour:
        with self._lock:
            if len(self.behaviours) > 1:
                return self.behaviours.pop(0)
            return self.behaviours[0] if self.behaviours else reply(500, b"unprogrammed")


@pytest.fixture
def server() -> Iterator[ProgrammableServer]:
    srv = ProgrammableServer()
    thread = threading.Thread(target=srv.serve_forever, kwargs={"poll_interval": 0.05})
    thread.start()
    try:
        yield srv
    finally:
        srv.release.set()
        srv.shutdown()
        srv.server_close()
        thread.join(5)
        assert not thread.is_alive()


@pytest.fixture
def refused_url() -> str:
    """An address where nothing listens."""
    with socket.socket() as sock:
        sock.bind(("127.0.0.1", 0))
        port = sock.getsockname()[1]
    return f"http://127.0.0.1:{port}"


@pytest.fixture
def db(tmp_path: Path) -> Iterator[Database]:
    database = Database(tmp_path / "k.db")
    database.migrate()
    yield database
    database.close()


def reply(
    status: int, body: bytes, content_type: str = "application/json", length: bool = True
) -> Behaviour:
    def behaviour(h: BaseHTTPRequestHandler) -> None:
        h.send_response(status)
        h.send_header("Content-Type", content_type)
        if length:
            h.send_header("Content-Length", str(len(body)))
        h.end_headers()
        h.wfile.write(body)

    return behaviour


def json_reply(data: Any, status: int = 200) -> Behaviour:
    return reply(status, json.dumps(data).encode())


def csv_reply(text: str) -> Behaviour:
    return reply(200, text.encode(), "text/csv; charset=utf-8")


def hang(h: BaseHTTPRequestHandler) -> None:
    """Accept the request and never answer (until the test ends)."""
    h.server.release.wait(30)  # type: ignore[attr-defined]


def slow(seconds: float, then: Behaviour) -> Behaviour:
    def behaviour(h: BaseHTTPRequestHandler) -> None:
        if not h.server.release.wait(seconds):  # type: ignore[attr-defined]
            then(h)

    return behaviour


def drip_body(h: BaseHTTPRequestHandler) -> None:
    """Headers at once, then one body byte every 50 ms (each read is 'in time')."""
    h.send_response(200)
    h.send_header("Content-Type", "application/json")
    h.send_header("Content-Length", "1000")
    h.end_headers()
    for _ in range(1000):
        if h.server.release.wait(0.05):  # type: ignore[attr-defined]
            return
        h.wfile.write(b" ")
        h.wfile.flush()


def drip_headers(h: BaseHTTPRequestHandler) -> None:
    """The status line one byte every 50 ms, for about a second, then gives up."""
    for byte in b"HTTP/1.0 200 OK\r\nX-Padding: " + b"x" * 5:
        if h.server.release.wait(0.05):  # type: ignore[attr-defined]
            return
        h.wfile.write(bytes([byte]))
        h.wfile.flush()


def huge_streamed(h: BaseHTTPRequestHandler) -> None:
    """Over 5 MB without a Content-Length (the client must count)."""
    h.send_response(200)
    h.send_header("Content-Type", "application/json")
    h.end_headers()
    chunk = b"[" * 65536
    for _ in range(MAX_SYNC_BYTES // len(chunk) + 16):
        h.wfile.write(chunk)


def declared_huge(h: BaseHTTPRequestHandler) -> None:
    """A Content-Length over the limit: refused before reading the body."""
    h.send_response(200)
    h.send_header("Content-Type", "application/json")
    h.send_header("Content-Length", str(MAX_SYNC_BYTES + 1))
    h.end_headers()


def truncated(h: BaseHTTPRequestHandler) -> None:
    """Promises 500 bytes, sends a few and closes."""
    h.send_response(200)
    h.send_header("Content-Type", "application/json")
    h.send_header("Content-Length", "500")
    h.end_headers()
    h.wfile.write(b'{"bookings": [')


def row(
    booking_id: str, name: str, *, day: str = "2026-11-23", status: str = "valid", **extra: Any
) -> dict[str, Any]:
    return {"id": booking_id, "date": day, "name": name, "service": "KTP-el", "status": status} | (
        extra
    )


GOOD_LIST = {"bookings": [row("BK-A001", "Siti Rahayu"), row("BK-A002", "Budi Santoso")]}


def sync(db: Database, server_url: str, **kw: Any) -> Any:
    options = {"url": f"{server_url}/daylist", "office_id": OFFICE, "day": DAY, **FAST} | kw
    return sync_day_list(db, **options)


def ids_on(db: Database) -> list[str]:
    return sorted(b.id for b in repo.bookings_on(db.connection(), OFFICE, DAY))


# -- day-list sync: good answers ---------------------------------------------
def test_json_day_list_is_imported_and_state_recorded(
    server: ProgrammableServer, db: Database, tmp_path: Path
) -> None:
    server.program(json_reply(GOOD_LIST))
    state = tmp_path / "sync-state.json"
    before = datetime.now(UTC)
    result = sync(db, server.url, state_path=state)
    assert result.ok, result.error
    assert (result.added, result.unchanged, result.format) == (2, 0, "json")
    assert server.hits == ["/daylist?office=3314-SRG&date=2026-11-23"]
    stored = repo.get_booking(db.connection(), "BK-A001")
    assert stored is not None and stored.source == "sync" and stored.service == "KTP-el"
    recorded = read_sync_state(state)
    assert recorded.last_success_at is not None and recorded.last_success_at >= before
    assert (recorded.last_success_day, recorded.last_success_total) == (DAY, 2)
    assert [p.name for p in tmp_path.iterdir() if p.name.endswith(".tmp")] == []
    # The same list again adds nothing and is not an error.
    again = sync(db, server.url, state_path=state)
    assert (again.ok, again.added, again.unchanged) == (True, 0, 2)


def test_csv_day_list_is_imported(server: ProgrammableServer, db: Database) -> None:
    server.program(
        csv_reply(
            "\ufeffid,date,name,service,status\n"
            "BK-C001,2026-11-23,Siti Rahayu,KTP-el,valid\n"
            "BK-C002,23/11/2026,Budi Santoso,KK,cancelled\n"
            ",2026-11-23,Dewi Lestari,,\n"
        )
    )
    result = sync(db, server.url)
    assert result.ok, result.error
    assert (result.added, result.format) == (3, "csv")
    cancelled = repo.get_booking(db.connection(), "BK-C002")
    assert cancelled is not None and cancelled.status == "cancelled"
    assert len(ids_on(db)) == 3  # the row without id got a derived one


def test_local_bookings_missing_remotely_are_kept_and_reported(
    server: ProgrammableServer, db: Database
) -> None:
    server.program(json_reply(GOOD_LIST), json_reply({"bookings": [GOOD_LIST["bookings"][0]]}))
    assert sync(db, server.url).ok
    result = sync(db, server.url)
    assert result.ok and result.not_in_remote == ("BK-A002",)
    assert ids_on(db) == ["BK-A001", "BK-A002"]


def chunked_gzip(data: Any) -> Behaviour:
    """HTTP/1.1 chunked transfer of a gzip-encoded JSON body."""
    body = gzip.compress(json.dumps(data).encode())

    def behaviour(h: BaseHTTPRequestHandler) -> None:
        h.protocol_version = "HTTP/1.1"
        h.send_response(200)
        h.send_header("Content-Type", "application/json")
        h.send_header("Content-Encoding", "gzip")
        h.send_header("Transfer-Encoding", "chunked")
        h.send_header("Connection", "close")
        h.end_headers()
        for i in range(0, len(body), 7):
            piece = body[i : i + 7]
            h.wfile.write(b"%x\r\n%s\r\n" % (len(piece), piece))
        h.wfile.write(b"0\r\n\r\n")
        h.close_connection = True

    return behaviour


def test_chunked_gzip_answers_are_read(server: ProgrammableServer, db: Database) -> None:
    server.program(chunked_gzip(GOOD_LIST), chunked_gzip(live_json()))
    assert sync(db, server.url).added == 2
    with LiveLookup(server.url, **FAST) as live:
        assert live.lookup("BK-L001").status is LiveStatus.FOUND


def test_server_error_is_retried_then_succeeds(server: ProgrammableServer, db: Database) -> None:
    server.program(reply(503, b"busy"), reply(502, b"gateway"), json_reply(GOOD_LIST))
    result = sync(db, server.url, retries=2)
    assert result.ok and result.attempts == 3 and len(server.hits) == 3


# -- day-list sync: rows that are rejected -----------------------------------
@pytest.mark.parametrize(
    ("bad_row", "expected"),
    [
        (row("BK-X001", "Other Day", day="2026-11-24"), "not the requested day 2026-11-23"),
        (row("BK-X001", "Other Office", office_id="3374-SMG"), "is not this office"),
        (row("BK-X001", "Odd Status", status="pending"), "must be valid or cancelled"),
        (row("bk x?", "Bad Id"), "must be 3–40 letters"),
        (row("BK-X001", "   "), "name is empty"),
        (row("BK-X001", "Wrong\x07Bell"), "control characters"),
        (row(123, "Number Id"), "id must be a string, not int"),  # type: ignore[arg-type]
        (row("BK-X001", ["a", "list"]), "name must be a string, not list"),  # type: ignore[arg-type]
        (row("BK-X001", "Bool Day", day=True), "date must be a string, not bool"),  # type: ignore[arg-type]
        ({"date": "2026-11-23", "name": "No Id"}, "id is missing"),
        ("just a string", "entry must be an object, not str"),
        (row("BK-A001", "Same Id Twice"), "repeats row 1"),
    ],
)
def test_one_bad_row_rejects_the_whole_list(
    server: ProgrammableServer, db: Database, bad_row: Any, expected: str
) -> None:
    server.program(json_reply({"bookings": [*GOOD_LIST["bookings"], bad_row]}))
    result = sync(db, server.url)
    assert result.ok is False
    assert [n for n, _ in result.rejected] == [3]
    assert expected in result.rejected[0][1], result.rejected
    assert expected in (result.error or "")
    assert ids_on(db) == []  # all or nothing


def test_csv_row_problems_are_reported_by_line(server: ProgrammableServer, db: Database) -> None:
    server.program(
        csv_reply(
            "id,date,name\nBK-C001,2026-11-23,Siti\nBK-C002,2026-11-23\nBK-C003,2026-11-30,Late\n"
        )
    )
    result = sync(db, server.url)
    assert result.ok is False
    assert [n for n, _ in result.rejected] == [3, 4]
    assert "expected 3 fields, found 2" in result.rejected[0][1]
    assert ids_on(db) == []


# -- day-list sync: faults keep the last good list ---------------------------
SYNC_FAULTS: dict[str, tuple[Behaviour, str]] = {
    "http_500": (reply(500, b"boom", "text/plain"), "internal error (HTTP 500)"),
    "http_404": (reply(404, b"no", "text/plain"), "HTTP 404"),
    "http_401": (reply(401, b"who", "text/plain"), "refused the kiosk (HTTP 401)"),
    "slow": (slow(2.0, json_reply(GOOD_LIST)), "did not answer within 0.3 s"),
    "malformed_json": (reply(200, b'{"bookings": [{"id": "BK-1",'), "not valid JSON"),
    "not_utf8_json": (reply(200, b'{"bookings": ["\xff"]}'), "not valid JSON"),
    "wrong_shape": (json_reply({"bookings": {"id": "BK-A001"}}), '{"bookings": [...]}'),
    "top_level_list": (json_reply([row("BK-A001", "Siti")]), '{"bookings": [...]}'),
    "html_page": (reply(200, b"<html>login</html>", "text/html"), "sent text/html"),
    "csv_bad_header": (csv_reply("id,when,who\nBK-1,x,y\n"), "expected date, name"),
    "csv_binary": (reply(200, b"date,name\n\x00\x01", "text/csv"), "binary"),
    "huge_declared": (declared_huge, "more than the 5242880 byte limit"),
    "huge_streamed": (huge_streamed, "larger than the 5242880 byte limit"),
    "truncated": (truncated, "broke off its answer"),
}


@pytest.mark.parametrize("fault", sorted(SYNC_FAULTS))
def test_failed_sync_keeps_the_last_good_list(
    server: ProgrammableServer, db: Database, tmp_path: Path, fault: str
) -> None:
    behaviour, expected = SYNC_FAULTS[fault]
    state = tmp_path / "state.json"
    server.program(json_reply(GOOD_LIST))
    assert sync(db, server.url, state_path=state).ok
    good_time = read_sync_state(state).last_success_at

    server.program(behaviour)
    started = time.monotonic()
    result = sync(db, server.url, state_path=state, retries=1)
    elapsed = time.monotonic() - started
    assert result.ok is False
    assert expected in (result.error or ""), result.error
    assert ids_on(db) == ["BK-A001", "BK-A002"]
    recorded = read_sync_state(state)
    assert recorded.last_success_at == good_time
    assert recorded.last_error == result.error
    assert elapsed < 3.0


def test_connection_refused_keeps_the_list(
    server: ProgrammableServer, db: Database, refused_url: str
) -> None:
    server.program(json_reply(GOOD_LIST))
    assert sync(db, server.url).ok
    result = sync(db, refused_url, retries=2)
    assert result.ok is False and result.attempts == 3
    assert "refused the connection" in (result.error or "")
    assert ids_on(db) == ["BK-A001", "BK-A002"]


def test_sync_deadline_bounds_retries(server: ProgrammableServer, db: Database) -> None:
    server.program(hang)
    started = time.monotonic()
    result = sync(db, server.url, read_timeout=5.0, retries=5, deadline_s=0.6)
    assert result.ok is False
    assert time.monotonic() - started < 1.0


def test_remote_cancellations_and_changes_apply(
    server: ProgrammableServer, db: Database, tmp_path: Path
) -> None:
    server.program(json_reply(GOOD_LIST))
    assert sync(db, server.url).ok
    changed = {
        "bookings": [
            row("BK-A001", "Siti Rahayu", status="cancelled"),
            row("BK-A003", "Dewi Lestari"),
            row("BK-A002", "Budi Santoso Jr"),
        ]
    }
    server.program(json_reply(changed))
    result = sync(db, server.url, state_path=tmp_path / "state.json")
    assert result.ok
    assert (result.added, result.updated, result.unchanged) == (1, 2, 0)
    conn = db.connection()
    assert repo.get_booking(conn, "BK-A001").status == "cancelled"  # type: ignore[union-attr]
    assert repo.get_booking(conn, "BK-A002").name == "Budi Santoso Jr"  # type: ignore[union-attr]


def test_another_offices_id_is_a_conflict_and_imports_nothing(
    server: ProgrammableServer, db: Database, tmp_path: Path
) -> None:
    server.program(json_reply(GOOD_LIST))
    assert sync(db, server.url).ok
    with db.transaction() as conn:
        conn.execute("UPDATE bookings SET office_id = 'OTHER' WHERE id = 'BK-A002'")
    server.program(json_reply({"bookings": [row("BK-A003", "Dewi"), row("BK-A002", "Budi")]}))
    state = tmp_path / "state.json"
    with pytest.raises(BookingSyncConflict) as caught:
        sync(db, server.url, state_path=state)
    assert [n for n, _ in caught.value.errors] == [2]
    assert "belongs to office OTHER" in str(caught.value)
    assert ids_on(db) == ["BK-A001"]  # BK-A003 rolled back
    assert read_sync_state(state).last_error == str(caught.value)


def test_unwritable_state_file_is_a_warning_not_a_failure(
    server: ProgrammableServer, db: Database, tmp_path: Path
) -> None:
    server.program(json_reply(GOOD_LIST))
    result = sync(db, server.url, state_path=tmp_path / "no-such-folder" / "state.json")
    assert result.ok and result.added == 2
    assert result.warning is not None and "cannot be written" in result.warning


def test_caller_session_is_used_and_left_open(server: ProgrammableServer, db: Database) -> None:
    server.program(json_reply(GOOD_LIST))
    with requests.Session() as session:
        session.headers["X-Kiosk"] = "gate-1"
        assert sync(db, server.url, session=session).ok
        assert sync(db, server.url, session=session).ok  # still usable


def test_state_file_survives_garbage_and_bad_urls_are_config_errors(
    db: Database, tmp_path: Path
) -> None:
    state = tmp_path / "state.json"
    state.write_text("{not json", encoding="utf-8")
    assert read_sync_state(state).last_success_at is None
    assert read_sync_state(tmp_path / "missing.json").last_error is None
    with pytest.raises(ConfigError):
        sync_day_list(db, url="ftp://example/x", office_id=OFFICE, day=DAY)
    with pytest.raises(ConfigError):
        LiveLookup("not a url")


# -- live look-up -------------------------------------------------------------
def live_json(booking_id: str = "BK-L001", **over: Any) -> dict[str, Any]:
    data = {
        "id": booking_id,
        "office_id": OFFICE,
        "date": "2026-11-23",
        "status": "valid",
        "service": "KTP-el",
    }
    return data | over


def add_local(db: Database, booking_id: str, *, status: str = "valid") -> None:
    with db.transaction() as conn:
        repo.insert_booking(
            conn, Booking(booking_id, OFFICE, DAY, "Local Person", "KK", status, "csv")
        )


def admit(db: Database, booking_id: str, ts: datetime) -> None:
    with db.transaction() as conn:
        repo.insert_entry(
            conn,
            Entry(
                ts=ts,
                business_date=DAY,
                office_id=OFFICE,
                gate_id="gate-2",
                kind="booking",
                outcome="admitted",
                reason="admitted",
                uses_slot=True,
                booking_id=booking_id,
            ),
        )


def decide(db: Database, text: str, live: LiveLookup | None) -> tuple[Any, str, float]:
    started = time.monotonic()
    facts, source = facts_with_fallback(db.connection(), text, business_day=DAY, live=live)
    return facts, source, time.monotonic() - started


def test_live_found_uses_remote_facts_but_local_admission(
    server: ProgrammableServer, db: Database
) -> None:
    first = datetime(2026, 11, 23, 2, 5, tzinfo=UTC)
    admit(db, "BK-L001", first)
    # The remote claims another admission time: it must be ignored.
    server.program(json_reply(live_json(admitted_at="2026-11-23T01:00:00+00:00")))
    with LiveLookup(server.url, **FAST) as live:
        facts, source, _ = decide(db, " BK-L001\n", live)
    assert source == LIVE
    assert server.hits == ["/bookings/BK-L001"]
    assert facts.problem is None and facts.office_id == OFFICE
    assert facts.valid_from == facts.valid_until == DAY
    assert (facts.admitted_at, facts.admitted_gate) == (first, "gate-2")


def test_live_answer_wins_over_the_cache(server: ProgrammableServer, db: Database) -> None:
    add_local(db, "BK-L001")
    add_local(db, "BK-L002", status="cancelled")
    server.program(
        json_reply(live_json("BK-L001", status="cancelled", office_id="3374-SMG")),
        json_reply(live_json("BK-L002", office_id="3374-SMG", date="24/11/2026")),
        reply(404, b"", "application/json"),
    )
    with LiveLookup(server.url, **FAST) as live:
        cancelled, src1, _ = decide(db, "BK-L001", live)
        other, src2, _ = decide(db, "BK-L002", live)
        unknown, src3, _ = decide(db, "BK-L001", live)  # 404 is authoritative
    assert (cancelled.problem, src1) == (Reason.BOOKING_CANCELLED, LIVE)
    assert (other.problem, other.office_id, other.valid_from, src2) == (
        None,
        "3374-SMG",
        date(2026, 11, 24),
        LIVE,
    )
    assert (unknown.problem, src3) == (Reason.BOOKING_UNKNOWN, LIVE)


LIVE_FAULTS: dict[str, tuple[Behaviour, str]] = {
    "http_500": (reply(500, b"boom", "text/plain"), "internal error (HTTP 500)"),
    "http_403": (reply(403, b"", "text/plain"), "refused the kiosk (HTTP 403)"),
    "redirect": (reply(302, b"", "text/html"), "redirects (HTTP 302)"),
    "slow": (slow(2.0, json_reply(live_json())), "did not answer within"),
    "hang": (hang, "did not answer within"),
    "malformed_json": (reply(200, b'{"id": "BK-L001", '), "not JSON"),
    "html": (reply(200, b"<html></html>", "text/html"), "not JSON (Content-Type text/html)"),
    "not_object": (json_reply([live_json()]), "must be a JSON object"),
    "wrong_type_date": (json_reply(live_json(date=20261123)), "date must be a string, not int"),
    "wrong_type_status": (json_reply(live_json(status=None)), "status is missing"),
    "bad_status": (json_reply(live_json(status="maybe")), "must be valid or cancelled"),
    "bad_date": (json_reply(live_json(date="tomorrow")), "is not YYYY-MM-DD"),
    "other_booking": (json_reply(live_json("BK-OTHER")), "is about booking 'BK-OTHER'"),
    "missing_office": (json_reply(live_json(office_id="")), "is not an office id"),
    "huge_declared": (reply(200, b" " * 100_000), "is 100000 bytes, more than the 65536"),
    "huge_streamed": (reply(200, b" " * 100_000, length=False), "larger than the 65536 byte"),
    "drip_body": (drip_body, "too slowly"),
    "drip_headers": (drip_headers, "within"),
}


@pytest.mark.parametrize("fault", sorted(LIVE_FAULTS))
def test_live_fault_falls_back_to_the_cache_in_time(
    server: ProgrammableServer, db: Database, fault: str, caplog: pytest.LogCaptureFixture
) -> None:
    behaviour, expected = LIVE_FAULTS[fault]
    add_local(db, "BK-L001")
    server.program(behaviour)
    with LiveLookup(server.url, **FAST, retries=1, deadline_s=0.6) as live:
        answer = live.lookup("BK-L001")
        assert answer.status is LiveStatus.UNAVAILABLE
        assert expected in (answer.reason or ""), answer.reason
        assert answer.elapsed_s < 0.6 + 0.3
        facts, source, elapsed = decide(db, "BK-L001", live)
    assert source == CACHE
    assert facts.problem is None and facts.booking_id == "BK-L001"
    assert facts.valid_from == DAY  # from the local list
    assert elapsed < 0.6 + 0.3
    assert "unavailable" in caplog.text


def test_refused_connection_falls_back_to_the_cache(db: Database, refused_url: str) -> None:
    add_local(db, "BK-L001", status="cancelled")
    with LiveLookup(refused_url, **FAST) as live:
        answer = live.lookup("BK-L001")
        facts, source, elapsed = decide(db, "BK-L001", live)
    assert answer.status is LiveStatus.UNAVAILABLE and answer.attempts == 3
    assert "refused the connection" in (answer.reason or "")
    assert (facts.problem, source) == (Reason.BOOKING_CANCELLED, CACHE)
    assert elapsed < 1.0


def test_live_retries_with_backoff_then_answers(server: ProgrammableServer) -> None:
    server.program(
        reply(503, b"", "text/plain"), slow(1.0, json_reply(live_json())), json_reply(live_json())
    )
    with LiveLookup(server.url, connect_timeout=0.5, read_timeout=0.3, backoff=0.05) as live:
        answer = live.lookup("BK-L001")
    assert answer.status is LiveStatus.FOUND and answer.attempts == 3
    assert answer.booking is not None and answer.booking.service == "KTP-el"


def test_retries_stop_at_the_deadline(server: ProgrammableServer) -> None:
    server.program(reply(503, b"", "text/plain"))
    with LiveLookup(server.url, retries=50, backoff=0.05, deadline_s=0.5) as live:
        started = time.monotonic()
        answer = live.lookup("BK-L001")
        elapsed = time.monotonic() - started
    assert answer.status is LiveStatus.UNAVAILABLE and "HTTP 503" in (answer.reason or "")
    assert 2 <= answer.attempts < 50
    assert elapsed < 0.5 + 0.1


def test_production_defaults_decide_within_8_seconds_on_a_hanging_server(
    server: ProgrammableServer, db: Database
) -> None:
    add_local(db, "BK-L001")
    server.program(hang)
    with LiveLookup(server.url) as live:  # 3 s connect, 5 s read, 2 retries, 6 s deadline
        facts, source, elapsed = decide(db, "BK-L001", live)
    assert source == CACHE and facts.booking_id == "BK-L001" and facts.problem is None
    assert elapsed < DECISION_BOUND_S - 1.0, elapsed  # ≈ 6 s: the look-up deadline
    assert len(server.hits) == 2  # one 5 s attempt, then a retry shrunk to the time left


def test_no_live_lookup_or_non_plain_codes_use_the_cache(
    server: ProgrammableServer, db: Database
) -> None:
    add_local(db, "BK-L001")
    server.program(json_reply(live_json()))
    facts, source, _ = decide(db, "BK-L001", None)
    assert (facts.problem, source) == (None, CACHE)
    with LiveLookup(server.url, **FAST) as live:
        junk, junk_source, _ = decide(db, "hello world", live)
        signed, signed_source, _ = decide(db, "KB:not-really-signed", live)
        with pytest.raises(InputError):
            live.lookup("../admin")
    assert (junk.problem, junk_source) == (Reason.QR_INVALID, CACHE)
    assert signed_source == CACHE and signed.problem is not None
    assert server.hits == []  # nothing asked remotely


def test_lookup_outside_the_transaction_then_facts_inside(
    server: ProgrammableServer, db: Database
) -> None:
    server.program(json_reply(live_json()))
    with LiveLookup(server.url, **FAST) as live:
        answer = live.lookup("BK-L001")
    assert live.lookup("BK-L001").status is LiveStatus.UNAVAILABLE  # closed
    with db.transaction(write=False) as conn:
        facts, source = facts_for_answer(conn, "BK-L001", answer, business_day=DAY)
    assert source == LIVE and facts.office_id == OFFICE


def test_concurrent_lookups_share_nothing_and_all_answer(server: ProgrammableServer) -> None:
    server.program(lambda h: json_reply(live_json(h.path.rsplit("/", 1)[1]))(h))
    ids = [f"BK-T{i:03d}" for i in range(12)]
    results: dict[str, LiveStatus] = {}
    with LiveLookup(server.url, **FAST) as live:

        def ask(booking_id: str) -> None:
            results[booking_id] = live.lookup(booking_id).status

        threads = [threading.Thread(target=ask, args=(i,)) for i in ids]
        for t in threads:
            t.start()
        for t in threads:
            t.join(5)
    assert results == dict.fromkeys(ids, LiveStatus.FOUND)
