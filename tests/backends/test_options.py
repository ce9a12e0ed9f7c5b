"""The helpers every backend shares (backends/_options.py). Each backend's tests assert the
messages it gives; here, what they share."""

from __future__ import annotations

from typing import Any

import pytest

from django_prodserver.backends.base import BaseServerBackend
from django_prodserver.backends.options import (
    ArgsErrors,
    ArgsOption,
    find_option,
    negation,
)
from django_prodserver.exceptions import InvalidBackendArgs

WORKERS = ["-w", "--workers"]


@pytest.mark.parametrize(
    ("args", "argv", "found"),
    [
        ({"workers": 2}, ["--workers=2"], ArgsOption("workers", 2, True)),
        ({"-w": 2}, ["-w", "2"], ArgsOption("-w", 2, True)),
        # An exact key wins over one that only abbreviates the option.
        ({"work": 1, "workers": 2}, ["--work=1", "--workers=2"], ArgsOption("workers", 2, True)),
        ({"work": 1}, ["--work=1"], ArgsOption("work", 1, True)),
        (["--workers=2"], ["--workers=2"], ArgsOption("--workers", "2", True)),
        (["-w", "2"], ["-w", "2"], ArgsOption("-w", "2", True)),
        (["-w4"], ["-w4"], ArgsOption("-w4", None, False)),
        (
            ["--workers", "--preload"],
            ["--workers", "--preload"],
            ArgsOption("--workers", None, False),
        ),
        (["--workers"], ["--workers"], ArgsOption("--workers", None, False)),
        # Set by the backend, not by ARGS: found in the argv; or not set at all.
        ({"preload": True}, ["--workers=3", "--preload"], ArgsOption("--workers", "3", True)),
        ({"preload": True}, ["--preload"], None),
        ("--preload", ["--preload", "app"], None),
        # A key that is not a string names no option (args_to_argv refuses it).
        ({1: "odd", "workers": 2}, ["--workers=2"], ArgsOption("workers", 2, True)),
    ],
)
def test_find_option(args: Any, argv: list[str], found: ArgsOption | None) -> None:
    assert find_option(args, argv, WORKERS) == found


def errors_for(args: Any) -> ArgsErrors:
    backend = BaseServerBackend(process_name="web", ARGS=args)
    return ArgsErrors(backend, backend.prep_server_args(), "prog", ["--api-token", "--port"])


@pytest.mark.parametrize(
    ("args", "shown"),
    [
        ({"api_token": "hunter2"}, "'api_token'"),
        ({"api-token": "hunter2"}, "'api-token'"),
        # Abbreviated: secret by the option it stands for.
        (["--api-tok=hunter2"], "'--api-tok'"),
        (["--api-tok", "hunter2"], "'--api-tok'"),
    ],
)
def test_a_secret_value_is_masked_in_the_value_and_the_reason(args: Any, shown: str) -> None:
    error = errors_for(args).invalid_value(["--api-token"], "'hunter2' is not an integer")

    assert error.message == (
        f"Process 'web': invalid value '***' for prog option {shown} in ARGS: "
        f"'***' is not an integer."
    )


def test_a_value_that_holds_another_is_masked_whole() -> None:
    error = errors_for({"api_token": ["ab", "abc"]}).invalid_value(["--api-token"], "abc, ab")

    assert error.message == (
        "Process 'web': invalid value '***' for prog option 'api_token' in ARGS: ***, ***."
    )


def test_other_values_are_shown() -> None:
    error = errors_for({"port": "hunter2"}).invalid_value(["--port"], "'hunter2' is not an integer")

    assert error.message == (
        "Process 'web': invalid value 'hunter2' for prog option 'port' in ARGS: "
        "'hunter2' is not an integer."
    )


@pytest.mark.parametrize(
    ("written", "suggested"),
    [("api_tokn", "'api_token'"), ("api-tokn", "'api-token'"), ("--api-tokn", "'--api-token'")],
)
def test_a_suggestion_is_spelled_as_the_user_spells(written: str, suggested: str) -> None:
    error = errors_for({written: 1}).unknown_option("--api-tokn")

    assert error.message == (
        f"Process 'web': unknown prog option {written!r} in ARGS. Did you mean {suggested}?"
    )


def test_negation() -> None:
    known = {"--access-log", "--no-access-log", "--reload"}
    assert negation("--access-log", known) == "--no-access-log"
    assert negation("--reload", known) is None
    assert negation("-a", {"--no-a", "-a"}) is None


# A typo'd key set to False leaves nothing in argv; every backend must still reject it.
TYPO_FALSE = [
    (
        "gunicorn",
        {"relaod": False},
        "unknown gunicorn option 'relaod' in ARGS. Did you mean 'reload'?",
    ),
    (
        "uvicorn",
        {"relaod": False},
        "unknown uvicorn option 'relaod' in ARGS. Did you mean 'reload'?",
    ),
    ("waitress", {"ipv7": False}, "unknown waitress option 'ipv7' in ARGS. Did you mean 'ipv6'?"),
    (
        "daphne",
        {"proxy_header": False},
        "unknown daphne option 'proxy_header' in ARGS. Did you mean 'proxy_headers'?",
    ),
    (
        "hypercorn",
        {"relaod": False},
        "unknown hypercorn option 'relaod' in ARGS. Did you mean 'reload'?",
    ),
]


@pytest.mark.parametrize(("alias", "args", "message"), TYPO_FALSE)
def test_a_typod_key_set_to_false_is_not_silently_dropped(
    alias: str, args: dict[str, Any], message: str
) -> None:
    from django_prodserver import registry

    backend_class = registry.resolve(alias).backend_class
    backend = backend_class(alias=alias, process_name="web", BACKEND=alias, ARGS=args)
    with pytest.raises(InvalidBackendArgs) as excinfo:
        backend.check_args(backend.prep_server_args())
    assert str(excinfo.value) == f"Process 'web': {message}"


def test_a_known_flag_set_to_false_passes_without_a_no_form() -> None:
    errors = ArgsErrors(
        BaseServerBackend(process_name="web", ARGS={"preload": False, "port": 1}),
        ["--port=1"],
        "prog",
        ["--preload", "--port"],
    )
    errors.check_omitted_flags()  # --preload exists; False simply leaves it at its default
