"""Live gate events for screens: a fan-out from the gate service to Server-Sent Event streams.

Why this shape: waitress serves with a fixed pool of worker threads
(``server.threads``) and an open event stream holds one of them for as long as
it is open. So:

- the hub admits at most ``max_subscribers`` streams (:func:`stream_limit`: half
  the worker threads, at least one); one more gets 503 and the page retries
  later, so a few forgotten browser tabs can never take the threads the
  officer and admin pages need;
- streams of the local listener (the kiosk's own screen, see :mod:`kiosk.serve`)
  have ``local_slots`` of their own: sockets on the LAN that hold every shared
  slot (and never read) cannot take the screen's stream;
- the gate thread never waits for a screen: an event is put into each stream's
  bounded queue without blocking, and a stream whose queue is full (a client
  that stopped reading) is closed; the browser reconnects and starts from a
  fresh snapshot;
- an idle stream writes a comment line every ``heartbeat_s``: writing to a
  client that went away fails, which ends the stream and frees its thread; and
  a stream ends after ``max_age_s`` anyway (EventSource reconnects by itself),
  so even a half-open connection holds a thread for a bounded time;
- :meth:`EventHub.stop` (called when the kiosk closes) ends every stream, so
  SIGTERM is not held up by open screens.
"""

from __future__ import annotations

import contextlib
import json
import logging
import queue
import threading
import time
from collections.abc import Callable, Iterator
from dataclasses import dataclass
from typing import Any

from kiosk.domain.reasons import Reason
from kiosk.services.gate import GateResult, GateService

log = logging.getLogger(__name__)

HEARTBEAT_S = 5.0
MAX_AGE_S = 600.0
QUEUE_SIZE = 64
RETRY_MS = 3000


def stream_limit(threads: int) -> int:
    """How many event streams a server with ``threads`` worker threads may hold open."""
    return max(1, threads // 2)


@dataclass(frozen=True)
class Event:
    """Something a screen shows: ``phase`` (name, progress), ``interim`` (a reason) or
    ``result`` (a :class:`GateResult`)."""

    kind: str
    data: Any


class Subscription:
    """One open stream's queue of events; closed by the hub or when the client goes away."""

    def __init__(self, size: int) -> None:
        self._queue: queue.Queue[Event | None] = queue.Queue(maxsize=size)
        self.closed = False

    def offer(self, event: Event) -> bool:
        """Queue ``event`` without waiting; ``False`` when the queue is full."""
        try:
            self._queue.put_nowait(event)
        except queue.Full:
            return False
        return True

    def next(self, timeout: float) -> Event | None:
        """The next event, or ``None`` after ``timeout`` seconds or once closed."""
        if self.closed:
            return None
        try:
            return self._queue.get(timeout=timeout)
        except queue.Empty:
            return None

    def close(self) -> None:
        self.closed = True
        with contextlib.suppress(queue.Full):  # full: it wakes on its own anyway
            self._queue.put_nowait(None)  # wake a waiting stream at once


class EventHub:
    """Bounded fan-out of gate events to SSE subscribers; see the module docstring."""

    def __init__(
        self,
        max_subscribers: int,
        *,
        queue_size: int = QUEUE_SIZE,
        heartbeat_s: float = HEARTBEAT_S,
        max_age_s: float = MAX_AGE_S,
        local_slots: int = 0,
    ) -> None:
        self.max_subscribers = max_subscribers
        self.local_slots = local_slots
        self._local: set[Subscription] = set()
        self.queue_size = queue_size
        self.heartbeat_s = heartbeat_s
        self.max_age_s = max_age_s
        self._subs: set[Subscription] = set()
        self._lock = threading.Lock()
        self._gate: GateService | None = None
        self.stopped = False

    # -- wiring ------------------------------------------------------------
    def attach(self, gate: GateService) -> None:
        """Listen to ``gate``: its phases, interim steps and results."""
        self._gate = gate
        events = gate.events
        events.phases.append(self._on_phase)
        events.interims.append(self._on_interim)
        events.results.append(self._on_result)
        events.statuses.append(self._on_status)

    def _on_phase(self, phase: str, progress: float) -> None:
        self.publish(Event("phase", (phase, progress)))

    def _on_interim(self, reason: Reason) -> None:
        self.publish(Event("interim", reason))

    def _on_result(self, result: GateResult) -> None:
        self.publish(Event("result", result))

    def _on_status(self) -> None:
        self.publish(Event("today", None))

    def stop(self) -> None:
        """End every stream and refuse new ones (the kiosk is closing)."""
        self.stopped = True
        gate, self._gate = self._gate, None
        if gate is not None:
            events = gate.events
            _discard(events.phases, self._on_phase)
            _discard(events.interims, self._on_interim)
            _discard(events.results, self._on_result)
            _discard(events.statuses, self._on_status)
        with self._lock:
            subs, self._subs, self._local = list(self._subs), set(), set()
        for sub in subs:
            sub.close()

    # -- subscribers -------------------------------------------------------
    @property
    def subscribers(self) -> int:
        with self._lock:
            return len(self._subs)

    def subscribe(self, *, local: bool = False) -> Subscription | None:
        """A new stream's subscription, or ``None`` when the limit is reached (or stopped).

        A ``local`` stream takes one of the reserved local slots, else a shared one.
        """
        with self._lock:
            if self.stopped:
                return None
            reserved = local and len(self._local) < self.local_slots
            if not reserved and len(self._subs) - len(self._local) >= self.max_subscribers:
                return None
            sub = Subscription(self.queue_size)
            self._subs.add(sub)
            if reserved:
                self._local.add(sub)
            return sub

    def unsubscribe(self, sub: Subscription) -> None:
        with self._lock:
            self._subs.discard(sub)
            self._local.discard(sub)
        sub.close()

    def publish(self, event: Event) -> None:
        """Give ``event`` to every stream; never blocks. A stream that is full is closed."""
        with self._lock:
            subs = list(self._subs)
        for sub in subs:
            if not sub.offer(event):
                log.warning("event stream not reading (queue full): closing it")
                self.unsubscribe(sub)

    def stream(
        self,
        sub: Subscription,
        render: Callable[[Event], tuple[str, dict[str, Any]] | None],
        snapshot: Callable[[], tuple[str, dict[str, Any]]],
        *,
        snapshot_every: int = 12,
        clock: Callable[[], float] = time.monotonic,
        day: Callable[[], object] | None = None,
    ) -> Iterator[str]:
        """The text of one SSE response: the snapshot, then each rendered event.

        ``render`` turns an event into ``(event name, JSON data)`` for this
        client (its language), or ``None`` to skip it. Every ``snapshot_every``
        quiet heartbeats the snapshot is sent again; and at once on the heartbeat
        after ``day()`` changes (midnight: a new day, a fresh count).
        """
        started = clock()
        quiet = 0
        current = day() if day is not None else None
        try:
            yield f"retry: {RETRY_MS}\n\n"
            yield sse(*snapshot())
            while not sub.closed and clock() - started < self.max_age_s:
                event = sub.next(self.heartbeat_s)
                if event is None:
                    if sub.closed:
                        break
                    quiet += 1
                    new_day = day() if day is not None else None
                    if new_day != current or quiet % snapshot_every == 0:
                        current = new_day
                        yield sse(*snapshot())
                    else:
                        yield ": ping\n\n"
                    continue
                rendered = render(event)
                if rendered is not None:
                    yield sse(*rendered)
        finally:
            self.unsubscribe(sub)


def sse(name: str, data: dict[str, Any]) -> str:
    """One Server-Sent Event: a name and one line of JSON."""
    return f"event: {name}\ndata: {json.dumps(data, ensure_ascii=False)}\n\n"


def _discard(items: list[Any], item: Any) -> None:
    if item in items:
        items.remove(item)
