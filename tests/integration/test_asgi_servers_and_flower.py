"""daphne, hypercorn and celery-flower started for real by ``manage.py prodserver``.

Each runs in a subprocess on a free loopback port. The ASGI servers must answer with the view's
body, let a request in flight at SIGTERM (and SIGINT) finish, and exit 0; Flower must answer
HTTP and exit 0 on SIGTERM.
"""

from __future__ import annotations

import re
import signal
import time
from pathlib import Path
from typing import Any

import pytest

from .conftest import StartServer
from .harness import Response, ServerProcess, run_manage, write_settings
from .test_web_servers import HELLO, SLOW_BODY, request_in_thread, stop_during_slow_request
from .test_workers import celery_settings

pytestmark = pytest.mark.integration

ASGI_SERVERS: dict[str, dict[str, Any]] = {
    # No address: each server's own loopback default is what the request reaches.
    "daphne": {"BACKEND": "daphne", "ARGS": {"port": "{port}"}},
    "hypercorn": {"BACKEND": "hypercorn", "ARGS": {"bind": "127.0.0.1:{port}"}},
}
LIFESPAN_NOISE = ("lifespan error", "lifespan errored", "lifespan support")


def start_asgi(start_server: StartServer, backend: str, **kwargs: Any) -> ServerProcess:
    server = start_server({"web": ASGI_SERVERS[backend]}, **kwargs)
    first = server.wait_ready()
    assert (first.status, first.body) == (200, HELLO), server.output
    return server


@pytest.mark.parametrize("backend", list(ASGI_SERVERS))
def test_serves_the_view_and_exits_0_on_sigterm(start_server: StartServer, backend: str) -> None:
    server = start_asgi(start_server, backend, extra_args=("-v", "2", "--traceback"))

    response = server.get("/")

    assert (response.status, response.body) == (200, HELLO)
    assert server.stop(signal.SIGTERM) == 0, server.output
    output = server.output
    assert "Traceback" not in output
    assert not [noise for noise in LIFESPAN_NOISE if noise in output.lower()], output


@pytest.mark.parametrize("sig", [signal.SIGTERM, signal.SIGINT])
@pytest.mark.parametrize("backend", list(ASGI_SERVERS))
def test_a_stop_signal_lets_the_request_in_flight_finish(
    start_server: StartServer, backend: str, sig: int
) -> None:
    server = start_asgi(start_server, backend)

    status, elapsed, response = stop_during_slow_request(server, sig)

    assert (response.status, response.body) == (200, SLOW_BODY), server.output
    assert status == 0, server.output
    assert elapsed < 10


def test_daphne_binds_loopback_by_default(start_server: StartServer) -> None:
    server = start_asgi(start_server, "daphne")

    assert f"Listening on TCP address 127.0.0.1:{server.port}" in server.output
    assert server.stop(signal.SIGTERM) == 0, server.output


def test_daphne_second_signal_does_not_wait_for_the_request(start_server: StartServer) -> None:
    server = start_asgi(start_server, "daphne")
    thread, outcome = request_in_thread(lambda: server.get("/slow/?seconds=3", timeout=20))
    time.sleep(0.7)  # the request has reached the view
    server.proc.send_signal(signal.SIGTERM)
    time.sleep(0.5)
    assert server.proc.poll() is None, "the first signal did not wait for the request"

    assert server.stop(signal.SIGTERM) == 0, server.output
    thread.join(timeout=10)
    assert outcome and not isinstance(outcome[0], Response), outcome


FLOWER = {
    "BACKEND": "celery-flower",
    "APP": "testsite.celery_app.app",
    # No address: the backend's loopback default is what the request reaches.
    "ARGS": {"port": "{port}", "inspect_timeout": 100},
}


def test_celery_flower_answers_http_and_exits_0_on_sigterm(
    start_server: StartServer, tmp_path: Path
) -> None:
    server = start_server({"flower": FLOWER}, "flower", celery_settings(tmp_path))

    response = server.wait_ready("/healthcheck")

    assert (response.status, response.body) == (200, "OK"), server.output
    assert f"Visit me at http://127.0.0.1:{server.port}" in server.output
    assert server.stop(signal.SIGTERM) == 0, server.output
    assert "Traceback" not in without_inspector_race(server.output), server.output


def without_inspector_race(output: str) -> str:
    """The log without records of a race in the test's broker, not in prodserver or Flower.

    Flower inspects the workers from several threads at once, and kombu's filesystem transport
    rewrites its exchange table without a lock, so one thread can read half a file and log a
    JSONDecodeError traceback from flower/inspector.py (seen with the kombu of Python 3.9).
    """
    records = re.split(r"\n(?=\[[A-Z] \d{6} )", output)  # Tornado's "[E 261130 ..." records
    race = ("flower/inspector.py", "kombu/transport/filesystem.py")
    return "\n".join(record for record in records if not all(part in record for part in race))


DRY_RUNS = {
    "daphne": (
        {"BACKEND": "daphne", "ARGS": {"port": 8123, "websocket_timeout": 60}},
        "Would start process 'web' with backend 'daphne' (DaphneServer):\n"
        "daphne testsite.asgi:application --port=8123 --websocket_timeout=60\n",
    ),
    "hypercorn": (
        {"BACKEND": "hypercorn", "ARGS": {"bind": "127.0.0.1:8123", "workers": 2}},
        "Would start process 'web' with backend 'hypercorn' (HypercornServer):\n"
        "hypercorn django_prodserver.backends.hypercorn_asgi:application "
        "--bind=127.0.0.1:8123 --workers=2\n",
    ),
    "celery-flower": (
        {"BACKEND": "celery-flower", "APP": "testsite.celery_app.app", "ARGS": {"port": 5566}},
        "Would start process 'web' with backend 'celery-flower' (CeleryFlower):\n"
        "celery --app=testsite.celery_app.app --skip-checks flower --address=127.0.0.1 "
        "--port=5566\n",
    ),
}


@pytest.mark.parametrize("backend", list(DRY_RUNS))
def test_dry_run_prints_the_invocation(tmp_path: Path, backend: str) -> None:
    entry, expected = DRY_RUNS[backend]
    write_settings(tmp_path, {"web": entry})

    result = run_manage(tmp_path, "prodserver", "web", "--dry-run")

    assert (result.returncode, result.stdout, result.stderr) == (0, expected, "")


BAD_OPTIONS = {
    "daphne": (
        {"BACKEND": "daphne", "ARGS": {"prot": 8000}},
        "Process 'web': unknown daphne option 'prot' in ARGS. Did you mean 'port'?",
    ),
    "hypercorn": (
        {"BACKEND": "hypercorn", "ARGS": {"workers": "many"}},
        "Process 'web': invalid value 'many' for hypercorn option 'workers' in ARGS: "
        "invalid int value: 'many'.",
    ),
    "celery-flower": (
        {"BACKEND": "celery-flower", "APP": "testsite.celery_app.app", "ARGS": {"prot": 1}},
        "Process 'web': unknown celery flower option 'prot' in ARGS. Did you mean 'port'?",
    ),
}


@pytest.mark.parametrize("backend", list(BAD_OPTIONS))
def test_bad_option_is_one_line_without_traceback(tmp_path: Path, backend: str) -> None:
    entry, message = BAD_OPTIONS[backend]
    write_settings(tmp_path, {"web": entry})

    result = run_manage(tmp_path, "prodserver", "web")

    assert (result.returncode, result.stderr) == (1, f"CommandError: {message}\n")
