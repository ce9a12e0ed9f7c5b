"""Secret values never reach --dry-run output or error messages."""

from __future__ import annotations

import pytest

from django_prodserver.backends.base import BaseServerBackend, args_to_argv
from django_prodserver.exceptions import InvalidBackendArgs
from django_prodserver.redact import is_secret, redact_argv


@pytest.mark.parametrize(
    ("option", "secret"),
    [
        ("ssl-keyfile-password", True),
        ("--ssl_keyfile_password", True),
        ("API_TOKEN", True),
        ("client-secret", True),
        ("ssl-keyfile", False),
        ("workers", False),
    ],
)
def test_is_secret(option: str, secret: bool) -> None:
    assert is_secret(option) is secret


def test_redact_argv_masks_both_option_forms() -> None:
    argv = ["--ssl-keyfile-password=hunter2", "--token", "abc", "--workers=2", "--secret", "-v"]
    assert redact_argv(argv) == [
        "--ssl-keyfile-password=***",
        "--token",
        "***",
        "--workers=2",
        "--secret",
        "-v",
    ]


def test_dry_run_description_masks_secrets() -> None:
    backend = BaseServerBackend(ARGS={"password": "hunter2", "bind": "127.0.0.1:1"})
    assert backend.describe_start(backend.prep_server_args()) == (
        "BaseServerBackend '--password=***' --bind=127.0.0.1:1"
    )


def test_bad_value_of_a_secret_option_is_not_echoed() -> None:
    with pytest.raises(InvalidBackendArgs) as excinfo:
        args_to_argv({"api_token": {"value": "hunter2"}}, process="web")
    assert str(excinfo.value) == (
        "Process 'web': ARGS['api_token'] is '***' (dict); a value must be a string, a number, a "
        "path, True, False, None or a list of those."
    )
