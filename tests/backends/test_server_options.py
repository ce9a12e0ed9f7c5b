"""The helpers the gunicorn, uvicorn and waitress backends share (backends/_options.py)."""

from __future__ import annotations

import signal
from typing import Any

import pytest

from django_prodserver.backends._options import (
    ArgsOption,
    exit_zero_on_stop_signals,
    find_option,
    negation,
)

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
        # Set by the backend, not by ARGS: found in the argv, or named by its longest spelling.
        ({"preload": True}, ["--workers=3", "--preload"], ArgsOption("--workers", "3", True)),
        ({"preload": True}, ["--preload"], ArgsOption("--workers", None, False)),
        ("--preload", ["--preload", "app"], ArgsOption("--workers", None, False)),
    ],
)
def test_find_option(args: Any, argv: list[str], found: ArgsOption) -> None:
    assert find_option(args, argv, WORKERS) == found


def test_negation() -> None:
    known = {"--access-log", "--no-access-log", "--reload"}
    assert negation("--access-log", known) == "--no-access-log"
    assert negation("--reload", known) is None
    assert negation("-a", {"--no-a", "-a"}) is None


def test_exit_zero_on_stop_signals_restores_the_handlers() -> None:
    before = signal.getsignal(signal.SIGTERM)
    with pytest.raises(SystemExit) as exited, exit_zero_on_stop_signals():
        signal.raise_signal(signal.SIGTERM)
    assert exited.value.code == 0
    assert signal.getsignal(signal.SIGTERM) == before
