"""The Granian backend without a server: ``Granian.serve()`` is replaced, the rest is real."""

from __future__ import annotations

import gc
import importlib.util
import multiprocessing
import os
import pickle
import socket
import sys
from collections.abc import Iterator
from importlib import metadata
from pathlib import Path
from typing import Any

import click
import pytest
from django.core.management import call_command
from django.test import override_settings
from granian.cli import cli as granian_cli
from granian.http import HTTP1Settings, HTTP2Settings

from django_prodserver import registry
from django_prodserver.backends import granian as backend_module
from django_prodserver.backends.base import BaseServerBackend
from django_prodserver.backends.granian import (
    DJANGO_WSGI_BLOCKING_THREADS,
    ExitLikeAForkedWorker,
    Granian,
    GranianASGIServer,
    GranianServer,
    GranianWSGIServer,
    django_wsgi_blocking_threads,
    import_target,
    load_application,
    missing_option_message,
    renames_for,
)
from django_prodserver.exceptions import InvalidArgsType, InvalidBackendArgs, ProdserverError

from ..not_installed import hide_packages

VERSION = metadata.version("granian")
GRANIAN = tuple(int(part) for part in VERSION.split(".")[:2])
GRANIAN_2 = GRANIAN >= (2, 0)
THREADS = DJANGO_WSGI_BLOCKING_THREADS  # the default: 8, or 2 x CPUs + 1 on up to 3 CPUs
# The other defaults prodserver chooses: a killed worker is replaced, a stop is bounded.
DEFAULTS = {"respawn_failed_workers": True, "workers_kill_timeout": 30}
GRANIAN_LOOPS = next(param.type.choices for param in granian_cli.params if param.name == "loop")


def since(version: tuple[int, int], *values: Any) -> Any:
    """A parametrize case for an option that older Granian releases lack."""
    reason = f"needs Granian {'.'.join(map(str, version))}"
    return pytest.param(*values, marks=pytest.mark.skipif(version > GRANIAN, reason=reason))


def on_granian(version_2: Any, version_1: Any) -> Any:
    return version_2 if GRANIAN_2 else version_1


WSGI_TARGET = "testsite.wsgi:application"
ASGI_TARGET = "testsite.asgi:application"
WSGI_PATH = "django_prodserver.backends.granian.GranianWSGIServer"
ASGI_PATH = "django_prodserver.backends.granian.GranianASGIServer"
PLAIN_PATH = "django_prodserver.backends.granian.GranianServer"

# (class, alias, BACKEND as written, interface served by default)
BACKENDS = [
    (GranianServer, "granian-wsgi", "granian-wsgi", "wsgi"),
    (GranianServer, "granian-asgi", "granian-asgi", "asginl"),
    (GranianWSGIServer, None, WSGI_PATH, "wsgi"),
    (GranianASGIServer, None, ASGI_PATH, "asginl"),
]


def make(
    alias: str | None = "granian-wsgi",
    args: Any = None,
    cls: type[GranianServer] = GranianServer,
    backend: str | None = None,
    process: str | None = "web",
    **entry: Any,
) -> GranianServer:
    config: dict[str, Any] = {"BACKEND": backend or alias or PLAIN_PATH, **entry}
    if args is not None:
        config["ARGS"] = args
    return cls(alias=alias, process_name=process, **config)


def kwargs_for(args: Any, alias: str | None = "granian-wsgi", **entry: Any) -> dict[str, Any]:
    server = make(alias, args, **entry)
    return server.granian_call(server.prep_server_args()).kwargs


def error_for(args: Any, alias: str | None = "granian-wsgi", **entry: Any) -> str:
    server = make(alias, args, **entry)
    with pytest.raises(InvalidBackendArgs) as excinfo:
        server.check_args(server.prep_server_args())
    return str(excinfo.value)


class Served:
    """What the replaced ``serve()`` was called on and with."""

    def __init__(self) -> None:
        self.calls: list[tuple[Any, dict[str, Any]]] = []
        self.frozen = 0  # objects set aside from the garbage collector when serve() was called

    @property
    def server(self) -> Any:
        return self.calls[-1][0]

    @property
    def serve_kwargs(self) -> dict[str, Any]:
        return self.calls[-1][1]


@pytest.fixture
def served(monkeypatch: pytest.MonkeyPatch) -> Iterator[Served]:
    record = Served()

    def serve(self: Any, **kwargs: Any) -> None:
        record.calls.append((self, kwargs))
        record.frozen = gc.get_freeze_count()

    monkeypatch.setattr(Granian, "serve", serve)
    start_method = multiprocessing.get_start_method(allow_none=True)
    backend_module._PRELOADED.clear()
    gc.unfreeze()
    yield record
    gc.unfreeze()
    backend_module._PRELOADED.clear()
    multiprocessing.set_start_method(start_method, force=True)


def start(server: GranianServer) -> None:
    server.start_server(*server.prep_server_args())


# -- construction and registration -----------------------------------------------------------


def test_is_a_server_backend() -> None:
    assert issubclass(GranianServer, BaseServerBackend)
    assert issubclass(GranianWSGIServer, GranianServer)
    assert issubclass(GranianASGIServer, GranianServer)
    assert GranianServer.kind == "server"
    assert GranianServer.settings_keys == frozenset({"PRELOAD", "STATIC"})


@pytest.mark.parametrize("alias", ["granian-wsgi", "granian-asgi"])
def test_aliases_resolve_to_the_backend(alias: str) -> None:
    resolved = registry.resolve(alias)
    assert (resolved.backend_class, resolved.alias) == (GranianServer, alias)


@pytest.mark.parametrize(("cls", "alias", "backend", "interface"), BACKENDS)
@pytest.mark.parametrize("args", [None, {}, [], ""])
def test_init_without_args(
    cls: type[GranianServer], alias: str | None, backend: str, interface: str, args: Any
) -> None:
    server = make(alias, args, cls=cls, backend=backend)
    assert server.prep_server_args() == []
    call = server.granian_call([])
    if interface == "wsgi":
        expected = {"interface": "wsgi", "blocking_threads": THREADS, **DEFAULTS}
        assert call == (WSGI_TARGET, expected, True)
    else:
        assert call == (ASGI_TARGET, {"interface": interface, **DEFAULTS}, True)


@pytest.mark.parametrize(("cls", "alias", "backend", "interface"), BACKENDS)
def test_init_with_args(
    cls: type[GranianServer], alias: str | None, backend: str, interface: str
) -> None:
    server = make(alias, {"workers": 2, "port": "9000"}, cls=cls, backend=backend)
    assert server.alias == alias
    assert server.args_setting == {"workers": 2, "port": "9000"}
    assert server.prep_server_args() == ["--workers=2", "--port=9000"]
    kwargs = server.granian_call(server.prep_server_args()).kwargs
    pool = {"blocking_threads": THREADS} if interface == "wsgi" else {}
    assert kwargs == {"interface": interface, "port": 9000, "workers": 2, **pool, **DEFAULTS}


# -- ARGS to keyword arguments ---------------------------------------------------------------


@pytest.mark.parametrize(
    ("args", "expected"),
    [
        ({"host": "0.0.0.0", "port": 8000}, {"address": "0.0.0.0", "port": 8000}),
        ({"workers": "4", "backlog": 2048}, {"workers": 4, "backlog": 2048}),
        ({"threads": 8}, {"blocking_threads": 8}),
        ({"blocking-threads": 8}, {"blocking_threads": 8}),
        # The names of both major versions work on either.
        ({"runtime_threads": 2}, on_granian({"runtime_threads": 2}, {"threads": 2})),
        (
            {"threading-mode": "workers"},
            on_granian({"runtime_mode": "st"}, {"threading_mode": "workers"}),
        ),
        (
            {"threading_mode": "runtime"},
            on_granian({"runtime_mode": "mt"}, {"threading_mode": "runtime"}),
        ),
        ({"runtime-mode": "st"}, on_granian({"runtime_mode": "st"}, {"threading_mode": "workers"})),
        ({"http": "1"}, {"http": "1"}),
        ({"http": 2}, {"http": "2"}),
        ({"loop": "asyncio", "task-impl": "asyncio"}, {"loop": "asyncio", "task_impl": "asyncio"}),
        ({"log-level": "warning", "log": False}, {"log_level": "warning", "log_enabled": False}),
        ({"access-log": True}, {"log_access": True}),
        ({"access_log_fmt": "%(path)s"}, {"log_access_format": "%(path)s"}),
        ({"url-path-prefix": "/app"}, {"url_path_prefix": "/app"}),
        ({"respawn-failed-workers": True}, {"respawn_failed_workers": True}),
        ({"respawn_interval": "1.5"}, {"respawn_interval": 1.5}),
        ({"workers-lifetime": "7200"}, {"workers_lifetime": 7200}),
        since((2, 0), {"workers-lifetime": "2h"}, {"workers_lifetime": 7200}),
        since((2, 5), {"workers-max-rss": 512}, {"workers_max_rss": 512}),
        ({"workers-kill-timeout": 30}, {"workers_kill_timeout": 30}),
        since((2, 7), {"static-path-route": "/static"}, {"static_path_route": ["/static"]}),
        since((2, 7), {"static-path-route": ["/s", "/m"]}, {"static_path_route": ["/s", "/m"]}),
        ({"reload-ignore-dirs": ("a", "b")}, {"reload_ignore_dirs": ["a", "b"]}),
        ({"pid-file": Path("/tmp/granian-test.pid")}, {"pid_file": Path("/tmp/granian-test.pid")}),
        since(
            (2, 7),
            {"metrics": True, "metrics-port": 9999},
            {"metrics_enabled": True, "metrics_port": 9999},
        ),
        ({"ssl-keyfile-password": None}, {}),
        ({"--workers": 3}, {"workers": 3}),
        (
            {"http1-buffer-size": 100000, "http1_keep_alive": False},
            {"http1_settings": HTTP1Settings(max_buffer_size=100000, keep_alive=False)},
        ),
        (
            {"http2-max-concurrent-streams": 50, "http2-adaptive-window": "true"},
            {"http2_settings": HTTP2Settings(max_concurrent_streams=50, adaptive_window=True)},
        ),
    ],
)
def test_wsgi_kwargs(args: dict[str, Any], expected: dict[str, Any]) -> None:
    # Django's pool of 8 blocking threads unless the row sets the pool itself.
    assert kwargs_for(args) == {
        "interface": "wsgi",
        "blocking_threads": THREADS,
        **DEFAULTS,
        **expected,
    }


@pytest.mark.parametrize(
    ("args", "expected"),
    [
        ({}, {"blocking_threads": THREADS}),
        ({"threads": 32}, {"blocking_threads": 32}),
        ("--blocking-threads 2", {"blocking_threads": 2}),
        # Any option that sizes the pool, even None, leaves Granian's own rule in force.
        ({"threads": None}, {}),
        ({"blocking-threads": None}, {}),
        ({"backpressure": 16}, {"backpressure": 16}),
        ({"backpressure": None}, {}),
        ("--backpressure 16", {"backpressure": 16}),
    ],
)
def test_wsgi_thread_pool(args: Any, expected: dict[str, Any]) -> None:
    assert kwargs_for(args) == {"interface": "wsgi", **DEFAULTS, **expected}


@pytest.mark.parametrize(("cpus", "threads"), [(1, 3), (2, 5), (3, 7), (4, 8), (64, 8)])
def test_the_default_thread_pool_stays_within_granians_warning(cpus: int, threads: int) -> None:
    # Granian warns at every WSGI start above 2 x CPUs + 1 blocking threads.
    assert django_wsgi_blocking_threads(cpus) == threads
    assert django_wsgi_blocking_threads(multiprocessing.cpu_count()) == DJANGO_WSGI_BLOCKING_THREADS


def test_wsgi_thread_pool_reaches_granian(served: Served) -> None:
    start(make("granian-wsgi", {"port": 0}))
    assert served.server.blocking_threads == THREADS
    start(make("granian-wsgi", {"port": 0, "threads": None, "workers": 2}))
    # Granian's rule for its default backlog of 1024 over 2 workers.
    assert served.server.blocking_threads == on_granian(256, 512)


@pytest.mark.parametrize(
    ("args", "expected"),
    [
        ({}, {}),
        ({"ws": False}, {"websockets": False}),
        ({"workers": 2, "http": "2", "loop": "auto"}, {"workers": 2, "http": "2", "loop": "auto"}),
        ({"interface": "asgi"}, {}),
        ({"threads": 1}, {"blocking_threads": 1}),
    ],
)
def test_asgi_kwargs(args: dict[str, Any], expected: dict[str, Any]) -> None:
    interface = args.get("interface", "asginl")
    assert kwargs_for(args, "granian-asgi") == {"interface": interface, **DEFAULTS, **expected}


@pytest.mark.parametrize(
    "args",
    [
        {"workers": 2, "log-level": "debug", "no-ws": True},
        {"workers": "2", "log_level": "debug", "ws": False},
        {"--workers": 2, "log-level": "DEBUG", "ws": "false"},
        {"workers": [2], "log-level": "debug", "no_ws": "yes"},
        ["--workers", "2", "--log-level", "debug", "--no-ws"],
        ("--workers=2", "--log-level=debug", "--no-ws"),
        "--workers 2 --log-level debug --no-ws",
        "  --workers=2   --log-level=debug --no-ws ",
    ],
)
def test_formats_give_the_same_kwargs(args: Any) -> None:
    expected = {"interface": "asginl", "websockets": False, "workers": 2, "log_level": "debug"}
    expected.update(DEFAULTS)
    assert kwargs_for(args, "granian-asgi") == expected


@pytest.mark.parametrize(
    ("args", "websockets"),
    [
        ({"ws": True}, True),
        ({"ws": None}, True),
        ({"ws": "true"}, True),
        ({"ws": "on"}, True),
        ({"ws": "1"}, True),
        ({"ws": False}, False),
        ({"ws": "false"}, False),
        ({"ws": "no"}, False),
        ({"ws": "0"}, False),
        ({"ws": "off"}, False),
        ({"no-ws": True}, False),
        ({"no_ws": "true"}, False),
        ({"no-ws": False}, True),
        ({"no-ws": "false"}, True),
    ],
)
def test_switches(args: dict[str, Any], websockets: bool) -> None:
    assert kwargs_for(args, "granian-asgi")["websockets"] is websockets


def test_kwargs_follow_the_constructor_order_after_the_interface() -> None:
    kwargs = kwargs_for({"workers": 2, "port": 9000, "host": "127.0.0.1", "ws": False})
    expected = [
        "interface",
        "address",
        "port",
        "workers",
        "blocking_threads",
        "websockets",
        "respawn_failed_workers",
        "workers_kill_timeout",
    ]
    assert list(kwargs) == expected


def test_log_config_becomes_a_dictconfig(tmp_path: Path) -> None:
    config = tmp_path / "log.json"
    config.write_text('{"version": 1, "disable_existing_loggers": false}')
    kwargs = kwargs_for({"log-config": config})
    assert kwargs["log_dictconfig"] == {"version": 1, "disable_existing_loggers": False}


# -- interfaces --------------------------------------------------------------------------------


@pytest.mark.parametrize(
    ("alias", "cls", "args", "interface"),
    [
        ("granian-wsgi", GranianServer, {"interface": "wsgi"}, "wsgi"),
        ("granian-asgi", GranianServer, {"interface": "asgi"}, "asgi"),
        ("granian-asgi", GranianServer, {"interface": "asginl"}, "asginl"),
        (None, GranianASGIServer, {"interface": "ASGI"}, "asgi"),
        (None, GranianWSGIServer, ["--interface", "wsgi"], "wsgi"),
        (None, GranianServer, {"interface": "wsgi"}, "wsgi"),
        (None, GranianServer, {"interface": "asginl"}, "asginl"),
        (None, GranianServer, "--interface asgi", "asgi"),
        # An alias that is not Granian's own (a project registering its own name) needs one.
        ("my-granian", GranianServer, {"interface": "wsgi"}, "wsgi"),
    ],
)
def test_interface_selection(
    alias: str | None, cls: type[GranianServer], args: Any, interface: str
) -> None:
    server = make(alias, args, cls=cls)
    call = server.granian_call(server.prep_server_args())
    assert call.kwargs["interface"] == interface
    assert call.target == (WSGI_TARGET if interface == "wsgi" else ASGI_TARGET)


@pytest.mark.parametrize(
    ("alias", "cls", "backend", "args", "message"),
    [
        (
            "granian-asgi",
            GranianServer,
            "granian-asgi",
            {"interface": "wsgi"},
            "Process 'web': ARGS['interface'] is 'wsgi', but BACKEND 'granian-asgi' serves "
            "'asginl' or 'asgi'. Remove ARGS['interface'], or use BACKEND 'granian-wsgi'.",
        ),
        (
            "granian-wsgi",
            GranianServer,
            "granian-wsgi",
            {"interface": "asginl"},
            "Process 'web': ARGS['interface'] is 'asginl', but BACKEND 'granian-wsgi' serves "
            "'wsgi'. Remove ARGS['interface'], or use BACKEND 'granian-asgi'.",
        ),
        (
            None,
            GranianWSGIServer,
            WSGI_PATH,
            ["--interface=rsgi"],
            f"Process 'web': ARGS['--interface'] is 'rsgi', but BACKEND '{WSGI_PATH}' serves "
            f"'wsgi'. Remove ARGS['--interface'], or use BACKEND 'granian-asgi'.",
        ),
        (
            None,
            GranianServer,
            PLAIN_PATH,
            {},
            f"Process 'web': BACKEND '{PLAIN_PATH}' does not say which interface to serve. "
            f"Use BACKEND 'granian-wsgi' or 'granian-asgi', or set ARGS['interface'] to "
            f"'wsgi', 'asginl' or 'asgi'.",
        ),
        (
            None,
            GranianServer,
            PLAIN_PATH,
            {"interface": "rsgi"},
            "Process 'web': ARGS['interface'] is 'rsgi'; Django is served over 'wsgi', "
            "'asginl' or 'asgi'.",
        ),
        (
            None,
            GranianServer,
            PLAIN_PATH,
            {"interface": "cgi"},
            f"Process 'web': ARGS['interface'] is 'cgi', which Granian {VERSION} rejects: "
            f"'cgi' is not one of 'asgi', 'asginl', 'rsgi', 'wsgi'.",
        ),
    ],
)
def test_interface_errors(
    alias: str | None, cls: type[GranianServer], backend: str, args: Any, message: str
) -> None:
    server = make(alias, args, cls=cls, backend=backend)
    with pytest.raises(InvalidBackendArgs) as excinfo:
        server.check_args(server.prep_server_args())
    assert str(excinfo.value) == message


# -- errors ------------------------------------------------------------------------------------


@pytest.mark.parametrize(
    ("args", "message"),
    [
        (
            {"wrokers": 2},
            f"ARGS['wrokers'] is not an option of Granian {VERSION}. Did you mean 'workers'?",
        ),
        (
            {"http1_keepalive": False},
            f"ARGS['http1_keepalive'] is not an option of Granian {VERSION}. Did you mean "
            f"'http1-keep-alive', 'no-http1-keep-alive' or 'http2-keep-alive-timeout'?",
        ),
        (
            {"zzz": 1},
            f"ARGS['zzz'] is not an option of Granian {VERSION}. `granian --help` lists its "
            f"options.",
        ),
        (
            ["--wrokers", "2"],
            f"ARGS option '--wrokers' is not an option of Granian {VERSION}. Did you mean "
            f"'workers'?",
        ),
        ({1: 2}, "ARGS has the key 1; keys must be option names."),
        ({"--": 2}, "ARGS has the key '--'; keys must be option names."),
        (
            {"workers": 0},
            f"ARGS['workers'] is 0, which Granian {VERSION} rejects: 0 is not in the range x>=1.",
        ),
        (
            {"workers": "many"},
            f"ARGS['workers'] is 'many', which Granian {VERSION} rejects: 'many' is not a valid "
            f"integer range.",
        ),
        (
            {"backlog": 10},
            f"ARGS['backlog'] is 10, which Granian {VERSION} rejects: 10 is not in the range "
            f"x>=128.",
        ),
        (
            {"http": 3},
            f"ARGS['http'] is 3, which Granian {VERSION} rejects: '3' is not one of 'auto', "
            f"'1', '2'.",
        ),
        (
            {"workers-lifetime": 30},
            f"ARGS['workers-lifetime'] is 30, which Granian {VERSION} rejects: "
            + on_granian(
                "'30' is less than the minimum allowed value of 60 seconds",
                "30 is not in the range x>=60.",
            ),
        ),
        (
            ["--port", "http"],
            f"ARGS option '--port' is rejected by Granian {VERSION}: 'http' is not a valid "
            f"integer.",
        ),
        (
            {"threading-mode": "threads"},
            on_granian(
                "ARGS['threading-mode'] is 'threads'; accepted: 'runtime' or 'workers'.",
                f"ARGS['threading-mode'] is 'threads', which Granian {VERSION} rejects: "
                f"'threads' is not one of 'runtime', 'workers'.",
            ),
        ),
        (
            {"workers": True},
            "ARGS['workers'] is True; this option takes a value, not True or False.",
        ),
        ({"port": [80, 81]}, "ARGS['port'] is [80, 81]; this option takes one value, not a list."),
        ({"port": []}, "ARGS['port'] is []; this option takes one value, not a list."),
        (
            {"workers": {"count": 2}},
            "ARGS['workers'] holds {'count': 2} (dict); a value must be a string, a number or "
            "a path, or a list of those for an option that repeats.",
        ),
        (
            {"reload-ignore-dirs": [["a"]]},
            "ARGS['reload-ignore-dirs'] holds ['a'] (list); a value must be a string, a number "
            "or a path, or a list of those for an option that repeats.",
        ),
        (
            {"ws": "maybe"},
            "ARGS['ws'] is 'maybe'; a switch takes True or False (or the strings 'true', "
            "'false', 'yes', 'no', 'on', 'off', '1', '0').",
        ),
        (
            {"reload": 1},
            "ARGS['reload'] is 1; a switch takes True or False (or the strings 'true', "
            "'false', 'yes', 'no', 'on', 'off', '1', '0').",
        ),
        (
            {"threads": 2, "blocking_threads": 4},
            "ARGS['threads'] and ARGS['blocking_threads'] set the same Granian option "
            "--blocking-threads; keep one.",
        ),
        (
            {"ws": True, "no-ws": True},
            "ARGS['ws'] and ARGS['no-ws'] set the same Granian option --ws; keep one.",
        ),
        (["--help"], "ARGS cannot contain --help: it would print and exit."),
        ("--version", "ARGS cannot contain --version: it would print and exit."),
        (
            "--access-log-fmt '%(path)s",
            "ARGS is a string that cannot be split into options: No closing quotation.",
        ),
        (
            ["mysite.wsgi:application"],
            f"Granian {VERSION} rejects ARGS: Got unexpected extra argument "
            f"(mysite.wsgi:application)",
        ),
        (
            ["--workers"],
            f"Granian {VERSION} rejects ARGS: Option '--workers' requires an argument.",
        ),
        (
            {"ssl-certificate": "/nonexistent/c.pem", "ssl-keyfile": "/nonexistent/key.pem"},
            f"ARGS['ssl-certificate'] is '/nonexistent/c.pem', which Granian {VERSION} "
            f"rejects: File '/nonexistent/c.pem' does not exist.",
        ),
        (
            {"ssl-keyfile": "/nonexistent/key.pem"},
            f"ARGS['ssl-keyfile'] is '/nonexistent/key.pem', which Granian {VERSION} rejects: "
            f"File '/nonexistent/key.pem' does not exist.",
        ),
        since(
            (2, 0),
            {"ws": False, "http": "2", "blocking-threads": 2, "reload": False},
            f"ARGS['blocking-threads'] is 2, but Granian {VERSION} runs ASGI with one blocking "
            f"thread per worker. Use more 'workers', or BACKEND 'granian-wsgi'.",
        ),
        since(
            (2, 0),
            ["--blocking-threads", "3"],
            f"ARGS['--blocking-threads'] is 3, but Granian {VERSION} runs ASGI with one "
            f"blocking thread per worker. Use more 'workers', or BACKEND 'granian-wsgi'.",
        ),
    ],
)
def test_errors(args: Any, message: str) -> None:
    assert error_for(args, "granian-asgi") == f"Process 'web': {message}"


def test_errors_without_a_process_name() -> None:
    server = make("granian-wsgi", {"wrokers": 2}, process=None)
    with pytest.raises(InvalidBackendArgs) as excinfo:
        server.prep_server_args()
    message = f"ARGS['wrokers'] is not an option of Granian {VERSION}. Did you mean 'workers'?"
    assert str(excinfo.value) == message


def test_args_of_another_type_are_rejected_by_the_base_rule() -> None:
    server = make("granian-wsgi", 42)
    with pytest.raises(InvalidArgsType) as excinfo:
        server.prep_server_args()
    assert str(excinfo.value) == (
        "Process 'web': ARGS must be a dict of options, a string or a list of strings, not int."
    )


@pytest.mark.parametrize(
    ("preload", "message"),
    [
        ("yes", "Process 'web': PRELOAD must be True or False, not 'yes'."),
        (1, "Process 'web': PRELOAD must be True or False, not 1."),
        (None, "Process 'web': PRELOAD must be True or False, not None."),
    ],
)
def test_preload_must_be_a_bool(preload: Any, message: str) -> None:
    assert error_for({}, PRELOAD=preload) == message


@pytest.mark.parametrize(
    ("args", "module", "message"),
    [
        (
            {"reload": True},
            "watchfiles",
            "Process 'web': Granian's 'reload' option needs the 'watchfiles' package, which is "
            'not installed. Install it with: pip install "django-prodserver[granian-reload]"',
        ),
        (
            {"process-name": "web"},
            "setproctitle",
            "Process 'web': Granian's 'process-name' option needs the 'setproctitle' package, "
            'which is not installed. Install it with: pip install "granian[pname]"',
        ),
        since(
            (2, 4),
            {"env-files": __file__},
            "dotenv",
            "Process 'web': Granian's 'env-files' option needs the 'dotenv' package, which is "
            'not installed. Install it with: pip install "granian[dotenv]"',
        ),
    ],
)
def test_missing_optional_packages(
    monkeypatch: pytest.MonkeyPatch, args: dict[str, Any], module: str, message: str
) -> None:
    monkeypatch.setitem(sys.modules, module, None)  # what find_spec reports as not installed
    assert error_for(args) == message


def test_optional_packages_present(monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setattr(sys.modules["importlib.util"], "find_spec", lambda name: object())
    kwargs = kwargs_for({"process-name": "web", "reload": True})
    assert (kwargs["process_name"], kwargs["reload"]) == ("web", True)


@pytest.mark.parametrize(
    ("args", "message"),
    [
        (
            {"loop": "uvloop"},
            "Process 'web': ARGS['loop'] is 'uvloop': Granian's 'uvloop' event loop needs the "
            "'uvloop' package, which is not installed. Install it with: pip install "
            "\"granian[uvloop]\", or leave 'loop' at 'auto'.",
        ),
        (
            "--loop=uvloop",
            "Process 'web': ARGS['--loop'] is 'uvloop': Granian's 'uvloop' event loop needs the "
            "'uvloop' package, which is not installed. Install it with: pip install "
            "\"granian[uvloop]\", or leave '--loop' at 'auto'.",
        ),
        pytest.param(
            {"loop": "rloop"},
            "Process 'web': ARGS['loop'] is 'rloop': Granian's 'rloop' event loop needs the "
            "'rloop' package, which is not installed. Install it with: pip install "
            "\"granian[rloop]\", or leave 'loop' at 'auto'.",
            marks=pytest.mark.skipif("rloop" not in GRANIAN_LOOPS, reason="a later Granian"),
        ),
    ],
)
def test_a_loop_whose_package_is_missing(
    monkeypatch: pytest.MonkeyPatch, args: Any, message: str
) -> None:
    hide_packages(monkeypatch, ["uvloop", "rloop"])
    assert error_for(args) == message


@pytest.mark.skipif(sys.platform == "win32", reason="winloop is the loop for Windows")
@pytest.mark.skipif("winloop" not in GRANIAN_LOOPS, reason="a later Granian added winloop")
def test_winloop_off_windows() -> None:
    assert error_for({"loop": "winloop"}) == (
        "Process 'web': ARGS['loop'] is 'winloop', the event loop for Windows. On this system "
        "use 'uvloop' or 'rloop', or leave 'loop' at 'auto'."
    )


@pytest.mark.parametrize("loop", ["auto", "asyncio", "uvloop"])
def test_a_loop_that_is_available(monkeypatch: pytest.MonkeyPatch, loop: str) -> None:
    real_find_spec = importlib.util.find_spec
    installed = {"uvloop": object()}
    monkeypatch.setattr(
        importlib.util, "find_spec", lambda name: installed.get(name) or real_find_spec(name)
    )
    assert kwargs_for({"loop": loop})["loop"] == loop


@pytest.mark.parametrize(
    ("content", "message"),
    [
        ("{not json", "is not a JSON file: Expecting property name enclosed in double quotes"),
        ("[1, 2]", "must hold a JSON object (a logging dictConfig)."),
    ],
)
def test_log_config_errors(tmp_path: Path, content: str, message: str) -> None:
    config = tmp_path / "log.json"
    config.write_text(content)
    error = error_for({"log-config": str(config)})
    assert error.startswith(f"Process 'web': ARGS['log-config']: '{config}' {message}")


def test_log_config_error_in_a_list_args(tmp_path: Path) -> None:
    config = tmp_path / "log.json"
    config.write_text("[]")
    assert error_for(["--log-config", str(config)]) == (
        f"Process 'web': ARGS['--log-config']: '{config}' must hold a JSON object "
        f"(a logging dictConfig)."
    )


# -- SSL ---------------------------------------------------------------------------------------


def test_ssl_kwargs(certificate: tuple[Path, Path]) -> None:
    cert, key = certificate
    kwargs = kwargs_for({"ssl-certificate": cert, "ssl_keyfile": str(key)})
    assert kwargs == {
        "interface": "wsgi",
        "blocking_threads": THREADS,
        "ssl_cert": cert,
        "ssl_key": key,
        **DEFAULTS,
    }


@pytest.mark.parametrize(
    ("given", "message"),
    [
        ("cert", "HTTPS needs both 'ssl-certificate' and 'ssl-keyfile'; set 'ssl-keyfile'."),
        ("key", "HTTPS needs both 'ssl-certificate' and 'ssl-keyfile'; set 'ssl-certificate'."),
    ],
)
def test_ssl_needs_both_files(certificate: tuple[Path, Path], given: str, message: str) -> None:
    cert, key = certificate
    args = {"ssl-certificate": cert} if given == "cert" else {"ssl-keyfile": key}
    assert error_for(args) == f"Process 'web': {message}"


def test_ssl_files_that_do_not_match(certificate: tuple[Path, Path], tmp_path: Path) -> None:
    cert, _ = certificate
    not_a_key = tmp_path / "not-a-key.pem"
    not_a_key.write_text("hello\n")
    error = error_for({"ssl-certificate": cert, "ssl-keyfile": not_a_key})
    assert error.startswith(
        f"Process 'web': the certificate '{cert}' and key '{not_a_key}' cannot be loaded: "
    )


def test_ssl_unreadable_file(certificate: tuple[Path, Path], tmp_path: Path) -> None:
    cert, _ = certificate
    directory = tmp_path / "a-directory"
    directory.mkdir()
    assert error_for({"ssl-certificate": cert, "ssl-keyfile": directory}) == (
        f"Process 'web': ARGS['ssl-keyfile'] is {directory!r}, which Granian {VERSION} "
        f"rejects: File '{directory}' is a directory."
    )


# -- the Granian call --------------------------------------------------------------------------


def test_describe_start() -> None:
    server = make("granian-wsgi", {"host": "127.0.0.1", "port": 8000, "workers": 2})
    assert server.describe_start(server.prep_server_args()) == (
        "Granian('testsite.wsgi:application', interface='wsgi', address='127.0.0.1', "
        f"port=8000, workers=2, blocking_threads={THREADS}, respawn_failed_workers=True, "
        "workers_kill_timeout=30).serve(target_loader=load_application)"
    )


def test_describe_start_masks_secrets_and_shows_serve_without_preloading() -> None:
    server = make("granian-asgi", {"ssl-keyfile-password": "hunter2"}, PRELOAD=False)
    assert server.describe_start(server.prep_server_args()) == (
        "Granian('testsite.asgi:application', interface='asginl', ssl_key_password='***', "
        "respawn_failed_workers=True, "
        "workers_kill_timeout=30).serve()"
    )


def test_start_passes_the_target_and_kwargs(served: Served) -> None:
    start(make("granian-wsgi", {"port": 0, "workers": 2, "threads": 4}))
    assert served.server.target == WSGI_TARGET
    assert (served.server.interface, served.server.workers) == ("wsgi", 2)
    assert served.server.blocking_threads == 4
    assert served.serve_kwargs == {"target_loader": load_application}


def test_start_asgi(served: Served) -> None:
    start(make(None, {"port": 0}, cls=GranianASGIServer, backend=ASGI_PATH))
    assert (served.server.target, served.server.interface) == (ASGI_TARGET, "asginl")


def test_start_preloads_the_application(served: Served) -> None:
    from testsite.wsgi import application

    start(make("granian-wsgi", {"port": 0}))
    preloaded = backend_module._PRELOADED
    assert preloaded == {WSGI_TARGET: application}
    assert served.serve_kwargs["target_loader"](WSGI_TARGET) is application
    # What was loaded before the fork is set aside from the workers' garbage collection.
    assert served.frozen > 1000


def test_load_application_imports_what_was_not_preloaded() -> None:
    backend_module._PRELOADED.clear()
    from testsite.asgi import application

    assert load_application(ASGI_TARGET) is application
    backend_module._PRELOADED.clear()


def test_import_target_follows_attributes() -> None:
    assert import_target("testsite.views:hello.__name__") == "hello"


@pytest.mark.parametrize(
    "entry",
    [{"PRELOAD": False}, {"ARGS": {"port": 0, "factory": True}}],
    ids=["PRELOAD False", "factory"],
)
def test_no_preloading(served: Served, entry: dict[str, Any]) -> None:
    entry = {"ARGS": {"port": 0}, **entry}
    start(make("granian-wsgi", **entry))
    assert served.serve_kwargs == {}
    assert backend_module._PRELOADED == {}
    assert served.frozen == 0


def test_application_import_error(served: Served) -> None:
    with override_settings(WSGI_APPLICATION="testsite.wsgi.missing_application"):
        server = make("granian-wsgi", {"port": 0})
        with pytest.raises(InvalidBackendArgs) as excinfo:
            start(server)
    assert str(excinfo.value) == (
        "Process 'web': the application 'testsite.wsgi:missing_application' failed to "
        "import: AttributeError: module 'testsite.wsgi' has no attribute 'missing_application'"
    )
    assert served.calls == []


@pytest.mark.parametrize("process", ["web", None])
def test_target_errors_name_the_process(process: str | None) -> None:
    with override_settings(WSGI_APPLICATION=None):
        server = make("granian-wsgi", {}, process=process)
        with pytest.raises(ProdserverError) as excinfo:
            server.check_args([])
    prefix = "Process 'web': " if process else ""
    assert str(excinfo.value) == (
        f"{prefix}WSGI_APPLICATION is not set; set it to your project's WSGI application, "
        f"such as 'mysite.wsgi.application'."
    )


def test_start_closes_database_connections(served: Served, monkeypatch: pytest.MonkeyPatch) -> None:
    from django.db import connections

    closed: list[bool] = []
    monkeypatch.setattr(connections, "close_all", lambda: closed.append(True))
    start(make("granian-wsgi", {"port": 0}))
    assert closed == [True]


def test_reload_uses_spawned_workers_and_the_project_dir(served: Served, tmp_path: Path) -> None:
    multiprocessing.set_start_method("fork", force=True)
    with override_settings(BASE_DIR=tmp_path):
        start(make("granian-wsgi", {"port": 0, "reload": True}))
    assert multiprocessing.get_start_method() == "spawn"
    assert served.server.reload_paths == [tmp_path]
    # No preloading under reload; Granian's own WSGI worker, ending as a forked one would.
    spawn_target = served.serve_kwargs.pop("spawn_target")
    assert served.serve_kwargs == {}
    assert isinstance(spawn_target, ExitLikeAForkedWorker)
    assert spawn_target.worker is Granian._spawn_wsgi_worker


@pytest.mark.parametrize(
    ("interface", "worker"),
    [
        ("wsgi", "_spawn_wsgi_worker"),
        ("asginl", "_spawn_asgi_worker"),
        ("asgi", "_spawn_asgi_lifespan_worker"),
    ],
)
def test_the_reload_worker_is_granians_and_pickles(
    served: Served, interface: str, worker: str
) -> None:
    start(make(None, {"port": 0, "reload": True, "interface": interface}))
    spawn_target = served.serve_kwargs["spawn_target"]
    assert spawn_target.worker is getattr(Granian, worker)
    # A spawned worker receives it pickled.
    assert pickle.loads(pickle.dumps(spawn_target)).worker is spawn_target.worker


@pytest.mark.parametrize(
    ("outcome", "status"),
    [(None, 0), (SystemExit(3), 3), (SystemExit("lifespan failed"), 1), (SystemExit(), 1)],
)
def test_a_spawned_worker_ends_with_os_exit_and_its_status(
    monkeypatch: pytest.MonkeyPatch, capsys: pytest.CaptureFixture[str], outcome: Any, status: int
) -> None:
    calls: list[tuple[Any, ...]] = []

    def worker(*args: Any, **kwargs: Any) -> None:
        calls.append((args, kwargs))
        print("served")
        if outcome is not None:
            raise outcome

    def exit_now(code: int) -> None:
        raise AssertionError(("os._exit", code))

    monkeypatch.setattr(os, "_exit", exit_now)
    with pytest.raises(AssertionError) as ended:
        ExitLikeAForkedWorker(worker)(1, "name", backpressure=4)
    assert ended.value.args == (("os._exit", status),)
    assert calls == [((1, "name"), {"backpressure": 4})]
    assert capsys.readouterr().out == "served\n"


def test_reload_paths_given_are_kept(tmp_path: Path) -> None:
    kwargs = kwargs_for({"reload": True, "reload-paths": [tmp_path]})
    assert kwargs["reload_paths"] == [tmp_path]


def test_reload_paths_default_without_base_dir(
    monkeypatch: pytest.MonkeyPatch, tmp_path: Path
) -> None:
    manage_py = tmp_path / "manage.py"
    manage_py.write_text("")
    monkeypatch.setattr(sys, "argv", [str(manage_py), "prodserver"])
    assert kwargs_for({"reload": True})["reload_paths"] == [tmp_path]
    monkeypatch.setattr(sys, "argv", ["-c"])
    monkeypatch.chdir(tmp_path)
    assert kwargs_for({"reload": True})["reload_paths"] == [tmp_path]


def test_port_in_use(served: Served) -> None:
    with socket.socket() as occupant:
        occupant.bind(("127.0.0.1", 0))
        occupant.listen()
        port = occupant.getsockname()[1]
        server = make("granian-wsgi", {"host": "127.0.0.1", "port": port})
        with pytest.raises(InvalidBackendArgs) as excinfo:
            start(server)
    assert str(excinfo.value) == (
        f"Process 'web': cannot listen on 127.0.0.1:{port}: Address already in use. "
        f"Is another server using it?"
    )
    assert served.calls == []


def test_default_port_in_use_is_named(served: Served) -> None:
    with socket.socket(socket.AF_INET6) as occupant:
        occupant.bind(("::1", 0))
        occupant.listen()
        port = occupant.getsockname()[1]
        with pytest.raises(InvalidBackendArgs) as excinfo:
            start(make("granian-wsgi", {"host": "::1", "port": port}))
    assert str(excinfo.value) == (
        f"Process 'web': cannot listen on [::1]:{port}: Address already in use. "
        f"Is another server using it?"
    )


@pytest.mark.skipif(GRANIAN < (2, 5), reason="needs Granian 2.5")
def test_unix_socket_skips_the_port_check(served: Served, tmp_path: Path) -> None:
    start(make("granian-wsgi", {"uds": tmp_path / "granian.sock"}))
    assert served.server.bind_uds == tmp_path / "granian.sock"


@pytest.mark.skipif(GRANIAN < (2, 7), reason="needs Granian 2.7")
def test_granian_configuration_error(served: Served, tmp_path: Path) -> None:
    (tmp_path / "a").mkdir()
    (tmp_path / "b").mkdir()
    args = {"port": 0, "static-path-mount": [tmp_path / "a", tmp_path / "b"]}
    with pytest.raises(InvalidBackendArgs) as excinfo:
        start(make("granian-wsgi", args))
    assert str(excinfo.value) == (
        f"Process 'web': Granian {VERSION} rejected its static_path setting; see its log above."
    )


def test_command_dry_run(capsys: pytest.CaptureFixture[str]) -> None:
    processes = {"web": {"BACKEND": "granian-asgi", "ARGS": {"workers": 2, "ws": "false"}}}
    with override_settings(PRODUCTION_PROCESSES=processes):
        call_command("prodserver", "web", "--dry-run")
    assert capsys.readouterr().out.splitlines() == [
        "Would start process 'web' with backend 'granian-asgi' (GranianServer):",
        "Granian('testsite.asgi:application', interface='asginl', workers=2, "
        "websockets=False, respawn_failed_workers=True, "
        "workers_kill_timeout=30).serve(target_loader=load_application)",
        "Port: the server's default; PORT is not set.",
        "Workers: set by ARGS['workers'].",
    ]


# -- what the installed Granian lacks ----------------------------------------------------------

GRANIAN_1_OPTIONS = ["host", "port", "threads", "blocking-threads", "threading-mode", "workers"]
GRANIAN_2_OPTIONS = ["host", "port", "runtime-threads", "blocking-threads", "runtime-mode"]


def test_renames_on_granian_2() -> None:
    renames = renames_for(dict.fromkeys(GRANIAN_2_OPTIONS))
    assert renames == {
        "threads": ("blocking-threads", None),
        "threading-mode": ("runtime-mode", {"workers": "st", "runtime": "mt"}),
    }


def test_renames_on_granian_1() -> None:
    renames = renames_for(dict.fromkeys(GRANIAN_1_OPTIONS))
    assert renames == {
        "threads": ("blocking-threads", None),
        "runtime-mode": ("threading-mode", {"st": "workers", "mt": "runtime"}),
        "runtime-threads": ("threads", None),
    }


@pytest.mark.parametrize(
    ("name", "message"),
    [
        (
            "workers-max-rss",
            "needs Granian 2.5 or later; 1.7.6 is installed. Upgrade Granian, or use "
            "'workers-lifetime' to recycle workers by age.",
        ),
        (
            "no-metrics",
            "needs Granian 2.7 or later; 1.7.6 is installed. Upgrade Granian, or remove it.",
        ),
        ("uds", "needs Granian 2.5 or later; 1.7.6 is installed. Upgrade Granian, or remove it."),
        ("worker", "is not an option of Granian 1.7.6. Did you mean 'workers'?"),
    ],
)
def test_missing_option_message(name: str, message: str) -> None:
    assert missing_option_message(name, GRANIAN_1_OPTIONS, "1.7.6") == message


def test_a_cli_option_without_a_constructor_argument(monkeypatch: pytest.MonkeyPatch) -> None:
    # A future Granian could add a command-line option that Granian() does not take.
    future = click.Option(["--future-thing"])
    monkeypatch.setattr(granian_cli, "params", [*granian_cli.params, future])
    assert error_for({"future-thing": "x"}) == (
        f"Process 'web': Granian {VERSION} has a command-line option for 'future_thing' but "
        f"no such argument to Granian(); remove it from ARGS."
    )


def test_an_http_option_without_a_settings_field(monkeypatch: pytest.MonkeyPatch) -> None:
    future = click.Option(["--http2-future-thing"])
    monkeypatch.setattr(granian_cli, "params", [*granian_cli.params, future])
    assert error_for({"http2-future-thing": "x"}) == (
        f"Process 'web': Granian {VERSION} has a command-line option for 'future_thing' but "
        f"HTTP2Settings has no such field; remove it from ARGS."
    )


# -- STATIC: Django's static files served by Granian -------------------------------------------

needs_static = pytest.mark.skipif(
    not backend_module.SERVES_STATIC_FILES, reason="static files need Granian 2.3"
)


@pytest.fixture
def static_root(tmp_path: Path, settings: Any) -> Path:
    root = tmp_path / "staticfiles"
    (root / "css").mkdir(parents=True)
    (root / "css" / "site.css").write_text("body {}")
    settings.STATIC_ROOT = root
    settings.STATIC_URL = "static/"
    return root


@needs_static
def test_static_serves_static_root_at_static_url(static_root: Path) -> None:
    kwargs = kwargs_for({"port": 8000}, STATIC=True)
    many = GRANIAN >= (2, 7)  # routes and mounts became lists in 2.7
    assert kwargs["static_path_route"] == (["/static"] if many else "/static")
    assert kwargs["static_path_mount"] == ([static_root] if many else static_root)


@needs_static
def test_static_false_adds_nothing(static_root: Path) -> None:
    assert "static_path_route" not in kwargs_for({}, STATIC=False)


@needs_static
@pytest.mark.parametrize(
    ("static_url", "route"), [("/assets/", "/assets"), ("/a/b", "/a/b"), ("static", "/static")]
)
def test_static_route_from_static_url(
    static_root: Path, settings: Any, static_url: str, route: str
) -> None:
    settings.STATIC_URL = static_url
    assert kwargs_for({}, STATIC=True)["static_path_route"] in (route, [route])


@needs_static
@pytest.mark.parametrize(
    ("change", "message"),
    [
        (
            {"STATIC_ROOT": None},
            "Process 'web': STATIC serves the files 'manage.py collectstatic' gathers in "
            "STATIC_ROOT, but STATIC_ROOT is not set. Set it, such as BASE_DIR / 'staticfiles', "
            "and run collectstatic.",
        ),
        (
            {"STATIC_URL": "https://cdn.example.com/static/"},
            "Process 'web': STATIC serves STATIC_URL from this server, but STATIC_URL is "
            "'https://cdn.example.com/static/'. Set it to a path such as 'static/', or drop "
            "STATIC when a CDN serves the files.",
        ),
        (
            {"STATIC_URL": "/"},
            "Process 'web': STATIC serves STATIC_URL from this server, but STATIC_URL is '/'. Set "
            "it to a path such as 'static/', or drop STATIC when a CDN serves the files.",
        ),
    ],
)
def test_static_setting_errors(
    static_root: Path, settings: Any, change: dict[str, Any], message: str
) -> None:
    for name, value in change.items():
        setattr(settings, name, value)
    assert error_for({}, STATIC=True) == message


@needs_static
def test_static_root_that_is_empty(static_root: Path, settings: Any, tmp_path: Path) -> None:
    empty = tmp_path / "empty"
    empty.mkdir()
    settings.STATIC_ROOT = str(empty)
    assert error_for({}, STATIC=True) == (
        f"Process 'web': STATIC serves STATIC_ROOT, but {str(empty)!r} is empty or missing. Run "
        f"'manage.py collectstatic' before starting the server."
    )


@needs_static
def test_static_with_static_path_options_in_args(static_root: Path) -> None:
    assert error_for({"static-path-route": "/s"}, STATIC=True) == (
        "Process 'web': STATIC sets Granian's static-path options from STATIC_URL and "
        "STATIC_ROOT; remove the static-path options from ARGS, or drop STATIC."
    )


def test_static_must_be_a_bool() -> None:
    assert error_for({}, STATIC="yes") == "Process 'web': STATIC must be True or False, not 'yes'."


def test_static_in_args_points_at_the_entry_key() -> None:
    assert error_for({"static": True}) == (
        "Process 'web': ARGS['static'] is not a Granian option: to serve Django's static files, "
        "set 'STATIC': True in the process's entry, beside 'ARGS'."
    )


def test_static_needs_a_recent_granian(static_root: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    # As on Granian < 2.3.
    monkeypatch.setattr(backend_module.versions, "SERVES_STATIC_FILES", False)
    assert error_for({}, STATIC=True) == (
        f"Process 'web': STATIC needs Granian 2.3 or later; {VERSION} is installed. Upgrade "
        f"Granian, or serve static files with WhiteNoise or a proxy."
    )


def test_one_start_parses_the_arguments_once(
    served: Served, monkeypatch: pytest.MonkeyPatch
) -> None:
    from django_prodserver.backends.granian import options

    parsed: list[list[str]] = []
    parse = options.parse

    def counting_parse(backend: Any, argv: Any, origins: Any) -> Any:
        parsed.append(list(argv))
        return parse(backend, argv, origins)

    monkeypatch.setattr(options, "parse", counting_parse)
    server = make("granian-wsgi", {"port": 0, "workers": 2, "workers-kill-timeout": 20})
    args = server.prep_server_args()
    server.check_args(args)
    server.describe_start(args)
    assert server.listen_address(args) == ("127.0.0.1", 0)
    assert server.worker_processes(args) == 2
    assert server.graceful_timeout() == 20.0
    server.start_server(*args)
    assert parsed == [args]
    assert served.server.workers == 2
