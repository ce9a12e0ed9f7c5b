"""Secret values never reach --dry-run output, --list, ``manage.py check`` or error messages.

A value is secret by its option's name or by its shape (a URL's password, ``DB_PASSWORD=...``,
Flower's ``user:password`` pairs, a secret flag written with its value in one item). The tests at
the end go through each place a value is printed, with the real command.
"""

from __future__ import annotations

import json
import sys
from io import StringIO
from pathlib import Path
from typing import Any

import pytest
from django.core.management import call_command
from django.core.management.base import CommandError, SystemCheckError

from django_prodserver.backends.base import BaseServerBackend, args_to_argv
from django_prodserver.backends.gunicorn import NO_CONTROL_SOCKET, known_options
from django_prodserver.exceptions import InvalidBackendArgs, ProdserverError
from django_prodserver.redact import (
    is_credential,
    is_secret,
    redact_argv,
    redact_text,
    shown,
)

SettingsWrapper = Any
APP = "testsite.celery_app.app"
BROKER_URL = "redis://user:hunter2@localhost:6379/0"
MASKED_BROKER_URL = "redis://user:***@localhost:6379/0"


@pytest.mark.parametrize(
    ("option", "secret"),
    [
        ("ssl-keyfile-password", True),
        ("--ssl_keyfile_password", True),
        ("API_TOKEN", True),
        ("client-secret", True),
        ("DB_PASSWD", True),
        ("aws-credentials", True),
        ("--api-key", True),
        ("ssl-keyfile", False),
        ("keyfile", False),
        ("workers", False),
        ("basic-auth", False),
    ],
)
def test_is_secret(option: str, secret: bool) -> None:
    assert is_secret(option) is secret


@pytest.mark.parametrize(
    ("option", "credential"),
    [
        ("basic-auth", True),
        ("--basic_auth", True),
        ("http-auth", True),
        ("auth", False),  # Flower's --auth is a pattern of e-mail addresses
        ("auth-provider", False),
        ("ssl-keyfile-password", False),  # secret, masked whole
    ],
)
def test_is_credential(option: str, credential: bool) -> None:
    assert is_credential(option) is credential


@pytest.mark.parametrize(
    ("text", "expected"),
    [
        # A URL's password; the user, host, port and path stay.
        (BROKER_URL, MASKED_BROKER_URL),
        ("redis://:hunter2@localhost:6379", "redis://:***@localhost:6379"),
        ("amqp://guest:p%40ss@rabbit/vhost", "amqp://guest:***@rabbit/vhost"),
        ("'http://admin:hunter2@localhost:15672/api/'", "'http://admin:***@localhost:15672/api/'"),
        ("postgres://u:it's@db/x", "postgres://u:***@db/x"),
        # A token written as the URL's user: too long for a user name.
        (
            "https://ghp_16C7e42F292c6912E7710c838347Ae178B4a@github.com/o/r.git",
            "https://***@github.com/o/r.git",
        ),
        ("redis://0123456789abcdef0123@cache:6379/0", "redis://***@cache:6379/0"),
        # No password to mask.
        ("amqp://guest@localhost//", "amqp://guest@localhost//"),
        ("amqp://celery-worker-user@rabbit//", "amqp://celery-worker-user@rabbit//"),
        ("redis://localhost:6379/0", "redis://localhost:6379/0"),
        (
            "redis://localhost:6379/0 and admin@example.com",
            "redis://localhost:6379/0 and admin@example.com",
        ),
        ("127.0.0.1:8000", "127.0.0.1:8000"),
        # NAME=VALUE whose name says secret, alone, in --env=, in a query string.
        ("DB_PASSWORD=hunter2", "DB_PASSWORD=***"),
        ("--env=API_TOKEN=abc", "--env=API_TOKEN=***"),
        ("https://h/x?token=abc&page=2", "https://h/x?token=***&page=2"),
        ("DEBUG=0", "DEBUG=0"),
        ("such as '--cookie-secret=VALUE'", "such as '--cookie-secret=VALUE'"),
        ("--set workers=8", "--set workers=8"),
        # The repr of a dict.
        ("{'DB_PASSWORD': 'hunter2', 'DEBUG': '0'}", "{'DB_PASSWORD': '***', 'DEBUG': '0'}"),
        # A flag written with its value in one quoted item.
        (
            "option '--ssl-keyfile-password s3cret' in ARGS",
            "option '--ssl-keyfile-password ***' in ARGS",
        ),
        ("'--basic-auth admin:hunter2,ops:swordfish'", "'--basic-auth admin:***,ops:***'"),
        ("the argument '--interval 5' in ARGS", "the argument '--interval 5' in ARGS"),
        ("Did you mean '--ssl-keyfile-password'?", "Did you mean '--ssl-keyfile-password'?"),
    ],
)
def test_redact_text_masks_secrets_by_shape(text: str, expected: str) -> None:
    assert redact_text(text) == expected


# Flower's releases for Python 3.9 do not check broker_api, so its error never comes.
OLD_FLOWER_SKIP = pytest.mark.skipif(
    sys.version_info < (3, 10), reason="Flower for Python 3.9 does not check broker_api"
)


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


def test_redact_argv_masks_by_shape() -> None:
    argv = [
        "--env=DB_PASSWORD=hunter2",
        "--env",
        "API_TOKEN=abc",
        "--broker-api=http://guest:guest@localhost:15672/api/",
        "--basic-auth=admin:hunter2,ops:swordfish",
        "--basic-auth",
        "admin:hunter2",
        "--ssl-keyfile-password s3cret",
        "--interval 5",
        BROKER_URL,
        "myapp.wsgi:application",
    ]
    assert redact_argv(argv) == [
        "--env=DB_PASSWORD=***",
        "--env",
        "API_TOKEN=***",
        "--broker-api=http://guest:***@localhost:15672/api/",
        "--basic-auth=admin:***,ops:***",
        "--basic-auth",
        "admin:***",
        "--ssl-keyfile-password ***",
        "--interval 5",
        MASKED_BROKER_URL,
        "myapp.wsgi:application",
    ]


@pytest.mark.parametrize(
    ("option", "value", "expected"),
    [
        ("ssl-keyfile-password", ["a", "b"], "***"),
        ("broker-api", BROKER_URL, MASKED_BROKER_URL),
        ("env", ["DB_PASSWORD=x", "DEBUG=0"], ["DB_PASSWORD=***", "DEBUG=0"]),
        ("env", ("API_TOKEN=x",), ("API_TOKEN=***",)),
        ("env", {"DB_PASSWORD": "x", "DEBUG": 0}, {"DB_PASSWORD": "***", "DEBUG": 0}),
        ("basic-auth", "admin:hunter2", "admin:***"),
        # A pair without its user may be the password alone.
        ("basic-auth", "adminnopassword", "***"),
        ("basic-auth", ["admin:a", "ops:b"], ["admin:***", "ops:***"]),
        ("basic-auth", {"admin": "hunter2"}, {"admin": "***"}),
        ("workers", 4, 4),
        ("bind", "127.0.0.1:8000", "127.0.0.1:8000"),
    ],
)
def test_shown(option: str, value: object, expected: object) -> None:
    assert shown(option, value) == expected


def test_every_error_message_masks_secrets_by_shape() -> None:
    error = ProdserverError(f"the broker {BROKER_URL!r}\nis down")
    assert error.message == f"the broker {MASKED_BROKER_URL!r} is down"
    assert error.in_process("worker").message == (
        f"Process 'worker': the broker {MASKED_BROKER_URL!r} is down"
    )


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


def test_bad_value_of_an_environment_option_masks_its_secret_keys() -> None:
    with pytest.raises(InvalidBackendArgs) as excinfo:
        args_to_argv({"env": {"DB_PASSWORD": {"v": "hunter2"}}}, process="web")
    assert str(excinfo.value) == (
        "Process 'web': ARGS['env'] is {'DB_PASSWORD': '***'} (dict); a value must be a string, "
        "a number, a path, True, False, None or a list of those."
    )


# -- each place a value is printed, through the real command ------------------------------------


def run(*args: str) -> str:
    out = StringIO()
    call_command("prodserver", *args, stdout=out, no_color=True)
    return out.getvalue()


def error_of(*args: str) -> str:
    with pytest.raises(CommandError) as excinfo:
        run(*args)
    return str(excinfo.value)


FLOWER_WITH_SECRETS = {
    "BACKEND": "celery-flower",
    "APP": APP,
    "ARGS": {
        "basic-auth": ["admin:hunter2", "ops:swordfish"],
        "broker-api": "http://guest:hunter3@localhost:15672/api/",
        "port": 5555,
    },
}
# Flower's broker API must be http(s): this one is rejected, naming the URL.
FLOWER_BAD_BROKER_API = {"BACKEND": "celery-flower", "APP": APP, "ARGS": {"broker-api": BROKER_URL}}
BAD_BROKER_API_MESSAGE = (
    f"Process 'flower': invalid value {MASKED_BROKER_URL!r} for celery flower option 'broker-api' "
    f"in ARGS: invalid scheme 'redis', expected 'http' or 'https'."
)


def test_dry_run_masks_flower_credentials_and_broker_api(settings: SettingsWrapper) -> None:
    settings.PRODUCTION_PROCESSES = {"flower": FLOWER_WITH_SECRETS}
    assert run("flower", "--dry-run").splitlines()[:2] == [
        "Would start process 'flower' with backend 'celery-flower' (CeleryFlower):",
        "celery --app=testsite.celery_app.app --skip-checks flower --address=127.0.0.1 "
        "'--basic-auth=admin:***,ops:***' '--broker-api=http://guest:***@localhost:15672/api/' "
        "--port=5555",
    ]


def test_dry_run_masks_gunicorn_environment_secrets(settings: SettingsWrapper) -> None:
    settings.PRODUCTION_PROCESSES = {
        "web": {
            "BACKEND": "gunicorn",
            "ARGS": {"env": ["DB_PASSWORD=hunter2", "API_TOKEN=abc", "DEBUG=0"]},
        }
    }
    line = run("web", "--dry-run").splitlines()[1]
    # gunicorn 23 (on Python 3.9) has no control socket to turn off.
    control_socket = "--no-control-socket " if NO_CONTROL_SOCKET in known_options() else ""
    assert line == (
        f"gunicorn {control_socket}'--env=DB_PASSWORD=***' '--env=API_TOKEN=***' --env=DEBUG=0 "
        "testsite.wsgi:application"
    )


def test_dry_run_masks_a_worker_argument_by_shape(settings: SettingsWrapper) -> None:
    settings.PRODUCTION_PROCESSES = {
        "tasks": {"BACKEND": "django-q2", "ARGS": ["--name", BROKER_URL]},
    }
    settings.Q_CLUSTER = {"name": "redact", "orm": "default"}
    settings.INSTALLED_APPS = [*settings.INSTALLED_APPS, "django_q"]
    line = run("tasks", "--dry-run").splitlines()[1]
    assert line == f"manage.py qcluster --name '{MASKED_BROKER_URL}'"


@OLD_FLOWER_SKIP
def test_command_error_masks_a_broker_url(settings: SettingsWrapper) -> None:
    settings.PRODUCTION_PROCESSES = {"flower": FLOWER_BAD_BROKER_API}
    assert error_of("flower") == BAD_BROKER_API_MESSAGE
    assert error_of("flower", "--dry-run") == BAD_BROKER_API_MESSAGE


@OLD_FLOWER_SKIP
def test_set_override_masks_a_broker_url(settings: SettingsWrapper) -> None:
    settings.PRODUCTION_PROCESSES = {"flower": {"BACKEND": "celery-flower", "APP": APP}}
    assert error_of("flower", "--dry-run", "--set", f"broker-api={BROKER_URL}") == (
        BAD_BROKER_API_MESSAGE
    )


@OLD_FLOWER_SKIP
def test_list_masks_a_broker_url(settings: SettingsWrapper) -> None:
    settings.PRODUCTION_PROCESSES = {"flower": FLOWER_BAD_BROKER_API}
    assert run("--list").splitlines() == [
        "PROCESS  BACKEND        KIND    STATUS",
        f"flower   celery-flower  server  error: {BAD_BROKER_API_MESSAGE}",
    ]


@OLD_FLOWER_SKIP
def test_list_as_json_masks_a_broker_url(settings: SettingsWrapper) -> None:
    settings.PRODUCTION_PROCESSES = {"flower": FLOWER_BAD_BROKER_API}
    assert json.loads(run("--list", "--json")) == [
        {
            "name": "flower",
            "backend": "celery-flower",
            "kind": "server",
            "status": "error",
            "detail": BAD_BROKER_API_MESSAGE,
        }
    ]


@OLD_FLOWER_SKIP
def test_check_masks_a_broker_url(settings: SettingsWrapper) -> None:
    settings.PRODUCTION_PROCESSES = {"flower": FLOWER_BAD_BROKER_API}
    with pytest.raises(SystemCheckError) as excinfo:
        call_command("check")
    assert f"?: (prodserver.E008) {BAD_BROKER_API_MESSAGE}\n" in str(excinfo.value)
    assert "hunter2" not in str(excinfo.value)


def test_a_crashing_system_check_masks_its_error(
    settings: SettingsWrapper, monkeypatch: pytest.MonkeyPatch, tmp_path: Path
) -> None:
    # A URLconf that fails to import, with the URL it could not reach in its error.
    (tmp_path / "urls_reaching_a_broker.py").write_text(
        f"raise ConnectionError('cannot reach {BROKER_URL}')\n"
    )
    monkeypatch.syspath_prepend(str(tmp_path))
    settings.PRODUCTION_PROCESSES = {"web": {"BACKEND": "wsgiref"}}
    settings.ROOT_URLCONF = "urls_reaching_a_broker"
    with pytest.raises(CommandError) as excinfo:
        call_command("prodserver", "web", skip_checks=False)
    assert str(excinfo.value) == (
        f"System checks could not run: ConnectionError: cannot reach {MASKED_BROKER_URL}"
    )


GLUED_SECRET = (
    "the argument '--ssl-keyfile-password ***' in ARGS contains a space, but each item of ARGS is "
    "passed as one argument. Write it as separate items, ['--ssl-keyfile-password', '***'], or as "
    "a dict."
)


@pytest.mark.parametrize(
    ("backend", "message"),
    [
        ("uvicorn", GLUED_SECRET),
        ("hypercorn", GLUED_SECRET),
        (
            "granian-wsgi",
            "ARGS option '--ssl-keyfile-password ***' is not an option of Granian {granian}. Did "
            "you mean 'ssl-keyfile-password'?",
        ),
    ],
)
def test_unknown_option_error_masks_a_secret_written_with_a_space(
    settings: SettingsWrapper, backend: str, message: str
) -> None:
    from importlib import metadata

    settings.PRODUCTION_PROCESSES = {
        "web": {"BACKEND": backend, "ARGS": ["--ssl-keyfile-password s3cret"]}
    }
    expected = "Process 'web': " + message.replace("{granian}", metadata.version("granian"))
    assert error_of("web", "--dry-run") == expected
    assert error_of("web") == expected


def test_nul_byte_error_masks_the_secret(settings: SettingsWrapper) -> None:
    settings.PRODUCTION_PROCESSES = {
        "web": {"BACKEND": "gunicorn", "ARGS": {"env": "DB_PASSWORD=hunter2\0"}}
    }
    assert error_of("web", "--dry-run") == (
        "Process 'web': the argument '--env=DB_PASSWORD=***' built from ARGS holds a NUL byte, "
        "which no command line can carry; remove it from ARGS."
    )
