"""Several processes at once: ``prodserver --all`` and ``prodserver web worker``.

``processes.plan()`` validates every process in this process, exactly as a single start would
(the platform's ``PORT`` and ``WEB_CONCURRENCY`` applied, each server given a port of its own),
and reports every bad one before anything starts. ``Supervisor`` then runs each process as its
own ``manage.py prodserver NAME`` child, with the same interpreter, settings and Python path:

- each child's output lines are prefixed with its name, aligned, coloured on a terminal only;
- SIGTERM or SIGINT is forwarded to every child as its backend's ``stop_signal``; each child has
  its backend's ``graceful_timeout()`` to drain, then it is killed with its process group. A
  second SIGTERM or SIGINT kills the children still running at once;
- when one child exits on its own, the others are stopped the same way, and the command exits
  with that child's status (128 + N for a child ended by signal N, as a shell reports it);
  after a requested stop it exits 0 when every child stopped cleanly (one ended by the stop
  signal it was sent, still starting, counts as clean).

Each child runs in a session of its own: a Ctrl-C in the terminal reaches this process only, and
each server gets one stop signal, not one from the terminal and a second one forwarded (for
waitress and Daphne, a second signal skips the drain).

Why not honcho's ``Manager``: honcho (a well-kept port of foreman) was evaluated first. Its
``Manager`` waits a fixed five seconds (the module constant ``KILL_WAIT``) between SIGTERM and
SIGKILL for every process, where each server here needs its own graceful timeout (Hypercorn 3 s,
gunicorn 30 s, a Celery worker its tasks' time limit); it always sends SIGTERM, not the backend's
``stop_signal``; after a requested stop it reports 130 or 143 even when every process drained
cleanly; it runs each command through a shell, and starts a ``multiprocessing`` process per child
(a fork of this Django process) only to read its output. Meeting the rules would mean replacing
its loop and reaching into its private state, so the loop is written here; it is small. honcho
remains the tool for a Procfile, which ``prodserver`` fits into as one line per process.
"""

from __future__ import annotations

import contextlib
import itertools
import os
import signal
import subprocess
import sys
import threading
import time
from collections.abc import Iterator, Sequence
from pathlib import Path
from types import FrameType
from typing import Protocol

from .processes import PlannedProcess
from .stop_signals import stop_signals_handled

#: The name the supervisor's own lines are prefixed with.
OWN_NAME = "prodserver"
#: How often the loop looks at the children.
POLL_INTERVAL = 0.05
#: How long the output of a child that has exited may take to be read to its end.
OUTPUT_DRAIN_TIMEOUT = 5.0
# ANSI colours for the prefixes, as foreman and honcho cycle them.
COLOURS = ("36", "33", "32", "35", "34", "31", "96", "93", "92", "95", "94", "91")


class Output(Protocol):
    def write(self, text: str, /) -> object: ...
    def flush(self) -> object: ...


def child_command(name: str, manage_options: Sequence[str]) -> list[str]:
    """``manage.py prodserver NAME`` with this interpreter and this run's manage.py options."""
    script = Path(sys.argv[0])
    # `python -m django prodserver ...` runs django/__main__.py.
    if script.name == "__main__.py":
        launcher = ["-m", script.parent.name]
    else:
        launcher = [str(script.resolve())]
    return [sys.executable, *launcher, "prodserver", name, *manage_options]


def exit_status(returncode: int) -> int:
    """A child's status as a shell reports it: 128 + N for a child ended by signal N."""
    return 128 - returncode if returncode < 0 else returncode


class Child:
    """One running ``manage.py prodserver NAME``."""

    def __init__(self, name: str, command: Sequence[str], planned: PlannedProcess) -> None:
        self.name = name
        self.command = list(command)
        self.environ = dict(planned.environ)
        self.stop_signal = planned.backend.stop_signal
        self.graceful_timeout = planned.backend.graceful_timeout()
        self.proc: subprocess.Popen[bytes] | None = None
        self.reader: threading.Thread | None = None
        self.deadline: float | None = None  # when it was asked to stop: the end of its drain
        self.killed = False
        self.exited = False  # its exit has been reported

    def start(self) -> subprocess.Popen[bytes]:
        self.proc = subprocess.Popen(
            self.command,
            stdin=subprocess.DEVNULL,
            stdout=subprocess.PIPE,
            stderr=subprocess.STDOUT,
            env={**self.environ, "PYTHONUNBUFFERED": "1"},
            start_new_session=True,
        )
        return self.proc

    @property
    def returncode(self) -> int | None:
        return None if self.proc is None else self.proc.poll()

    def signal_group(self, sig: int) -> None:
        """``sig`` to the child and every process it started (its process group)."""
        assert self.proc is not None
        with contextlib.suppress(ProcessLookupError, PermissionError):
            os.killpg(self.proc.pid, sig)


class Supervisor:
    """Runs the children, relays their output, and stops them together."""

    def __init__(self, children: Sequence[Child], output: Output, colour: bool = False) -> None:
        self.children = list(children)
        self.output = output
        self.colour = colour
        self.width = max(len(name) for name in [OWN_NAME, *(c.name for c in self.children)])
        self.colours = dict(zip((c.name for c in self.children), itertools.cycle(COLOURS)))
        self.lock = threading.Lock()
        self.stop_requests = 0
        self.first_exit: Child | None = None  # the child that exited without being asked

    # -- output ------------------------------------------------------------------------------

    def write(self, name: str, line: str) -> None:
        prefix = f"{name.ljust(self.width)} | "
        if self.colour and name in self.colours:
            prefix = f"\033[{self.colours[name]}m{prefix}\033[0m"
        with self.lock:
            self.output.write(prefix + line + "\n")
            self.output.flush()

    def _relay(self, child: Child) -> None:
        assert child.proc is not None and child.proc.stdout is not None
        for raw in iter(child.proc.stdout.readline, b""):
            self.write(child.name, raw.decode("utf-8", "replace").rstrip("\r\n"))
        child.proc.stdout.close()

    # -- running -----------------------------------------------------------------------------

    def run(self) -> int:
        """Start every child, wait until all have exited, and return the command's status."""
        with self._stop_signals_counted():
            for child in self.children:
                proc = child.start()
                child.reader = threading.Thread(target=self._relay, args=(child,), daemon=True)
                child.reader.start()
                self.write(OWN_NAME, f"{child.name} started (pid {proc.pid})")
            while not all(child.exited for child in self.children):
                self._look_at_children(time.monotonic())
                time.sleep(POLL_INTERVAL)
        for child in self.children:
            assert child.reader is not None
            child.reader.join(OUTPUT_DRAIN_TIMEOUT)
        return self._status()

    @contextlib.contextmanager
    def _stop_signals_counted(self) -> Iterator[None]:
        def request_stop(signum: int, frame: FrameType | None) -> None:
            self.stop_requests += 1  # only counted here; the loop acts on it

        with stop_signals_handled(request_stop):
            yield

    def _look_at_children(self, now: float) -> None:
        for child in self.children:
            code = child.returncode
            if code is None or child.exited:
                continue
            child.exited = True
            self.write(OWN_NAME, f"{child.name} exited with status {_shown_status(code)}")
            # Worker processes a crashed server left behind have no one to stop them.
            child.signal_group(signal.SIGKILL)
            if child.deadline is None and self.first_exit is None and not self.stop_requests:
                self.first_exit = child
        if self.stop_requests or self.first_exit is not None:
            self._stop_the_rest(now)

    def _stop_the_rest(self, now: float) -> None:
        for child in self.children:
            if child.exited or child.killed:
                continue
            assert child.proc is not None
            if child.deadline is None:
                self.write(
                    OWN_NAME,
                    f"stopping {child.name}: {child.stop_signal.name}, then up to "
                    f"{child.graceful_timeout:g} s to finish",
                )
                child.proc.send_signal(child.stop_signal)
                child.deadline = now + child.graceful_timeout
            elif now >= child.deadline or self.stop_requests > 1:
                why = "a second stop signal" if self.stop_requests > 1 else "its graceful timeout"
                self.write(OWN_NAME, f"killing {child.name} after {why}")
                child.signal_group(signal.SIGKILL)
                child.killed = True

    def _status(self) -> int:
        """The status of the child that exited on its own; after a requested stop, 0 when
        every child stopped cleanly, else the first one's that did not.

        A child ended by the stop signal it was sent had no handler yet (it was still
        starting): it stopped as asked, with nothing to drain, so that is clean too."""
        if self.first_exit is not None:
            return exit_status(self.first_exit.returncode or 0)
        codes = [
            0
            if child.returncode == -child.stop_signal and not child.killed
            else exit_status(child.returncode or 0)
            for child in self.children
        ]
        return next((code for code in codes if code), 0)


def _shown_status(returncode: int) -> str:
    if returncode >= 0:
        return str(returncode)
    try:
        name = signal.Signals(-returncode).name
    except ValueError:  # a real-time signal has no name
        name = str(-returncode)
    return f"{exit_status(returncode)} (signal {name})"
