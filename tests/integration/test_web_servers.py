"""gunicorn, uvicorn, uvicorn-wsgi and waitress started for real by ``manage.py prodserver``.

Each server runs in a subprocess on a free loopback port and answers real HTTP requests; a
request still in flight when the stop signal arrives must get its whole response, and the
process must then exit with status 0.
"""

from __future__ import annotations

import signal
import socket
import threading
import time
from collections.abc import Callable
from pathlib import Path
from typing import Any

import pytest

from django_prodserver.backends import gunicorn as gunicorn_backend

from . import harness
from .conftest import StartServer
from .harness import Response, ServerProcess, run_manage, write_settings

pytestmark = pytest.mark.integration

HELLO = "Hello from testsite"
SLOW_BODY = "slow response done"

WEB_SERVERS: dict[str, dict[str, Any]] = {
    "gunicorn": {
        "BACKEND": "gunicorn",
        # Threads, so that one worker has all IN_FLIGHT requests in flight at once.
        "ARGS": {"bind": "127.0.0.1:{port}", "workers": 1, "threads": 8, "graceful_timeout": 10},
    },
    "uvicorn": {"BACKEND": "uvicorn", "ARGS": {"host": "127.0.0.1", "port": "{port}"}},
    "uvicorn-wsgi": {"BACKEND": "uvicorn-wsgi", "ARGS": {"host": "127.0.0.1", "port": "{port}"}},
    # No host: the backend's loopback default is what the request reaches.
    "waitress": {"BACKEND": "waitress", "ARGS": {"port": "{port}"}},
}
# gunicorn's own SIGINT is a quick shutdown; the backend makes it graceful, like SIGTERM.
GRACEFUL_ON_SIGINT = ["gunicorn", "uvicorn", "uvicorn-wsgi", "waitress"]
#: Requests in flight when the stop signal arrives; every one must get its whole response.
IN_FLIGHT = 5


def start_web(start_server: StartServer, backend: str, **kwargs: Any) -> ServerProcess:
    server = start_server({"web": WEB_SERVERS[backend]}, **kwargs)
    first = server.wait_ready()
    assert (first.status, first.body) == (200, HELLO), server.output
    return server


def request_in_thread(call: Callable[[], Response]) -> tuple[threading.Thread, list[Any]]:
    """Run ``call`` in a thread; the list receives its response or its exception."""
    outcome: list[Any] = []

    def run() -> None:
        try:
            outcome.append(call())
        except Exception as e:  # reported by the test, not lost in the thread
            outcome.append(e)

    thread = threading.Thread(target=run, daemon=True)
    thread.start()
    return thread, outcome


def stop_during_slow_requests(
    server: ServerProcess, sig: int, count: int = IN_FLIGHT
) -> tuple[int, float, list[Any]]:
    """Send ``sig`` while ``count`` /slow/ requests are being served; return the exit status,
    the seconds the process took to exit, and each request's response (or exception)."""
    requests = [
        request_in_thread(lambda: server.get("/slow/?seconds=2", timeout=20)) for _ in range(count)
    ]
    time.sleep(0.8)  # every request has reached the view, which sleeps 2 s
    assert all(thread.is_alive() for thread, _ in requests), "a slow request ended early"
    started = time.monotonic()
    status = server.stop(sig, timeout=15)
    elapsed = time.monotonic() - started
    for thread, _ in requests:
        thread.join(timeout=15)
    return status, elapsed, [outcome[0] if outcome else None for _, outcome in requests]


def stop_during_slow_request(server: ServerProcess, sig: int) -> tuple[int, float, Response]:
    """Send ``sig`` while one /slow/ request is served; return exit status, seconds, response."""
    status, elapsed, [response] = stop_during_slow_requests(server, sig, count=1)
    assert isinstance(response, Response), f"{response!r}\n{server.output}"
    return status, elapsed, response


def answered(responses: list[Any]) -> int:
    """How many responses are the slow view's whole answer."""
    return sum(
        1
        for response in responses
        if isinstance(response, Response) and (response.status, response.body) == (200, SLOW_BODY)
    )


@pytest.mark.parametrize("backend", list(WEB_SERVERS))
def test_serves_the_view_and_exits_0_on_sigterm(start_server: StartServer, backend: str) -> None:
    # Django's own options on the command line must not reach the server's parser.
    server = start_web(start_server, backend, extra_args=("-v", "2", "--traceback", "--no-color"))

    response = server.get("/")

    assert (response.status, response.body) == (200, HELLO)
    assert server.stop(signal.SIGTERM) == 0, server.output
    assert "Traceback" not in server.output


@pytest.mark.parametrize("backend", list(WEB_SERVERS))
def test_sigterm_lets_the_requests_in_flight_finish(
    start_server: StartServer, backend: str
) -> None:
    server = start_web(start_server, backend)

    status, elapsed, responses = stop_during_slow_requests(server, signal.SIGTERM)

    assert answered(responses) == IN_FLIGHT, f"{responses}\n{server.output}"
    assert status == 0, server.output
    assert elapsed < 10


@pytest.mark.parametrize("backend", GRACEFUL_ON_SIGINT)
def test_sigint_lets_the_requests_in_flight_finish(start_server: StartServer, backend: str) -> None:
    server = start_web(start_server, backend)

    status, _, responses = stop_during_slow_requests(server, signal.SIGINT)

    assert answered(responses) == IN_FLIGHT, f"{responses}\n{server.output}"
    assert status == 0, server.output


@pytest.mark.parametrize("backend", ["waitress", "uvicorn", "uvicorn-wsgi"])
def test_sighup_lets_the_requests_in_flight_finish(start_server: StartServer, backend: str) -> None:
    # Neither waitress nor one uvicorn process handles SIGHUP of its own, whose default action
    # would kill it mid-request.
    server = start_web(start_server, backend)

    status, _, responses = stop_during_slow_requests(server, signal.SIGHUP)

    assert answered(responses) == IN_FLIGHT, f"{responses}\n{server.output}"
    assert status == 0, server.output


def test_gunicorn_leaves_no_control_socket(
    start_server: StartServer, tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    home = tmp_path / "home"
    home.mkdir()
    monkeypatch.setenv("HOME", str(home))
    monkeypatch.delenv("XDG_RUNTIME_DIR", raising=False)
    server = start_web(start_server, "gunicorn")

    assert server.stop(signal.SIGTERM) == 0, server.output
    assert list(home.iterdir()) == []


def test_waitress_binds_loopback_by_default(start_server: StartServer) -> None:
    server = start_web(start_server, "waitress")

    assert f"Serving on http://127.0.0.1:{server.port}" in server.output
    assert server.stop(signal.SIGTERM) == 0, server.output


# gunicorn 25.1 added the control socket that the backend turns off; 23.0 (on Python 3.9) has
# no socket and no --no-control-socket flag.
if gunicorn_backend.NO_CONTROL_SOCKET in gunicorn_backend.known_options():
    GUNICORN_DRY_RUN = (
        "gunicorn --no-control-socket --bind=127.0.0.1:8123 --workers=2 --preload "
        "testsite.wsgi:application\n"
    )
else:
    GUNICORN_DRY_RUN = (
        "gunicorn --bind=127.0.0.1:8123 --workers=2 --preload testsite.wsgi:application\n"
    )
DRY_RUNS = {
    "gunicorn": (
        {"bind": "127.0.0.1:8123", "workers": 2, "preload": True},
        "Would start process 'web' with backend 'gunicorn' (GunicornServer):\n"
        + GUNICORN_DRY_RUN
        + "Port: set by ARGS['bind'].\nWorkers: set by ARGS['workers'].\n",
    ),
    "uvicorn": (
        {"port": 8123, "access_log": False},
        "Would start process 'web' with backend 'uvicorn' (UvicornServer):\n"
        "uvicorn testsite.asgi:application --port=8123 --no-access-log\n"
        "Port: set by ARGS['port'].\n"
        "Workers: the server's default; WEB_CONCURRENCY is not set.\n",
    ),
    "uvicorn-wsgi": (
        {"port": 8123},
        "Would start process 'web' with backend 'uvicorn-wsgi' (UvicornWSGIServer):\n"
        "uvicorn testsite.wsgi:application --interface=wsgi --port=8123\n"
        "Port: set by ARGS['port'].\n"
        "Workers: the server's default; WEB_CONCURRENCY is not set.\n",
    ),
    "waitress": (
        {"port": 8123, "threads": 8},
        "Would start process 'web' with backend 'waitress' (WaitressServer):\n"
        "waitress-serve --host=127.0.0.1 --port=8123 --threads=8 testsite.wsgi:application\n"
        "Port: set by ARGS['port'].\n",
    ),
}


@pytest.mark.parametrize("backend", list(DRY_RUNS))
def test_dry_run_prints_the_invocation(tmp_path: Path, backend: str) -> None:
    args, expected = DRY_RUNS[backend]
    write_settings(tmp_path, {"web": {"BACKEND": backend, "ARGS": args}})

    result = run_manage(tmp_path, "prodserver", "web", "--dry-run")

    assert (result.returncode, result.stdout, result.stderr) == (0, expected, "")


BAD_OPTIONS = {
    "gunicorn": (
        {"bnd": "127.0.0.1:8000"},
        "Process 'web': unknown gunicorn option 'bnd' in ARGS. Did you mean 'bind'?",
    ),
    "uvicorn": (
        {"prot": 8000},
        "Process 'web': unknown uvicorn option 'prot' in ARGS. Did you mean 'port'?",
    ),
    "uvicorn-wsgi": (
        {"reload": "true"},
        "Process 'web': invalid value 'true' for uvicorn option 'reload' in ARGS: "
        "Option '--reload' does not take a value.",
    ),
    "waitress": (
        {"threads": "many"},
        "Process 'web': invalid value 'many' for waitress option 'threads' in ARGS: "
        "invalid literal for int() with base 10: 'many'.",
    ),
}


@pytest.mark.parametrize("backend", list(BAD_OPTIONS))
def test_bad_option_is_one_line_without_traceback(tmp_path: Path, backend: str) -> None:
    args, message = BAD_OPTIONS[backend]
    write_settings(tmp_path, {"web": {"BACKEND": backend, "ARGS": args}})

    result = run_manage(tmp_path, "prodserver", "web")

    assert result.returncode != 0
    assert result.stderr == f"CommandError: {message}\n"
    assert "Traceback" not in result.stderr


@pytest.mark.parametrize("backend", ["uvicorn", "uvicorn-wsgi"])
@pytest.mark.parametrize("workers", [1, 2])
def test_uvicorn_s_accepted_connections_have_tcp_nodelay(
    start_server: StartServer, backend: str, workers: int
) -> None:
    # With several workers, uvicorn's own command leaves Nagle's algorithm on for every accepted
    # connection, and each keep-alive response waits for the client's delayed ACK (~40 ms).
    args = {"host": "127.0.0.1", "port": "{port}", "workers": workers}
    server = start_server({"web": {"BACKEND": backend, "ARGS": args}})
    server.wait_ready()
    request = b"GET / HTTP/1.1\r\nHost: 127.0.0.1\r\n\r\n"

    with socket.create_connection(("127.0.0.1", server.port), timeout=10) as client:
        client.sendall(request)
        assert client.recv(65536).startswith(b"HTTP/1.1 200 OK"), server.output
        with harness.server_side_of(server, client) as accepted:
            assert accepted.getsockopt(socket.IPPROTO_TCP, socket.TCP_NODELAY) == 1
    assert server.stop(signal.SIGTERM) == 0, server.output


REFUSED_IN_BOTH_MODES: dict[str, tuple[dict[str, Any], dict[str, str], str]] = {
    # gunicorn would detach and exit 0, serving outside any process manager.
    "gunicorn-daemon": (
        {"BACKEND": "gunicorn", "ARGS": {"bind": "127.0.0.1:0", "daemon": True}},
        {},
        "Process 'web': gunicorn option 'daemon' cannot be set in ARGS: prodserver runs gunicorn "
        "in the foreground, where a process manager can supervise it and stop it.",
    ),
    # gunicorn would listen with no workers.
    "gunicorn-cmd-args": (
        {"BACKEND": "gunicorn", "ARGS": {"bind": "127.0.0.1:0"}},
        {"GUNICORN_CMD_ARGS": "--workers=0"},
        "Process 'web': invalid value '0' for gunicorn option '--workers' in GUNICORN_CMD_ARGS: "
        "at least 1 worker is needed.",
    ),
    "uvicorn-workers": (
        {"BACKEND": "uvicorn", "ARGS": {"port": 0, "workers": 10**6}},
        {},
        "Process 'web': invalid value 1000000 for uvicorn option 'workers' in ARGS: it must be "
        "from 1 to 10000.",
    ),
    "waitress-backlog": (
        {"BACKEND": "waitress", "ARGS": {"port": 0, "backlog": 10**12}},
        {},
        "Process 'web': invalid value 1000000000000 for waitress option 'backlog' in ARGS: it "
        "must be from 0 to 65535.",
    ),
}


@pytest.mark.parametrize("case", list(REFUSED_IN_BOTH_MODES))
@pytest.mark.parametrize("mode", ["--dry-run", "start"])
def test_what_would_not_serve_is_refused_in_dry_run_and_at_start(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch, case: str, mode: str
) -> None:
    entry, environment, message = REFUSED_IN_BOTH_MODES[case]
    for name, value in environment.items():
        monkeypatch.setenv(name, value)
    write_settings(tmp_path, {"web": entry})

    result = run_manage(tmp_path, "prodserver", "web", *([mode] if mode != "start" else []))

    assert (result.returncode, result.stderr) == (1, f"CommandError: {message}\n")


SOCKET_IN_A_MISSING_DIRECTORY = {
    "gunicorn": {"bind": "unix:{dir}/missing/web.sock"},
    "uvicorn": {"uds": "{dir}/missing/web.sock"},
    "waitress": {"unix_socket": "{dir}/missing/web.sock"},
}


@pytest.mark.parametrize("backend", list(SOCKET_IN_A_MISSING_DIRECTORY))
def test_a_unix_socket_in_a_missing_directory_is_one_line_at_start(
    tmp_path: Path, backend: str
) -> None:
    (key, value) = next(iter(SOCKET_IN_A_MISSING_DIRECTORY[backend].items()))
    args = {key: value.format(dir=tmp_path)}
    write_settings(tmp_path, {"web": {"BACKEND": backend, "ARGS": args}})

    result = run_manage(tmp_path, "prodserver", "web")

    assert (result.returncode, result.stderr) == (
        1,
        f"CommandError: Process 'web': cannot listen on the Unix socket "
        f"'{tmp_path}/missing/web.sock': the directory '{tmp_path}/missing' does not exist. "
        f"Create it, or choose a path in an existing directory.\n",
    )
