"""The waitress backend: ARGS to argv, the loopback default, validation with waitress's own
parser, and the serving loop that lets requests in flight finish on SIGTERM.

The serving loop runs here for real, in this process, with a plain WSGI application on a free
loopback port; the full server runs in tests/integration/test_web_servers.py.
"""

from __future__ import annotations

import os
import signal
import socket
import sys
import threading
import time
import urllib.request
from collections.abc import Iterable
from pathlib import Path
from typing import Any, Callable
from unittest import mock

import pytest

from django_prodserver.backends import waitress as waitress_backend
from django_prodserver.backends.base import BaseServerBackend
from django_prodserver.backends.waitress import WaitressServer, serve_until_stopped
from django_prodserver.exceptions import InvalidBackendArgs

from ..integration.harness import free_port
from .helpers import BackendUnderTest

TARGET = "testsite.wsgi:application"
LOOPBACK = "--host=127.0.0.1"


UNDER_TEST = BackendUnderTest(WaitressServer, "waitress")
server, checked_argv, error_for = UNDER_TEST.server, UNDER_TEST.checked_argv, UNDER_TEST.error_for


def test_is_a_server_backend() -> None:
    assert issubclass(WaitressServer, BaseServerBackend)
    assert WaitressServer.kind == "server"
    assert WaitressServer.program == "waitress-serve"


@pytest.mark.parametrize(
    ("args", "argv"),
    [
        # waitress alone would take 0.0.0.0:8080; this backend keeps to loopback.
        (None, [LOOPBACK]),
        ({"port": 8001}, [LOOPBACK, "--port=8001"]),
        ({"host": "0.0.0.0", "port": 8001}, ["--host=0.0.0.0", "--port=8001"]),
        ({"listen": "127.0.0.1:8001"}, ["--listen=127.0.0.1:8001"]),
        ({"unix_socket": "/tmp/w.sock"}, ["--unix-socket=/tmp/w.sock"]),
        ("--threads=8", [LOOPBACK, "--threads=8"]),
        (["--port", "8001"], [LOOPBACK, "--port", "8001"]),
        # A list repeats the option: waitress listens on every address.
        (
            {"listen": ["127.0.0.1:8001", "127.0.0.1:8002"]},
            ["--listen=127.0.0.1:8001", "--listen=127.0.0.1:8002"],
        ),
        # True is a bare flag; False is waitress's --no- form where it has one, else nothing.
        (
            {"expose_tracebacks": True, "ipv6": False, "log_socket_errors": None},
            [LOOPBACK, "--expose-tracebacks", "--no-ipv6", "--log-socket-errors"],
        ),
        ({"threads": False}, [LOOPBACK]),
    ],
)
def test_args_become_waitress_argv(args: Any, argv: list[str]) -> None:
    assert checked_argv(args) == argv


def test_args_waitress_cannot_parse_get_no_default_added() -> None:
    assert server({"port": True}).prep_server_args() == ["--port"]


def test_negated_flag_only_where_waitress_has_one() -> None:
    backend = server()
    assert backend.negated_flag("--ipv4") == "--no-ipv4"
    assert backend.negated_flag("--asyncore-use-poll") == "--no-asyncore-use-poll"
    assert backend.negated_flag("--threads") is None


@pytest.mark.parametrize(
    ("args", "message"),
    [
        (
            {"prot": 8000},
            "Process 'web': unknown waitress option 'prot' in ARGS. Did you mean 'port'?",
        ),
        # getopt would take "--thread" as "--threads"; a typo is reported instead.
        (
            ["--thread=4"],
            "Process 'web': unknown waitress option '--thread' in ARGS. Did you mean '--threads'?",
        ),
        (
            {"zzzzzz": 1},
            "Process 'web': unknown waitress option 'zzzzzz' in ARGS. "
            "See 'waitress-serve --help' for the options it accepts.",
        ),
        (
            {"threads": "many"},
            "Process 'web': invalid value 'many' for waitress option 'threads' in ARGS: "
            "invalid literal for int() with base 10: 'many'.",
        ),
        (
            {"port": True},
            "Process 'web': invalid value True for waitress option 'port' in ARGS: "
            "option --port requires argument.",
        ),
        (
            {"ipv4": "yes"},
            "Process 'web': invalid value 'yes' for waitress option 'ipv4' in ARGS: "
            "option --ipv4 must not have an argument.",
        ),
        (
            {"unix_socket_perms": "999"},
            "Process 'web': invalid value '999' for waitress option 'unix_socket_perms' in "
            "ARGS: invalid literal for int() with base 8: '999'.",
        ),
        (
            {"listen": "127.0.0.1:8001", "port": 8002},
            "Process 'web': waitress rejects ARGS: host or port may not be set if listen is set.",
        ),
        (
            {"listen": "127.0.0.1:no-such-service"},
            "Process 'web': waitress rejects ARGS: Invalid host/port specified.",
        ),
        (
            ["other.wsgi:app"],
            "Process 'web': unexpected argument 'other.wsgi:app' in ARGS: ARGS holds options "
            "only; the application comes from the WSGI_APPLICATION setting.",
        ),
        (
            {"call": True},
            "Process 'web': waitress option 'call' cannot be set in ARGS: the application "
            "comes from the WSGI_APPLICATION setting.",
        ),
        (
            {"help": True},
            "Process 'web': waitress option 'help' cannot be set in ARGS: it makes waitress "
            "print and exit instead of serving.",
        ),
    ],
)
def test_check_args_errors(args: Any, message: str) -> None:
    assert error_for(args) == message


def test_start_server_runs_the_runner_with_our_argv(monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setattr(sys, "argv", ["manage.py", "prodserver", "--settings=x", "-v", "2"])
    port = free_port()
    backend = server({"port": port})
    with mock.patch.object(waitress_backend.waitress.runner, "run", return_value=0) as run:
        backend.start_server(*backend.prep_server_args())

    run.assert_called_once_with(
        argv=["waitress-serve", LOOPBACK, f"--port={port}", TARGET],
        _serve=serve_until_stopped,
    )


def test_start_server_exits_with_the_runners_failure() -> None:
    with (
        mock.patch.object(waitress_backend.waitress.runner, "run", return_value=1),
        pytest.raises(SystemExit) as exited,
    ):
        server().start_server(LOOPBACK, f"--port={free_port()}")
    assert exited.value.code == 1


def test_describe_start() -> None:
    backend = server({"port": 8000, "threads": 8})
    assert backend.describe_start(backend.prep_server_args()) == (
        "waitress-serve --host=127.0.0.1 --port=8000 --threads=8 testsite.wsgi:application"
    )


# The serving loop, for real.


def slow_app(environ: dict[str, Any], start_response: Callable[..., Any]) -> Iterable[bytes]:
    time.sleep(float(environ.get("QUERY_STRING") or 0))
    start_response("200 OK", [("Content-Type", "text/plain")])
    return [b"done"]


def serve_while(
    port: int, client: Callable[[], None], **adjustments: Any
) -> tuple[float, list[Any]]:
    """Serve ``slow_app`` in this thread while ``client`` runs in another; return the time
    serving took and what the client thread recorded or raised."""
    outcome: list[Any] = []

    def run_client() -> None:
        try:
            client()
        except Exception as e:
            outcome.append(e)

    thread = threading.Thread(target=run_client, daemon=True)
    before = {sig: signal.getsignal(sig) for sig in (signal.SIGTERM, signal.SIGINT)}
    thread.start()
    started = time.monotonic()
    serve_until_stopped(slow_app, host="127.0.0.1", port=str(port), **adjustments)
    elapsed = time.monotonic() - started
    thread.join(timeout=10)
    assert {sig: signal.getsignal(sig) for sig in before} == before
    return elapsed, outcome


def wait_listening(port: int) -> None:
    deadline = time.monotonic() + 10
    while time.monotonic() < deadline:
        with socket.socket() as sock:
            if sock.connect_ex(("127.0.0.1", port)) == 0:
                return
        time.sleep(0.05)
    raise AssertionError(f"nothing listens on {port}")


def get(port: int, seconds: float) -> bytes:
    url = f"http://127.0.0.1:{port}/?{seconds}"
    with urllib.request.urlopen(url, timeout=10) as response:
        return bytes(response.read())


def signal_during_request(port: int, signals: list[int], seconds: float, record: list[Any]):
    def client() -> None:
        wait_listening(port)
        request = threading.Thread(
            target=lambda: record.append(_try(lambda: get(port, seconds))), daemon=True
        )
        request.start()
        time.sleep(0.3)  # the request is being served
        for sig in signals:
            os.kill(os.getpid(), sig)
            time.sleep(0.05)
        request.join(timeout=10)

    return client


def _try(call: Callable[[], bytes]) -> Any:
    try:
        return call()
    except Exception as e:
        return e


@pytest.mark.parametrize("sig", [signal.SIGTERM, signal.SIGINT])
def test_a_stop_signal_lets_the_request_in_flight_finish(sig: int) -> None:
    port = free_port()
    responses: list[Any] = []

    elapsed, errors = serve_while(port, signal_during_request(port, [sig], 1.0, responses))

    assert errors == []
    assert responses == [b"done"]
    assert 0.5 < elapsed < 5
    with socket.socket() as sock:  # the listening socket is closed
        assert sock.connect_ex(("127.0.0.1", port)) != 0


def test_a_second_signal_stops_without_waiting() -> None:
    port = free_port()
    responses: list[Any] = []

    elapsed, errors = serve_while(
        port, signal_during_request(port, [signal.SIGTERM, signal.SIGTERM], 3.0, responses)
    )

    assert errors == []
    assert elapsed < 2.5


def test_requests_get_at_most_the_graceful_timeout(monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setattr(waitress_backend, "GRACEFUL_TIMEOUT", 0.2)
    port = free_port()
    responses: list[Any] = []

    elapsed, errors = serve_while(
        port, signal_during_request(port, [signal.SIGTERM], 3.0, responses)
    )

    assert errors == []
    assert elapsed < 2.5


@pytest.mark.parametrize(
    ("args", "message"),
    [
        (
            {"threads": 10**6},
            "Process 'web': invalid value 1000000 for waitress option 'threads' in ARGS: it must "
            "be from 1 to 10000.",
        ),
        (
            {"backlog": 10**12},
            "Process 'web': invalid value 1000000000000 for waitress option 'backlog' in ARGS: it "
            "must be from 0 to 65535.",
        ),
        (
            {"channel_timeout": 10**20},
            "Process 'web': invalid value 100000000000000000000 for waitress option "
            "'channel_timeout' in ARGS: it must be from 0 to 604800.",
        ),
        (
            {"connection_limit": 0},
            "Process 'web': invalid value 0 for waitress option 'connection_limit' in ARGS: it "
            "must be from 1 to 1000000.",
        ),
    ],
)
def test_counts_and_timeouts_have_sane_ranges(args: Any, message: str) -> None:
    assert error_for(args) == message


def test_a_unix_socket_in_a_missing_directory_stops_the_start(tmp_path: Path) -> None:
    backend = server({"unix_socket": f"{tmp_path}/missing/web.sock"})
    with (
        mock.patch.object(waitress_backend.waitress.runner, "run") as run,
        pytest.raises(InvalidBackendArgs) as caught,
    ):
        backend.start_server(*backend.prep_server_args())
    assert caught.value.message == (
        f"Process 'web': cannot listen on the Unix socket '{tmp_path}/missing/web.sock': the "
        f"directory '{tmp_path}/missing' does not exist. Create it, or choose a path in an "
        f"existing directory."
    )
    run.assert_not_called()
    assert backend.listen_address(backend.prep_server_args()) is None
