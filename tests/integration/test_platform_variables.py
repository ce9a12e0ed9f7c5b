"""PORT and WEB_CONCURRENCY for every web backend, observed on the running server: the address
the kernel reports it listening on, an answer on that port, and its worker processes counted.

``PORT`` means every interface (``0.0.0.0``), as on a platform: these servers listen there for a
few seconds, and the tests talk to them over loopback only.
"""

from __future__ import annotations

import signal
import time
from pathlib import Path
from typing import Any

import pytest

from . import harness
from .conftest import StartServer
from .test_web_servers import HELLO
from .test_workers import celery_settings

pytestmark = pytest.mark.integration

CELERY_APP = "testsite.celery_app.app"
# No listen address and no worker count in ARGS: both come from the environment.
WITH_WORKERS: dict[str, dict[str, Any]] = {
    "gunicorn": {"BACKEND": "gunicorn"},
    "uvicorn": {"BACKEND": "uvicorn"},
    "uvicorn-wsgi": {"BACKEND": "uvicorn-wsgi"},
    "granian-wsgi": {"BACKEND": "granian-wsgi"},
    "granian-asgi": {"BACKEND": "granian-asgi"},
    "hypercorn": {"BACKEND": "hypercorn"},
}
WITHOUT_WORKERS: dict[str, dict[str, Any]] = {
    "daphne": {"BACKEND": "daphne"},
    "waitress": {"BACKEND": "waitress"},
    "celery-flower": {"BACKEND": "celery-flower", "APP": CELERY_APP},
}
HEALTH_PATH = {"celery-flower": "/healthcheck"}


def wait_for_workers(server: harness.ServerProcess, count: int, timeout: float = 30) -> list[int]:
    """The server's worker processes, once there are ``count`` of them."""
    deadline = time.monotonic() + timeout
    workers = harness.child_processes(server.proc.pid)
    while time.monotonic() < deadline:
        workers = harness.child_processes(server.proc.pid)
        if len(workers) == count:
            return workers
        time.sleep(0.2)
    raise AssertionError(f"{len(workers)} worker processes, not {count}:\n{server.output}")


def start(
    start_server: StartServer,
    tmp_path: Path,
    backend: str,
    entry: dict[str, Any],
    env: dict[str, str],
) -> harness.ServerProcess:
    settings = celery_settings(tmp_path) if backend == "celery-flower" else ""
    server = start_server({"web": entry}, "web", settings, env=env)
    response = server.wait_ready(HEALTH_PATH.get(backend, "/"))
    assert response.status == 200, server.output
    if backend != "celery-flower":
        assert response.body == HELLO
    return server


@pytest.mark.parametrize("backend", list(WITH_WORKERS))
def test_port_and_web_concurrency_give_the_bind_and_the_workers(
    start_server: StartServer, tmp_path: Path, backend: str
) -> None:
    server = start(
        start_server,
        tmp_path,
        backend,
        WITH_WORKERS[backend],
        {"PORT": "{port}", "WEB_CONCURRENCY": "3"},
    )

    assert harness.listening_addresses(server.port) == {"0.0.0.0"}, server.output
    wait_for_workers(server, 3)
    assert server.stop(signal.SIGTERM, timeout=30) == 0, server.output


@pytest.mark.parametrize("backend", list(WITHOUT_WORKERS))
def test_port_gives_the_bind_of_a_server_without_workers(
    start_server: StartServer, tmp_path: Path, backend: str
) -> None:
    server = start(
        start_server,
        tmp_path,
        backend,
        WITHOUT_WORKERS[backend],
        {"PORT": "{port}", "WEB_CONCURRENCY": "3"},
    )

    assert harness.listening_addresses(server.port) == {"0.0.0.0"}, server.output
    assert server.stop(signal.SIGTERM, timeout=30) == 0, server.output


# ARGS wins: the environment says 0.0.0.0 on another port and 3 workers.
ARGS_WIN: dict[str, dict[str, Any]] = {
    "gunicorn": {"BACKEND": "gunicorn", "ARGS": {"bind": "127.0.0.1:{port}", "workers": 1}},
    "uvicorn": {"BACKEND": "uvicorn", "ARGS": {"port": "{port}", "workers": 1}},
    "granian-wsgi": {"BACKEND": "granian-wsgi", "ARGS": {"port": "{port}", "workers": 1}},
    "hypercorn": {"BACKEND": "hypercorn", "ARGS": {"bind": "127.0.0.1:{port}", "workers": 1}},
    "waitress": {"BACKEND": "waitress", "ARGS": {"port": "{port}"}},
    "daphne": {"BACKEND": "daphne", "ARGS": {"port": "{port}"}},
}
WORKERS_WHEN_ONE = {"gunicorn": 1, "uvicorn": 0, "granian-wsgi": 1, "hypercorn": 1}


@pytest.mark.parametrize("backend", list(ARGS_WIN))
def test_args_win_over_the_environment(
    start_server: StartServer, tmp_path: Path, backend: str
) -> None:
    other_port = str(harness.free_port())
    server = start(
        start_server,
        tmp_path,
        backend,
        ARGS_WIN[backend],
        {"PORT": other_port, "WEB_CONCURRENCY": "3"},
    )

    assert harness.listening_addresses(server.port) == {"127.0.0.1"}, server.output
    assert harness.listening_addresses(int(other_port)) == set()
    if backend in WORKERS_WHEN_ONE:
        # uvicorn serves a single worker in its main process.
        wait_for_workers(server, WORKERS_WHEN_ONE[backend])
    assert server.stop(signal.SIGTERM, timeout=30) == 0, server.output


def test_set_counts_as_args(start_server: StartServer, tmp_path: Path) -> None:
    server = start(
        start_server,
        tmp_path,
        "granian-wsgi",
        {"BACKEND": "granian-wsgi", "ARGS": {"host": "127.0.0.1"}},
        {"PORT": "{port}", "WEB_CONCURRENCY": "3"},
    )
    assert harness.listening_addresses(server.port) == {"127.0.0.1"}
    wait_for_workers(server, 3)
    harness.wait_for_granian_workers_started(server, 3)
    assert server.stop() == 0, server.output
    again = harness.ServerProcess(
        tmp_path,
        ["prodserver", "web", "--set", "workers=2"],
        server.port,
        env={"PORT": str(server.port), "WEB_CONCURRENCY": "3"},
    )
    try:
        again.wait_ready()
        assert wait_for_workers(again, 2)
        harness.wait_for_granian_workers_started(again, 2)
        assert again.stop() == 0, again.output
    finally:
        again.kill()


BAD_VALUES = [
    ("PORT", "abc"),
    ("PORT", "70000"),
    ("PORT", "0"),
    ("PORT", ""),
    ("WEB_CONCURRENCY", "0"),
    ("WEB_CONCURRENCY", "-1"),
    ("WEB_CONCURRENCY", "abc"),
    ("WEB_CONCURRENCY", ""),
]
MESSAGES = {
    "PORT": "Process 'web': the environment variable PORT is {value!r}; it must be a port "
    "number from 1 to 65535, such as PORT=8000. Correct or unset PORT, or set the port in ARGS.",
    "WEB_CONCURRENCY": "Process 'web': the environment variable WEB_CONCURRENCY is {value!r}; "
    "it must be a number of worker processes, 1 or more, such as WEB_CONCURRENCY=4. Correct or "
    "unset WEB_CONCURRENCY, or set 'workers' in ARGS.",
}


@pytest.mark.parametrize("dry_run", [False, True], ids=["start", "dry-run"])
@pytest.mark.parametrize(("variable", "value"), BAD_VALUES)
def test_a_bad_value_is_one_line_naming_the_variable(
    tmp_path: Path, variable: str, value: str, dry_run: bool
) -> None:
    harness.write_settings(tmp_path, {"web": {"BACKEND": "granian-wsgi"}})
    command = harness.manage_command(tmp_path, "prodserver", "web", *["--dry-run"] * dry_run)
    result = harness.subprocess.run(
        command,
        cwd=harness.PROJECT_DIR,
        env={**harness.subprocess_env(), variable: value},
        capture_output=True,
        text=True,
        timeout=60,
        check=False,
    )
    assert (result.returncode, result.stdout) == (1, "")
    assert result.stderr == "CommandError: " + MESSAGES[variable].format(value=value) + "\n"


def test_dry_run_says_where_each_value_comes_from(tmp_path: Path) -> None:
    harness.write_settings(tmp_path, {"web": {"BACKEND": "gunicorn", "ARGS": {"workers": 2}}})
    result = harness.subprocess.run(
        harness.manage_command(tmp_path, "prodserver", "web", "--dry-run"),
        cwd=harness.PROJECT_DIR,
        env={**harness.subprocess_env(), "PORT": "8080", "WEB_CONCURRENCY": "5"},
        capture_output=True,
        text=True,
        timeout=60,
        check=False,
    )
    assert (result.returncode, result.stderr) == (0, "")
    assert result.stdout.splitlines()[-2:] == [
        "Port: 8080 on 0.0.0.0, from the environment variable PORT.",
        "Workers: set by ARGS['workers']; WEB_CONCURRENCY is not used.",
    ]


def _gunicorn_dry_run(tmp_path: Path, args: dict[str, Any]) -> Any:
    harness.write_settings(tmp_path, {"web": {"BACKEND": "gunicorn", "ARGS": args}})
    return harness.subprocess.run(
        harness.manage_command(tmp_path, "prodserver", "web", "--dry-run"),
        cwd=harness.PROJECT_DIR,
        env={**harness.subprocess_env(), "WEB_CONCURRENCY": "1e3"},
        capture_output=True,
        text=True,
        timeout=60,
        check=False,
    )


def test_gunicorn_s_own_reading_of_a_bad_web_concurrency_is_not_an_import_failure(
    tmp_path: Path,
) -> None:
    # gunicorn reads WEB_CONCURRENCY with int() as gunicorn.config is imported.
    result = _gunicorn_dry_run(tmp_path, {})
    assert (result.returncode, result.stdout) == (1, "")
    message = MESSAGES["WEB_CONCURRENCY"].format(value="1e3")
    assert result.stderr == f"CommandError: {message}\n"


def test_a_bad_web_concurrency_is_not_used_when_args_set_gunicorn_s_workers(
    tmp_path: Path,
) -> None:
    result = _gunicorn_dry_run(tmp_path, {"workers": 2})
    assert (result.returncode, result.stderr) == (0, "")
    assert result.stdout.splitlines()[-1] == (
        "Workers: set by ARGS['workers']; WEB_CONCURRENCY is not used."
    )
