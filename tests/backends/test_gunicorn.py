"""The gunicorn backend: ARGS to argv, validation with gunicorn's parser, how gunicorn starts.

gunicorn really serves in tests/integration/test_web_servers.py; here its application is built
(which parses the configuration) but never run.
"""

from __future__ import annotations

import argparse
import sys
from typing import Any
from unittest import mock

import pytest

from django_prodserver.backends import gunicorn as gunicorn_backend
from django_prodserver.backends.base import BaseServerBackend
from django_prodserver.backends.gunicorn import DjangoGunicornApplication, GunicornServer

from .helpers import BackendUnderTest

TARGET = "testsite.wsgi:application"
NO_CTL = "--no-control-socket"
# gunicorn 25.1 added the control socket, which the backend turns off with --no-control-socket.
# The gunicorn that Python 3.9 gets (23.0) has neither the socket nor the flag: nothing is added.
HAS_CONTROL_SOCKET = NO_CTL in gunicorn_backend.known_options()
CTL = [NO_CTL] if HAS_CONTROL_SOCKET else []
# gunicorn 25 added the http_protocols setting and Config.validate(), which checks it.
HAS_CONFIG_VALIDATE = hasattr(gunicorn_backend.Config, "validate")


UNDER_TEST = BackendUnderTest(GunicornServer, "gunicorn")
server, checked_argv, error_for = UNDER_TEST.server, UNDER_TEST.checked_argv, UNDER_TEST.error_for


def test_is_a_server_backend() -> None:
    assert issubclass(GunicornServer, BaseServerBackend)
    assert GunicornServer.kind == "server"
    assert GunicornServer.program == "gunicorn"


@pytest.mark.parametrize(
    ("args", "argv"),
    [
        (None, CTL),
        ({}, CTL),
        (
            {"bind": "127.0.0.1:8001", "workers": 3, "max_requests": 100},
            [*CTL, "--bind=127.0.0.1:8001", "--workers=3", "--max-requests=100"],
        ),
        ("--workers=2", [*CTL, "--workers=2"]),
        (["-w", "2", "--bind", "unix:/tmp/g"], [*CTL, "-w", "2", "--bind", "unix:/tmp/g"]),
        ({"-w": 2}, [*CTL, "-w", "2"]),
        # A list repeats the option: gunicorn binds every address.
        (
            {"bind": ["127.0.0.1:8001", "127.0.0.1:8002"]},
            [*CTL, "--bind=127.0.0.1:8001", "--bind=127.0.0.1:8002"],
        ),
        # True is a bare flag; False is gunicorn's --no- form where it has one, else nothing.
        ({"preload": True, "sendfile": False}, [*CTL, "--preload", "--no-sendfile"]),
        ({"preload": False, "reuse_port": None}, [*CTL, "--reuse-port"]),
    ],
)
def test_args_become_gunicorn_argv(args: Any, argv: list[str]) -> None:
    assert checked_argv(args) == argv


def test_control_socket_false_is_not_doubled() -> None:
    if HAS_CONTROL_SOCKET:
        assert checked_argv({"control_socket": False}) == CTL
    else:  # gunicorn < 25.1 has no control socket: the key is an unknown option there
        assert error_for({"control_socket": False}) == (
            "Process 'web': unknown gunicorn option 'control_socket' in ARGS. "
            "See 'gunicorn --help' for the options it accepts."
        )


def test_a_control_socket_path_keeps_the_control_socket() -> None:
    if HAS_CONTROL_SOCKET:
        assert checked_argv({"control_socket": "/tmp/g.ctl"}) == ["--control-socket=/tmp/g.ctl"]
    else:  # gunicorn < 25.1
        assert error_for({"control_socket": "/tmp/g.ctl"}) == (
            "Process 'web': unknown gunicorn option 'control_socket' in ARGS. "
            "See 'gunicorn --help' for the options it accepts."
        )


def test_a_gunicorn_without_control_socket_gets_no_flag_for_it() -> None:
    older = gunicorn_backend.known_options() - {NO_CTL, "--control-socket"}
    with mock.patch.object(gunicorn_backend, "known_options", return_value=older):
        assert server({"workers": 2}).prep_server_args() == ["--workers=2"]


def test_negated_flag_only_where_gunicorn_has_one() -> None:
    backend = server()
    assert backend.negated_flag("--sendfile") == "--no-sendfile"
    assert backend.negated_flag("--control-socket") == (NO_CTL if HAS_CONTROL_SOCKET else None)
    assert backend.negated_flag("--preload") is None
    assert backend.negated_flag("-w") is None


@pytest.mark.parametrize(
    ("args", "message"),
    [
        (
            {"bnd": "127.0.0.1:8000"},
            "Process 'web': unknown gunicorn option 'bnd' in ARGS. Did you mean 'bind'?",
        ),
        # Abbreviations are off: "thr" would silently have been --threads.
        (
            {"thr": 4},
            "Process 'web': unknown gunicorn option 'thr' in ARGS. Did you mean 'threads'?",
        ),
        (
            ["--wrkers=2"],
            "Process 'web': unknown gunicorn option '--wrkers' in ARGS. Did you mean '--workers'?",
        ),
        (
            {"zzzzzz": 1},
            "Process 'web': unknown gunicorn option 'zzzzzz' in ARGS. "
            "See 'gunicorn --help' for the options it accepts.",
        ),
        (
            {"workers": "abc"},
            "Process 'web': invalid value 'abc' for gunicorn option 'workers' in ARGS: "
            "invalid int value: 'abc'.",
        ),
        (
            {"workers": True},
            "Process 'web': invalid value True for gunicorn option 'workers' in ARGS: "
            "expected one argument.",
        ),
        (
            ["--bind"],
            "Process 'web': invalid use of gunicorn option '--bind' in ARGS: "
            "expected one argument.",
        ),
        (
            ["-w", "x"],
            "Process 'web': invalid value 'x' for gunicorn option '-w' in ARGS: "
            "invalid int value: 'x'.",
        ),
        (
            {"reuse_port": "true"},
            "Process 'web': invalid value 'true' for gunicorn option 'reuse_port' in ARGS: "
            "ignored explicit argument 'true'.",
        ),
        # Values gunicorn's own validators reject, as loading its configuration would.
        (
            {"keep_alive": -3},
            "Process 'web': invalid value -3 for gunicorn option 'keep_alive' in ARGS: "
            "Value must be positive: -3.",
        ),
        (
            ["mysite.wsgi:app"],
            "Process 'web': unexpected argument 'mysite.wsgi:app' in ARGS: ARGS holds "
            "options only; the application comes from the WSGI_APPLICATION setting.",
        ),
        (
            ["--workers=2", "mysite.wsgi:app", "--preload", "other"],
            "Process 'web': unexpected argument 'mysite.wsgi:app' in ARGS: ARGS holds "
            "options only; the application comes from the WSGI_APPLICATION setting.",
        ),
        (
            {"paste": "production.ini"},
            "Process 'web': gunicorn option 'paste' cannot be set in ARGS: the application "
            "comes from the WSGI_APPLICATION setting.",
        ),
        (
            {"version": True},
            "Process 'web': gunicorn option 'version' cannot be set in ARGS: it makes "
            "gunicorn print and exit instead of serving.",
        ),
        (
            ["-hD"],
            "Process 'web': gunicorn option '-hD' cannot be set in ARGS: it makes gunicorn "
            "print and exit instead of serving.",
        ),
    ],
)
def test_check_args_errors(args: Any, message: str) -> None:
    assert error_for(args) == message


@pytest.mark.skipif(
    not HAS_CONFIG_VALIDATE, reason="gunicorn < 25 (23.0 on Python 3.9) has no Config.validate()"
)
def test_a_configuration_gunicorn_s_validate_rejects() -> None:
    # h2 is installed with the test extras (hypercorn needs it): gunicorn is told it is not.
    with mock.patch("gunicorn.http2.is_http2_available", return_value=False):
        message = error_for({"http_protocols": "h2"})

    assert message == (
        "Process 'web': gunicorn rejects ARGS: http_protocols includes h2 but the h2 package is "
        "not installed. Install gunicorn[http2], or drop h2 from http_protocols."
    )


def test_a_parser_error_that_exits_is_captured(capsys: pytest.CaptureFixture[str]) -> None:
    def fail(self: argparse.ArgumentParser, args: Any, namespace: Any = None) -> Any:
        self.error("something argparse refuses")

    with mock.patch.object(argparse.ArgumentParser, "parse_known_args", fail):
        message = error_for({"workers": 2})

    assert message == "Process 'web': gunicorn rejects ARGS: something argparse refuses."
    assert capsys.readouterr() == ("", "")


def test_an_argparse_error_naming_no_option() -> None:
    def fail(self: argparse.ArgumentParser, args: Any, namespace: Any = None) -> Any:
        raise argparse.ArgumentError(None, "no option named")

    with mock.patch.object(argparse.ArgumentParser, "parse_known_args", fail):
        message = error_for({"workers": 2})

    assert message == "Process 'web': gunicorn rejects ARGS: no option named."


def test_a_gunicorn_without_config_validate() -> None:
    with mock.patch.object(gunicorn_backend.Config, "validate", None, create=True):
        assert checked_argv({"workers": 2, "bind": "127.0.0.1:8001"}) == [
            *CTL,
            "--workers=2",
            "--bind=127.0.0.1:8001",
        ]


def test_the_application_reads_our_argv_not_sys_argv(monkeypatch: pytest.MonkeyPatch) -> None:
    django_argv = ["manage.py", "prodserver", "web", "--settings=tests.settings", "-v", "2"]
    monkeypatch.setattr(sys, "argv", list(django_argv))
    monkeypatch.delenv("GUNICORN_CMD_ARGS", raising=False)

    app = DjangoGunicornApplication(["--bind=127.0.0.1:8123", "-w", "3", *CTL, TARGET])

    assert app.cfg.bind == ["127.0.0.1:8123"]
    assert app.cfg.workers == 3
    if HAS_CONTROL_SOCKET:
        assert app.cfg.control_socket_disable is True
    else:  # gunicorn < 25.1
        assert "control_socket_disable" not in app.cfg.settings
    assert app.app_uri == TARGET
    assert sys.argv == django_argv


def test_start_server_closes_db_connections_and_runs_the_application() -> None:
    backend = server({"bind": "127.0.0.1:8123"})
    args = backend.prep_server_args()
    with (
        mock.patch("django.db.connections.close_all") as close_all,
        mock.patch.object(DjangoGunicornApplication, "run", autospec=True) as run,
    ):
        backend.start_server(*args)

    close_all.assert_called_once_with()
    (app,) = run.call_args.args
    assert app.argv == [*CTL, "--bind=127.0.0.1:8123", TARGET]
    assert app.cfg.bind == ["127.0.0.1:8123"]


def test_django_options_never_reach_gunicorn(monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setattr(sys, "argv", ["manage.py", "prodserver", "--settings=x", "--traceback"])
    backend = server({"workers": 2})
    with (
        mock.patch("django.db.connections.close_all"),
        mock.patch.object(DjangoGunicornApplication, "run", autospec=True) as run,
    ):
        backend.start_server(*backend.prep_server_args())

    (app,) = run.call_args.args
    assert app.argv == [*CTL, "--workers=2", TARGET]


def test_describe_start() -> None:
    backend = server({"bind": "127.0.0.1:8000", "workers": 2})
    if HAS_CONTROL_SOCKET:
        expected = (
            "gunicorn --no-control-socket --bind=127.0.0.1:8000 --workers=2 "
            "testsite.wsgi:application"
        )
    else:  # gunicorn < 25.1
        expected = "gunicorn --bind=127.0.0.1:8000 --workers=2 testsite.wsgi:application"
    assert backend.describe_start(backend.prep_server_args()) == expected
