"""The option-value helpers every backend shares: seconds from the argv, missing packages."""

from __future__ import annotations

import pytest

from django_prodserver.backends.option_values import (
    missing_module,
    missing_package,
    option_seconds,
)


def test_option_seconds_reads_the_last_value_in_either_spelling() -> None:
    flags = ["--graceful-timeout"]
    assert option_seconds(["--graceful-timeout=5", "--workers=2"], flags) == 5.0
    assert option_seconds(["--graceful-timeout", "7.5"], flags) == 7.5
    # As a parser does, the last one given wins.
    assert option_seconds(["--graceful-timeout=5", "--graceful-timeout", "9"], flags) == 9.0
    assert option_seconds(["--timeout=5"], flags) is None
    assert option_seconds(["--graceful-timeout"], flags) is None  # no value to read


def _raised_from(cause: BaseException) -> RuntimeError:
    # What `raise RuntimeError(...)` inside `except` records, as gunicorn's load_class does.
    error = RuntimeError("class uri 'gevent' invalid or not found")
    error.__context__ = cause
    return error


@pytest.mark.parametrize(
    ("error", "module"),
    [
        (ModuleNotFoundError("No module named 'uvloop'", name="uvloop"), "uvloop"),
        # A submodule names its package; a cause found through the context counts.
        (_raised_from(ModuleNotFoundError("x", name="gevent.pool")), "gevent"),
        # Not a missing module at all, or one whose name Python did not record.
        (_raised_from(ValueError("bad value")), None),
        (ModuleNotFoundError("no name"), None),
    ],
)
def test_missing_module(error: BaseException, module: str | None) -> None:
    assert missing_module(error) == module


def test_missing_package_names_the_install_hint_of_a_known_package() -> None:
    hints = {"uvloop": 'pip install "uvicorn[standard]"'}
    missing = ModuleNotFoundError("No module named 'uvloop'", name="uvloop")
    assert missing_package(missing, hints) == (
        "it needs the 'uvloop' package, which is not installed. Install it with: "
        'pip install "uvicorn[standard]"'
    )
    assert missing_package(ModuleNotFoundError("x", name="other"), hints) is None
    assert missing_package(ValueError("not an import"), hints) is None
