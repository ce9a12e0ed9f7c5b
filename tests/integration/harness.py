"""Start ``manage.py prodserver`` for real, in a subprocess on a free loopback port, and talk to it.

Every wait here is bounded: a server that does not answer or does not stop fails the test with
its own output attached, and is killed at teardown whatever happened.
"""

from __future__ import annotations

import contextlib
import ctypes
import itertools
import os
import signal
import socket
import ssl
import subprocess
import sys
import time
import urllib.error
import urllib.request
from collections.abc import Iterator, Mapping
from pathlib import Path
from typing import Any

import pytest

PROJECT_DIR = Path(__file__).resolve().parents[1] / "fixtures" / "project"
MANAGE_PY = PROJECT_DIR / "manage.py"


# CI runs three suites at once on one machine. A port the kernel picks for one of them may be
# picked for another a moment later, whose server then answers the first suite's requests; so
# each suite may be given a range of its own ("20000-23999"), below the kernel's ephemeral ports.
_PORT_RANGE = os.environ.get("PRODSERVER_TEST_PORTS", "")
_next_ports: Iterator[int] | None = None
if _PORT_RANGE:
    _low, _, _high = _PORT_RANGE.partition("-")
    _next_ports = itertools.cycle(range(int(_low), int(_high) + 1))


def free_port(host: str = "127.0.0.1") -> int:
    """A port nothing listens on now: the next free one of this suite's range, if it has one."""
    family = socket.AF_INET6 if ":" in host else socket.AF_INET
    for _ in range(1000):
        with socket.socket(family, socket.SOCK_STREAM) as sock:
            port = next(_next_ports) if _next_ports is not None else 0
            try:
                sock.bind((host, port))
            except OSError:
                continue
            return int(sock.getsockname()[1])
    raise AssertionError(f"no free port on {host} in PRODSERVER_TEST_PORTS={_PORT_RANGE!r}")


def write_settings(directory: Path, processes: dict[str, Any], extra: str = "") -> str:
    """A settings module in ``directory`` that extends the test project's settings."""
    module = "prodserver_test_settings"
    (directory / f"{module}.py").write_text(
        "from pathlib import Path, PosixPath  # noqa: F401 - used by repr() of paths\n"
        "from testsite.settings import *  # noqa: F403\n\n"
        f"PRODUCTION_PROCESSES = {processes!r}\n{extra}\n"
    )
    return module


def manage_command(directory: Path, *args: str) -> list[str]:
    return [
        sys.executable,
        str(MANAGE_PY),
        *args,
        "--settings=prodserver_test_settings",
        f"--pythonpath={directory}",
    ]


def subprocess_env() -> dict[str, str]:
    env = dict(os.environ)
    env["PYTHONUNBUFFERED"] = "1"
    env.pop("DJANGO_SETTINGS_MODULE", None)
    # They change what a server is given (environment.py): a test sets them when it means to.
    env.pop("PORT", None)
    env.pop("WEB_CONCURRENCY", None)
    return env


def run_manage(
    directory: Path, *args: str, timeout: float = 60
) -> subprocess.CompletedProcess[str]:
    """Run a management command to completion and capture what it prints."""
    return subprocess.run(
        manage_command(directory, *args),
        cwd=PROJECT_DIR,
        env=subprocess_env(),
        capture_output=True,
        text=True,
        timeout=timeout,
        check=False,
    )


class Response:
    def __init__(self, status: int, body: str, headers: dict[str, str]) -> None:
        self.status = status
        self.body = body
        self.headers = headers


class ServerProcess:
    """A ``manage.py prodserver`` subprocess and the loopback address it serves on."""

    def __init__(
        self,
        directory: Path,
        args: list[str],
        port: int,
        scheme: str = "http",
        env: Mapping[str, str] | None = None,
    ) -> None:
        env = {**subprocess_env(), **(env or {})}
        self._start(manage_command(directory, *args), PROJECT_DIR, env, directory / "server.log")
        self.port = port
        self.scheme = scheme

    @classmethod
    def of_command(
        cls, argv: list[str], *, cwd: Path, env: Mapping[str, str], port: int, log_path: Path
    ) -> ServerProcess:
        """Another command that ends in a server on ``port``: a script, honcho."""
        server = cls.__new__(cls)
        server._start(argv, cwd, env, log_path)
        server.port = port
        server.scheme = "http"
        return server

    def _start(self, argv: list[str], cwd: Path, env: Mapping[str, str], log_path: Path) -> None:
        self.log_path = log_path
        self._log = log_path.open("w")
        # A session of its own, so that kill() reaches every process the command started.
        self.proc = subprocess.Popen(
            argv,
            cwd=cwd,
            env=env,
            stdout=self._log,
            stderr=subprocess.STDOUT,
            start_new_session=True,
        )

    @property
    def output(self) -> str:
        if not self._log.closed:
            self._log.flush()
        return self.log_path.read_text(errors="replace")

    def url(self, path: str = "/") -> str:
        return f"{self.scheme}://127.0.0.1:{self.port}{path}"

    def get(
        self, path: str = "/", timeout: float = 10, context: ssl.SSLContext | None = None
    ) -> Response:
        request = urllib.request.Request(self.url(path), headers={"Connection": "close"})
        try:
            with urllib.request.urlopen(request, timeout=timeout, context=context) as response:
                body = response.read().decode()
                return Response(response.status, body, dict(response.headers))
        except urllib.error.HTTPError as e:
            return Response(e.code, e.read().decode(errors="replace"), dict(e.headers))

    def wait_ready(
        self, path: str = "/", timeout: float = 30, context: ssl.SSLContext | None = None
    ) -> Response:
        """Poll until the server answers, failing early if the process exits."""
        deadline = time.monotonic() + timeout
        last_error: Exception | None = None
        while time.monotonic() < deadline:
            if self.proc.poll() is not None:
                raise AssertionError(
                    f"server exited with {self.proc.returncode} before answering:\n{self.output}"
                )
            try:
                return self.get(path, timeout=5, context=context)
            except (OSError, urllib.error.URLError) as e:
                last_error = e
                time.sleep(0.2)
        raise AssertionError(
            f"server did not answer {path} within {timeout}s ({last_error}):\n{self.output}"
        )

    def stop(self, sig: int = signal.SIGTERM, timeout: float = 10) -> int:
        """Send ``sig`` to the server and wait for it to exit; return the exit status."""
        self.proc.send_signal(sig)
        try:
            return self.proc.wait(timeout=timeout)
        except subprocess.TimeoutExpired:
            raise AssertionError(
                f"server did not exit within {timeout}s of signal {sig}:\n{self.output}"
            ) from None

    def kill(self) -> None:
        # The whole session, even after the command exited: what it started may outlive it.
        with contextlib.suppress(ProcessLookupError):
            os.killpg(self.proc.pid, signal.SIGKILL)
        self.proc.wait(timeout=10)
        self._log.close()


def wait_for_granian_workers_started(server: ServerProcess, count: int) -> None:
    # A stop while a worker is still starting is other tests' subject: Granian 1.x then waits
    # for a worker that missed the signal, and the test would time out on that instead.
    deadline = time.monotonic() + 30
    wanted = [f"Started worker-{number}" for number in range(1, count + 1)]
    while not all(line in server.output for line in wanted):
        assert time.monotonic() < deadline, f"not all {count} workers started:\n{server.output}"
        time.sleep(0.2)


def _address(hex_address: str) -> str:
    # /proc/net/tcp* write each 32-bit word of the address in host (little-endian) order.
    raw = b"".join(
        bytes.fromhex(hex_address[i : i + 8])[::-1] for i in range(0, len(hex_address), 8)
    )
    return socket.inet_ntop(socket.AF_INET if len(raw) == 4 else socket.AF_INET6, raw)


def listening_addresses(port: int) -> set[str]:
    """The addresses some process of this machine listens on at TCP ``port``, as the kernel
    reports them: ``"0.0.0.0"`` for every interface, ``"127.0.0.1"`` for loopback only."""
    found = set()
    for table in ("/proc/net/tcp", "/proc/net/tcp6"):
        with contextlib.suppress(OSError):
            for line in Path(table).read_text().splitlines()[1:]:
                local, state = line.split()[1], line.split()[3]
                hex_address, _, hex_port = local.partition(":")
                if state == "0A" and int(hex_port, 16) == port:  # 0A: LISTEN
                    found.add(_address(hex_address))
    return found


def child_processes(pid: int) -> list[int]:
    """The processes whose parent is ``pid``, without multiprocessing's resource tracker."""
    children = []
    for stat in Path("/proc").glob("[0-9]*/stat"):
        try:
            fields = stat.read_text().rpartition(")")[2].split()
            cmdline = (stat.parent / "cmdline").read_bytes()
        except OSError:  # it exited meanwhile
            continue
        if int(fields[1]) == pid and b"resource_tracker" not in cmdline:
            children.append(int(stat.parent.name))
    return children


_PIDFD_GETFD = 438  # the syscall's number, the same on every Linux architecture (5.6+)


def _descendants(pid: int) -> list[int]:
    found, queue = [], [pid]
    while queue and len(found) < 64:
        for task in Path(f"/proc/{queue.pop(0)}/task").iterdir():
            with contextlib.suppress(OSError):  # the thread ended meanwhile
                children = [int(child) for child in (task / "children").read_text().split()]
                found += children
                queue += children
    return found


def _socket_inode(local: tuple[str, int], remote: tuple[str, int]) -> str | None:
    """The inode of the loopback TCP socket from ``local`` to ``remote``, from /proc/net/tcp."""

    def hex_address(address: tuple[str, int]) -> str:
        packed = socket.inet_aton(address[0])[::-1]  # the kernel prints it little-endian
        return f"{packed.hex().upper()}:{address[1]:04X}"

    wanted = (hex_address(local), hex_address(remote))
    for line in Path("/proc/net/tcp").read_text().splitlines()[1:]:
        fields = line.split()
        if (fields[1], fields[2]) == wanted:
            return fields[9]
    return None


def server_side_of(server: ServerProcess, client: socket.socket) -> socket.socket:
    """The socket a server's process accepted for ``client``'s connection, duplicated into this
    process with pidfd_getfd(2), so that its options can be read: they are not visible from the
    client's side. Skips the test where Linux or the test's privileges do not allow it."""
    if not hasattr(os, "pidfd_open"):
        pytest.skip("pidfd_open(2) is Linux-only")
    peer, local = client.getpeername(), client.getsockname()
    inode = _socket_inode(peer, local)
    assert inode is not None, f"no server socket for {local} in /proc/net/tcp"
    for pid in [server.proc.pid, *_descendants(server.proc.pid)]:
        for fd in Path(f"/proc/{pid}/fd").iterdir():
            with contextlib.suppress(OSError):
                if os.readlink(fd) == f"socket:[{inode}]":
                    return _duplicate(pid, int(fd.name))
    raise AssertionError(f"no process of the server holds socket {inode}")


def _duplicate(pid: int, fd: int) -> socket.socket:
    libc = ctypes.CDLL(None, use_errno=True)
    pidfd = os.pidfd_open(pid)
    try:
        duplicate = libc.syscall(_PIDFD_GETFD, pidfd, fd, 0)
    finally:
        os.close(pidfd)
    if duplicate < 0:
        pytest.skip(f"pidfd_getfd(2) is not allowed here: {os.strerror(ctypes.get_errno())}")
    return socket.socket(fileno=duplicate)
