"""How the hypercorn backend runs Hypercorn's workers (backends/hypercorn_workers.py).

The workers really start, drain, die and are replaced in tests/integration/test_faults.py; here
the pieces each of those rests on: exit statuses, the stop a worker polls, what a worker loads
before it says it has booted, and what the server does with a worker that ends.
"""

from __future__ import annotations

import logging
import signal
import sys
import threading
import types
from pathlib import Path
from typing import Any
from unittest import mock

import pytest
from hypercorn.asyncio import run as asyncio_run
from hypercorn.config import Config

from django_prodserver.backends import hypercorn_workers
from django_prodserver.backends.hypercorn_workers import (
    BOOT_FAILED,
    Workers,
    WorkerStop,
    exit_status,
    how_it_ended,
    worker_function,
)


@pytest.mark.parametrize(
    ("exitcode", "status", "ended"),
    [
        (0, 0, "exited with status 0"),
        (1, 1, "exited with status 1"),
        (-signal.SIGKILL, 137, "was killed by SIGKILL"),
        (-signal.SIGTERM, 143, "was killed by SIGTERM"),
        (None, 1, "exited with status None"),
    ],
)
def test_exit_status_and_how_a_worker_ended(exitcode: int | None, status: int, ended: str) -> None:
    assert (exit_status(exitcode), how_it_ended(exitcode)) == (status, ended)


def test_the_worker_functions_are_hypercorns_own() -> None:
    assert worker_function("asyncio") is asyncio_run.asyncio_worker
    assert worker_function("uvloop") is asyncio_run.uvloop_worker
    trio_run = types.ModuleType("hypercorn.trio.run")
    trio_run.trio_worker = object()  # type: ignore[attr-defined]
    with mock.patch.dict(sys.modules, {"hypercorn.trio.run": trio_run}):
        assert worker_function("trio") is trio_run.trio_worker  # type: ignore[attr-defined]


def test_a_worker_stops_on_the_servers_event_or_its_own_sigterm() -> None:
    server_stop = threading.Event()
    alone, together = WorkerStop(server_stop), WorkerStop(server_stop)
    assert not alone.is_set()

    alone.handle_sigterm(signal.SIGTERM, None)
    assert (alone.is_set(), together.is_set()) == (True, False)
    server_stop.set()
    assert together.is_set()


def test_a_worker_says_it_booted_only_once_what_it_serves_has_loaded(
    monkeypatch: pytest.MonkeyPatch,
) -> None:
    booted = threading.Event()
    order: list[str] = []
    config = Config()
    config.application_path = "app:app"
    monkeypatch.setattr(
        hypercorn_workers, "load_application", lambda *args: order.append(f"load {booted.is_set()}")
    )

    def serve_worker(**kwargs: Any) -> None:
        order.append(f"serve {booted.is_set()}")
        assert kwargs["sockets"] == "sockets"
        assert isinstance(kwargs["shutdown_event"], WorkerStop)
        # The SIGTERM handler is the worker's own graceful stop.
        assert signal.getsignal(signal.SIGTERM) == kwargs["shutdown_event"].handle_sigterm

    monkeypatch.setattr(hypercorn_workers, "worker_function", lambda worker_class: serve_worker)
    previous = {sig: signal.getsignal(sig) for sig in (signal.SIGTERM, signal.SIGINT)}
    try:
        hypercorn_workers.serve(config, "sockets", threading.Event(), booted)  # type: ignore[arg-type]
        assert signal.getsignal(signal.SIGINT) == signal.SIG_IGN  # the main process decides
    finally:
        for sig, handler in previous.items():
            signal.signal(sig, handler)

    assert order == ["load False", "serve True"]


def test_hypercorns_own_loop_runs_without_workers_or_with_reload(
    monkeypatch: pytest.MonkeyPatch,
) -> None:
    monkeypatch.setattr(hypercorn_workers.hypercorn_run, "run", lambda config: 7)
    monkeypatch.setattr(Workers, "run", lambda self: pytest.fail("not these workers"))
    no_workers, reloading = Config(), Config()
    no_workers.workers = 0
    reloading.use_reloader = True

    assert hypercorn_workers.run(no_workers) == hypercorn_workers.run(reloading) == 7


def test_the_pid_file_is_written_before_the_workers_start(
    monkeypatch: pytest.MonkeyPatch, tmp_path: Path
) -> None:
    config = Config()
    config.pid_path = str(tmp_path / "hypercorn.pid")
    monkeypatch.setattr(Workers, "__init__", lambda self, config: None)
    monkeypatch.setattr(Workers, "run", lambda self: Path(config.pid_path).is_file() and 5)

    assert hypercorn_workers.run(config) == 5


class FakeProcess:
    """A worker process as ``Workers`` sees it; ``stops``: whether join() finds it ended."""

    def __init__(self, pid: int, exitcode: int | None, stops: bool = True) -> None:
        self.pid = pid
        self.sentinel = pid
        self.final_exitcode = exitcode
        self.exitcode: int | None = None
        self.stops = stops
        self.terminated = False

    def join(self, timeout: float | None = None) -> None:
        if self.stops or self.terminated:
            self.exitcode = self.final_exitcode

    def terminate(self) -> None:
        self.terminated = True
        self.final_exitcode = -signal.SIGTERM


@pytest.fixture
def workers() -> Any:
    config = Config()
    config.bind = ["127.0.0.1:0"]  # any free port: nothing connects to it
    config.workers = 2
    config.graceful_timeout = 0.01
    made = Workers(config)
    yield made
    made.close()


def booted(is_set: bool) -> threading.Event:
    event = threading.Event()
    if is_set:
        event.set()
    return event


def test_a_worker_that_died_serving_is_replaced(
    workers: Workers, caplog: pytest.LogCaptureFixture
) -> None:
    killed = FakeProcess(101, -signal.SIGKILL)
    workers.processes[killed] = booted(True)
    with caplog.at_level(logging.WARNING, logger="hypercorn.error"):
        assert workers.ended(killed) == 0
    assert caplog.messages == [
        "Hypercorn worker (pid 101) was killed by SIGKILL; starting a new one."
    ]
    assert workers.processes == {}


def test_a_worker_that_died_before_serving_stops_the_server(
    workers: Workers, caplog: pytest.LogCaptureFixture
) -> None:
    failed, odd = FakeProcess(102, 1), FakeProcess(103, 0)
    workers.processes.update({failed: booted(False), odd: booted(False)})
    with caplog.at_level(logging.ERROR, logger="hypercorn.error"):
        assert workers.ended(failed) == 1
        assert workers.ended(odd) == BOOT_FAILED  # not serving, even with status 0
    assert caplog.messages == [
        "Hypercorn worker (pid 102) exited with status 1 before serving; stopping the server.",
        "Hypercorn worker (pid 103) exited with status 0 before serving; stopping the server.",
    ]


def test_stopping_waits_for_each_worker_and_terminates_one_that_does_not_stop(
    workers: Workers, caplog: pytest.LogCaptureFixture
) -> None:
    clean, stuck = FakeProcess(104, 0), FakeProcess(105, 0, stops=False)
    workers.processes.update({clean: booted(True), stuck: booted(True)})
    with caplog.at_level(logging.ERROR, logger="hypercorn.error"):
        status = workers.stop_all()

    assert workers.stop_event.is_set()
    assert (clean.terminated, stuck.terminated, status) == (False, True, 128 + signal.SIGTERM)
    assert caplog.messages == [
        "Hypercorn worker (pid 105) did not stop within 5.01 s; terminating it."
    ]
    assert workers.processes == {}


def test_a_signal_is_recorded_for_the_loop_and_wakes_it(workers: Workers) -> None:
    workers.handle_signal(signal.SIGHUP, None)
    assert workers.requested == "restart"
    workers.handle_signal(signal.SIGTERM, None)
    assert workers.requested == "stop"
    assert workers.wakeup_reader.recv(64) == b"\0\0"
