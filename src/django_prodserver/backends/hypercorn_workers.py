"""Hypercorn's worker processes, started, watched and stopped by this package.

Hypercorn's own ``hypercorn.run.run()`` returns as soon as the first worker exits, then
terminates the others: on SIGTERM the worker that finishes draining first ends the drain of the
rest (their requests in flight are lost), and a worker killed by SIGKILL stops the whole server
with status 0, because the status is read before the terminated workers have exited. ``run()``
here starts the same workers (Hypercorn's own worker functions, on the sockets Hypercorn's
``Config`` creates, spawned as Hypercorn spawns them) and differs in what it does when they end:

- SIGTERM or SIGINT: every worker is told to stop and drains for ``graceful_timeout``; the
  server waits for all of them (``graceful_timeout`` plus ``STOP_MARGIN`` seconds, after which a
  worker is terminated) and exits 0;
- SIGHUP: as in Hypercorn, every worker drains and exits, then a new set starts (new code);
- a worker that dies while serving (killed, out of memory) is replaced, as gunicorn and uvicorn
  replace theirs, and the other workers' requests are untouched;
- a worker that dies before it could serve (its application, TLS certificate or log
  configuration failed to load) stops the server with a non-zero status: a replacement would
  fail the same way;
- SIGTERM sent to one worker alone (or to the whole process group, as systemd does) drains that
  worker instead of killing it outright.

With ``workers = 0`` (one process) or ``reload``, Hypercorn's own ``run()`` serves unchanged.
"""

from __future__ import annotations

import logging
import signal
import socket
import time
from collections.abc import Callable
from multiprocessing import get_context
from multiprocessing.connection import wait
from types import FrameType
from typing import Any

from hypercorn import run as hypercorn_run
from hypercorn.config import Config, Sockets
from hypercorn.utils import load_application, write_pid_file

#: Seconds a stopping worker may take beyond ``graceful_timeout`` (the lifespan shutdown, the
#: process exit) before it is terminated.
STOP_MARGIN = 5.0
#: The exit status when a worker failed before serving: gunicorn's "worker failed to boot".
BOOT_FAILED = 3

#: What the server's main process handles: SIGHUP (where the platform has it) restarts the workers.
HANDLED_SIGNALS = tuple(
    sig for sig in (signal.SIGTERM, signal.SIGINT, getattr(signal, "SIGHUP", None)) if sig
)
#: The name Hypercorn's error log has in its workers (there, built from its configuration).
logger = logging.getLogger("hypercorn.error")


def worker_function(worker_class: str) -> Callable[..., None]:
    """Hypercorn's function that runs one worker of ``worker_class`` (checked before start)."""
    if worker_class == "trio":
        from hypercorn.trio.run import trio_worker

        return trio_worker
    from hypercorn.asyncio import run as asyncio_run

    return asyncio_run.uvloop_worker if worker_class == "uvloop" else asyncio_run.asyncio_worker


class WorkerStop:
    """What a worker polls to learn it must stop: the server's event, or its own SIGTERM."""

    def __init__(self, server_stop: Any) -> None:
        self.server_stop = server_stop
        self.signalled = False

    def is_set(self) -> bool:
        return self.signalled or bool(self.server_stop.is_set())

    def handle_sigterm(self, signum: int, frame: FrameType | None) -> None:
        self.signalled = True


def serve(config: Config, sockets: Sockets, server_stop: Any, booted: Any) -> None:
    """One worker process: load what Hypercorn's worker will load, say so, then serve."""
    stop = WorkerStop(server_stop)
    signal.signal(signal.SIGTERM, stop.handle_sigterm)
    signal.signal(signal.SIGINT, signal.SIG_IGN)  # the main process decides
    # Loaded here first so that a failure is known to be a boot failure; Hypercorn's worker then
    # finds the application imported, and the logger built.
    load_application(config.application_path, config.wsgi_max_body_size)
    config.create_ssl_context()
    config.log  # noqa: B018 - builds the loggers from the log configuration
    booted.set()
    worker_function(config.worker_class)(config=config, sockets=sockets, shutdown_event=stop)


def exit_status(exitcode: int | None) -> int:
    """A process's exit status as a shell reports it: 128 + N for a death by signal N."""
    if exitcode is None:
        return 1
    return 128 - exitcode if exitcode < 0 else exitcode


def how_it_ended(exitcode: int | None) -> str:
    if exitcode is not None and exitcode < 0:
        return f"was killed by {signal.Signals(-exitcode).name}"
    return f"exited with status {exitcode}"


class Workers:
    """The worker processes of one Hypercorn server, kept at ``config.workers``."""

    def __init__(self, config: Config) -> None:
        self.config = config
        self.context = get_context("spawn")
        self.stop_event = self.context.Event()
        self.sockets = config.create_sockets()
        self.processes: dict[Any, Any] = {}  # process -> its "booted" event
        self.wakeup_reader, self.wakeup_writer = socket.socketpair()
        self.requested: str | None = None  # "stop" or "restart", from a signal

    def handle_signal(self, signum: int, frame: FrameType | None) -> None:
        # Only records it: the main loop acts.
        self.requested = "restart" if signum == getattr(signal, "SIGHUP", None) else "stop"
        self.wakeup_writer.send(b"\0")

    def start_missing(self) -> None:
        # Workers inherit SIGINT ignored: a Ctrl-C reaches the whole group, and this process
        # alone decides how they stop.
        handler = signal.signal(signal.SIGINT, signal.SIG_IGN)
        try:
            for _ in range(self.config.workers - len(self.processes)):
                booted = self.context.Event()
                process = self.context.Process(
                    target=serve, args=(self.config, self.sockets, self.stop_event, booted)
                )
                # Hypercorn 0.18 added the 'daemon' setting; 0.17 always made them daemonic.
                process.daemon = getattr(self.config, "daemon", True)
                process.start()
                self.processes[process] = booted
        finally:
            signal.signal(signal.SIGINT, handler)

    def run(self) -> int:
        # Installed first: a stop signal while the workers start stops them too.
        for sig in HANDLED_SIGNALS:
            signal.signal(sig, self.handle_signal)
        try:
            self.start_missing()
            return self.watch()
        finally:
            self.close()

    def watch(self) -> int:
        while True:
            sentinels = {process.sentinel: process for process in self.processes}
            ready = wait([self.wakeup_reader, *sentinels], timeout=None)
            if self.wakeup_reader in ready:
                self.wakeup_reader.recv(64)
            if self.requested == "stop":
                return self.stop_all()
            if self.requested == "restart":
                self.requested = None
                self.stop_all()
                self.stop_event.clear()
                self.start_missing()
                continue
            for process in [sentinels[s] for s in ready if s in sentinels]:
                failed = self.ended(process)
                if failed:
                    self.stop_all()
                    return failed
            self.start_missing()

    def ended(self, process: Any) -> int:
        """Forget a worker that exited on its own; non-zero if the server must stop."""
        process.join()
        booted = self.processes.pop(process).is_set()
        ended = how_it_ended(process.exitcode)
        if not booted:
            logger.error(
                "Hypercorn worker (pid %s) %s before serving; stopping the server.",
                process.pid,
                ended,
            )
            return exit_status(process.exitcode) or BOOT_FAILED
        logger.warning("Hypercorn worker (pid %s) %s; starting a new one.", process.pid, ended)
        return 0

    def stop_all(self) -> int:
        """Stop every worker gracefully, waiting for each; 0 when they all stopped cleanly."""
        self.stop_event.set()
        allowed = float(self.config.graceful_timeout) + STOP_MARGIN
        deadline = time.monotonic() + allowed
        status = 0
        for process in list(self.processes):
            process.join(max(0.0, deadline - time.monotonic()))
            if process.exitcode is None:
                logger.error(
                    "Hypercorn worker (pid %s) did not stop within %g s; terminating it.",
                    process.pid,
                    allowed,
                )
                process.terminate()
                process.join()
            status = status or exit_status(process.exitcode)
            del self.processes[process]
        return status

    def close(self) -> None:
        for sock in [*self.sockets.secure_sockets, *self.sockets.insecure_sockets]:
            sock.close()
        self.wakeup_reader.close()
        self.wakeup_writer.close()


def run(config: Config) -> int:
    """Serve with Hypercorn until a stop signal or a failure; the exit status."""
    if config.workers == 0 or config.use_reloader:
        return hypercorn_run.run(config)
    if config.pid_path is not None:
        write_pid_file(config.pid_path)
    return Workers(config).run()
