"""Start ``manage.py prodserver`` for real, in a subprocess on a free loopback port, and talk to it.

Every wait here is bounded: a server that does not answer or does not stop fails the test with
its own output attached, and is killed at teardown whatever happened.
"""

from __future__ import annotations

import contextlib
import os
import signal
import socket
import ssl
import subprocess
import sys
import time
import urllib.error
import urllib.request
from pathlib import Path
from typing import Any

PROJECT_DIR = Path(__file__).resolve().parents[1] / "project"
MANAGE_PY = PROJECT_DIR / "manage.py"


def free_port(host: str = "127.0.0.1") -> int:
    with socket.socket(socket.AF_INET, socket.SOCK_STREAM) as sock:
        sock.bind((host, 0))
        return int(sock.getsockname()[1])


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

    def __init__(self, directory: Path, args: list[str], port: int, scheme: str = "http") -> None:
        self.port = port
        self.scheme = scheme
        self.log_path = directory / "server.log"
        self._log = self.log_path.open("w")
        self.proc = subprocess.Popen(
            manage_command(directory, *args),
            cwd=PROJECT_DIR,
            env=subprocess_env(),
            stdout=self._log,
            stderr=subprocess.STDOUT,
            start_new_session=True,
        )

    @property
    def output(self) -> str:
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
        if self.proc.poll() is None:
            with contextlib.suppress(ProcessLookupError):  # it may exit on its own meanwhile
                os.killpg(self.proc.pid, signal.SIGKILL)
            self.proc.wait(timeout=10)
        self._log.close()
