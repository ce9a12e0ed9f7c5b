"""The hypercorn backend: ARGS to argv, validation with Hypercorn's own parser, how Hypercorn
starts, and the application it loads (lifespan answered for plain Django).

Hypercorn really serves in tests/integration/test_asgi_servers_and_flower.py; here its command
line runs for real down to ``hypercorn.__main__.run()``, which is replaced to observe the
configuration it receives.
"""

from __future__ import annotations

import argparse
import asyncio
import importlib.util
import signal
import sys
from importlib import metadata
from pathlib import Path
from typing import Any
from unittest import mock

import hypercorn.__main__ as hypercorn_main
import pytest
from django.core.handlers.asgi import ASGIHandler

from django_prodserver.backends import command_line, hypercorn_asgi, hypercorn_workers
from django_prodserver.backends.base import BaseServerBackend
from django_prodserver.backends.hypercorn import (
    APPLICATION,
    HypercornServer,
    hypercorn_parser,
    known_options,
    tcp_addresses,
)

from .helpers import BackendUnderTest

HYPERCORN = tuple(int(part) for part in metadata.version("hypercorn").split(".")[:2])


UNDER_TEST = BackendUnderTest(HypercornServer, "hypercorn")
server, checked_argv, error_for = UNDER_TEST.server, UNDER_TEST.checked_argv, UNDER_TEST.error_for


def test_is_a_server_backend() -> None:
    assert issubclass(HypercornServer, BaseServerBackend)
    assert (HypercornServer.kind, HypercornServer.program) == ("server", "hypercorn")


def test_the_parser_is_hypercorns_own_and_nothing_else_runs() -> None:
    with mock.patch.object(hypercorn_main, "run") as run:
        parser = hypercorn_parser()
    run.assert_not_called()
    assert type(parser) is argparse.ArgumentParser
    assert hypercorn_main.argparse is argparse  # put back
    assert (parser.prog, parser.allow_abbrev, parser.exit_on_error) == ("hypercorn", False, False)
    assert {"--bind", "-b", "--workers", "--graceful-timeout", "--help"} <= known_options()


@pytest.mark.parametrize(
    ("args", "argv"),
    [
        (None, []),
        ({"bind": "127.0.0.1:8001", "workers": 2}, ["--bind=127.0.0.1:8001", "--workers=2"]),
        ("--bind=127.0.0.1:8001", ["--bind=127.0.0.1:8001"]),
        (["-b", "127.0.0.1:8001", "-w", "2"], ["-b", "127.0.0.1:8001", "-w", "2"]),
        # A list repeats the option.
        (
            {"bind": ["127.0.0.1:8001", "[::1]:8001"]},
            ["--bind=127.0.0.1:8001", "--bind=[::1]:8001"],
        ),
        (
            {"graceful_timeout": 30, "access_logfile": "-"},
            ["--graceful-timeout=30", "--access-logfile=-"],
        ),
        # Hypercorn has no --no- forms: False leaves the flag out.
        ({"debug": False, "reload": None}, ["--reload"]),
        ({"worker_class": "asyncio"}, ["--worker-class=asyncio"]),
    ],
)
def test_args_become_hypercorn_argv(args: Any, argv: list[str]) -> None:
    assert checked_argv(args) == argv


@pytest.mark.parametrize(
    ("args", "message"),
    [
        ({"bnd": "x"}, "unknown hypercorn option 'bnd' in ARGS. Did you mean 'bind'?"),
        (
            {"zzzzzz": 1},
            "unknown hypercorn option 'zzzzzz' in ARGS. See 'hypercorn --help' for the options "
            "it accepts.",
        ),
        # argparse's abbreviations are off: a prefix is not another option.
        ({"work": 2}, "unknown hypercorn option 'work' in ARGS. Did you mean 'workers'?"),
        (
            {"workers": "many"},
            "invalid value 'many' for hypercorn option 'workers' in ARGS: invalid int value: "
            "'many'.",
        ),
        (
            {"workers": True},
            "invalid value True for hypercorn option 'workers' in ARGS: expected one argument.",
        ),
        (
            {"verify_mode": "SOMETIMES"},
            "invalid value 'SOMETIMES' for hypercorn option 'verify_mode' in ARGS: 'SOMETIMES' "
            "is not a valid verify mode.",
        ),
        (
            {"worker_class": "gevent"},
            "invalid value 'gevent' for hypercorn option 'worker_class' in ARGS: it must be one "
            "of 'asyncio', 'uvloop', 'trio'.",
        ),
        # A secret option's value is never shown.
        (
            {"keyfile_password": True},
            "invalid value '***' for hypercorn option 'keyfile_password' in ARGS: expected one "
            "argument.",
        ),
        (
            ["--workers=2", "other.asgi:app"],
            "unexpected argument 'other.asgi:app' in ARGS: ARGS holds options only; the "
            "application comes from the ASGI_APPLICATION setting.",
        ),
        (
            {"help": True},
            "hypercorn option 'help' cannot be set in ARGS: it makes hypercorn print and exit "
            "instead of serving.",
        ),
        # -D is a flag, so "-Dh" reaches -h.
        pytest.param(
            ["-Dh"],
            "hypercorn option '--help' cannot be set in ARGS: it makes hypercorn print and exit "
            "instead of serving.",
            marks=pytest.mark.skipif(HYPERCORN < (0, 18), reason="Hypercorn 0.18 added -D"),
        ),
    ],
)
def test_check_args_errors(args: Any, message: str) -> None:
    assert error_for(args) == f"Process 'web': {message}"


def test_a_worker_class_whose_package_is_missing() -> None:
    real_find_spec = importlib.util.find_spec

    def without_uvloop(name: str, *args: Any) -> Any:
        return None if name == "uvloop" else real_find_spec(name, *args)

    with mock.patch("importlib.util.find_spec", without_uvloop):
        assert error_for({"worker_class": "uvloop"}) == (
            "Process 'web': invalid value 'uvloop' for hypercorn option 'worker_class' in ARGS: "
            "it needs the 'uvloop' package, which is not installed. Install it with: pip install "
            '"hypercorn[uvloop]".'
        )


def test_a_config_file_is_loaded_by_hypercorn_before_starting(tmp_path: Path) -> None:
    good = tmp_path / "hypercorn.toml"
    good.write_text('bind = ["127.0.0.1:8009"]\n')
    bad = tmp_path / "bad.toml"
    bad.write_text("bind = [\n")

    assert checked_argv({"config": str(good)}) == [f"--config={good}"]
    assert error_for({"config": str(tmp_path / "missing.toml")}) == (
        f"Process 'web': invalid value '{tmp_path / 'missing.toml'}' for hypercorn option "
        f"'config' in ARGS: FileNotFoundError: [Errno 2] No such file or directory: "
        f"'{tmp_path / 'missing.toml'}'."
    )
    assert error_for({"config": str(bad)}).startswith(
        f"Process 'web': invalid value '{bad}' for hypercorn option 'config' in ARGS: "
        "TOMLDecodeError: "
    )


def test_a_parser_error_without_an_option_is_rejected_as_a_whole() -> None:
    def parser_error(*args: Any, **kwargs: Any) -> Any:
        print("usage: hypercorn\nhypercorn: error: something else", file=sys.stderr)
        raise SystemExit(2)

    with mock.patch("argparse.ArgumentParser.parse_known_args", parser_error):
        assert error_for({"workers": 1}) == (
            "Process 'web': hypercorn rejects ARGS: something else."
        )


def test_describe_start() -> None:
    backend = server({"bind": "127.0.0.1:8000", "workers": 2})
    assert backend.describe_start(backend.prep_server_args()) == (
        "hypercorn django_prodserver.backends.hypercorn_asgi:application --bind=127.0.0.1:8000 "
        "--workers=2"
    )


def run_and_observe(backend: HypercornServer, status: int = 0) -> Any:
    # The addresses are checked, not bound: a unit test must not depend on a port being free.
    with (
        mock.patch.object(command_line, "check_start") as checked,
        mock.patch.object(hypercorn_workers, "run", return_value=status) as run,
    ):
        backend.start_server(*backend.prep_server_args())
    ((_, plan), _) = checked.call_args
    ((config,), _) = run.call_args
    assert plan.config is config
    assert (plan.addresses, plan.reuse_port) == (tcp_addresses(config.bind), config.workers > 1)
    return config


def test_start_server_runs_hypercorn_with_our_argv(monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setattr(sys, "argv", ["manage.py", "prodserver", "--settings=x", "-v", "2"])

    config = run_and_observe(
        server({"bind": "127.0.0.1:8123", "workers": 2, "graceful_timeout": 9})
    )

    assert config.application_path == APPLICATION
    assert (config.bind, config.workers, config.graceful_timeout) == (["127.0.0.1:8123"], 2, 9)


def test_hypercorns_defaults_apply() -> None:
    config = run_and_observe(server())
    assert (config.bind, config.workers) == (["127.0.0.1:8000"], 1)


def test_a_failed_worker_is_the_exit_status() -> None:
    with pytest.raises(SystemExit) as exited:
        run_and_observe(server(), status=3)
    assert exited.value.code == 3


def test_a_stop_signal_before_hypercorn_serves_exits_0() -> None:
    before = {s: signal.getsignal(s) for s in (signal.SIGTERM, signal.SIGINT)}
    with (
        mock.patch.object(command_line, "check_start"),
        mock.patch.object(
            hypercorn_workers,
            "run",
            side_effect=lambda config: signal.raise_signal(signal.SIGINT),
        ),
        pytest.raises(SystemExit) as exited,
    ):
        server().start_server()
    assert exited.value.code == 0
    assert {s: signal.getsignal(s) for s in before} == before


# The application Hypercorn loads.


def lifespan(app: Any) -> list[dict[str, Any]]:
    sent: list[dict[str, Any]] = []
    messages = iter([{"type": "lifespan.startup"}, {"type": "lifespan.shutdown"}])

    async def receive() -> dict[str, Any]:
        return next(messages)

    async def send(message: dict[str, Any]) -> None:
        sent.append(message)

    asyncio.run(app({"type": "lifespan"}, receive, send))
    return sent


def test_the_application_is_the_projects_asgi_application() -> None:
    from testsite.asgi import application

    assert hypercorn_asgi.application.app is application
    assert isinstance(application, ASGIHandler)


def test_lifespan_is_answered_for_plain_django() -> None:
    wrapped = hypercorn_asgi.LifespanAnswered(ASGIHandler())
    assert lifespan(wrapped) == [
        {"type": "lifespan.startup.complete"},
        {"type": "lifespan.shutdown.complete"},
    ]


def test_other_applications_receive_every_event() -> None:
    seen: list[str] = []

    async def app(scope: dict[str, Any], receive: Any, send: Any) -> None:
        seen.append(scope["type"])
        await send({"type": "lifespan.startup.failed", "message": "mine"})

    wrapped = hypercorn_asgi.LifespanAnswered(app)

    assert lifespan(wrapped) == [{"type": "lifespan.startup.failed", "message": "mine"}]
    asyncio.run(wrapped({"type": "http"}, None, mock.AsyncMock()))
    assert seen == ["lifespan", "http"]


def test_unknown_lifespan_messages_are_ignored() -> None:
    sent: list[dict[str, Any]] = []
    messages = iter([{"type": "lifespan.other"}, {"type": "lifespan.shutdown"}])

    async def receive() -> dict[str, Any]:
        return next(messages)

    async def send(message: dict[str, Any]) -> None:
        sent.append(message)

    asyncio.run(hypercorn_asgi.answer_lifespan(receive, send))
    assert sent == [{"type": "lifespan.shutdown.complete"}]


# What Hypercorn accepts and then fails on, refused before the start.


@pytest.fixture
def other_key(tmp_path: Path) -> Path:
    trustme = pytest.importorskip("trustme")
    key = tmp_path / "other-key.pem"
    trustme.CA().issue_cert("127.0.0.1").private_key_pem.write_to_path(str(key))
    return key


def test_the_configuration_is_hypercorns_own(tmp_path: Path) -> None:
    from django_prodserver.backends.hypercorn import hypercorn_config

    config_file = tmp_path / "hypercorn.toml"
    config_file.write_text('bind = ["127.0.0.1:8011"]\nworkers = 3\n')

    config = hypercorn_config([f"--config={config_file}", "--graceful-timeout=7"])

    assert (config.bind, config.workers, config.graceful_timeout) == (["127.0.0.1:8011"], 3, 7)
    assert config.application_path == APPLICATION


@pytest.mark.parametrize(
    ("binds", "addresses"),
    [
        (["127.0.0.1:8001", "[::1]:8002"], [("127.0.0.1", 8001), ("::1", 8002)]),
        (["localhost"], [("localhost", 8000)]),  # a host alone: Hypercorn's port 8000
        (["example.com:http"], [("example.com:http", 8000)]),  # as Hypercorn reads it
        (["unix:/run/h.sock", "fd://3"], []),
    ],
)
def test_tcp_addresses_are_read_as_hypercorn_reads_binds(
    binds: list[str], addresses: list[tuple[str, int]]
) -> None:
    assert tcp_addresses(binds) == addresses


def test_refused_before_the_start(tmp_path: Path, certificate: Any, other_key: Path) -> None:
    cert, key = certificate
    assert error_for({"workers": -1}) == (
        "Process 'web': invalid value -1 for hypercorn option 'workers' in ARGS: it must be 0 "
        "(serve in this process) or more; Hypercorn starts no worker for a negative count and "
        "waits forever."
    )
    assert error_for({"workers": 10**6}) == (
        "Process 'web': invalid value 1000000 for hypercorn option 'workers' in ARGS: it must "
        "be from 0 to 10000."
    )
    assert error_for({"bind": ["127.0.0.1:8000", "127.0.0.1:70000"]}) == (
        "Process 'web': invalid value ['127.0.0.1:8000', '127.0.0.1:70000'] for hypercorn "
        "option 'bind' in ARGS: a port is a number from 0 to 65535, not 70000."
    )
    assert error_for({"keyfile": str(key)}) == (
        f"Process 'web': invalid value '{key}' for hypercorn option 'keyfile' in ARGS: HTTPS "
        "needs 'certfile' too, and Hypercorn serves plain HTTP without it; set 'certfile', or "
        "remove 'keyfile'."
    )
    assert error_for({"certfile": str(cert), "keyfile": str(other_key)}).startswith(
        f"Process 'web': invalid value '{other_key}' for hypercorn option 'keyfile' in ARGS: the "
        f"certificate '{cert}' and key '{other_key}' cannot be loaded: [X509: "
        "KEY_VALUES_MISMATCH] key values mismatch"
    )
    tls = {"certfile": str(cert), "keyfile": str(key)}
    assert error_for({**tls, "ca_certs": str(tmp_path / "none.pem")}) == (
        f"Process 'web': invalid value '{tmp_path / 'none.pem'}' for hypercorn option 'ca_certs' "
        f"in ARGS: the CA file '{tmp_path / 'none.pem'}' cannot be loaded: No such file or "
        "directory."
    )
    assert error_for({**tls, "ciphers": "NO-SUCH-CIPHER", "ca_certs": str(cert)}) == (
        "Process 'web': invalid value 'NO-SUCH-CIPHER' for hypercorn option 'ciphers' in ARGS: "
        "Hypercorn's TLS settings fail: ('No cipher can be selected.',)."
    )
    assert checked_argv(tls) == [f"--certfile={cert}", f"--keyfile={key}"]


def test_a_log_configuration_is_read_with_hypercorns_prefixes(tmp_path: Path) -> None:
    good, bad = tmp_path / "log.json", tmp_path / "log.toml"
    good.write_text('{"version": 1}')
    bad.write_text("version = \n")

    assert checked_argv({"log_config": f"json:{good}"}) == [f"--log-config=json:{good}"]
    assert error_for({"log_config": f"toml:{bad}"}).startswith(
        f"Process 'web': invalid value 'toml:{bad}' for hypercorn option 'log_config' in ARGS: "
        f"the log configuration '{bad}' does not parse: TOMLDecodeError: "
    )
    assert error_for({"log_config": str(tmp_path / "log.ini")}) == (
        f"Process 'web': invalid value '{tmp_path / 'log.ini'}' for hypercorn option "
        f"'log_config' in ARGS: the log configuration '{tmp_path / 'log.ini'}' cannot be read: "
        "No such file or directory."
    )


def test_a_unix_socket_is_planned_for_the_start_checks() -> None:
    backend = server({"bind": ["unix:/run/app/h.sock", "127.0.0.1:8123"], "workers": 1})
    plan = backend.plan_start(backend.prep_server_args())
    assert (plan.unix_sockets, plan.addresses, plan.reuse_port, plan.isolated) == (
        ["/run/app/h.sock"],
        [("127.0.0.1", 8123)],
        False,
        True,
    )
