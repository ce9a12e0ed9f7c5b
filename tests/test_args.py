"""The ARGS-to-argv rule every command-line-style backend shares."""

from __future__ import annotations

from pathlib import Path
from typing import Any

import pytest

from django_prodserver.backends.base import BaseServerBackend, BaseWorkerBackend, args_to_argv
from django_prodserver.exceptions import InvalidArgsType, InvalidBackendArgs


@pytest.mark.parametrize(
    ("args", "argv"),
    [
        ({"bind": "127.0.0.1:8000", "workers": 2}, ["--bind=127.0.0.1:8000", "--workers=2"]),
        ({"timeout": 2.5}, ["--timeout=2.5"]),
        ({"max_requests": 100}, ["--max-requests=100"]),
        ({"preload": True, "daemon": None}, ["--preload", "--daemon"]),
        ({"reload": False}, []),
        ({"bind": ["127.0.0.1:1", "[::1]:2"]}, ["--bind=127.0.0.1:1", "--bind=[::1]:2"]),
        ({"queues": ("a", "b")}, ["--queues=a", "--queues=b"]),
        ({"-w": 4}, ["-w", "4"]),
        ({"--log-level": "debug"}, ["--log-level=debug"]),
        ({"config": Path("/etc/app.conf")}, ["--config=/etc/app.conf"]),
        ({"flag": [True, True]}, ["--flag", "--flag"]),
        ({}, []),
        (None, []),
        ("--bind=127.0.0.1:8000 --workers=2", ["--bind=127.0.0.1:8000 --workers=2"]),
        (["--bind", "127.0.0.1:8000"], ["--bind", "127.0.0.1:8000"]),
        (("-w", "2"), ["-w", "2"]),
    ],
)
def test_args_to_argv(args: Any, argv: list[str]) -> None:
    assert args_to_argv(args) == argv


def test_false_uses_the_programs_negated_form_where_it_has_one() -> None:
    def negate(flag: str) -> str | None:
        return "--no-" + flag[2:] if flag == "--access-log" else None

    assert args_to_argv({"access_log": False, "reload": False}, negate=negate) == [
        "--no-access-log"
    ]


@pytest.mark.parametrize(
    ("args", "error", "message"),
    [
        (
            42,
            InvalidArgsType,
            "Process 'web': ARGS must be a dict of options, a string or a list of strings, "
            "not int.",
        ),
        (
            ["--workers", 2],
            InvalidArgsType,
            "Process 'web': ARGS given as a list must hold only strings; 2 is int. Use a dict "
            "to give typed values.",
        ),
        (
            {"workers": {"min": 1}},
            InvalidBackendArgs,
            "Process 'web': ARGS['workers'] is {'min': 1} (dict); a value must be a string, a "
            "number, a path, True, False, None or a list of those.",
        ),
        (
            {"bind": [["nested"]]},
            InvalidBackendArgs,
            "Process 'web': ARGS['bind'] is ['nested'] (list); a value must be a string, a "
            "number, a path, True, False, None or a list of those.",
        ),
        (
            {"": 1},
            InvalidBackendArgs,
            "Process 'web': ARGS has the key ''; keys must be option names.",
        ),
        (
            {3: 1},
            InvalidBackendArgs,
            "Process 'web': ARGS has the key 3; keys must be option names.",
        ),
    ],
)
def test_bad_args(args: Any, error: type[Exception], message: str) -> None:
    with pytest.raises(error) as excinfo:
        args_to_argv(args, process="web")
    assert str(excinfo.value) == message


def test_errors_without_a_process_name_say_so_plainly() -> None:
    with pytest.raises(InvalidArgsType) as excinfo:
        args_to_argv(3.5)
    assert str(excinfo.value) == (
        "ARGS must be a dict of options, a string or a list of strings, not float."
    )


def test_backend_keeps_alias_process_and_config() -> None:
    backend = BaseServerBackend(
        alias="fake", process_name="web", BACKEND="fake", ARGS={"workers": 2}
    )
    assert (backend.alias, backend.process_name, backend.kind) == ("fake", "web", "server")
    assert backend.server_config == {"BACKEND": "fake", "ARGS": {"workers": 2}}
    assert backend.prep_server_args() == ["--workers=2"]
    backend.check_args(["--anything"])  # the base class accepts what it cannot judge
    assert backend.describe_start(["--workers=2", "a b"]) == "BaseServerBackend --workers=2 'a b'"
    with pytest.raises(NotImplementedError):
        backend.start_server()


def test_older_style_construction_still_works() -> None:
    # Third-party backends written for the older package call cls(**entry).
    backend = BaseWorkerBackend(BACKEND="x.Y", ARGS="--concurrency=2")
    assert backend.kind == "worker"
    assert backend.prep_server_args() == ["--concurrency=2"]
    assert str(backend.error("bad")) == "bad"
