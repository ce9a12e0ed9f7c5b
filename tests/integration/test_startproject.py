"""A new user's first hour: a fresh ``django-admin startproject`` project, two settings added."""

from __future__ import annotations

import os
import signal
import subprocess
import sys
import time
import urllib.error
import urllib.request
from pathlib import Path

import pytest

from .harness import free_port

pytestmark = pytest.mark.integration


@pytest.fixture(scope="module")
def fresh_project(tmp_path_factory: pytest.TempPathFactory) -> Path:
    root = tmp_path_factory.mktemp("startproject")
    django_admin = [sys.executable, "-m", "django", "startproject", "mysite", str(root)]
    subprocess.run(django_admin, check=True, timeout=60)
    settings = root / "mysite" / "settings.py"
    text = settings.read_text().replace(
        "'django.contrib.staticfiles',", "'django.contrib.staticfiles',\n    'django_prodserver',"
    )
    settings.write_text(text)
    return root


def write_processes(project: Path, processes: str, extra: str = "") -> None:
    """End the project's settings with ``PRODUCTION_PROCESSES = <processes>``, as a user
    would add it, replacing what an earlier test wrote there; ``extra`` follows it."""
    settings = project / "mysite" / "settings.py"
    base = settings.read_text().split("\nPRODUCTION_PROCESSES")[0]
    settings.write_text(f"{base}\nPRODUCTION_PROCESSES = {processes}\n{extra}")


def project_env() -> dict[str, str]:
    env = {**os.environ, "PYTHONUNBUFFERED": "1"}
    env.pop("DJANGO_SETTINGS_MODULE", None)
    return env


def manage(project: Path, *args: str) -> subprocess.CompletedProcess[str]:
    """Run ``python manage.py ARGS`` in the project to completion, capturing its output."""
    return subprocess.run(
        [sys.executable, "manage.py", *args],
        cwd=project,
        env=project_env(),
        capture_output=True,
        text=True,
        timeout=60,
        check=False,
    )


def _start(
    project: Path, backend: str, args: dict[str, object]
) -> tuple[subprocess.Popen[str], Path]:
    write_processes(project, repr({"web": {"BACKEND": backend, "ARGS": args}}))
    log = project / f"{backend}.log"
    env = project_env()
    with log.open("w") as out:
        process = subprocess.Popen(
            [sys.executable, "manage.py", "prodserver", "web"],
            cwd=project,
            env=env,
            stdout=out,
            stderr=subprocess.STDOUT,
            text=True,
            start_new_session=True,
        )
    return process, log


def _get(port: int, deadline: float, process: subprocess.Popen[str], log: Path) -> str:
    while time.monotonic() < deadline:
        assert process.poll() is None, log.read_text()
        try:
            with urllib.request.urlopen(f"http://127.0.0.1:{port}/", timeout=5) as response:
                return str(response.read().decode())
        except urllib.error.HTTPError as e:
            return str(e.read().decode())
        except OSError:
            time.sleep(0.2)
    raise AssertionError(f"no answer within the time limit:\n{log.read_text()}")


@pytest.mark.parametrize(
    ("backend", "port_args"),
    [
        ("granian-wsgi", lambda port: {"port": port, "workers": 2}),
        ("granian-asgi", lambda port: {"port": port}),
        ("gunicorn", lambda port: {"bind": f"127.0.0.1:{port}"}),
        ("uvicorn", lambda port: {"port": port}),
        ("uvicorn-wsgi", lambda port: {"port": port}),
        ("waitress", lambda port: {"port": port}),
        ("daphne", lambda port: {"port": port}),
        ("hypercorn", lambda port: {"bind": f"127.0.0.1:{port}"}),
    ],
)
def test_every_server_runs_a_fresh_startproject_project(
    fresh_project: Path, backend: str, port_args: object
) -> None:
    port = free_port()
    process, log = _start(fresh_project, backend, port_args(port))  # type: ignore[operator]
    try:
        body = _get(port, time.monotonic() + 30, process, log)
        # startproject's DEBUG page for "/", served through the project's own application.
        assert "The install worked successfully!" in body
        process.send_signal(signal.SIGTERM)
        assert process.wait(timeout=10) == 0, log.read_text()
        output = log.read_text()
        assert "Traceback" not in output
        assert "lifespan errored" not in output.lower()  # plain Django ASGI has no lifespan
    finally:
        if process.poll() is None:
            os.killpg(process.pid, signal.SIGKILL)
            process.wait(timeout=10)
