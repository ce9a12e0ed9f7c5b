"""Start servers as subprocesses on loopback, wait for their first 200, and always stop them.

Every wait is bounded. Each server runs in its own session (process group), so stopping it
reaches its workers too; anything still running when the interpreter exits is killed.
"""

from __future__ import annotations

import atexit
import contextlib
import os
import signal
import socket
import subprocess
import time
from collections.abc import Iterator, Mapping, Sequence
from dataclasses import dataclass
from pathlib import Path

READY_TIMEOUT = 60.0  # seconds for a server to give its first 200
STOP_TIMEOUT = 10.0  # seconds between SIGTERM and SIGKILL
POLL_INTERVAL = 0.01  # seconds between readiness probes: connection refused costs nothing

_running: list[Server] = []


def free_port() -> int:
    """A loopback TCP port that nothing listens on right now."""
    with socket.socket(socket.AF_INET, socket.SOCK_STREAM) as sock:
        sock.bind(("127.0.0.1", 0))
        return int(sock.getsockname()[1])


def http_status(port: int, path: str = "/", timeout: float = 30.0) -> int:
    """The status of one GET on a fresh connection; raises OSError if nothing answers.

    A raw socket, not urllib: the probe runs every few milliseconds during start-up timing and
    must cost as little as possible.
    """
    request = f"GET {path} HTTP/1.1\r\nHost: 127.0.0.1\r\nConnection: close\r\n\r\n".encode()
    with socket.create_connection(("127.0.0.1", port), timeout=timeout) as sock:
        sock.sendall(request)
        head = b""
        while b"\r\n" not in head:
            chunk = sock.recv(256)
            if not chunk:
                raise ConnectionError("connection closed before a status line")
            head += chunk
    return int(head.split(b" ", 2)[1])


class ServerFailed(RuntimeError):
    """A server exited or did not answer in time; the message ends with its output."""


@dataclass
class Launch:
    """How to start one server: everything ``subprocess.Popen`` needs."""

    argv: list[str]
    cwd: Path
    env: dict[str, str]


class Server:
    """One running server process (a main process and whatever workers it forks)."""

    def __init__(self, label: str, launch: Launch, port: int, log_dir: Path) -> None:
        self.label = label
        self.port = port
        self.log_path = log_dir / f"{label.replace(' ', '_').replace('/', '_')}-{port}.log"
        self._log = self.log_path.open("w")
        self.started_at = time.monotonic()
        self.proc = subprocess.Popen(
            launch.argv,
            cwd=launch.cwd,
            env=launch.env,
            stdin=subprocess.DEVNULL,
            stdout=self._log,
            stderr=subprocess.STDOUT,
            start_new_session=True,
        )
        _running.append(self)

    @property
    def pid(self) -> int:
        return self.proc.pid

    def output(self, last_lines: int = 30) -> str:
        self._log.flush()
        lines = self.log_path.read_text(errors="replace").splitlines()
        return "\n".join(lines[-last_lines:])

    def wait_ready(self, path: str = "/", timeout: float = READY_TIMEOUT) -> float:
        """Seconds from launch to the first 200 on ``path``."""
        deadline = self.started_at + timeout
        status = None
        while time.monotonic() < deadline:
            if self.proc.poll() is not None:
                raise ServerFailed(
                    f"{self.label} exited with {self.proc.returncode} before answering:\n"
                    f"{self.output()}"
                )
            try:
                status = http_status(self.port, path, timeout=max(deadline - time.monotonic(), 1))
            except OSError:
                time.sleep(POLL_INTERVAL)
                continue
            if status == 200:
                return time.monotonic() - self.started_at
            time.sleep(POLL_INTERVAL)
        raise ServerFailed(
            f"{self.label} gave no 200 on {path} within {timeout:.0f}s (last status {status}):\n"
            f"{self.output()}"
        )

    def stop(self) -> int | None:
        """SIGTERM, a bounded wait, then SIGKILL for the whole process group."""
        if self in _running:
            _running.remove(self)
        if self.proc.poll() is None:
            with contextlib.suppress(ProcessLookupError):
                self.proc.send_signal(signal.SIGTERM)
            with contextlib.suppress(subprocess.TimeoutExpired):
                self.proc.wait(timeout=STOP_TIMEOUT)
        # Workers that outlived their main process are still in its process group.
        with contextlib.suppress(ProcessLookupError, PermissionError):
            os.killpg(self.proc.pid, signal.SIGKILL)
        with contextlib.suppress(subprocess.TimeoutExpired):
            self.proc.wait(timeout=STOP_TIMEOUT)
        self._log.close()
        return self.proc.returncode


def start(label: str, launch: Launch, port: int, log_dir: Path) -> Server:
    return Server(label, launch, port, log_dir)


def stop_all() -> None:
    for server in list(_running):
        server.stop()


@contextlib.contextmanager
def running(
    servers: Sequence[tuple[str, Launch, int]], log_dir: Path, path: str = "/"
) -> Iterator[list[Server]]:
    """Start each server in turn, wait until it answers, and stop them all afterwards."""
    started: list[Server] = []
    try:
        for label, launch, port in servers:
            server = start(label, launch, port, log_dir)
            started.append(server)
            server.wait_ready(path)
        yield started
    finally:
        for server in started:
            server.stop()


def run_bounded(
    argv: Sequence[str],
    timeout: float,
    cwd: Path | None = None,
    env: Mapping[str, str] | None = None,
) -> subprocess.CompletedProcess[str]:
    """Run a command to completion with a time limit, capturing its output."""
    return subprocess.run(
        list(argv),
        cwd=cwd,
        env=dict(env) if env is not None else None,
        capture_output=True,
        text=True,
        timeout=timeout,
        check=False,
    )


def _stop_on_signal(signum: int, frame: object) -> None:
    raise SystemExit(128 + signum)  # unwinds through every ``finally`` that stops a server


def install_cleanup() -> None:
    """Make sure no server outlives the benchmark, however it ends (entry points call this)."""
    atexit.register(stop_all)
    signal.signal(signal.SIGTERM, _stop_on_signal)
