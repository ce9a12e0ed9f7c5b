"""The uvicorn and uvicorn-wsgi backends: ARGS to argv, validation with uvicorn's own command,
and how uvicorn starts.

uvicorn really serves in tests/integration/test_web_servers.py; here its command line runs for
real down to ``uvicorn.main.run()``, which is replaced to observe what it receives.
"""

from __future__ import annotations

import signal
import sys
from typing import Any
from unittest import mock

import click
import pytest
from uvicorn.main import main as uvicorn_command

from django_prodserver.backends.base import BaseServerBackend
from django_prodserver.backends.uvicorn import UvicornServer, UvicornWSGIServer
from django_prodserver.exceptions import InvalidBackendArgs

ASGI = "testsite.asgi:application"
WSGI = "testsite.wsgi:application"
UVICORN_MAIN = sys.modules["uvicorn.main"]  # `uvicorn.main` the attribute is the click command


def server(args: Any = None, cls: type[UvicornServer] = UvicornServer) -> UvicornServer:
    entry: dict[str, Any] = {"BACKEND": "uvicorn"}
    if args is not None:
        entry["ARGS"] = args
    return cls(alias="uvicorn", process_name="web", **entry)


def checked_argv(args: Any, cls: type[UvicornServer] = UvicornServer) -> list[str]:
    backend = server(args, cls)
    argv = backend.prep_server_args()
    backend.check_args(argv)
    return argv


def error_for(args: Any, cls: type[UvicornServer] = UvicornServer) -> str:
    backend = server(args, cls)
    with pytest.raises(InvalidBackendArgs) as caught:
        backend.check_args(backend.prep_server_args())
    return caught.value.message


def test_are_server_backends() -> None:
    for cls in (UvicornServer, UvicornWSGIServer):
        assert issubclass(cls, BaseServerBackend)
        assert cls.kind == "server"
        assert cls.program == "uvicorn"


@pytest.mark.parametrize(
    ("args", "argv"),
    [
        (None, []),
        ({"host": "127.0.0.1", "port": 8001}, ["--host=127.0.0.1", "--port=8001"]),
        ("--port=8001", ["--port=8001"]),
        (["--port", "8001", "--workers", "2"], ["--port", "8001", "--workers", "2"]),
        ({"forwarded_allow_ips": "10.0.0.1"}, ["--forwarded-allow-ips=10.0.0.1"]),
        # A list repeats the option.
        ({"header": ["X-A:1", "X-B:2"]}, ["--header=X-A:1", "--header=X-B:2"]),
        # True is a bare flag; False is uvicorn's --no- form where it has one, else nothing.
        (
            {"proxy_headers": True, "access_log": False, "use_colors": False},
            ["--proxy-headers", "--no-access-log", "--no-use-colors"],
        ),
        ({"reload": False, "factory": None}, ["--factory"]),
    ],
)
def test_args_become_uvicorn_argv(args: Any, argv: list[str]) -> None:
    assert checked_argv(args) == argv


def test_wsgi_sets_the_interface_first() -> None:
    assert checked_argv({"port": 8001}, UvicornWSGIServer) == ["--interface=wsgi", "--port=8001"]


def test_negated_flag_only_where_uvicorn_has_one() -> None:
    backend = server()
    assert backend.negated_flag("--access-log") == "--no-access-log"
    assert backend.negated_flag("--server-header") == "--no-server-header"
    assert backend.negated_flag("--reload") is None
    assert backend.negated_flag("-x") is None


@pytest.mark.parametrize(
    ("args", "message"),
    [
        (
            {"prot": 8000},
            "Process 'web': unknown uvicorn option 'prot' in ARGS. Did you mean 'port'?",
        ),
        (
            ["--wrkers=2"],
            "Process 'web': unknown uvicorn option '--wrkers' in ARGS. Did you mean '--workers'?",
        ),
        (
            {"zzzzzz": 1},
            "Process 'web': unknown uvicorn option 'zzzzzz' in ARGS. "
            "See 'uvicorn --help' for the options it accepts.",
        ),
        (
            {"port": "abc"},
            "Process 'web': invalid value 'abc' for uvicorn option 'port' in ARGS: "
            "'abc' is not a valid integer.",
        ),
        # The application comes first, so a value left out is not taken from it.
        (
            {"port": True},
            "Process 'web': invalid value True for uvicorn option 'port' in ARGS: "
            "Option '--port' requires an argument.",
        ),
        (
            {"reload": "true"},
            "Process 'web': invalid value 'true' for uvicorn option 'reload' in ARGS: "
            "Option '--reload' does not take a value.",
        ),
        # A secret option's value is never shown.
        (
            {"ssl_keyfile_password": True},
            "Process 'web': invalid value '***' for uvicorn option 'ssl_keyfile_password' in "
            "ARGS: Option '--ssl-keyfile-password' requires an argument.",
        ),
        (
            {"lifespan": "maybe"},
            "Process 'web': invalid value 'maybe' for uvicorn option 'lifespan' in ARGS: "
            "'maybe' is not one of 'auto', 'on', 'off'.",
        ),
        (
            ["--port=8001", "other.asgi:app"],
            "Process 'web': unexpected argument 'other.asgi:app' in ARGS: ARGS holds options "
            "only; the application comes from the ASGI_APPLICATION setting.",
        ),
        (
            {"interface": "asgi3"},
            "Process 'web': uvicorn option 'interface' cannot be set in ARGS: the backend sets "
            "it; use BACKEND 'uvicorn' for ASGI or 'uvicorn-wsgi' for WSGI.",
        ),
        (
            {"version": True},
            "Process 'web': uvicorn option 'version' cannot be set in ARGS: it makes uvicorn "
            "print and exit instead of serving.",
        ),
    ],
)
def test_check_args_errors(args: Any, message: str) -> None:
    assert error_for(args) == message


def test_wsgi_check_args_errors() -> None:
    assert error_for(["x"], UvicornWSGIServer) == (
        "Process 'web': unexpected argument 'x' in ARGS: ARGS holds options only; the "
        "application comes from the WSGI_APPLICATION setting."
    )
    assert error_for(["--interface", "wsgi"], UvicornWSGIServer) == (
        "Process 'web': uvicorn option '--interface' cannot be set in ARGS: the backend sets "
        "it; use BACKEND 'uvicorn' for ASGI or 'uvicorn-wsgi' for WSGI."
    )


@pytest.mark.parametrize(
    ("error", "message"),
    [
        (click.UsageError("something else"), "uvicorn rejects ARGS: something else."),
        (
            click.BadParameter("bad app", param=click.Argument(["app"])),
            "uvicorn rejects ARGS: bad app.",
        ),
    ],
)
def test_other_click_errors(error: click.ClickException, message: str) -> None:
    with mock.patch.object(uvicorn_command, "make_context", side_effect=error):
        assert error_for({"port": 1}) == f"Process 'web': {message}"


def run_and_observe(backend: UvicornServer, fake_run: Any = None) -> mock.MagicMock:
    with mock.patch.object(UVICORN_MAIN, "run", side_effect=fake_run) as run:
        backend.start_server(*backend.prep_server_args())
    return run


def test_start_server_runs_uvicorn_with_the_asgi_application() -> None:
    run = run_and_observe(server({"host": "127.0.0.1", "port": 8123, "access_log": False}))

    (app,), options = run.call_args
    assert app == ASGI
    assert (options["host"], options["port"], options["access_log"]) == ("127.0.0.1", 8123, False)
    assert options["interface"] == "auto"


def test_start_server_runs_uvicorn_with_the_wsgi_interface() -> None:
    run = run_and_observe(server({"port": 8123}, UvicornWSGIServer))

    (app,), options = run.call_args
    assert (app, options["interface"], options["port"]) == (WSGI, "wsgi", 8123)


def test_django_options_never_reach_uvicorn(monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setattr(sys, "argv", ["manage.py", "prodserver", "--settings=x", "-v", "2"])

    run = run_and_observe(server({"port": 8123}))

    (app,), options = run.call_args
    assert (app, options["port"]) == (ASGI, 8123)


@pytest.mark.parametrize("sig", [signal.SIGTERM, signal.SIGINT])
def test_a_stop_signal_uvicorn_raises_again_becomes_exit_0(sig: int) -> None:
    before = {s: signal.getsignal(s) for s in (signal.SIGTERM, signal.SIGINT)}

    def graceful_shutdown_then_reraise(*args: Any, **kwargs: Any) -> None:
        signal.raise_signal(sig)  # what uvicorn does once its requests are done

    with pytest.raises(SystemExit) as exited:
        run_and_observe(server(), graceful_shutdown_then_reraise)

    assert exited.value.code == 0
    assert {s: signal.getsignal(s) for s in before} == before


def test_describe_start() -> None:
    asgi = server({"port": 8000, "access_log": False})
    wsgi = server({"workers": 2}, UvicornWSGIServer)
    assert asgi.describe_start(asgi.prep_server_args()) == (
        "uvicorn testsite.asgi:application --port=8000 --no-access-log"
    )
    assert wsgi.describe_start(wsgi.prep_server_args()) == (
        "uvicorn testsite.wsgi:application --interface=wsgi --workers=2"
    )
