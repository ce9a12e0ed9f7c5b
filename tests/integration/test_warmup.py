"""``HEALTHCHECK``: the warm-up request before serving, with real servers.

The test project's ``/calls/`` view answers "PID COUNT", COUNT being the requests it has served
in that process (a forked worker inherits its parent's count). A worker whose first request
reads 2 had the warm-up request served before it: warm. 1 means it started cold.
"""

from __future__ import annotations

import time
from collections.abc import Callable
from pathlib import Path
from typing import Any

import pytest

from .conftest import StartServer
from .harness import ServerProcess, run_manage, write_settings

pytestmark = pytest.mark.integration

HEALTHY = "/calls/"

# Backend, ARGS, and whether every worker starts warm.
SERVERS = [
    pytest.param("granian-wsgi", {"port": "{port}", "workers": 2}, True, id="granian-wsgi"),
    pytest.param("granian-asgi", {"port": "{port}", "workers": 2}, True, id="granian-asgi"),
    # Without preload, each worker sends the request itself once it has loaded the application.
    pytest.param("gunicorn", {"bind": "127.0.0.1:{port}", "workers": 2}, True, id="gunicorn"),
    pytest.param(
        "gunicorn",
        {"bind": "127.0.0.1:{port}", "workers": 2, "preload": True},
        True,
        id="gunicorn-preload",
    ),
    pytest.param("uvicorn", {"port": "{port}"}, True, id="uvicorn"),
    pytest.param("waitress", {"port": "{port}"}, True, id="waitress"),
    pytest.param("daphne", {"port": "{port}"}, True, id="daphne"),
    # Hypercorn spawns its workers, which import the application afresh: the request is only
    # tried, in a child process, and the workers start cold.
    pytest.param("hypercorn", {"bind": "127.0.0.1:{port}"}, False, id="hypercorn"),
]


def first_counts(server: ServerProcess, workers: int, seconds: float = 30) -> dict[str, int]:
    """The count each worker's first answer of ``/calls/`` gave, for up to ``workers`` PIDs.

    Asked for ``seconds`` at most, 20 times a second: on a busy machine one worker may still be
    starting while the other answers every request.
    """
    first: dict[str, int] = {}
    deadline = time.monotonic() + seconds
    while len(first) < workers and time.monotonic() < deadline:
        response = server.get(HEALTHY)
        assert response.status == 200, response.body
        pid, count = response.body.split()
        first.setdefault(pid, int(count))
        time.sleep(0.05)
    return first


@pytest.mark.parametrize(("backend", "args", "warm"), SERVERS)
def test_a_server_with_a_healthcheck_answering_200_serves_warm(
    start_server: StartServer, backend: str, args: dict[str, Any], warm: bool
) -> None:
    server = start_server({"web": {"BACKEND": backend, "ARGS": args, "HEALTHCHECK": HEALTHY}})
    server.wait_ready("/pid/")
    workers = int(args.get("workers", 1))
    counts = first_counts(server, workers)
    assert len(counts) == workers, f"requests reached {len(counts)} of {workers} workers"
    assert set(counts.values()) == {2 if warm else 1}, server.output
    assert server.stop(timeout=30) == 0


def test_without_a_healthcheck_workers_start_cold(start_server: StartServer) -> None:
    server = start_server({"web": {"BACKEND": "granian-wsgi", "ARGS": {"port": "{port}"}}})
    server.wait_ready("/pid/")
    assert set(first_counts(server, 1).values()) == {1}, server.output
    assert server.stop(timeout=30) == 0


Refusal = Callable[[Path], None]

MESSAGE = (
    "CommandError: Process 'web': the warm-up request for HEALTHCHECK {path!r} answered "
    "{status}, not 2xx: {line!r}. Fix that view, or point HEALTHCHECK at a path that answers "
    "2xx.\n"
)


@pytest.mark.parametrize(
    ("backend", "args", "path", "answer"),
    [
        # In the main process, before Granian forks any worker.
        (
            "granian-wsgi",
            {"port": 0},
            "/unhealthy/",
            ("500 Internal Server Error", "database unreachable"),
        ),
        ("granian-asgi", {"port": 0}, "/nope/", ("404 Not Found", "<!doctype html>")),
        # In the child process that tries the import, for servers whose workers import it.
        (
            "gunicorn",
            {"bind": "127.0.0.1:0"},
            "/unhealthy/?status=503",
            ("503 Service Unavailable", "database unreachable"),
        ),
        ("hypercorn", {"bind": "127.0.0.1:0"}, "/nope/", ("404 Not Found", "<!doctype html>")),
        (
            "waitress",
            {"port": 0},
            "/unhealthy/",
            ("500 Internal Server Error", "database unreachable"),
        ),
    ],
)
def test_a_healthcheck_that_does_not_answer_2xx_stops_the_start(
    tmp_path: Path, backend: str, args: dict[str, Any], path: str, answer: tuple[str, str]
) -> None:
    status, line = answer
    write_settings(tmp_path, {"web": {"BACKEND": backend, "ARGS": args, "HEALTHCHECK": path}})
    result = run_manage(tmp_path, "prodserver", "web")
    assert result.returncode == 1
    assert result.stderr == MESSAGE.format(path=path, status=status, line=line)
    # Nothing was served: the server never started.
    assert result.stdout == f"Starting process 'web' with backend {backend!r}.\n"


def test_dry_run_says_what_the_warm_up_sends(tmp_path: Path) -> None:
    write_settings(tmp_path, {"web": {"BACKEND": "waitress", "HEALTHCHECK": "/healthz/?full=1"}})
    result = run_manage(tmp_path, "prodserver", "web", "--dry-run")
    assert result.returncode == 0, result.stderr
    assert result.stdout.splitlines()[-1] == (
        "Before serving: GET /healthz/?full=1 through the application (Host: 127.0.0.1); "
        "anything but 2xx stops the start."
    )
