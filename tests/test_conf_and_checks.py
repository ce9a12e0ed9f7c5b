"""PRODUCTION_PROCESSES validation, and the system checks built on it."""

from __future__ import annotations

from pathlib import Path
from typing import Any

import pytest
from django.core import checks
from django.core.management import call_command
from django.core.management.base import SystemCheckError

from django_prodserver import conf
from django_prodserver.checks import (
    check_debug_in_production,
    check_development_options,
    check_production_processes,
)
from django_prodserver.exceptions import ProdserverError

SettingsWrapper = Any  # pytest-django renamed its class across versions

WSGIREF = {"BACKEND": "wsgiref", "ARGS": {"port": 8000}}

# (setting value, check id, message): each is reported both by the command and by `check`.
BAD_SETTINGS: list[tuple[Any, str, str]] = [
    (
        ["web"],
        "prodserver.E001",
        "PRODUCTION_PROCESSES must be a dict of process names to settings, not list.",
    ),
    (
        {1: WSGIREF},
        "prodserver.E001",
        "PRODUCTION_PROCESSES has the key 1; process names must be non-empty strings.",
    ),
    (
        {},
        "prodserver.E002",
        "PRODUCTION_PROCESSES is empty. Add a process, such as {'web': {'BACKEND': 'gunicorn'}}.",
    ),
    (
        {"web": "wsgiref"},
        "prodserver.E003",
        "Process 'web': its entry in PRODUCTION_PROCESSES must be a dict with a 'BACKEND' key, "
        "not str.",
    ),
    (
        {"web": {"BACKNED": "wsgiref"}},
        "prodserver.E004",
        "Process 'web': its entry has no 'BACKEND' key. It has 'BACKNED': did you mean "
        "'BACKEND'? Set 'BACKEND' to a backend alias such as 'gunicorn', or a dotted path to a "
        "backend class.",
    ),
    (
        {"web": {"ARGS": {}}},
        "prodserver.E004",
        "Process 'web': its entry has no 'BACKEND' key. Set 'BACKEND' to a backend alias such "
        "as 'gunicorn', or a dotted path to a backend class.",
    ),
    (
        {"web": {"BACKEND": None}},
        "prodserver.E004",
        "Process 'web': 'BACKEND' must be a backend alias or a dotted path, not None.",
    ),
    (
        {"web": {"BACKEND": "wsgirf"}},
        "prodserver.E005",
        "Process 'web': BACKEND 'wsgirf' is not a known backend alias. Did you mean 'wsgiref'? "
        "Known aliases: celery-beat, celery-flower, celery-worker, daphne, django-q2, "
        "django-tasks, granian-asgi, granian-wsgi, gunicorn, hypercorn, uvicorn, uvicorn-wsgi, "
        "waitress, wsgiref. A dotted path to a backend class, such as "
        "'myproject.backends.MyServer', also works.",
    ),
    (
        {"web": {"BACKEND": "wsgiref", "ARGS": 8000}},
        "prodserver.E006",
        "Process 'web': 'ARGS' must be a dict of options, a string or a list of strings, not int.",
    ),
    (
        {"web": {"BACKEND": "wsgiref", "ARG": {"port": 1}}},
        "prodserver.E007",
        "Process 'web': unknown key 'ARG' in its entry. Did you mean 'ARGS'? Backend 'wsgiref' "
        "reads: ARGS, BACKEND.",
    ),
    (
        {"web": {"BACKEND": "wsgiref", "ARGS": {"prot": 1}}},
        "prodserver.E008",
        "Process 'web': wsgiref rejected ARGS: unrecognized arguments: --prot=1.",
    ),
]


@pytest.mark.parametrize(("value", "check_id", "message"), BAD_SETTINGS)
def test_bad_setting_is_one_error_with_one_message(
    settings: SettingsWrapper, value: Any, check_id: str, message: str
) -> None:
    settings.PRODUCTION_PROCESSES = value
    with pytest.raises(ProdserverError) as excinfo:
        conf.prepare(conf.get_process("web" if isinstance(value, dict) and value else None))
    assert str(excinfo.value) == message
    assert excinfo.value.check_id == check_id
    assert check_production_processes() == [checks.Error(message, id=check_id)]


def test_setting_not_defined(settings: SettingsWrapper) -> None:
    del settings.PRODUCTION_PROCESSES
    with pytest.raises(ProdserverError) as excinfo:
        conf.get_process()
    assert str(excinfo.value) == (
        "PRODUCTION_PROCESSES is not set. Add it to your settings, such as "
        "PRODUCTION_PROCESSES = {'web': {'BACKEND': 'gunicorn'}}."
    )
    # An installed app that is not configured yet is not an error for `check`.
    assert check_production_processes() == []


def test_unknown_process_name_suggests_the_close_one(settings: SettingsWrapper) -> None:
    settings.PRODUCTION_PROCESSES = {"web": WSGIREF, "worker": WSGIREF}
    with pytest.raises(ProdserverError) as excinfo:
        conf.get_process("wbe")
    assert str(excinfo.value) == (
        "There is no process 'wbe' in PRODUCTION_PROCESSES. Did you mean 'web'? "
        "Configured processes: web, worker."
    )


def test_first_process_is_the_default(settings: SettingsWrapper) -> None:
    settings.PRODUCTION_PROCESSES = {"second": WSGIREF, "first": {"BACKEND": "gunicorn"}}
    assert conf.get_process().name == "second"


def test_valid_process_prepares_its_backend_and_args(settings: SettingsWrapper) -> None:
    settings.PRODUCTION_PROCESSES = {"web": WSGIREF}
    backend, args = conf.prepare(conf.get_process("web"))
    assert type(backend).__name__ == "WsgirefServer"
    assert (backend.alias, backend.process_name) == ("wsgiref", "web")
    assert args == ["--port=8000"]
    assert check_production_processes() == []


def test_checks_report_every_broken_process_not_just_the_first(
    settings: SettingsWrapper,
) -> None:
    settings.PRODUCTION_PROCESSES = {
        "a": {"BACKEND": "wsgiref", "ARG": {}},
        "ok": WSGIREF,
        "b": "wsgiref",
    }
    assert [message.id for message in check_production_processes()] == [
        "prodserver.E007",
        "prodserver.E003",
    ]


def test_missing_server_package_is_a_warning_not_an_error(
    settings: SettingsWrapper, monkeypatch: pytest.MonkeyPatch, tmp_path: Path
) -> None:
    # The worker's image need not have the web server installed, and vice versa.
    (tmp_path / "fake_backend_needing_lib.py").write_text("import fake_server_lib\n")
    monkeypatch.syspath_prepend(str(tmp_path))
    settings.PRODUCTION_PROCESSES = {"web": {"BACKEND": "fake_backend_needing_lib.Server"}}
    messages = check_production_processes()
    assert messages == [
        checks.Warning(
            "Process 'web': BACKEND 'fake_backend_needing_lib.Server' needs the module "
            "'fake_server_lib', which is not installed. Install the package that provides it.",
            id="prodserver.W001",
        )
    ]


def test_check_command_fails_on_a_bad_process(settings: SettingsWrapper) -> None:
    settings.PRODUCTION_PROCESSES = {"web": {"BACKEND": "wsgiref", "ARG": {}}}
    with pytest.raises(SystemCheckError, match=r"prodserver\.E007"):
        call_command("check")


def test_deploy_check_warns_when_debug_is_on(settings: SettingsWrapper) -> None:
    settings.PRODUCTION_PROCESSES = {"web": WSGIREF}
    settings.DEBUG = True
    [warning] = check_debug_in_production()
    assert warning.id == "prodserver.W002"
    assert warning.msg == (
        "DEBUG is True while PRODUCTION_PROCESSES is set: production processes would serve "
        "debug pages and keep every SQL query in memory."
    )
    settings.DEBUG = False
    assert check_debug_in_production() == []


@pytest.mark.parametrize("value", [True, None, "true", "1"])
def test_deploy_check_warns_about_development_options(
    settings: SettingsWrapper, value: object
) -> None:
    settings.PRODUCTION_PROCESSES = {
        "web": {"BACKEND": "tests.fake_backends.RecordingServer", "ARGS": {"reload": value}},
        "plain": {"BACKEND": "tests.fake_backends.RecordingServer", "ARGS": "--reload"},
        "broken": {"BACKEND": "nope"},
    }
    assert check_development_options() == [
        checks.Warning(
            "Process 'web': ARGS['reload'] is a development option: it costs resources and "
            "restarts the server whenever a file changes.",
            hint="Remove 'reload' from the ARGS that production uses.",
            id="prodserver.W003",
        )
    ]


@pytest.mark.parametrize("value", [False, "false", "off"])
def test_development_option_turned_off_is_fine(settings: SettingsWrapper, value: object) -> None:
    settings.PRODUCTION_PROCESSES = {
        "web": {"BACKEND": "tests.fake_backends.RecordingServer", "ARGS": {"reload": value}}
    }
    assert check_development_options() == []


def test_development_options_check_skips_a_broken_setting(settings: SettingsWrapper) -> None:
    settings.PRODUCTION_PROCESSES = "broken"
    assert check_development_options() == []
    del settings.PRODUCTION_PROCESSES
    assert check_development_options() == []
