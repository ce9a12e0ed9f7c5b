"""The daphne backend: ARGS to argv, validation with daphne's own parser, and the graceful stop.

Daphne really serves in tests/integration/test_asgi_servers_and_flower.py; here its command line
runs for real down to the server's ``run()``, which is replaced to observe what it receives, and
the graceful stop runs against a stand-in reactor.
"""

from __future__ import annotations

import signal
import sys
from pathlib import Path
from typing import Any
from unittest import mock

import pytest
from daphne.http_protocol import WebRequest

from django_prodserver.backends import command_line
from django_prodserver.backends import daphne as daphne_backend
from django_prodserver.backends.base import BaseServerBackend
from django_prodserver.backends.daphne import DaphneServer, GracefulServer
from django_prodserver.exceptions import InvalidBackendArgs

from .helpers import BackendUnderTest

ASGI = "testsite.asgi:application"


UNDER_TEST = BackendUnderTest(DaphneServer, "daphne")
server, checked_argv, error_for = UNDER_TEST.server, UNDER_TEST.checked_argv, UNDER_TEST.error_for


def test_is_a_server_backend() -> None:
    assert issubclass(DaphneServer, BaseServerBackend)
    assert (DaphneServer.kind, DaphneServer.program) == ("server", "daphne")


@pytest.mark.parametrize(
    ("args", "argv"),
    [
        (None, []),
        ({"bind": "127.0.0.1", "port": 8001}, ["--bind=127.0.0.1", "--port=8001"]),
        ("--port=8001", ["--port=8001"]),
        (["-p", "8001", "-b", "::1"], ["-p", "8001", "-b", "::1"]),
        # Daphne spells these two with underscores; ARGS writes them like any other option.
        (
            {"websocket_timeout": 60, "websocket-connect-timeout": 5},
            ["--websocket_timeout=60", "--websocket_connect_timeout=5"],
        ),
        (["--websocket_timeout=60"], ["--websocket_timeout=60"]),
        # A list repeats the option.
        ({"endpoint": ["tcp:8001", "tcp:8002"]}, ["--endpoint=tcp:8001", "--endpoint=tcp:8002"]),
        # False is daphne's --no- form where it has one, else nothing.
        ({"server_name": False, "proxy_headers": False}, ["--no-server-name"]),
        (
            {"proxy_headers": True, "proxy_headers_host": "X-Real-IP"},
            ["--proxy-headers", "--proxy-headers-host=X-Real-IP"],
        ),
        ({"verbosity": 0}, ["--verbosity=0"]),
    ],
)
def test_args_become_daphne_argv(args: Any, argv: list[str]) -> None:
    assert checked_argv(args) == argv


def test_negated_flag_only_where_daphne_has_one() -> None:
    backend = server()
    assert backend.negated_flag("--server-name") == "--no-server-name"
    assert backend.negated_flag("--proxy-headers") is None


@pytest.mark.parametrize(
    ("args", "message"),
    [
        ({"prot": 8000}, "unknown daphne option 'prot' in ARGS. Did you mean 'port'?"),
        (
            {"websocket_timout": 5},
            "unknown daphne option 'websocket_timout' in ARGS. Did you mean 'websocket_timeout'?",
        ),
        (
            {"zzzzzz": 1},
            "unknown daphne option 'zzzzzz' in ARGS. See 'daphne --help' for the options it "
            "accepts.",
        ),
        # argparse's abbreviations are off: a prefix is not another option.
        ({"verb": 2}, "unknown daphne option 'verb' in ARGS. Did you mean 'verbosity'?"),
        (
            {"port": "abc"},
            "invalid value 'abc' for daphne option 'port' in ARGS: invalid int value: 'abc'.",
        ),
        (
            {"websocket_timeout": "abc"},
            "invalid value 'abc' for daphne option 'websocket_timeout' in ARGS: invalid int "
            "value: 'abc'.",
        ),
        (
            {"port": True},
            "invalid value True for daphne option 'port' in ARGS: expected one argument.",
        ),
        (
            {"verbosity": 4},
            "invalid value 4 for daphne option 'verbosity' in ARGS: it must be 0, 1, 2 or 3.",
        ),
        (
            {"proxy_headers_host": "X-Real-IP"},
            "invalid value 'X-Real-IP' for daphne option 'proxy_headers_host' in ARGS: "
            "--proxy-headers has to be passed for this parameter.",
        ),
        (
            {"proxy_headers_port": "X-Port"},
            "invalid value 'X-Port' for daphne option 'proxy_headers_port' in ARGS: "
            "--proxy-headers has to be passed for this parameter.",
        ),
        (
            ["--port=8001", "other.asgi:app"],
            "unexpected argument 'other.asgi:app' in ARGS: ARGS holds options only; the "
            "application comes from the ASGI_APPLICATION setting.",
        ),
        (
            {"help": True},
            "daphne option 'help' cannot be set in ARGS: it makes daphne print and exit instead "
            "of serving.",
        ),
        # -v takes a value: "-vh" is not -h.
        (["-vh"], "invalid use of daphne option '-vh' in ARGS: invalid int value: 'h'."),
    ],
)
def test_check_args_errors(args: Any, message: str) -> None:
    assert error_for(args) == f"Process 'web': {message}"


@pytest.mark.parametrize("key", ["access-log", "access_log"])
def test_an_access_log_in_a_missing_directory_is_named(key: str, tmp_path: Path) -> None:
    log = tmp_path / "missing" / "access.log"
    assert error_for({key: str(log)}) == (
        f"Process 'web': invalid value {str(log)!r} for daphne option {key!r} in ARGS: the "
        f"directory {str(log.parent)!r} does not exist. Create it, or choose a path in an "
        "existing directory."
    )
    assert checked_argv({key: "-"}) == ["--access-log=-"]


def test_a_parser_error_without_an_option_is_rejected_as_a_whole() -> None:
    def parser_error(*args: Any, **kwargs: Any) -> Any:
        print("usage: daphne\ndaphne: error: something else", file=sys.stderr)
        raise SystemExit(2)

    with mock.patch("argparse.ArgumentParser.parse_known_args", parser_error):
        assert error_for({"port": 1}) == "Process 'web': daphne rejects ARGS: something else."


def test_a_parser_that_prints_and_exits_is_reported() -> None:
    with mock.patch("argparse.ArgumentParser.parse_known_args", side_effect=SystemExit(0)):
        assert error_for({"port": 1}) == (
            "Process 'web': daphne option '--help' cannot be set in ARGS: it makes daphne print "
            "and exit instead of serving."
        )


def test_describe_start() -> None:
    backend = server({"port": 8000, "websocket_timeout": 60})
    assert backend.describe_start(backend.prep_server_args()) == (
        "daphne testsite.asgi:application --port=8000 --websocket_timeout=60"
    )


def test_start_server_runs_daphne_with_our_argv_and_the_graceful_server(
    monkeypatch: pytest.MonkeyPatch,
) -> None:
    monkeypatch.setattr(sys, "argv", ["manage.py", "prodserver", "--settings=x", "-v", "2"])
    created: list[GracefulServer] = []

    def observe(self: GracefulServer) -> None:
        created.append(self)

    backend = server({"port": 8123, "bind": "127.0.0.1", "server_name": False})
    with (
        mock.patch.object(command_line, "check_start") as checked,
        mock.patch.object(GracefulServer, "run", observe),
    ):
        backend.start_server(*backend.prep_server_args())

    ((_, plan), _) = checked.call_args
    assert (plan.addresses, plan.unix_sockets) == ([("127.0.0.1", 8123)], [])

    (made,) = created
    assert made.endpoints == ["tcp:port=8123:interface=127.0.0.1"]
    assert made.signal_handlers is False  # Twisted's own handlers would stop at once
    assert made.server_name == ""
    assert made.application is not None


def test_a_stop_signal_before_daphne_serves_exits_0() -> None:
    before = {s: signal.getsignal(s) for s in (signal.SIGTERM, signal.SIGINT)}

    def signalled(self: GracefulServer) -> None:
        signal.raise_signal(signal.SIGTERM)

    backend = server()
    with (
        mock.patch.object(command_line, "check_start"),
        mock.patch.object(GracefulServer, "run", signalled),
        pytest.raises(SystemExit) as exited,
    ):
        backend.start_server()

    assert exited.value.code == 0
    assert {s: signal.getsignal(s) for s in before} == before


# The graceful stop, against a stand-in reactor.


class FakeReactor:
    def __init__(self) -> None:
        self.writers: list[object] = []
        self.later: list[tuple[float, Any]] = []
        self.from_thread: list[Any] = []
        self.when_running: list[Any] = []
        self.stops = 0

    def getWriters(self) -> list[object]:
        return self.writers

    def callLater(self, delay: float, call: Any) -> None:
        self.later.append((delay, call))

    def callFromThread(self, call: Any) -> None:
        self.from_thread.append(call)

    def callWhenRunning(self, call: Any) -> None:
        self.when_running.append(call)

    def stop(self) -> None:
        self.stops += 1


@pytest.fixture
def reactor(monkeypatch: pytest.MonkeyPatch) -> FakeReactor:
    fake = FakeReactor()
    monkeypatch.setattr(daphne_backend, "reactor", fake)
    return fake


def graceful_server() -> GracefulServer:
    made = GracefulServer(application=object(), endpoints=["tcp:port=0"])
    made.connections = {}
    return made


def request(server: GracefulServer, done: bool) -> WebRequest:
    protocol = mock.Mock(spec=WebRequest)
    server.connections[protocol] = {"connected": 0.0, **({"disconnected": 1.0} if done else {})}
    return protocol


def test_run_installs_the_stop_handlers_once_the_reactor_runs(reactor: FakeReactor) -> None:
    made = graceful_server()
    with mock.patch.object(daphne_backend.Server, "run") as daphne_run:
        made.run()
    daphne_run.assert_called_once_with()
    assert reactor.when_running == [made.install_stop_handlers]

    before = {s: signal.getsignal(s) for s in (signal.SIGTERM, signal.SIGINT)}
    try:
        made.install_stop_handlers()
        assert signal.getsignal(signal.SIGTERM) == made.handle_stop_signal
        assert signal.getsignal(signal.SIGINT) == made.handle_stop_signal
    finally:
        for sig, handler in before.items():
            signal.signal(sig, handler)


def test_listening_ports_are_remembered(reactor: FakeReactor) -> None:
    made = graceful_server()
    port = mock.Mock()
    port.getHost.return_value = mock.Mock(host="127.0.0.1", port=8000)

    made.listen_success(port)

    assert made.ports == [port]
    assert made.listening_addresses == [("127.0.0.1", 8000)]


def test_first_signal_stops_gracefully_and_the_second_at_once(reactor: FakeReactor) -> None:
    made = graceful_server()

    made.handle_stop_signal(signal.SIGTERM, None)
    made.handle_stop_signal(signal.SIGINT, None)

    assert reactor.from_thread == [made.stop_gracefully, made.stop_now]


def test_graceful_stop_closes_the_ports_and_waits_for_requests_in_flight(
    reactor: FakeReactor,
) -> None:
    made = graceful_server()
    port = mock.Mock()
    made.ports = [port]
    in_flight = request(made, done=False)
    request(made, done=True)
    made.connections[mock.Mock()] = {"connected": 0.0}  # a WebSocket is not waited for
    assert made.requests_in_flight() == 1

    made.stop_gracefully()

    port.stopListening.assert_called_once_with()
    assert reactor.later == [(daphne_backend.POLL_INTERVAL, made.stop_when_idle)]
    assert reactor.stops == 0

    made.connections[in_flight]["disconnected"] = 2.0  # the response is complete...
    reactor.writers = [object()]  # ...but not yet sent
    made.stop_when_idle()
    assert reactor.stops == 0

    reactor.writers = []
    made.stop_when_idle()
    assert reactor.stops == 1

    made.stop_now()  # a later signal does not stop the reactor twice
    assert reactor.stops == 1


def test_graceful_stop_gives_up_after_the_timeout(
    reactor: FakeReactor, monkeypatch: pytest.MonkeyPatch
) -> None:
    made = graceful_server()
    request(made, done=False)
    made.stop_gracefully()
    assert reactor.stops == 0

    later = daphne_backend.time.monotonic() + daphne_backend.GRACEFUL_TIMEOUT + 1
    monkeypatch.setattr(daphne_backend.time, "monotonic", lambda: later)
    made.stop_when_idle()

    assert reactor.stops == 1


# The endpoints, built by Twisted before the start.


def test_every_endpoint_is_planned_for_the_start_checks() -> None:
    backend = server({"bind": "127.0.0.1", "port": 8123, "unix_socket": "/run/app/d.sock", "fd": 3})
    backend.args = [*backend.prep_server_args(), "--endpoint=tcp:port=8124:interface=127.0.0.2"]
    plan = backend.plan_start(backend.args)
    assert (plan.addresses, plan.unix_sockets) == (
        [("127.0.0.1", 8123), ("127.0.0.2", 8124)],
        ["/run/app/d.sock"],
    )
    # Daphne's defaults: the port alone is on 127.0.0.1, the host alone on port 8000.
    assert server({"port": 8125}).plan_start(["--port=8125"]).addresses == [("127.0.0.1", 8125)]
    assert server().plan_start(["--bind=::1"]).addresses == [("::1", 8000)]
    assert server().plan_start(["--endpoint=tcp:8126"]).addresses == [("0.0.0.0", 8126)]


def test_an_endpoint_twisted_cannot_use_is_refused(tmp_path: Path) -> None:
    assert error_for({"endpoint": "carrier-pigeon:1"}) == (
        "Process 'web': invalid value 'carrier-pigeon:1' for daphne option 'endpoint' in ARGS: "
        "Twisted cannot use the endpoint 'carrier-pigeon:1': Unknown endpoint type: "
        "'carrier-pigeon'."
    )
    assert error_for({"bind": "127.0.0.1", "port": 70000}) == (
        "Process 'web': invalid value 70000 for daphne option 'port' in ARGS: a port is a number "
        "from 0 to 65535, not 70000."
    )
    key = tmp_path / "key.pem"
    assert error_for({"endpoint": f"ssl:8443:privateKey={key}"}) == (
        f"Process 'web': invalid value 'ssl:8443:privateKey={key}' for daphne option 'endpoint' "
        f"in ARGS: Twisted cannot use the endpoint 'ssl:8443:privateKey={key}': No such file or "
        f"directory: '{key}'."
    )
    assert error_for({"http_timeout": 10**9}) == (
        "Process 'web': invalid value 1000000000 for daphne option 'http_timeout' in ARGS: it "
        "must be from 0 to 604800."
    )


@pytest.mark.parametrize("serving", [False, True])
def test_a_listen_failure_is_one_line_and_exit_1(serving: bool) -> None:
    failure = mock.Mock(getErrorMessage=lambda: "Couldn't listen on 127.0.0.1:1: permission.")

    def fail_to_listen(self: GracefulServer) -> None:
        if serving:  # the reactor was running: Daphne stops it and returns
            self.listen_failure = failure.getErrorMessage()
        else:  # before the reactor runs: Daphne then calls exit(1)
            self.listen_error(failure)

    backend = server({"port": 1})
    with (
        mock.patch.object(command_line, "check_start"),
        mock.patch.object(GracefulServer, "run", fail_to_listen),
        pytest.raises(InvalidBackendArgs) as raised,
    ):
        backend.start_server(*backend.prep_server_args())

    assert raised.value.message == (
        "Process 'web': Daphne could not listen: Couldn't listen on 127.0.0.1:1: permission."
    )


def test_sighup_is_a_graceful_stop_too() -> None:
    graceful = GracefulServer(application=None, endpoints=["tcp:8000"])
    previous = {
        sig: signal.getsignal(sig) for sig in (signal.SIGTERM, signal.SIGINT, signal.SIGHUP)
    }
    try:
        graceful.install_stop_handlers()
        assert {signal.getsignal(sig) for sig in previous} == {graceful.handle_stop_signal}
    finally:
        for sig, handler in previous.items():
            signal.signal(sig, handler)
