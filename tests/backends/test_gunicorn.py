"""The gunicorn backend: ARGS to argv, validation with gunicorn's parser, how gunicorn starts.

gunicorn really serves in tests/integration/test_web_servers.py; here its application is built
(which parses the configuration) but never run.
"""

from __future__ import annotations

import argparse
import gc
import os
import sys
import weakref
from collections.abc import Iterator
from pathlib import Path
from typing import Any
from unittest import mock

import pytest
from gunicorn.arbiter import Arbiter

from django_prodserver.backends import gunicorn as gunicorn_backend
from django_prodserver.backends.base import BaseServerBackend
from django_prodserver.backends.gunicorn import DjangoGunicornApplication, GunicornServer
from django_prodserver.exceptions import InvalidBackendArgs

from ..integration.harness import free_port
from ..not_installed import hide_packages
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


@pytest.mark.parametrize("worker_class", ["gevent", "tornado"])
def test_a_worker_class_whose_package_is_missing(
    monkeypatch: pytest.MonkeyPatch, worker_class: str
) -> None:
    hide_packages(monkeypatch, [worker_class])
    assert error_for({"worker_class": worker_class}) == (
        f"Process 'web': invalid value {worker_class!r} for gunicorn option 'worker_class' in "
        f"ARGS: it needs the {worker_class!r} package, which is not installed. Install it with: "
        f'pip install "gunicorn[{worker_class}]".'
    )


@pytest.mark.parametrize("args", [{"env": ["DB_HOST=db", "JUSTAWORD"]}, ["-e", "JUSTAWORD"]])
def test_an_env_entry_without_an_equals_sign_is_named(args: Any) -> None:
    key = "env" if isinstance(args, dict) else "-e"
    value = "['DB_HOST=db', 'JUSTAWORD']" if isinstance(args, dict) else "'JUSTAWORD'"
    assert error_for(args) == (
        f"Process 'web': invalid value {value} for gunicorn option {key!r} in ARGS: environment "
        "setting 'JUSTAWORD' invalid: write it as NAME=VALUE."
    )


@pytest.mark.parametrize("key", ["pid", "access-logfile", "error_logfile"])
def test_a_file_gunicorn_creates_in_a_missing_directory_is_named(key: str, tmp_path: Path) -> None:
    path = tmp_path / "missing" / "file"
    assert error_for({key: str(path)}) == (
        f"Process 'web': invalid value {str(path)!r} for gunicorn option {key!r} in ARGS: the "
        f"directory {str(path.parent)!r} does not exist. Create it, or choose a path in an "
        "existing directory."
    )
    assert checked_argv({key: str(tmp_path / "file")})
    assert checked_argv({"access-logfile": "-"})  # standard output


def test_a_config_file_that_is_missing_is_named(tmp_path: Path) -> None:
    missing = tmp_path / "gunicorn.conf.py"
    assert error_for({"config": str(missing)}) == (
        f"Process 'web': invalid value {str(missing)!r} for gunicorn option 'config' in ARGS: the "
        f"file {str(missing)!r} is missing."
    )
    missing.write_text("workers = 2\n")
    assert f"--config={missing}" in checked_argv({"config": str(missing)})
    assert checked_argv({"config": "python:testsite.settings"})  # a module, not a file


def test_a_log_config_that_does_not_parse_is_named(tmp_path: Path) -> None:
    broken, dictionary = tmp_path / "bad.ini", tmp_path / "bad.json"
    broken.write_text("[loggers]\nkeys=root\n")
    dictionary.write_text("[]")
    assert error_for({"log_config": str(broken)}) == (
        f"Process 'web': invalid value {str(broken)!r} for gunicorn option 'log_config' in ARGS: "
        f"the log configuration {str(broken)!r} is not a logging configuration file: it needs "
        "[formatters] with 'keys', [handlers] with 'keys', as logging.config.fileConfig() takes."
    )
    assert error_for({"log-config-json": str(dictionary)}) == (
        f"Process 'web': invalid value {str(dictionary)!r} for gunicorn option 'log-config-json' "
        f"in ARGS: the log configuration {str(dictionary)!r} is not a logging dictionary: it "
        "needs a 'version' key (1), as logging.config.dictConfig() takes."
    )


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
    bind = f"127.0.0.1:{free_port()}"
    backend = server({"bind": bind})
    args = backend.prep_server_args()
    with (
        mock.patch("django.db.connections.close_all") as close_all,
        mock.patch.object(DjangoGunicornApplication, "run", autospec=True) as run,
    ):
        backend.start_server(*args)

    close_all.assert_called_once_with()
    (app,) = run.call_args.args
    assert app.argv == [*CTL, f"--bind={bind}", TARGET]
    assert app.cfg.bind == [bind]


def test_django_options_never_reach_gunicorn(monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setattr(sys, "argv", ["manage.py", "prodserver", "--settings=x", "--traceback"])
    bind = f"127.0.0.1:{free_port()}"
    backend = server({"bind": bind, "workers": 2})
    with (
        mock.patch("django.db.connections.close_all"),
        mock.patch.object(DjangoGunicornApplication, "run", autospec=True) as run,
    ):
        backend.start_server(*backend.prep_server_args())

    (app,) = run.call_args.args
    assert app.argv == [*CTL, f"--bind={bind}", "--workers=2", TARGET]


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


# -- the arbiter's garbage collector -------------------------------------------------------------


class _Cycle:
    """Garbage that only the cyclic collector frees."""

    def __init__(self) -> None:
        self.itself = self


@pytest.fixture
def unfrozen() -> Iterator[None]:
    gc.unfreeze()
    yield
    gc.unfreeze()


def test_the_arbiter_collects_and_freezes_just_before_it_forks_a_worker(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch, unfrozen: None
) -> None:
    # A user's own pre_fork hook, from a gunicorn configuration file.
    hooks = tmp_path / "hooks.py"
    hooks.write_text(
        "import gc\n\n\n"
        "def pre_fork(server, worker):\n"
        "    server.frozen_in_user_hook = gc.get_freeze_count()\n"
    )
    monkeypatch.delenv("GUNICORN_CMD_ARGS", raising=False)
    application = DjangoGunicornApplication([*CTL, f"--config={hooks}", "--workers=1", TARGET])
    arbiter = Arbiter(application)
    arbiter.pid = os.getpid()  # as Arbiter.start() sets it, before the first fork
    garbage = weakref.ref(_Cycle())
    frozen_at_fork = []

    def fork() -> int:
        frozen_at_fork.append(gc.get_freeze_count())
        return 2**22 + 1  # the master's side of the fork: the worker's pid

    assert gc.get_freeze_count() == 0  # nothing was frozen while gunicorn was set up
    with mock.patch("os.fork", fork):
        pid = arbiter.spawn_worker()
    arbiter.WORKERS.pop(pid).tmp.close()

    assert arbiter.frozen_in_user_hook == 0  # the user's hook ran, before the freeze
    assert frozen_at_fork[0] > 0  # the master's objects were frozen when it forked
    assert garbage() is None  # collected first: garbage is not frozen for good


def test_the_freeze_keeps_the_user_s_hooks(monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.delenv("GUNICORN_CMD_ARGS", raising=False)
    config = DjangoGunicornApplication([*CTL, TARGET]).cfg
    calls: list[tuple[str, Any]] = []
    config.set("pre_fork", lambda arbiter, worker: calls.append(("pre_fork", worker)))
    config.set("when_ready", lambda arbiter: calls.append(("when_ready", arbiter)))
    gunicorn_backend.graceful_on_sigint(config)
    gunicorn_backend.frozen_before_fork(config)
    arbiter = mock.Mock()

    with mock.patch("gc.freeze") as freeze:
        config.pre_fork(arbiter, "the worker")
        config.when_ready(arbiter)

    freeze.assert_called_once_with()
    assert calls == [("pre_fork", "the worker"), ("when_ready", arbiter)]
    assert arbiter.handle_int == arbiter.handle_term


class _Log:
    def __init__(self) -> None:
        self.warnings: list[str] = []

    def warning(self, message: str, *args: object) -> None:
        self.warnings.append(message % args)


class _Worker:
    """What gunicorn's post_worker_init hook receives: the worker, its application loaded."""

    def __init__(self, wsgi: Any) -> None:
        self.wsgi = wsgi
        self.pid = 4242
        self.log = _Log()

    def handle_exit(self, signum: int, frame: object) -> None:
        """What the graceful SIGINT hook installs."""


@pytest.fixture(autouse=False)
def sigint_kept() -> Any:
    import signal

    handler = signal.getsignal(signal.SIGINT)
    yield
    signal.signal(signal.SIGINT, handler)


@pytest.mark.usefixtures("sigint_kept")
@pytest.mark.urls("tests.healthcheck_urls")
def test_each_worker_sends_the_healthcheck_once_it_has_loaded_the_application() -> None:
    from django.core.handlers.wsgi import WSGIHandler

    application = DjangoGunicornApplication(["testsite.wsgi:application"], "/nope/")
    worker = _Worker(WSGIHandler())
    application.cfg.post_worker_init(worker)
    # The main process checked the request before: a worker that gets another answer logs it.
    assert worker.log.warnings == [
        "Worker 4242: the warm-up request for HEALTHCHECK '/nope/' answered 404 Not Found, not "
        "2xx: '<!doctype html>'. Fix that view, or point HEALTHCHECK at a path that answers 2xx."
    ]
    calm = _Worker(WSGIHandler())
    DjangoGunicornApplication(["testsite.wsgi:application"], "/health/").cfg.post_worker_init(calm)
    assert calm.log.warnings == []


@pytest.mark.usefixtures("sigint_kept")
def test_with_preload_the_workers_send_no_healthcheck_of_their_own() -> None:
    application = DjangoGunicornApplication(["--preload", "testsite.wsgi:application"], "/nope/")
    worker = _Worker(wsgi=None)  # a request through it would fail
    application.cfg.post_worker_init(worker)
    assert worker.log.warnings == []


@pytest.mark.parametrize(
    ("args", "message"),
    [
        (
            {"daemon": True},
            "Process 'web': gunicorn option 'daemon' cannot be set in ARGS: prodserver runs "
            "gunicorn in the foreground, where a process manager can supervise it and stop it.",
        ),
        (
            ["-D"],
            "Process 'web': gunicorn option '-D' cannot be set in ARGS: prodserver runs "
            "gunicorn in the foreground, where a process manager can supervise it and stop it.",
        ),
        (
            {"check_config": True},
            "Process 'web': gunicorn option 'check_config' cannot be set in ARGS: it makes "
            "gunicorn check its configuration and exit instead of serving; 'manage.py prodserver "
            "--dry-run' checks it without starting.",
        ),
        (
            {"print_config": True},
            "Process 'web': gunicorn option 'print_config' cannot be set in ARGS: it makes "
            "gunicorn print its configuration and exit instead of serving.",
        ),
        (
            {"workers": 10**6},
            "Process 'web': invalid value 1000000 for gunicorn option 'workers' in ARGS: it must "
            "be from 1 to 10000.",
        ),
        (
            {"backlog": 10**12},
            "Process 'web': invalid value 1000000000000 for gunicorn option 'backlog' in ARGS: it "
            "must be from 0 to 65535.",
        ),
        (
            {"timeout": 10**20},
            "Process 'web': invalid value 100000000000000000000 for gunicorn option 'timeout' in "
            "ARGS: it must be from 0 to 604800.",
        ),
        (
            {"keep_alive": 10**7},
            "Process 'web': invalid value 10000000 for gunicorn option 'keep_alive' in ARGS: it "
            "must be from 0 to 604800.",
        ),
        (
            {"bind": "127.0.0.1\0:8000"},
            "Process 'web': invalid value '127.0.0.1\\x00:8000' for gunicorn option 'bind' in "
            "ARGS: it contains a NUL character ('\\x00'), which no host name or path can hold.",
        ),
    ],
)
def test_what_would_not_serve_or_is_out_of_range_is_refused(args: Any, message: str) -> None:
    assert error_for(args) == message


@pytest.mark.parametrize(
    ("variable", "message"),
    [
        (
            "--workers=0",
            "Process 'web': invalid value '0' for gunicorn option '--workers' in "
            "GUNICORN_CMD_ARGS: at least 1 worker is needed.",
        ),
        (
            "--daemon",
            "Process 'web': gunicorn option '--daemon' cannot be set in GUNICORN_CMD_ARGS: "
            "prodserver runs gunicorn in the foreground, where a process manager can supervise "
            "it and stop it.",
        ),
        (
            "--wrkers=2",
            "Process 'web': unknown gunicorn option '--wrkers' in GUNICORN_CMD_ARGS. Did you "
            "mean '--workers'?",
        ),
        (
            "mysite.wsgi:application",
            "Process 'web': unexpected argument 'mysite.wsgi:application' in GUNICORN_CMD_ARGS: "
            "GUNICORN_CMD_ARGS holds options only; the application comes from the "
            "WSGI_APPLICATION setting.",
        ),
    ],
)
def test_gunicorn_cmd_args_are_checked_like_args(
    monkeypatch: pytest.MonkeyPatch, variable: str, message: str
) -> None:
    monkeypatch.setenv("GUNICORN_CMD_ARGS", variable)
    assert error_for({"workers": 2}) == message


def test_a_configuration_file_that_daemonizes_is_refused_at_start(tmp_path: Path) -> None:
    config = tmp_path / "gunicorn.conf.py"
    config.write_text("daemon = True\n")
    backend = server({"bind": f"127.0.0.1:{free_port()}", "config": str(config)})
    with (
        mock.patch.object(DjangoGunicornApplication, "run", autospec=True) as run,
        pytest.raises(InvalidBackendArgs) as caught,
    ):
        backend.start_server(*backend.prep_server_args())
    assert caught.value.message == (
        f"Process 'web': gunicorn cannot start: its configuration sets 'daemon' ({config}): "
        f"prodserver runs gunicorn in the foreground, where a process manager can supervise it "
        f"and stop it."
    )
    run.assert_not_called()


def test_a_unix_socket_in_a_missing_directory_is_refused_at_start(tmp_path: Path) -> None:
    backend = server({"bind": f"unix:{tmp_path}/missing/g.sock"})
    with (
        mock.patch.object(DjangoGunicornApplication, "run", autospec=True) as run,
        pytest.raises(InvalidBackendArgs) as caught,
    ):
        backend.start_server(*backend.prep_server_args())
    assert caught.value.message == (
        f"Process 'web': cannot listen on the Unix socket '{tmp_path}/missing/g.sock': the "
        f"directory '{tmp_path}/missing' does not exist. Create it, or choose a path in an "
        f"existing directory."
    )
    run.assert_not_called()
