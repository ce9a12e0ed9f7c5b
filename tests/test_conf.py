"""PRODUCTION_PROCESSES validation (conf.py): each bad setting is one error, which the system
check reports with the same message (tests/test_checks.py has the other checks)."""

from __future__ import annotations

from typing import Any

import pytest
from django.core import checks

from django_prodserver import conf
from django_prodserver.checks import check_production_processes
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
        "Known aliases: celery-beat, celery-flower, celery-worker, daphne, daphne-runserver, "
        "django-q2, django-tasks, granian-asgi, granian-wsgi, gunicorn, hypercorn, runserver, "
        "runserver-plus, uvicorn, uvicorn-wsgi, waitress, wsgiref. A dotted path to a backend "
        "class, such as "
        "'myproject.backends.MyServer', also works.",
    ),
    *(
        (
            # A base class would pass every check, then crash at the start with a traceback.
            {"web": {"BACKEND": f"django_prodserver.backends.base.{base}"}},
            "prodserver.E005",
            f"Process 'web': BACKEND 'django_prodserver.backends.base.{base}' does not "
            "implement start_server(): it is a base class, not a backend. Name a backend such "
            f"as {example}, or subclass it and implement start_server().",
        )
        for base, example in [
            ("BaseServerBackend", "'granian-wsgi'"),
            ("BaseWorkerBackend", "'celery-worker'"),
            ("BaseProcessBackend", "'granian-wsgi' or 'celery-worker'"),
        ]
    ),
    *(
        (
            # A base class whose subclasses set a class attribute: AttributeError at the start.
            {"web": {"BACKEND": f"django_prodserver.backends.{base}"}},
            "prodserver.E005",
            f"Process 'web': BACKEND 'django_prodserver.backends.{base}' does not set {unset}: "
            f"it is a base class, not a backend. Name a backend such as {example}, or subclass "
            f"it and set {them}.",
        )
        for base, unset, example, them in [
            (
                "celery.CeleryBackend",
                "subcommand, subcommand_parser",
                "'granian-wsgi' or 'celery-worker'",
                "them",
            ),
            (
                "_management_command.DjangoCommandBackend",
                "command_name",
                "'granian-wsgi' or 'celery-worker'",
                "it",
            ),
            ("_management_command.DjangoCommandWorker", "command_name", "'celery-worker'", "it"),
        ]
    ),
    *(
        (
            # The public command-line bases: their parse() and run() are abstract methods.
            {"web": {"BACKEND": f"django_prodserver.backends.command_line.{base}"}},
            "prodserver.E005",
            f"Process 'web': BACKEND 'django_prodserver.backends.command_line.{base}' does not "
            "implement parse(), run(): it is a base class, not a backend. Name a backend such as "
            "'granian-wsgi', or subclass it and implement them.",
        )
        for base in ("CommandLineBackend", "ASGICommandLineBackend")
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
        "reads: ARGS, BACKEND, HEALTHCHECK.",
    ),
    (
        {"web": {"BACKEND": "wsgiref", "ARGS": {"prot": 1}}},
        "prodserver.E008",
        "Process 'web': unknown wsgiref option 'prot' in ARGS. Did you mean 'port'?",
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


def test_every_registered_backend_is_a_backend_not_a_base_class(settings: SettingsWrapper) -> None:
    from django_prodserver import registry

    for spec in registry.discover().specs:
        settings.PRODUCTION_PROCESSES = {"web": {"BACKEND": spec.alias}}
        try:
            conf.load_backend(conf.get_process("web"))
        except ProdserverError as e:
            assert "base class" not in e.message, e.message
