"""The capture loop: debounce, lost cameras, reconnect backoff, and no leaks across reconnects."""

from __future__ import annotations

import functools
import gc
import os
import threading
import time
from collections.abc import Callable
from pathlib import Path

import cv2
import numpy as np
import pytest

from drivers.base import Frame
from drivers.replay_camera import ReplayCamera
from drivers.sim_camera import render_scene
from kiosk.errors import CameraError, DeviceError
from kiosk.services.scanner import Debouncer, Scanner

BLANK = np.zeros((48, 64, 3), np.uint8)


@functools.cache
def scene(text: str | None) -> Frame:
    return render_scene(text)


def ignore(text: str) -> None:
    """An ``on_code`` for tests about the camera, not the codes."""


def wait_for(condition: Callable[[], bool], timeout: float = 5.0) -> float:
    """Poll ``condition``; seconds it took to hold (fails the test after ``timeout``)."""
    start = time.monotonic()
    while not condition():
        assert time.monotonic() - start < timeout, "condition not met in time"
        time.sleep(0.001)
    return time.monotonic() - start


class FakeClock:
    def __init__(self) -> None:
        self.now = 0.0

    def __call__(self) -> float:
        return self.now


# -- debounce -------------------------------------------------------------------------------
class ScriptedCamera:
    """Shows ``script`` = [(time, text or None), …], setting the fake clock for each frame."""

    def __init__(self, script: list[tuple[float, str | None]], clock: FakeClock) -> None:
        self.script, self.clock = list(script), clock
        self.finished = threading.Event()
        self.closes = 0

    def read(self) -> Frame:
        if not self.script:
            self.finished.set()
            raise CameraError("end of script")
        self.clock.now, text = self.script.pop(0)
        return scene(text)

    def close(self) -> None:
        self.closes += 1


def run_script(
    script: list[tuple[float, str | None]],
    on_code: Callable[[str], object] | None = None,
    clock: FakeClock | None = None,
) -> list[str]:
    clock = clock or FakeClock()
    camera = ScriptedCamera(script, clock)
    opened: list[ScriptedCamera] = []
    seen: list[str] = []

    def opener() -> ScriptedCamera:
        if opened:
            raise DeviceError("the script is over")
        opened.append(camera)
        return camera

    scanner = Scanner(opener, on_code or seen.append, debounce_s=3.0, clock=clock)
    scanner.start()
    assert camera.finished.wait(10)
    assert scanner.stop(5)
    assert camera.closes == 1
    return seen


A, B = "BOOKING-A", "BOOKING-B"


@pytest.mark.parametrize(
    ("script", "attempts"),
    [
        ([(0, None), (1, None)], []),
        ([(0, A), (1, A), (2, A), (2.9, A), (5, A), (7.5, A), (10, A)], [A]),
        ([(0, A), (1, None), (2, None), (2.99, A)], [A]),
        ([(0, A), (1, None), (3.0, A)], [A, A]),
        ([(0, A), (1, A), (2, A), (3, A), (4, None), (5.9, A)], [A]),
        ([(0, A), (1, A), (2, A), (3, A), (4, None), (6.0, A)], [A, A]),
        ([(0, A), (0.5, B)], [A, B]),
        ([(0, A), (0.5, B), (1.0, A), (1.5, B)], [A, B]),
        ([(0, A), (0.5, B), (4.0, A)], [A, B, A]),
        ([(0, A), (10, None), (20, A), (21, A)], [A, A]),
    ],
    ids=[
        "no code, no attempt",
        "a code held in view is one attempt",
        "a code the decoder misses for a moment stays one attempt",
        "out of view for debounce_s makes a new attempt",
        "held a while, away just under debounce_s: same attempt",
        "held a while, away debounce_s: new attempt",
        "a different code is a new attempt",
        "two codes swapping in view do not ping-pong",
        "a code back after debounce_s is new even after another code",
        "the same code much later is a new attempt",
    ],
)
def test_debounce_turns_frames_into_attempts(
    script: list[tuple[float, str | None]], attempts: list[str]
) -> None:
    assert run_script(script) == attempts


def test_time_spent_handling_a_code_counts_as_in_view() -> None:
    clock = FakeClock()
    seen: list[str] = []

    def slow_admission(text: str) -> None:  # e.g. a temperature measurement
        seen.append(text)
        clock.now += 5.0

    run_script([(0, A), (5.5, A), (6, A)], slow_admission, clock)
    assert seen == [A]


def test_a_failing_handler_does_not_stop_scanning() -> None:
    seen: list[str] = []

    def flaky(text: str) -> None:
        seen.append(text)
        if text == A:
            raise RuntimeError("database hiccup")

    run_script([(0, A), (1, B)], flaky)
    assert seen == [A, B]


def test_two_codes_in_one_frame_are_one_attempt_each() -> None:
    debouncer = Debouncer(3.0)
    assert debouncer.attempts([A, B, A], 0.0) == [A, B]
    assert debouncer.attempts([B, A], 0.1) == []
    assert debouncer.attempts([B], 3.05) == []
    assert debouncer.attempts([A], 3.1) == [A]


# -- lost camera ----------------------------------------------------------------------------
class World:
    """A USB camera that can be unplugged, or hang inside a read, and plugged back."""

    def __init__(self) -> None:
        self.plugged = True
        self.hang = threading.Event()  # set: reads block …
        self.unhang = threading.Event()  # … until this is set, then fail like a driver timeout
        self.opened: list[WorldCamera] = []

    def open(self) -> WorldCamera:
        if not self.plugged:
            raise DeviceError("camera /dev/video0 does not exist — plug in the USB camera")
        camera = WorldCamera(self)
        self.opened.append(camera)
        return camera


class WorldCamera:
    def __init__(self, world: World) -> None:
        self.world = world
        self.dead = False
        self.closes = 0

    def read(self) -> Frame:
        if self.world.hang.is_set():
            self.world.unhang.wait(10)
            raise CameraError("camera /dev/video0 gives no frames (timeout)")
        if self.dead or not self.world.plugged:
            self.dead = True  # an unplugged handle stays dead: only reopening helps
            raise CameraError("camera /dev/video0 gives no frames — check its USB cable")
        time.sleep(0.002)  # a camera delivers frames at its own pace
        return BLANK

    def close(self) -> None:
        self.closes += 1


def test_lost_camera_is_unavailable_within_5_s_and_comes_back() -> None:
    world = World()
    world.plugged = False
    scanner = Scanner(world.open, ignore, backoff_initial_s=0.01, backoff_max_s=0.05)
    assert scanner.status == "starting"
    with scanner:
        wait_for(lambda: scanner.status == "unavailable")
        assert "plug in the USB camera" in (scanner.last_error or "")
        world.plugged = True
        wait_for(lambda: scanner.status == "ok")

        world.plugged = False
        took = wait_for(lambda: scanner.status == "unavailable", timeout=5.0)
        assert took < 5.0
        assert "USB cable" in (scanner.last_error or "") or "plug in" in (scanner.last_error or "")
        wait_for(lambda: world.opened[0].closes == 1, timeout=1.0)

        world.plugged = True
        wait_for(lambda: scanner.status == "ok")
        assert len(world.opened) == 2
        assert "USB" in (scanner.last_error or "")  # the last problem stays on record
    assert scanner.status == "unavailable"
    assert scanner.last_error == "the scanner is stopped"
    assert [camera.closes for camera in world.opened] == [1, 1]


def test_a_read_that_hangs_makes_the_scanner_unavailable_within_the_bound() -> None:
    world = World()
    scanner = Scanner(world.open, ignore, unavailable_after_s=0.3, backoff_initial_s=0.01)
    with scanner:
        wait_for(lambda: scanner.status == "ok")
        world.hang.set()
        took = wait_for(lambda: scanner.status == "unavailable", timeout=2.0)
        assert 0.25 <= took < 0.3 + 0.5
        assert "stuck reading a frame" in (scanner.last_error or "")

        world.hang.clear()
        world.unhang.set()  # the driver's own timeout fires: error, close, reopen
        wait_for(lambda: scanner.status == "ok")
        assert world.opened[0].closes == 1
        assert len(world.opened) == 2

        world.unhang.clear()
        world.hang.set()
        wait_for(lambda: scanner.status == "unavailable", timeout=2.0)
        assert not scanner.stop(timeout=0.05)  # the thread is inside the stuck read
        world.unhang.set()
        assert scanner.stop(timeout=2.0)  # idempotent; ends once the read returns
    assert [camera.closes for camera in world.opened] == [1, 1]


def test_reconnect_backoff_doubles_to_the_cap_and_restarts_after_frames() -> None:
    clock = FakeClock()
    slept: list[float] = []
    scanner: Scanner

    class Frames:
        """Gives ``count`` frames, then fails."""

        def __init__(self, count: int) -> None:
            self.left = count
            self.closes = 0

        def read(self) -> Frame:
            if self.left == 0:
                raise CameraError("camera gives no frames")
            self.left -= 1
            return BLANK

        def close(self) -> None:
            self.closes += 1

    plan: list[int | None] = [None, None, None, None, None, 2, None, 0, None]
    cameras: list[Frames] = []
    done = threading.Event()

    def opener() -> Frames:
        if not plan:
            done.set()
            scanner.stop()
            raise DeviceError("end of plan")
        step = plan.pop(0)
        if step is None:
            raise DeviceError("camera does not exist")
        cameras.append(Frames(step))
        return cameras[-1]

    scanner = Scanner(
        opener,
        ignore,
        backoff_initial_s=1.0,
        backoff_max_s=4.0,
        clock=clock,
        sleep=slept.append,
    )
    scanner.start()
    assert done.wait(5.0)
    assert scanner.stop(timeout=5.0)
    #          fail fail fail fail fail  2 frames: reset  fail  no frames  fail
    assert slept == [1.0, 2.0, 4.0, 4.0, 4.0, 1.0, 2.0, 4.0, 4.0]
    assert [camera.closes for camera in cameras] == [1, 1]


def test_start_runs_once_and_stop_is_idempotent() -> None:
    scanner = Scanner(World().open, ignore)
    assert scanner.stop() and scanner.stop()  # never started: nothing to wait for
    with pytest.raises(RuntimeError):
        scanner.start()
    other = Scanner(World().open, ignore)
    other.start()
    with pytest.raises(RuntimeError):
        other.start()
    assert other.stop() and other.stop()


# -- no growth across reconnects ------------------------------------------------------------
def open_fds() -> int:
    return len(os.listdir("/proc/self/fd"))


@pytest.fixture
def tiny_clip(tmp_path: Path) -> Path:
    path = tmp_path / "tiny.avi"
    writer = cv2.VideoWriter(str(path), cv2.VideoWriter_fourcc(*"MJPG"), 10.0, (64, 48))
    for value in (0, 128, 255):
        writer.write(np.full((48, 64, 3), value, np.uint8))
    writer.release()
    return path


@pytest.mark.skipif(not Path("/proc/self/fd").is_dir(), reason="needs /proc")
def test_a_thousand_reconnects_leak_no_threads_fds_or_cameras(tiny_clip: Path) -> None:
    """Each open is a real OpenCV capture (a real file descriptor) that fails after 0–2 frames;
    every fourth open fails outright."""
    with ReplayCamera.open(tiny_clip, fps=None) as warm_up:  # let OpenCV load its backends
        warm_up.read()
    gc.collect()  # garbage from earlier tests must not close its files in the middle of this one
    threads_before, fds_before = threading.active_count(), open_fds()
    cycles = 1000
    opens = 0
    cameras: list[FlakyCamera] = []
    threads: list[tuple[int | None, int, int]] = []  # (opener thread, scanner threads, all)
    fds: list[int] = []
    scanner: Scanner

    class FlakyCamera:
        def __init__(self, frames: int) -> None:
            self.inner = ReplayCamera.open(tiny_clip, fps=None)
            self.left = frames
            self.closes = 0

        def read(self) -> Frame:
            if self.left == 0:
                raise CameraError("camera unplugged")
            self.left -= 1
            return self.inner.read()

        def close(self) -> None:
            self.closes += 1
            self.inner.close()

    def opener() -> FlakyCamera:
        nonlocal opens
        opens += 1
        scanners = sum(t.name == "kiosk-scanner" for t in threading.enumerate())
        threads.append((threading.get_ident(), scanners, threading.active_count()))
        fds.append(open_fds())
        if opens > cycles:
            scanner.stop()
            raise DeviceError("done")
        if opens % 4 == 0:
            raise DeviceError("camera does not exist")
        cameras.append(FlakyCamera(opens % 3))
        return cameras[-1]

    scanner = Scanner(
        opener, ignore, backoff_initial_s=0.0005, backoff_max_s=0.001, sleep=lambda s: None
    )
    scanner.start()
    wait_for(lambda: opens > cycles, timeout=20.0)
    assert scanner.stop(timeout=5.0)

    assert len(cameras) == cycles - cycles // 4
    assert all(camera.closes == 1 for camera in cameras)
    assert len({ident for ident, _, _ in threads}) == 1  # every open from the same thread …
    assert {scanners for _, scanners, _ in threads} == {1}  # … the one scanner thread
    assert max(total for _, _, total in threads) <= threads_before + 1 + 2
    assert max(fds) <= fds[0] + 2  # reconnecting does not accumulate descriptors
    assert threading.active_count() <= threads_before + 2
    assert open_fds() <= fds_before + 2
