"""Cheroot started for real by `manage.py prodserver web`, in a fresh startproject project."""

from __future__ import annotations

import os
import signal
import socket
import subprocess
import sys
import time
import urllib.error
import urllib.request
from pathlib import Path

import pytest


def free_port() -> int:
    with socket.socket() as sock:
        sock.bind(("127.0.0.1", 0))
        return int(sock.getsockname()[1])


@pytest.fixture
def project(tmp_path: Path) -> Path:
    """`django-admin startproject mysite` with the app and one cheroot process added."""
    subprocess.run(
        [sys.executable, "-m", "django", "startproject", "mysite", str(tmp_path)],
        check=True,
        timeout=60,
    )
    settings = tmp_path / "mysite" / "settings.py"
    text = settings.read_text().replace(
        "'django.contrib.staticfiles',", "'django.contrib.staticfiles',\n    'django_prodserver',"
    )
    settings.write_text(text)
    return tmp_path


def start(project: Path, port: int) -> tuple[subprocess.Popen[bytes], Path]:
    with (project / "mysite" / "settings.py").open("a") as settings:
        settings.write(
            "\nPRODUCTION_PROCESSES = {'web': {'BACKEND': 'cheroot', "
            f"'ARGS': {{'bind': '127.0.0.1:{port}', 'threads': 2}}}}}}\n"
        )
    log = project / "server.log"
    env = {**os.environ, "PYTHONUNBUFFERED": "1"}
    env.pop("DJANGO_SETTINGS_MODULE", None)
    with log.open("wb") as out:
        process = subprocess.Popen(
            [sys.executable, "manage.py", "prodserver", "web"],
            cwd=project,
            env=env,
            stdout=out,
            stderr=subprocess.STDOUT,
            start_new_session=True,
        )
    return process, log


def get(url: str, process: subprocess.Popen[bytes], log: Path, timeout: float = 30) -> str:
    deadline = time.monotonic() + timeout
    while time.monotonic() < deadline:
        assert process.poll() is None, log.read_text()
        try:
            with urllib.request.urlopen(url, timeout=5) as response:
                return str(response.read().decode())
        except urllib.error.HTTPError as e:
            return str(e.read().decode())
        except OSError:
            time.sleep(0.2)
    raise AssertionError(f"no answer within {timeout}s:\n{log.read_text()}")


def test_serves_the_project_and_exits_0_on_sigterm(project: Path) -> None:
    port = free_port()
    process, log = start(project, port)
    try:
        body = get(f"http://127.0.0.1:{port}/", process, log)

        assert "The install worked successfully!" in body  # startproject's page for "/"
        process.send_signal(signal.SIGTERM)
        assert process.wait(timeout=10) == 0, log.read_text()
        output = log.read_text()
        assert f"cheroot serving on ('127.0.0.1', {port})" in output
        assert "Traceback" not in output
    finally:
        if process.poll() is None:
            os.killpg(process.pid, signal.SIGKILL)
            process.wait(timeout=10)
