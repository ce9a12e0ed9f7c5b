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

from django_prodserver.backends import hypercorn_asgi
from django_prodserver.backends.base import BaseServerBackend
from django_prodserver.backends.hypercorn import (
    APPLICATION,
    HypercornServer,
    hypercorn_parser,
    known_options,
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
    with mock.patch.object(hypercorn_main, "run", return_value=status) as run:
        backend.start_server(*backend.prep_server_args())
    ((config,), _) = run.call_args
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
        mock.patch.object(
            hypercorn_main, "run", side_effect=lambda config: signal.raise_signal(signal.SIGINT)
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
