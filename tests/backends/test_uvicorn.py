"""The uvicorn and uvicorn-wsgi backends: ARGS to argv, validation with uvicorn's own command,
and how uvicorn starts.

uvicorn really serves in tests/integration/test_web_servers.py; here its command line runs for
real down to ``uvicorn.main.run()``, which is replaced to observe what it receives.
"""

from __future__ import annotations

import signal
import socket
import sys
from pathlib import Path
from typing import Any
from unittest import mock

import click
import pytest
from uvicorn import config as uvicorn_config
from uvicorn.main import main as uvicorn_command

from django_prodserver.backends.base import BaseServerBackend
from django_prodserver.backends.uvicorn import UvicornServer, UvicornWSGIServer
from django_prodserver.exceptions import InvalidBackendArgs

from ..integration.harness import free_port
from ..not_installed import hide_packages

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


@pytest.mark.parametrize(
    ("args", "package"),
    [
        ({"loop": "uvloop"}, "uvloop"),
        ({"http": "httptools"}, "httptools"),
        ({"ws": "websockets"}, "websockets"),
        ({"ws": "wsproto"}, "wsproto"),
    ],
)
def test_an_implementation_whose_package_is_missing(
    monkeypatch: pytest.MonkeyPatch, args: dict[str, str], package: str
) -> None:
    hide_packages(monkeypatch, [package])
    ((option, value),) = args.items()
    hint = "pip install wsproto" if package == "wsproto" else 'pip install "uvicorn[standard]"'
    assert error_for(args) == (
        f"Process 'web': invalid value {value!r} for uvicorn option {option!r} in ARGS: it "
        f"needs the {package!r} package, which is not installed. Install it with: {hint}."
    )


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
    port = free_port()
    run = run_and_observe(server({"host": "127.0.0.1", "port": port, "access_log": False}))

    (app,), options = run.call_args
    assert app == ASGI
    assert (options["host"], options["port"], options["access_log"]) == ("127.0.0.1", port, False)
    assert options["interface"] == "auto"


def test_start_server_runs_uvicorn_with_the_wsgi_interface() -> None:
    port = free_port()
    run = run_and_observe(server({"port": port}, UvicornWSGIServer))

    (app,), options = run.call_args
    assert (app, options["interface"], options["port"]) == (WSGI, "wsgi", port)


def test_django_options_never_reach_uvicorn(monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setattr(sys, "argv", ["manage.py", "prodserver", "--settings=x", "-v", "2"])

    port = free_port()
    run = run_and_observe(server({"port": port}))

    (app,), options = run.call_args
    assert (app, options["port"]) == (ASGI, port)


@pytest.mark.parametrize("sig", [signal.SIGTERM, signal.SIGINT])
def test_a_stop_signal_uvicorn_raises_again_becomes_exit_0(sig: int) -> None:
    before = {s: signal.getsignal(s) for s in (signal.SIGTERM, signal.SIGINT)}

    def graceful_shutdown_then_reraise(*args: Any, **kwargs: Any) -> None:
        signal.raise_signal(sig)  # what uvicorn does once its requests are done

    with pytest.raises(SystemExit) as exited:
        run_and_observe(server({"port": free_port()}), graceful_shutdown_then_reraise)

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


def nodelay(sock: socket.socket) -> int:
    return sock.getsockopt(socket.IPPROTO_TCP, socket.TCP_NODELAY)


@pytest.mark.parametrize("host", ["127.0.0.1", "::1"])
def test_the_socket_uvicorn_binds_for_its_workers_has_tcp_nodelay(host: str) -> None:
    if host == "::1" and not socket.has_ipv6:
        pytest.skip("no IPv6 on this machine")
    bound: list[socket.socket] = []

    def bind_as_uvicorn_does_for_workers(app: str, **options: Any) -> None:
        # What uvicorn.main.run() does when workers > 1, before it starts them.
        config = uvicorn_config.Config(app, host=host, port=0, workers=2, log_config=None)
        bound.append(config.bind_socket())

    uvicorn_s_own = uvicorn_config.Config.bind_socket

    run_and_observe(server({"workers": 2, "port": free_port()}), bind_as_uvicorn_does_for_workers)

    with bound[0] as listener:
        assert nodelay(listener) == 1
    assert uvicorn_config.Config.bind_socket is uvicorn_s_own  # once uvicorn has returned


def test_a_unix_socket_uvicorn_binds_is_left_as_it_is(tmp_path: Path) -> None:
    bound: list[socket.socket] = []

    def bind(app: str, **options: Any) -> None:
        config = uvicorn_config.Config(app, uds=str(tmp_path / "u.sock"), log_config=None)
        bound.append(config.bind_socket())

    run_and_observe(server({"uds": str(tmp_path / "u.sock"), "workers": 2}), bind)

    with bound[0] as listener:
        assert listener.family == socket.AF_UNIX


@pytest.mark.parametrize(
    ("args", "message"),
    [
        (
            {"workers": 10**6},
            "Process 'web': invalid value 1000000 for uvicorn option 'workers' in ARGS: it must "
            "be from 1 to 10000.",
        ),
        (
            {"backlog": 10**12},
            "Process 'web': invalid value 1000000000000 for uvicorn option 'backlog' in ARGS: it "
            "must be from 0 to 65535.",
        ),
        (
            {"timeout_keep_alive": 10**20},
            "Process 'web': invalid value 100000000000000000000 for uvicorn option "
            "'timeout_keep_alive' in ARGS: it must be from 0 to 604800.",
        ),
        (
            {"ssl_keyfile": "/tmp/key.pem"},
            "Process 'web': invalid value '/tmp/key.pem' for uvicorn option 'ssl_keyfile' in "
            "ARGS: HTTPS needs 'ssl_certfile' too; set it, or remove 'ssl_keyfile'.",
        ),
        (
            {"host": "127.0.0.1\0"},
            "Process 'web': invalid value '127.0.0.1\\x00' for uvicorn option 'host' in ARGS: it "
            "contains a NUL character ('\\x00'), which no host name or path can hold.",
        ),
        (
            ["--ssl-keyfile-password s3cret"],
            "Process 'web': the argument '--ssl-keyfile-password ***' in ARGS contains a space, "
            "but each item of ARGS is passed as one argument. Write it as separate items, "
            "['--ssl-keyfile-password', '***'], or as a dict.",
        ),
    ],
)
def test_out_of_range_and_unusable_values_are_one_line(args: Any, message: str) -> None:
    assert error_for(args) == message


def test_a_log_config_that_does_not_load_is_named(tmp_path: Path) -> None:
    broken, dictionary = tmp_path / "bad.ini", tmp_path / "bad.json"
    broken.write_text("[loggers\nkeys=root\n")
    dictionary.write_text("{}")
    assert error_for({"log-config": str(broken)}) == (
        f"Process 'web': invalid value {str(broken)!r} for uvicorn option 'log-config' in ARGS: "
        f"the log configuration {str(broken)!r} does not parse: MissingSectionHeaderError: "
        f"File contains no section "
        f"headers. file: {str(broken)!r}, line: 1 '[loggers\\n'."
    )
    assert error_for({"log_config": str(dictionary)}) == (
        f"Process 'web': invalid value {str(dictionary)!r} for uvicorn option 'log_config' in "
        f"ARGS: the log configuration {str(dictionary)!r} is not a logging dictionary: it needs "
        "a 'version' key (1), as logging.config.dictConfig() takes."
    )


def test_a_certificate_that_does_not_load_is_named(tmp_path: Path) -> None:
    missing = tmp_path / "missing.pem"
    assert error_for({"ssl_certfile": str(missing)}) == (
        f"Process 'web': invalid value {str(missing)!r} for uvicorn option 'ssl_certfile' in "
        f"ARGS: the certificate {str(missing)!r} cannot be loaded: No such file or directory."
    )


def test_a_unix_socket_in_a_missing_directory_stops_the_start(tmp_path: Path) -> None:
    backend = server({"uds": f"{tmp_path}/missing/web.sock"})
    with (
        mock.patch.object(uvicorn_command, "main") as main,
        pytest.raises(InvalidBackendArgs) as caught,
    ):
        backend.start_server(*backend.prep_server_args())
    assert caught.value.message == (
        f"Process 'web': cannot listen on the Unix socket '{tmp_path}/missing/web.sock': the "
        f"directory '{tmp_path}/missing' does not exist. Create it, or choose a path in an "
        f"existing directory."
    )
    main.assert_not_called()


@pytest.mark.parametrize(("workers", "sighup_handled"), [(1, True), (2, False)])
def test_one_uvicorn_process_handles_sighup_as_a_stop(workers: int, sighup_handled: bool) -> None:
    # With workers, uvicorn's supervisor restarts them on SIGHUP: that is left as it is.
    from uvicorn import server as uvicorn_server

    uvicorn_s_own = uvicorn_server.HANDLED_SIGNALS
    during: list[tuple[int, ...]] = []

    def serve(**_: Any) -> None:
        during.append(uvicorn_server.HANDLED_SIGNALS)

    backend = server({"port": free_port(), "workers": workers})
    with mock.patch.object(uvicorn_command, "main", side_effect=serve):
        backend.start_server(*backend.prep_server_args())
    assert (signal.SIGHUP in during[0]) is sighup_handled
    restored = uvicorn_server.HANDLED_SIGNALS
    assert restored == uvicorn_s_own
