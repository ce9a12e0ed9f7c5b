"""Bad configurations, each started for real: one line, exit status 1, nothing started.

Every row of ``ROWS`` is a configuration someone could write: the processes setting, more
settings, the command line, the one line the command must print, and the ``manage.py check`` id
that reports the same line when the fault is visible from settings alone. Each row runs the real
start command (not ``--dry-run``) in a subprocess: validation must stop it before anything
starts. The rows run concurrently, once per module, so the whole table stays well under a minute.

Placeholders: ``{port}`` a free loopback port (held by another socket for the port-in-use rows),
``{dir}`` the row's directory, ``{known}`` the installed backend aliases.
"""

from __future__ import annotations

import importlib.util
import json
import os
import re
import shutil
import signal
import socket
import subprocess
import sys
import tempfile
import time
from collections.abc import Iterator, Mapping
from concurrent.futures import ThreadPoolExecutor
from importlib import metadata
from pathlib import Path
from types import MappingProxyType
from typing import Any, NamedTuple

import pytest

from django_prodserver import registry
from django_prodserver.backends.django_tasks import INSTALLED_DB_WORKER_APPS
from django_prodserver.backends.uvicorn import IMPLEMENTATIONS

from .harness import PROJECT_DIR, free_port, manage_command, subprocess_env, write_settings

pytestmark = pytest.mark.integration


#: ``Row.dry_run`` for a fault that only a start meets: ``--dry-run`` finds nothing wrong.
DRY_RUN_PASSES = "dry-run passes"
#: ``Row.dry_run``: ``--dry-run`` gives the row's message, as the start does.
SAME = "same"
NO_ENV: Mapping[str, str] = MappingProxyType({})


class Row(NamedTuple):
    id: str
    processes: Any
    extra: str
    args: list[str]
    message: str
    check_id: str | None
    #: Environment variables of the command ({port} and {dir} placed).
    env: Mapping[str, str] = NO_ENV
    #: What ``--dry-run`` answers: SAME or DRY_RUN_PASSES.
    dry_run: str = SAME


GUNI = {"bind": "127.0.0.1:{port}"}
UVI = {"host": "127.0.0.1", "port": "{port}"}
WAIT = {"port": "{port}"}
GRAN = {"port": "{port}"}
CELERY = "CELERY_BROKER_URL = 'memory://'\n"
# django-tasks-db on Python 3.10+; on 3.9, django-tasks < 0.9 and its own database app.
DB_WORKER_APP = INSTALLED_DB_WORKER_APPS[0]
TASKS = (
    f"INSTALLED_APPS = [*INSTALLED_APPS, 'django_tasks', {DB_WORKER_APP!r}]\n"
    f"TASKS = {{'default': {{'BACKEND': '{DB_WORKER_APP}.DatabaseBackend'}}}}\n"
)
Q2 = (
    "INSTALLED_APPS = [*INSTALLED_APPS, 'django_q']\n"
    "Q_CLUSTER = {'name': 'bad-inputs', 'orm': 'default', 'timeout': 30, 'retry': 60}\n"
)
CW = {"BACKEND": "celery-worker", "APP": "testsite.celery_app.app"}
BROKEN_WSGI = "WSGI_APPLICATION = 'broken_app.application'\n"
BROKEN_ASGI = "ASGI_APPLICATION = 'broken_app.application'\n"
WEB = "Process 'web': "
HYP = {"bind": "127.0.0.1:{port}"}
DAPH = {"bind": "127.0.0.1", "port": "{port}"}
FL = {"address": "127.0.0.1", "port": "{port}"}
NOT_CALLABLE_WSGI = "WSGI_APPLICATION = 'not_callable_app.application'\n"
NOT_CALLABLE_ASGI = "ASGI_APPLICATION = 'not_callable_app.application'\n"
CERT_MISMATCH = (
    "the certificate '{dir}/cert.pem' and key '{dir}/other-key.pem' cannot be loaded: "
    "[X509: KEY_VALUES_MISMATCH] key values mismatch"
)
NUL_IN = (
    "the argument {!r} built from ARGS holds a NUL byte, which no command line can carry; "
    "remove it from ARGS."
)
WEB_CONCURRENCY_REJECTED = WEB + (
    "the environment variable WEB_CONCURRENCY is {!r}; it must be a number of worker processes, 1 "
    "or more, such as WEB_CONCURRENCY=4. Correct or unset WEB_CONCURRENCY, or set 'workers' in "
    "ARGS."
)
GLUED_SECRET = (
    "the argument '--ssl-keyfile-password ***' in ARGS contains a space, but each item of ARGS is "
    "passed as one argument. Write it as separate items, ['--ssl-keyfile-password', '***'], or as "
    "a dict."
)
CANNOT_RESOLVE = (
    "Process 'web': cannot listen on no-such-host.invalid:{port}: the host 'no-such-host.invalid' "
    "cannot be resolved (Name or service not known). Use an IP address, or a name this machine "
    "resolves."
)
GRANIAN_VERSION = metadata.version("granian")
# Granian 2.3 added static files; the oldest Granian accepted (1.7.6) says so instead.
GRANIAN_SERVES_STATIC_FILES = tuple(int(p) for p in GRANIAN_VERSION.split(".")[:2]) >= (2, 3)
IMPORT_FAILED = (
    "Process 'web': the application 'broken_app:application' failed to import: "
    "RuntimeError: boom at import"
)
PORT_IN_USE = (
    "Process 'web': cannot listen on 127.0.0.1:{port}: Address already in use. "
    "Is another server using it?"
)
NOT_A_BACKEND = (
    "A backend must be a subclass of django_prodserver.backends.base.BaseServerBackend or "
    "BaseWorkerBackend."
)


def web(backend: Any, args: Any = None, **keys: Any) -> dict[str, Any]:
    entry = {"BACKEND": backend, **({"ARGS": args} if args is not None else {}), **keys}
    return {"web": entry}


def not_callable(setting: str) -> str:
    """What every server says of an application that is 42, from ``{setting}_APPLICATION``."""
    return WEB + (
        f"the application 'not_callable_app:application' cannot be served: it is 42, of type "
        f"int, not an application. Set {setting}_APPLICATION to your project's {setting} "
        f"application, such as 'mysite.{setting.lower()}.application'."
    )


def unresolvable_host(row_id: str, processes: Any) -> Row:
    """The host does not resolve: found by the address pre-flight, at start only."""
    return Row(row_id, processes, "", start(), CANNOT_RESOLVE, None, dry_run=DRY_RUN_PASSES)


def flower(args: Any) -> dict[str, Any]:
    return web("celery-flower", args, APP="testsite.celery_app.app")


def start(name: str = "web") -> list[str]:
    return ["prodserver", name]


ROWS = [
    # The setting's shape.
    Row(
        "alias-typo",
        web("gunicron", GUNI),
        "",
        start(),
        WEB + "BACKEND 'gunicron' is not a known backend alias. Did you mean 'gunicorn' or "
        "'uvicorn'? Known aliases: {known}. A dotted path to a backend class, such as "
        "'myproject.backends.MyServer', also works.",
        "prodserver.E005",
    ),
    Row(
        "entry-key-ARG",
        {"web": {"BACKEND": "gunicorn", "ARG": GUNI}},
        "",
        start(),
        WEB + "unknown key 'ARG' in its entry. Did you mean 'ARGS'? Backend 'gunicorn' reads: "
        "ARGS, BACKEND, HEALTHCHECK.",
        "prodserver.E007",
    ),
    Row(
        "entry-key-BACKNED",
        {"web": {"BACKNED": "gunicorn", "ARGS": GUNI}},
        "",
        start(),
        WEB + "its entry has no 'BACKEND' key. It has 'BACKNED': did you mean 'BACKEND'? Set "
        "'BACKEND' to a backend alias such as 'gunicorn', or a dotted path to a backend class.",
        "prodserver.E004",
    ),
    Row(
        "entry-key-of-another-backend",
        web("granian-wsgi", GRAN, APP="proj.celery.app"),
        "",
        start(),
        WEB + "unknown key 'APP' in its entry. Backend 'granian-wsgi' reads: ARGS, BACKEND, "
        "HEALTHCHECK, PRELOAD, STATIC.",
        "prodserver.E007",
    ),
    Row(
        "setting-a-list",
        ["web"],
        "",
        start(),
        "PRODUCTION_PROCESSES must be a dict of process names to settings, not list.",
        "prodserver.E001",
    ),
    Row(
        "setting-empty",
        {},
        "",
        start(),
        "PRODUCTION_PROCESSES is empty. Add a process, such as {'web': {'BACKEND': 'gunicorn'}}.",
        "prodserver.E002",
    ),
    Row(
        "setting-none",
        None,
        "",
        start(),
        "PRODUCTION_PROCESSES is not set. Add it to your settings, such as "
        "PRODUCTION_PROCESSES = {'web': {'BACKEND': 'gunicorn'}}.",
        "prodserver.E002",
    ),
    Row(
        "process-name-not-a-string",
        {1: {"BACKEND": "gunicorn"}},
        "",
        ["prodserver"],
        "PRODUCTION_PROCESSES has the key 1; process names must be non-empty strings.",
        "prodserver.E001",
    ),
    Row(
        "entry-a-string",
        {"web": "gunicorn"},
        "",
        start(),
        WEB + "its entry in PRODUCTION_PROCESSES must be a dict with a 'BACKEND' key, not str.",
        "prodserver.E003",
    ),
    Row(
        "backend-empty",
        web(""),
        "",
        start(),
        WEB + "'BACKEND' must be a backend alias or a dotted path, not ''.",
        "prodserver.E004",
    ),
    Row(
        "backend-a-number",
        web(8000),
        "",
        start(),
        WEB + "'BACKEND' must be a backend alias or a dotted path, not 8000.",
        "prodserver.E004",
    ),
    Row(
        "args-a-number",
        web("gunicorn", 8000),
        "",
        start(),
        WEB + "'ARGS' must be a dict of options, a string or a list of strings, not int.",
        "prodserver.E006",
    ),
    Row(
        "args-list-holding-a-number",
        web("gunicorn", ["--workers", 2]),
        "",
        start(),
        WEB + "ARGS given as a list must hold only strings; 2 is int. Use a dict to give typed "
        "values.",
        "prodserver.E006",
    ),
    Row(
        "args-value-a-dict",
        web("gunicorn", {**GUNI, "workers": {"n": 2}}),
        "",
        start(),
        WEB + "ARGS['workers'] is {'n': 2} (dict); a value must be a string, a number, a path, "
        "True, False, None or a list of those.",
        "prodserver.E008",
    ),
    # Unknown options, per backend.
    Row(
        "granian-unknown-option",
        web("granian-wsgi", {**GRAN, "wrokers": 2}),
        "",
        start(),
        WEB + "ARGS['wrokers'] is not an option of Granian {granian}. Did you mean 'workers'?",
        "prodserver.E008",
    ),
    Row(
        "gunicorn-unknown-option",
        web("gunicorn", {"bnd": "127.0.0.1:{port}"}),
        "",
        start(),
        WEB + "unknown gunicorn option 'bnd' in ARGS. Did you mean 'bind'?",
        "prodserver.E008",
    ),
    Row(
        "uvicorn-unknown-option",
        web("uvicorn", {"prot": "{port}"}),
        "",
        start(),
        WEB + "unknown uvicorn option 'prot' in ARGS. Did you mean 'port'?",
        "prodserver.E008",
    ),
    Row(
        "uvicorn-wsgi-unknown-option",
        web("uvicorn-wsgi", {**UVI, "worker": 2}),
        "",
        start(),
        WEB + "unknown uvicorn option 'worker' in ARGS. Did you mean 'workers'?",
        "prodserver.E008",
    ),
    Row(
        "waitress-unknown-option",
        web("waitress", {**WAIT, "thread": 4}),
        "",
        start(),
        WEB + "unknown waitress option 'thread' in ARGS. Did you mean 'threads'?",
        "prodserver.E008",
    ),
    Row(
        "celery-unknown-option",
        {"worker": {**CW, "ARGS": {"concurency": 2}}},
        CELERY,
        start("worker"),
        "Process 'worker': unknown celery worker option 'concurency' in ARGS. Did you mean "
        "'concurrency'?",
        "prodserver.E008",
    ),
    Row(
        "django-tasks-unknown-option",
        {"tasks": {"BACKEND": "django-tasks", "ARGS": {"intervall": 1}}},
        TASKS,
        start("tasks"),
        "Process 'tasks': unknown db_worker option 'intervall' in ARGS. Did you mean 'interval'?",
        "prodserver.E008",
    ),
    Row(
        "django-q2-unknown-option",
        {"q2": {"BACKEND": "django-q2", "ARGS": {"run_onse": True}}},
        Q2,
        start("q2"),
        "Process 'q2': unknown qcluster option 'run_onse' in ARGS. Did you mean 'run_once'?",
        "prodserver.E008",
    ),
    # Values of the wrong type.
    Row(
        "granian-workers-not-a-number",
        web("granian-wsgi", {**GRAN, "workers": "four"}),
        "",
        start(),
        WEB + "ARGS['workers'] is 'four', which Granian {granian} rejects: 'four' is not a "
        "valid integer range.",
        "prodserver.E008",
    ),
    Row(
        "gunicorn-workers-not-a-number",
        web("gunicorn", {**GUNI, "workers": "four"}),
        "",
        start(),
        WEB + "invalid value 'four' for gunicorn option 'workers' in ARGS: invalid int value: "
        "'four'.",
        "prodserver.E008",
    ),
    Row(
        "uvicorn-port-not-a-number",
        web("uvicorn", {"port": "http"}),
        "",
        start(),
        WEB + "invalid value 'http' for uvicorn option 'port' in ARGS: 'http' is not a valid "
        "integer.",
        "prodserver.E008",
    ),
    Row(
        "waitress-threads-not-a-number",
        web("waitress", {**WAIT, "threads": "many"}),
        "",
        start(),
        WEB + "invalid value 'many' for waitress option 'threads' in ARGS: invalid literal for "
        "int() with base 10: 'many'.",
        "prodserver.E008",
    ),
    Row(
        "celery-prefetch-multiplier-not-a-number",
        {"worker": {**CW, "ARGS": {"prefetch_multiplier": "two"}}},
        CELERY,
        start("worker"),
        "Process 'worker': invalid value 'two' for celery worker option 'prefetch_multiplier' in "
        "ARGS: 'two' is not a valid integer.",
        "prodserver.E008",
    ),
    Row(
        "django-tasks-interval-not-a-number",
        {"tasks": {"BACKEND": "django-tasks", "ARGS": {"interval": "soon"}}},
        TASKS,
        start("tasks"),
        "Process 'tasks': invalid value 'soon' for db_worker option 'interval' in ARGS: invalid "
        "valid_interval value: 'soon'.",
        "prodserver.E008",
    ),
    Row(
        "gunicorn-list-for-a-single-value",
        web("gunicorn", {**GUNI, "workers": [2, 4]}),
        "",
        start(),
        WEB + "invalid value [2, 4] for gunicorn option 'workers' in ARGS: it takes one value, "
        "and repeating it would keep only the last.",
        "prodserver.E008",
    ),
    # Out of range.
    Row(
        "granian-port-70000",
        web("granian-wsgi", {"port": 70000}),
        "",
        start(),
        WEB + "ARGS['port'] is 70000, which is out of range: a port is a number from 0 to "
        "65535, not 70000.",
        "prodserver.E008",
    ),
    Row(
        "gunicorn-port-70000",
        web("gunicorn", {"bind": "127.0.0.1:70000"}),
        "",
        start(),
        WEB + "invalid value '127.0.0.1:70000' for gunicorn option 'bind' in ARGS: "
        "'127.0.0.1:70000': a port is a number from 0 to 65535, not 70000.",
        "prodserver.E008",
    ),
    Row(
        "uvicorn-port-70000",
        web("uvicorn", {"port": 70000}),
        "",
        start(),
        WEB + "invalid value 70000 for uvicorn option 'port' in ARGS: a port is a number from 0 "
        "to 65535, not 70000.",
        "prodserver.E008",
    ),
    Row(
        "waitress-port-70000",
        web("waitress", {"port": 70000}),
        "",
        start(),
        WEB + "invalid value 70000 for waitress option 'port' in ARGS: a port is a number from "
        "0 to 65535, not 70000.",
        "prodserver.E008",
    ),
    Row(
        "gunicorn-port-not-a-number",
        web("gunicorn", {"bind": "127.0.0.1:abc"}),
        "",
        start(),
        WEB + "invalid value '127.0.0.1:abc' for gunicorn option 'bind' in ARGS: 'abc' is not a "
        "valid port number.",
        "prodserver.E008",
    ),
    Row(
        "granian-workers-0",
        web("granian-wsgi", {**GRAN, "workers": 0}),
        "",
        start(),
        WEB + "ARGS['workers'] is 0, which Granian {granian} rejects: 0 is not in the range x>=1.",
        "prodserver.E008",
    ),
    Row(
        "gunicorn-workers-0",
        web("gunicorn", {**GUNI, "workers": 0}),
        "",
        start(),
        WEB + "invalid value 0 for gunicorn option 'workers' in ARGS: at least 1 worker is needed.",
        "prodserver.E008",
    ),
    Row(
        "uvicorn-workers-0",
        web("uvicorn", {**UVI, "workers": 0}),
        "",
        start(),
        WEB + "invalid value 0 for uvicorn option 'workers' in ARGS: at least 1 worker is needed.",
        "prodserver.E008",
    ),
    Row(
        "waitress-threads-0",
        web("waitress", {**WAIT, "threads": 0}),
        "",
        start(),
        WEB + "invalid value 0 for waitress option 'threads' in ARGS: at least 1 thread is needed.",
        "prodserver.E008",
    ),
    # Choices that do not exist.
    Row(
        "granian-http-3",
        web("granian-wsgi", {**GRAN, "http": "3"}),
        "",
        start(),
        WEB + "ARGS['http'] is '3', which Granian {granian} rejects: '3' is not one of 'auto', "
        "'1', '2'.",
        "prodserver.E008",
    ),
    Row(
        "uvicorn-loop-unknown",
        web("uvicorn", {**UVI, "loop": "fast"}),
        "",
        start(),
        WEB + "invalid value 'fast' for uvicorn option 'loop' in ARGS: Import string \"fast\" "
        'must be in format "<module>:<attribute>". (uvicorn takes {loops}, or a '
        "'module:attribute').",
        "prodserver.E008",
    ),
    Row(
        "gunicorn-worker-class-unknown",
        web("gunicorn", {**GUNI, "worker_class": "turbo"}),
        "",
        start(),
        WEB + "invalid value 'turbo' for gunicorn option 'worker_class' in ARGS: class uri "
        "'turbo' invalid or not found.",
        "prodserver.E008",
    ),
    Row(
        "granian-wsgi-interface-asgi",
        web("granian-wsgi", {**GRAN, "interface": "asgi"}),
        "",
        start(),
        WEB + "ARGS['interface'] is 'asgi', but BACKEND 'granian-wsgi' serves 'wsgi'. Remove "
        "ARGS['interface'], or use BACKEND 'granian-asgi'.",
        "prodserver.E008",
    ),
    # Contradictory options, and options the server would ignore.
    Row(
        "granian-certificate-without-key",
        web("granian-wsgi", {**GRAN, "ssl-certificate": "{dir}/cert.pem"}),
        "",
        start(),
        WEB + "HTTPS needs both 'ssl-certificate' and 'ssl-keyfile'; set 'ssl-keyfile'.",
        "prodserver.E008",
    ),
    Row(
        "waitress-host-and-listen",
        web("waitress", {"host": "127.0.0.1", "listen": "127.0.0.1:{port}"}),
        "",
        start(),
        WEB + "waitress rejects ARGS: host or port may not be set if listen is set.",
        "prodserver.E008",
    ),
    Row(
        "waitress-unix-socket-and-port",
        web("waitress", {"port": "{port}", "unix_socket": "{dir}/w.sock"}),
        "",
        start(),
        WEB + "invalid value '{port}' for waitress option 'port' in ARGS: waitress ignores it "
        "when 'unix_socket' is set.",
        "prodserver.E008",
    ),
    Row(
        "uvicorn-uds-and-host",
        web("uvicorn", {"host": "0.0.0.0", "uds": "{dir}/u.sock"}),
        "",
        start(),
        WEB + "invalid value '0.0.0.0' for uvicorn option 'host' in ARGS: uvicorn ignores it "
        "when 'uds' is set; remove one of them.",
        "prodserver.E008",
    ),
    Row(
        "uvicorn-reload-option-without-reload",
        web("uvicorn", {**UVI, "reload_delay": 1}),
        "",
        start(),
        WEB + "invalid value 1 for uvicorn option 'reload_delay' in ARGS: uvicorn ignores it "
        "unless 'reload' is set.",
        "prodserver.E008",
    ),
    Row(
        "uvicorn-reload-and-workers",
        web("uvicorn", {**UVI, "reload": True, "workers": 2}),
        "",
        start(),
        WEB + "invalid value 2 for uvicorn option 'workers' in ARGS: uvicorn runs one process "
        "when 'reload' is set; remove one of them.",
        "prodserver.E008",
    ),
    Row(
        "gunicorn-reload-engine-without-reload",
        web("gunicorn", {**GUNI, "reload_engine": "poll"}),
        "",
        start(),
        WEB + "invalid value 'poll' for gunicorn option 'reload_engine' in ARGS: gunicorn "
        "ignores it unless 'reload' is set.",
        "prodserver.E008",
    ),
    Row(
        "celery-detach",
        {"worker": {**CW, "ARGS": {"detach": True}}},
        CELERY,
        start("worker"),
        "Process 'worker': celery worker option 'detach' cannot be set in ARGS: prodserver runs "
        "celery worker in the foreground, where a process manager can supervise it and stop it.",
        "prodserver.E008",
    ),
    # TLS files.
    Row(
        "gunicorn-ssl-files-missing",
        web("gunicorn", {**GUNI, "certfile": "{dir}/no-cert.pem", "keyfile": "{dir}/no-key.pem"}),
        "",
        start(),
        WEB + "invalid value '{dir}/no-key.pem' for gunicorn option 'keyfile' in ARGS: the "
        "certificate '{dir}/no-cert.pem' and key '{dir}/no-key.pem' cannot be loaded: No such "
        "file or directory.",
        "prodserver.E008",
    ),
    Row(
        "uvicorn-ssl-files-missing",
        web("uvicorn", {**UVI, "ssl_certfile": "{dir}/no-cert.pem", "ssl_keyfile": "{dir}/no-key"}),
        "",
        start(),
        WEB + "invalid value '{dir}/no-key' for uvicorn option 'ssl_keyfile' in ARGS: the "
        "certificate '{dir}/no-cert.pem' and key '{dir}/no-key' cannot be loaded: No such file "
        "or directory.",
        "prodserver.E008",
    ),
    Row(
        "granian-ssl-files-missing",
        web("granian-wsgi", {**GRAN, "ssl-certificate": "{dir}/no.pem", "ssl-keyfile": "{dir}/k"}),
        "",
        start(),
        WEB + "ARGS['ssl-certificate'] is '{dir}/no.pem', which Granian {granian} rejects: File "
        "'{dir}/no.pem' does not exist.",
        "prodserver.E008",
    ),
    Row(
        "uvicorn-ssl-key-unreadable",
        web("uvicorn", {**UVI, "ssl_certfile": "{dir}/cert.pem", "ssl_keyfile": "{dir}"}),
        "",
        start(),
        WEB + "invalid value '{dir}' for uvicorn option 'ssl_keyfile' in ARGS: the certificate "
        "'{dir}/cert.pem' and key '{dir}' cannot be loaded: Is a directory.",
        "prodserver.E008",
    ),
    Row(
        "gunicorn-ssl-key-unreadable",
        web("gunicorn", {**GUNI, "certfile": "{dir}/cert.pem", "keyfile": "{dir}"}),
        "",
        start(),
        WEB + "invalid value '{dir}' for gunicorn option 'keyfile' in ARGS: the certificate "
        "'{dir}/cert.pem' and key '{dir}' cannot be loaded: Is a directory.",
        "prodserver.E008",
    ),
    Row(
        "gunicorn-keyfile-without-certfile",
        web("gunicorn", {**GUNI, "keyfile": "{dir}/cert.pem"}),
        "",
        start(),
        WEB + "invalid value '{dir}/cert.pem' for gunicorn option 'keyfile' in ARGS: HTTPS needs "
        "'certfile' too; set it, or remove 'keyfile'.",
        "prodserver.E008",
    ),
    Row(
        "uvicorn-tls-option-without-certificate",
        web("uvicorn", {**UVI, "ssl_keyfile_password": "hunter2"}),
        "",
        start(),
        WEB + "invalid value '***' for uvicorn option 'ssl_keyfile_password' in ARGS: uvicorn "
        "ignores it unless 'ssl_certfile' is set.",
        "prodserver.E008",
    ),
    Row(
        "granian-secret-list-masked",
        web("granian-wsgi", {**GRAN, "ssl-keyfile-password": ["hunter2", "swordfish"]}),
        "",
        start(),
        WEB + "ARGS['ssl-keyfile-password'] is '***'; this option takes one value, not a list.",
        "prodserver.E008",
    ),
    # The application.
    Row(
        "wsgi-application-module-missing",
        web("gunicorn", GUNI),
        "WSGI_APPLICATION = 'nope.wsgi.application'\n",
        start(),
        WEB + "WSGI_APPLICATION = 'nope.wsgi.application', but there is no module 'nope.wsgi'. "
        "Set it to your project's application, such as 'mysite.wsgi.application'.",
        "prodserver.E009",
    ),
    Row(
        "wsgi-application-not-dotted",
        web("waitress", WAIT),
        "WSGI_APPLICATION = 'application'\n",
        start(),
        WEB + "WSGI_APPLICATION = 'application' is not a dotted path such as "
        "'mysite.wsgi.application'.",
        "prodserver.E009",
    ),
    Row(
        "asgi-application-module-missing",
        web("uvicorn", UVI),
        "ASGI_APPLICATION = 'nope.asgi.application'\n",
        start(),
        WEB + "ASGI_APPLICATION = 'nope.asgi.application', but there is no module 'nope.asgi'. "
        "Set it to your project's application, such as 'mysite.wsgi.application'.",
        "prodserver.E009",
    ),
    Row(
        "asgi-application-not-beside-wsgi",
        web("granian-asgi", GRAN),
        "WSGI_APPLICATION = 'nowhere.application'\n",
        start(),
        WEB + "No ASGI application: ASGI_APPLICATION is not set and there is no module 'asgi' "
        "beside WSGI_APPLICATION. Set ASGI_APPLICATION, such as 'mysite.asgi.application'.",
        "prodserver.E009",
    ),
    Row(
        "gunicorn-application-raises",
        web("gunicorn", GUNI),
        BROKEN_WSGI,
        start(),
        IMPORT_FAILED,
        None,
    ),
    Row(
        "uvicorn-application-raises",
        web("uvicorn", UVI),
        BROKEN_ASGI,
        start(),
        IMPORT_FAILED,
        None,
    ),
    Row(
        "uvicorn-wsgi-application-raises",
        web("uvicorn-wsgi", UVI),
        BROKEN_WSGI,
        start(),
        IMPORT_FAILED,
        None,
    ),
    Row(
        "waitress-application-raises",
        web("waitress", WAIT),
        BROKEN_WSGI,
        start(),
        IMPORT_FAILED,
        None,
    ),
    Row(
        "granian-wsgi-application-raises",
        web("granian-wsgi", GRAN),
        BROKEN_WSGI,
        start(),
        IMPORT_FAILED,
        None,
    ),
    Row(
        "granian-asgi-no-preload-application-raises",
        web("granian-asgi", GRAN, PRELOAD=False),
        BROKEN_ASGI,
        start(),
        IMPORT_FAILED,
        None,
    ),
    Row(
        "urlconf-view-module-raises",
        web("gunicorn", GUNI),
        "ROOT_URLCONF = 'broken_urls'\n",
        start(),
        "System checks could not run: RuntimeError: boom in urls",
        None,
        dry_run=DRY_RUN_PASSES,
    ),
    # Plugins.
    Row(
        "plugin-dependency-missing",
        web("missing_dep_plugin.Server"),
        "",
        start(),
        WEB + "BACKEND 'missing_dep_plugin.Server' needs the module 'not_installed_pkg', which "
        "is not installed. Install the package that provides it.",
        "prodserver.W001",
    ),
    Row(
        "plugin-raises-on-import",
        web("raising_plugin.Server"),
        "",
        start(),
        WEB + "BACKEND 'raising_plugin.Server' failed to import: RuntimeError: plugin is broken",
        "prodserver.E005",
    ),
    Row(
        "plugin-not-a-class",
        web("os.path.join"),
        "",
        start(),
        WEB
        + "BACKEND 'os.path.join' is not a backend class: it is a function object. "
        + NOT_A_BACKEND,
        "prodserver.E005",
    ),
    Row(
        "plugin-class-not-a-backend",
        web("collections.OrderedDict"),
        "",
        start(),
        WEB + "BACKEND 'collections.OrderedDict' is not a backend class: it is the class "
        "collections.OrderedDict. " + NOT_A_BACKEND,
        "prodserver.E005",
    ),
    Row(
        "plugin-module-missing",
        web("nonexistent_package.Server"),
        "",
        start(),
        WEB + "BACKEND 'nonexistent_package.Server' cannot be imported: there is no module named "
        "'nonexistent_package'. Check the spelling, or use a backend alias (manage.py "
        "prodserver --list-backends).",
        "prodserver.E005",
    ),
    # The port already in use (another socket listens on {port} during the row).
    Row(
        "gunicorn-port-in-use",
        web("gunicorn", GUNI),
        "",
        start(),
        PORT_IN_USE,
        None,
        dry_run=DRY_RUN_PASSES,
    ),
    Row(
        "uvicorn-port-in-use",
        web("uvicorn", UVI),
        "",
        start(),
        PORT_IN_USE,
        None,
        dry_run=DRY_RUN_PASSES,
    ),
    Row(
        "uvicorn-wsgi-port-in-use",
        web("uvicorn-wsgi", UVI),
        "",
        start(),
        PORT_IN_USE,
        None,
        dry_run=DRY_RUN_PASSES,
    ),
    Row(
        "waitress-port-in-use",
        web("waitress", WAIT),
        "",
        start(),
        PORT_IN_USE,
        None,
        dry_run=DRY_RUN_PASSES,
    ),
    Row(
        "granian-wsgi-port-in-use",
        web("granian-wsgi", GRAN),
        "",
        start(),
        PORT_IN_USE,
        None,
        dry_run=DRY_RUN_PASSES,
    ),
    Row(
        "granian-asgi-port-in-use",
        web("granian-asgi", GRAN),
        "",
        start(),
        PORT_IN_USE,
        None,
        dry_run=DRY_RUN_PASSES,
    ),
    # The command line.
    Row(
        "unknown-process-name",
        web("gunicorn", GUNI),
        "",
        start("wbe"),
        "There is no process 'wbe' in PRODUCTION_PROCESSES. Did you mean 'web'? Configured "
        "processes: web.",
        None,
    ),
    Row(
        "set-malformed",
        web("gunicorn", GUNI),
        "",
        [*start(), "--set", "workers"],
        WEB + "--set 'workers' is not OPTION=VALUE, such as --set workers=8.",
        None,
    ),
    Row(
        "set-on-string-args",
        web("gunicorn", "--bind=127.0.0.1:{port}"),
        "",
        [*start(), "--set", "workers=3"],
        WEB + "--set needs ARGS to be a dict, but it is a str. Write ARGS as a dict of options to "
        "override them.",
        None,
    ),
    Row(
        "set-out-of-range",
        web("gunicorn", GUNI),
        "",
        [*start(), "--set", "workers=0"],
        WEB + "invalid value '0' for gunicorn option 'workers' in ARGS: at least 1 worker is "
        "needed.",
        None,
    ),
    Row(
        "worker-started-as-server",
        {"worker": {**CW, "ARGS": {}}},
        CELERY,
        ["server", "worker"],
        "Process 'worker' runs a worker (backend 'celery-worker'), not a server: start it with "
        "'manage.py worker worker' or 'manage.py prodserver worker'.",
        None,
    ),
    Row(
        "gunicorn-args-names-an-application",
        web("gunicorn", ["--bind=127.0.0.1:{port}", "myapp:app"]),
        "",
        start(),
        WEB + "unexpected argument 'myapp:app' in ARGS: ARGS holds options only; the application "
        "comes from the WSGI_APPLICATION setting.",
        "prodserver.E008",
    ),
    Row(
        "uvicorn-args-help",
        web("uvicorn", {**UVI, "help": True}),
        "",
        start(),
        WEB + "uvicorn option 'help' cannot be set in ARGS: it makes uvicorn print and exit "
        "instead of serving.",
        "prodserver.E008",
    ),
    # Workers' own settings.
    Row(
        "celery-without-app",
        {"worker": {"BACKEND": "celery-worker"}},
        CELERY,
        start("worker"),
        "Process 'worker': backend 'celery-worker' needs 'APP', the dotted path to your Celery "
        "application, such as 'proj.celery.app'.",
        "prodserver.E008",
    ),
    Row(
        "celery-app-module-missing",
        {"worker": {"BACKEND": "celery-worker", "APP": "nope.celery.app"}},
        CELERY,
        start("worker"),
        "Process 'worker': APP 'nope.celery.app': there is no module named 'nope'.",
        "prodserver.E008",
    ),
    Row(
        "django-tasks-app-not-installed",
        {"tasks": {"BACKEND": "django-tasks"}},
        "",
        start("tasks"),
        f"Process 'tasks': backend 'django-tasks' runs the db_worker command of "
        f"{DB_WORKER_APP!r}, which is not in INSTALLED_APPS: add {DB_WORKER_APP!r} to "
        f"INSTALLED_APPS.",
        "prodserver.E008",
    ),
    Row(
        "django-q2-app-not-installed",
        {"q2": {"BACKEND": "django-q2"}},
        "",
        start("q2"),
        "Process 'q2': backend 'django-q2' runs django-q2's qcluster command: add 'django_q' to "
        "INSTALLED_APPS.",
        "prodserver.E008",
    ),
    Row(
        "granian-preload-not-a-bool",
        web("granian-wsgi", GRAN, PRELOAD="yes"),
        "",
        start(),
        WEB + "PRELOAD must be True or False, not 'yes'.",
        "prodserver.E008",
    ),
    Row(
        "granian-static-without-static-root",
        web("granian-wsgi", GRAN, STATIC=True),
        "",
        start(),
        WEB
        + (
            "STATIC serves the files 'manage.py collectstatic' gathers in STATIC_ROOT, but "
            "STATIC_ROOT is not set. Set it, such as BASE_DIR / 'staticfiles', and run "
            "collectstatic."
            if GRANIAN_SERVES_STATIC_FILES
            else f"STATIC needs Granian 2.3 or later; {GRANIAN_VERSION} is installed. Upgrade "
            "Granian, or serve static files with WhiteNoise or a proxy."
        ),
        "prodserver.E008",
    ),
]


# Every backend, each kind of hostile value (issue 14): wrong types, out of range, NUL bytes, huge
# numbers, a busy port, a bad host, a socket in a missing directory, a broken certificate pair,
# missing files, bad environment variables, an application that is not callable.
ROWS += [
    # Hypercorn.
    Row(
        "hypercorn-unknown-option",
        web("hypercorn", {**HYP, "wrokers": 2}),
        "",
        start(),
        WEB + "unknown hypercorn option 'wrokers' in ARGS. Did you mean 'workers'?",
        "prodserver.E008",
    ),
    Row(
        "hypercorn-workers-not-a-number",
        web("hypercorn", {**HYP, "workers": "four"}),
        "",
        start(),
        WEB + "invalid value 'four' for hypercorn option 'workers' in ARGS: invalid int value: "
        "'four'.",
        "prodserver.E008",
    ),
    Row(
        "hypercorn-secret-with-a-space-masked",
        web("hypercorn", ["--ssl-keyfile-password s3cret"]),
        "",
        start(),
        WEB + GLUED_SECRET,
        "prodserver.E008",
    ),
    Row(
        "hypercorn-nul-in-bind",
        web("hypercorn", {"bind": "127.0.0.1\0:{port}"}),
        "",
        start(),
        WEB + NUL_IN.format("--bind=127.0.0.1\x00:{port}"),
        "prodserver.E008",
    ),
    Row(
        "hypercorn-workers-negative",
        web("hypercorn", {**HYP, "workers": -1}),
        "",
        start(),
        WEB + "invalid value -1 for hypercorn option 'workers' in ARGS: it must be 0 (serve in "
        "this process) or more; Hypercorn starts no worker for a negative count and waits"
        " forever.",
        "prodserver.E008",
    ),
    Row(
        "hypercorn-port-70000",
        web("hypercorn", {"bind": "127.0.0.1:70000"}),
        "",
        start(),
        WEB + "invalid value '127.0.0.1:70000' for hypercorn option 'bind' in ARGS: a port is a"
        " number from 0 to 65535, not 70000.",
        "prodserver.E008",
    ),
    Row(
        "hypercorn-port-in-use",
        web("hypercorn", HYP),
        "",
        start(),
        PORT_IN_USE,
        None,
        dry_run=DRY_RUN_PASSES,
    ),
    Row(
        "hypercorn-bad-host",
        web("hypercorn", {"bind": "no-such-host.invalid:{port}"}),
        "",
        start(),
        CANNOT_RESOLVE,
        None,
        dry_run=DRY_RUN_PASSES,
    ),
    Row(
        "hypercorn-socket-in-missing-directory",
        web("hypercorn", {"bind": "unix:{dir}/missing/h.sock"}),
        "",
        start(),
        WEB + "cannot listen on the Unix socket '{dir}/missing/h.sock': the directory "
        "'{dir}/missing' does not exist. Create it, or choose a path in an existing "
        "directory.",
        None,
        dry_run=DRY_RUN_PASSES,
    ),
    Row(
        "hypercorn-certificate-key-mismatch",
        web("hypercorn", {**HYP, "certfile": "{dir}/cert.pem", "keyfile": "{dir}/other-key.pem"}),
        "",
        start(),
        WEB + "invalid value '{dir}/other-key.pem' for hypercorn option 'keyfile' in ARGS: the "
        "certificate '{dir}/cert.pem' and key '{dir}/other-key.pem' cannot be loaded: "
        "[X509: KEY_VALUES_MISMATCH] key values mismatch (_ssl.c:{ssl_line}).",
        "prodserver.E008",
    ),
    Row(
        "hypercorn-ssl-files-missing",
        web("hypercorn", {**HYP, "certfile": "{dir}/no-cert.pem", "keyfile": "{dir}/no-key.pem"}),
        "",
        start(),
        WEB + "invalid value '{dir}/no-key.pem' for hypercorn option 'keyfile' in ARGS: the "
        "certificate '{dir}/no-cert.pem' and key '{dir}/no-key.pem' cannot be loaded: No "
        "such file or directory.",
        "prodserver.E008",
    ),
    Row(
        "hypercorn-log-config-missing",
        web("hypercorn", {**HYP, "log-config": "{dir}/missing.ini"}),
        "",
        start(),
        WEB + "invalid value '{dir}/missing.ini' for hypercorn option 'log-config' in ARGS: the"
        " log configuration '{dir}/missing.ini' cannot be read: No such file or "
        "directory.",
        "prodserver.E008",
    ),
    Row(
        "hypercorn-backlog-huge",
        web("hypercorn", {**HYP, "backlog": 10**12}),
        "",
        start(),
        WEB + "invalid value 1000000000000 for hypercorn option 'backlog' in ARGS: it must be "
        "from 0 to 65535.",
        "prodserver.E008",
    ),
    Row(
        "hypercorn-application-raises",
        web("hypercorn", HYP),
        BROKEN_ASGI,
        start(),
        IMPORT_FAILED,
        None,
    ),
    Row(
        "hypercorn-application-not-callable",
        web("hypercorn", HYP),
        NOT_CALLABLE_ASGI,
        start(),
        not_callable("ASGI"),
        None,
    ),
    # Daphne.
    Row(
        "daphne-unknown-option",
        web("daphne", {**DAPH, "prot": 1}),
        "",
        start(),
        WEB + "unknown daphne option 'prot' in ARGS. Did you mean 'port'?",
        "prodserver.E008",
    ),
    Row(
        "daphne-port-not-a-number",
        web("daphne", {"bind": "127.0.0.1", "port": "http"}),
        "",
        start(),
        WEB + "invalid value 'http' for daphne option 'port' in ARGS: invalid int value: 'http'.",
        "prodserver.E008",
    ),
    Row(
        "daphne-nul-in-bind",
        web("daphne", {"bind": "127.0.0.1\0", "port": "{port}"}),
        "",
        start(),
        WEB + NUL_IN.format("--bind=127.0.0.1\x00"),
        "prodserver.E008",
    ),
    Row(
        "daphne-port-70000",
        web("daphne", {"bind": "127.0.0.1", "port": 70000}),
        "",
        start(),
        WEB + "invalid value 70000 for daphne option 'port' in ARGS: a port is a number from 0 to "
        "65535, not 70000.",
        "prodserver.E008",
    ),
    Row(
        "daphne-port-in-use",
        web("daphne", DAPH),
        "",
        start(),
        PORT_IN_USE,
        None,
        dry_run=DRY_RUN_PASSES,
    ),
    Row(
        "daphne-bad-host",
        web("daphne", {"bind": "no-such-host.invalid", "port": "{port}"}),
        "",
        start(),
        CANNOT_RESOLVE,
        None,
        dry_run=DRY_RUN_PASSES,
    ),
    Row(
        "daphne-socket-in-missing-directory",
        web("daphne", {"unix-socket": "{dir}/missing/d.sock"}),
        "",
        start(),
        WEB + "cannot listen on the Unix socket '{dir}/missing/d.sock': the directory "
        "'{dir}/missing' does not exist. Create it, or choose a path in an existing "
        "directory.",
        None,
        dry_run=DRY_RUN_PASSES,
    ),
    Row(
        "daphne-tls-files-missing",
        web("daphne", {"endpoint": "ssl:{port}:privateKey={dir}/no.key:certKey={dir}/no.pem"}),
        "",
        start(),
        WEB + "invalid value 'ssl:{port}:privateKey={dir}/no.key:certKey={dir}/no.pem' for "
        "daphne option 'endpoint' in ARGS: Twisted cannot use the endpoint "
        "'ssl:{port}:privateKey={dir}/no.key:certKey={dir}/no.pem': No such file or "
        "directory: '{dir}/no.pem'.",
        "prodserver.E008",
    ),
    Row(
        "daphne-timeout-huge",
        web("daphne", {**DAPH, "http-timeout": 10**20}),
        "",
        start(),
        WEB + "invalid value 100000000000000000000 for daphne option 'http-timeout' in ARGS: it"
        " must be from 0 to 604800.",
        "prodserver.E008",
    ),
    Row(
        "daphne-application-raises",
        web("daphne", DAPH),
        BROKEN_ASGI,
        start(),
        IMPORT_FAILED,
        None,
    ),
    Row(
        "daphne-application-not-callable",
        web("daphne", DAPH),
        NOT_CALLABLE_ASGI,
        start(),
        not_callable("ASGI"),
        None,
    ),
    # Flower.
    Row(
        "flower-unknown-option",
        flower({**FL, "prot": 1}),
        CELERY,
        start(),
        WEB + "unknown celery flower option 'prot' in ARGS. Did you mean 'port'?",
        "prodserver.E008",
    ),
    Row(
        "flower-port-not-a-number",
        flower({"address": "127.0.0.1", "port": "http"}),
        CELERY,
        start(),
        WEB + "invalid value 'http' for celery flower option 'port' in ARGS: invalid literal for "
        "int() with base 10: 'http'.",
        "prodserver.E008",
    ),
    Row(
        "flower-broker-api-not-http-masked",
        flower({**FL, "broker-api": "redis://user:hunter2@localhost:6379/0"}),
        CELERY,
        start(),
        WEB + "invalid value 'redis://user:***@localhost:6379/0' for celery flower option "
        "'broker-api' in ARGS: invalid scheme 'redis', expected 'http' or 'https'.",
        "prodserver.E008",
    ),
    Row(
        "flower-port-70000",
        flower({"address": "127.0.0.1", "port": 70000}),
        CELERY,
        start(),
        WEB + "invalid value 70000 for celery flower option 'port' in ARGS: a port is a number "
        "from 0 to 65535, not 70000.",
        "prodserver.E008",
    ),
    Row(
        "flower-port-in-use",
        flower(FL),
        CELERY,
        start(),
        PORT_IN_USE,
        None,
        dry_run=DRY_RUN_PASSES,
    ),
    Row(
        "flower-bad-host",
        flower({"address": "no-such-host.invalid", "port": "{port}"}),
        CELERY,
        start(),
        CANNOT_RESOLVE,
        None,
        dry_run=DRY_RUN_PASSES,
    ),
    Row(
        "flower-basic-auth-without-password",
        flower({**FL, "basic-auth": "adminnopassword"}),
        CELERY,
        start(),
        WEB + "invalid value for celery flower option 'basic-auth' in ARGS: each user is "
        "written 'user:password', and Flower answers 401 to every request for an entry "
        "without ':'.",
        "prodserver.E008",
    ),
    Row(
        "flower-certificate-key-mismatch",
        flower({**FL, "certfile": "{dir}/cert.pem", "keyfile": "{dir}/other-key.pem"}),
        CELERY,
        start(),
        WEB + "invalid value '{dir}/other-key.pem' for celery flower option 'keyfile' in ARGS: "
        "the certificate '{dir}/cert.pem' and key '{dir}/other-key.pem' cannot be loaded:"
        " [X509: KEY_VALUES_MISMATCH] key values mismatch (_ssl.c:{ssl_line}).",
        "prodserver.E008",
    ),
    # Gunicorn.
    Row(
        "gunicorn-certificate-key-mismatch",
        web("gunicorn", {**GUNI, "certfile": "{dir}/cert.pem", "keyfile": "{dir}/other-key.pem"}),
        "",
        start(),
        WEB
        + "invalid value '{dir}/other-key.pem' for gunicorn option 'keyfile' in ARGS: "
        + CERT_MISMATCH
        + " (_ssl.c:{ssl_line}).",
        "prodserver.E008",
    ),
    Row(
        "gunicorn-nul-in-bind",
        web("gunicorn", {"bind": "127.0.0.1:{port}\0"}),
        "",
        start(),
        WEB + NUL_IN.format("--bind=127.0.0.1:{port}\x00"),
        "prodserver.E008",
    ),
    Row(
        "gunicorn-web-concurrency-not-a-number",
        web("gunicorn", GUNI),
        "",
        start(),
        WEB_CONCURRENCY_REJECTED.format("abc"),
        None,
        env={"WEB_CONCURRENCY": "abc"},
    ),
    Row(
        "gunicorn-port-environment-not-a-number",
        web("gunicorn"),
        "",
        start(),
        WEB + "the environment variable PORT is 'abc'; it must be a port number from 1 to 65535, "
        "such as PORT=8000. Correct or unset PORT, or set the port in ARGS.",
        None,
        env={"PORT": "abc"},
    ),
    unresolvable_host(
        "gunicorn-bad-host", web("gunicorn", {"bind": "no-such-host.invalid:{port}"})
    ),
    Row(
        "gunicorn-socket-in-missing-directory",
        web("gunicorn", {"bind": "unix:{dir}/missing/g.sock"}),
        "",
        start(),
        WEB + "cannot listen on the Unix socket '{dir}/missing/g.sock': the directory "
        "'{dir}/missing' does not exist. Create it, or choose a path in an existing "
        "directory.",
        None,
        dry_run=DRY_RUN_PASSES,
    ),
    Row(
        "gunicorn-backlog-huge",
        web("gunicorn", {**GUNI, "backlog": 10**12}),
        "",
        start(),
        WEB + "invalid value 1000000000000 for gunicorn option 'backlog' in ARGS: it must be "
        "from 0 to 65535.",
        "prodserver.E008",
    ),
    Row(
        "gunicorn-timeout-huge",
        web("gunicorn", {**GUNI, "timeout": 10**20}),
        "",
        start(),
        WEB + "invalid value 100000000000000000000 for gunicorn option 'timeout' in ARGS: it "
        "must be from 0 to 604800.",
        "prodserver.E008",
    ),
    Row(
        "gunicorn-daemon",
        web("gunicorn", {**GUNI, "daemon": True}),
        "",
        start(),
        WEB + "gunicorn option 'daemon' cannot be set in ARGS: prodserver runs gunicorn in the "
        "foreground, where a process manager can supervise it and stop it.",
        "prodserver.E008",
    ),
    Row(
        "gunicorn-check-config",
        web("gunicorn", {**GUNI, "check_config": True}),
        "",
        start(),
        WEB + "gunicorn option 'check_config' cannot be set in ARGS: it makes gunicorn check "
        "its configuration and exit instead of serving; 'manage.py prodserver --dry-run' "
        "checks it without starting.",
        "prodserver.E008",
    ),
    Row(
        "gunicorn-cmd-args-environment-workers-0",
        web("gunicorn", GUNI),
        "",
        start(),
        WEB + "invalid value '0' for gunicorn option '--workers' in GUNICORN_CMD_ARGS: at least"
        " 1 worker is needed.",
        None,
        env={"GUNICORN_CMD_ARGS": "--workers=0"},
    ),
    Row(
        "gunicorn-application-not-callable",
        web("gunicorn", GUNI),
        NOT_CALLABLE_WSGI,
        start(),
        not_callable("WSGI"),
        None,
    ),
    # Uvicorn.
    Row(
        "uvicorn-certificate-key-mismatch",
        web(
            "uvicorn",
            {**UVI, "ssl_certfile": "{dir}/cert.pem", "ssl_keyfile": "{dir}/other-key.pem"},
        ),
        "",
        start(),
        WEB
        + "invalid value '{dir}/other-key.pem' for uvicorn option 'ssl_keyfile' in ARGS: "
        + CERT_MISMATCH
        + " (_ssl.c:{ssl_line}).",
        "prodserver.E008",
    ),
    Row(
        "uvicorn-nul-in-host",
        web("uvicorn", {"host": "127.0.0.1\0", "port": "{port}"}),
        "",
        start(),
        WEB + NUL_IN.format("--host=127.0.0.1\x00"),
        "prodserver.E008",
    ),
    Row(
        "uvicorn-secret-with-a-space-masked",
        web("uvicorn", ["--ssl-keyfile-password s3cret"]),
        "",
        start(),
        WEB + GLUED_SECRET,
        "prodserver.E008",
    ),
    Row(
        "uvicorn-web-concurrency-not-a-number",
        web("uvicorn", UVI),
        "",
        start(),
        WEB_CONCURRENCY_REJECTED.format("abc"),
        None,
        env={"WEB_CONCURRENCY": "abc"},
    ),
    unresolvable_host(
        "uvicorn-bad-host", web("uvicorn", {"host": "no-such-host.invalid", "port": "{port}"})
    ),
    Row(
        "uvicorn-socket-in-missing-directory",
        web("uvicorn", {"uds": "{dir}/missing/u.sock"}),
        "",
        start(),
        WEB + "cannot listen on the Unix socket '{dir}/missing/u.sock': the directory "
        "'{dir}/missing' does not exist. Create it, or choose a path in an existing "
        "directory.",
        None,
        dry_run=DRY_RUN_PASSES,
    ),
    Row(
        "uvicorn-backlog-huge",
        web("uvicorn", {**UVI, "backlog": 10**12}),
        "",
        start(),
        WEB + "invalid value 1000000000000 for uvicorn option 'backlog' in ARGS: it must be "
        "from 0 to 65535.",
        "prodserver.E008",
    ),
    Row(
        "uvicorn-application-not-callable",
        web("uvicorn", UVI),
        NOT_CALLABLE_ASGI,
        start(),
        not_callable("ASGI"),
        None,
    ),
    Row(
        "uvicorn-wsgi-application-not-callable",
        web("uvicorn-wsgi", UVI),
        NOT_CALLABLE_WSGI,
        start(),
        not_callable("WSGI"),
        None,
    ),
    # Waitress.
    Row(
        "waitress-bad-host",
        web("waitress", {"host": "no-such-host.invalid", "port": "{port}"}),
        "",
        start(),
        WEB + "waitress rejects ARGS: Invalid host/port specified.",
        "prodserver.E008",
    ),
    Row(
        "waitress-nul-in-host",
        web("waitress", {"host": "127.0.0.1\0", "port": "{port}"}),
        "",
        start(),
        WEB + NUL_IN.format("--host=127.0.0.1\x00"),
        "prodserver.E008",
    ),
    Row(
        "waitress-socket-in-missing-directory",
        web("waitress", {"unix_socket": "{dir}/missing/w.sock"}),
        "",
        start(),
        WEB + "cannot listen on the Unix socket '{dir}/missing/w.sock': the directory "
        "'{dir}/missing' does not exist. Create it, or choose a path in an existing "
        "directory.",
        None,
        dry_run=DRY_RUN_PASSES,
    ),
    Row(
        "waitress-backlog-huge",
        web("waitress", {**WAIT, "backlog": 10**12}),
        "",
        start(),
        WEB + "invalid value 1000000000000 for waitress option 'backlog' in ARGS: it must be "
        "from 0 to 65535.",
        "prodserver.E008",
    ),
    Row(
        "waitress-application-not-callable",
        web("waitress", WAIT),
        NOT_CALLABLE_WSGI,
        start(),
        not_callable("WSGI"),
        None,
    ),
    # Granian.
    Row(
        "granian-certificate-key-mismatch",
        web(
            "granian-wsgi",
            {**GRAN, "ssl-certificate": "{dir}/cert.pem", "ssl-keyfile": "{dir}/other-key.pem"},
        ),
        "",
        start(),
        WEB + CERT_MISMATCH + " (_ssl.c:{ssl_line}).",
        "prodserver.E008",
    ),
    Row(
        "granian-nul-in-host",
        web("granian-wsgi", {"host": "127.0.0.1\0", "port": "{port}"}),
        "",
        start(),
        WEB + NUL_IN.format("--host=127.0.0.1\x00"),
        "prodserver.E008",
    ),
    Row(
        "granian-secret-with-a-space-masked",
        web("granian-wsgi", ["--ssl-keyfile-password s3cret"]),
        "",
        start(),
        WEB + "ARGS option '--ssl-keyfile-password ***' is not an option of Granian {granian}. "
        "Did you mean 'ssl-keyfile-password'?",
        "prodserver.E008",
    ),
    Row(
        "granian-asgi-web-concurrency-0",
        web("granian-asgi", GRAN),
        "",
        start(),
        WEB_CONCURRENCY_REJECTED.format("0"),
        None,
        env={"WEB_CONCURRENCY": "0"},
    ),
    unresolvable_host(
        "granian-bad-host", web("granian-wsgi", {"host": "no-such-host.invalid", "port": "{port}"})
    ),
    Row(
        "granian-socket-in-missing-directory",
        web("granian-wsgi", {"uds": "{dir}/missing/g.sock"}),
        "",
        start(),
        WEB + "cannot listen on the Unix socket '{dir}/missing/g.sock': the directory "
        "'{dir}/missing' does not exist. Create it, or choose a path in an existing directory.",
        "prodserver.E008",
    ),
    Row(
        "granian-backlog-huge",
        web("granian-wsgi", {**GRAN, "backlog": 10**12}),
        "",
        start(),
        WEB + "ARGS['backlog'] is 1000000000000, which is out of range: it must be from 128 to "
        "65535.",
        "prodserver.E008",
    ),
    # GRANIAN_WORKERS=0 is not an error: Granian's Python API reads no GRANIAN_* variable, and
    # one that is set is a warning naming the ARGS key instead (test_granian_hostile.py).
    Row(
        "granian-wsgi-application-not-callable",
        web("granian-wsgi", GRAN),
        NOT_CALLABLE_WSGI,
        start(),
        WEB + "the application 'not_callable_app:application' cannot be served: it is 42, of type "
        "int, not an application. Set WSGI_APPLICATION to your project's WSGI application, such "
        "as 'mysite.wsgi.application'.",
        None,
    ),
    Row(
        "granian-asgi-application-not-callable",
        web("granian-asgi", GRAN),
        NOT_CALLABLE_ASGI,
        start(),
        WEB + "the application 'not_callable_app:application' cannot be served: it is 42, of type "
        "int, not an application. Set ASGI_APPLICATION to your project's ASGI application, such "
        "as 'mysite.asgi.application'.",
        None,
    ),
]

# The workers, the application and the command line (issue 14).
ROWS += [
    Row(
        "celery-concurrency-negative",
        {"worker": {**CW, "ARGS": {"concurrency": -1}}},
        CELERY,
        start("worker"),
        "Process 'worker': invalid value -1 for celery worker option 'concurrency' in ARGS: must "
        "be a non-negative integer or 'auto', got '-1'.",
        "prodserver.E008",
    ),
    Row(
        "celery-nul-in-hostname",
        {"worker": {**CW, "ARGS": {"hostname": "w\0@h"}}},
        CELERY,
        start("worker"),
        "Process 'worker': " + NUL_IN.format("--hostname=w\x00@h"),
        "prodserver.E008",
    ),
    Row(
        "celery-loglevel-unknown",
        {"worker": {**CW, "ARGS": {"loglevel": "LOUD"}}},
        CELERY,
        start("worker"),
        "Process 'worker': invalid value 'LOUD' for celery worker option 'loglevel' in ARGS: "
        "'LOUD' is not one of 'DEBUG', 'INFO', 'WARNING', 'ERROR', 'CRITICAL', 'FATAL'.",
        "prodserver.E008",
    ),
    Row(
        "celery-app-not-a-celery-app",
        {"worker": {"BACKEND": "celery-worker", "APP": "testsite.settings.DEBUG"}},
        CELERY,
        start("worker"),
        "Process 'worker': APP 'testsite.settings.DEBUG' is not a Celery application: 'DEBUG' in "
        "module 'testsite.settings' is of type bool.",
        "prodserver.E008",
    ),
    Row(
        "celery-beat-unknown-option",
        {"beat": {**CW, "BACKEND": "celery-beat", "ARGS": {"schedul": "x"}}},
        CELERY,
        start("beat"),
        "Process 'beat': unknown celery beat option 'schedul' in ARGS. Did you mean 'schedule'?",
        "prodserver.E008",
    ),
    Row(
        "celery-beat-max-interval-not-a-number",
        {"beat": {**CW, "BACKEND": "celery-beat", "ARGS": {"max-interval": "soon"}}},
        CELERY,
        start("beat"),
        "Process 'beat': invalid value 'soon' for celery beat option 'max-interval' in ARGS: "
        "'soon' is not a valid integer.",
        "prodserver.E008",
    ),
    Row(
        "celery-beat-detach",
        {"beat": {**CW, "BACKEND": "celery-beat", "ARGS": {"detach": True}}},
        CELERY,
        start("beat"),
        "Process 'beat': celery beat option 'detach' cannot be set in ARGS: prodserver runs "
        "celery beat in the foreground, where a process manager can supervise it and stop it.",
        "prodserver.E008",
    ),
    Row(
        "celery-beat-schedule-in-missing-directory",
        {"beat": {**CW, "BACKEND": "celery-beat", "ARGS": {"schedule": "{dir}/missing/beat"}}},
        CELERY,
        start("beat"),
        "Process 'beat': invalid value '{dir}/missing/beat' for celery beat option 'schedule' in "
        "ARGS: the directory '{dir}/missing' does not exist. Create it, or choose a path in an "
        "existing directory.",
        "prodserver.E008",
    ),
    Row(
        "django-tasks-interval-negative",
        {"tasks": {"BACKEND": "django-tasks", "ARGS": {"interval": -1}}},
        TASKS,
        start("tasks"),
        "Process 'tasks': invalid value -1 for db_worker option 'interval' in ARGS: Must be zero "
        "or greater.",
        "prodserver.E008",
    ),
    Row(
        "django-tasks-nul-in-queue-name",
        {"tasks": {"BACKEND": "django-tasks", "ARGS": {"queue-name": "a\0b"}}},
        TASKS,
        start("tasks"),
        "Process 'tasks': " + NUL_IN.format("--queue-name=a\x00b"),
        "prodserver.E008",
    ),
    Row(
        "django-tasks-max-tasks-not-a-number",
        {"tasks": {"BACKEND": "django-tasks", "ARGS": {"max-tasks": "many"}}},
        TASKS,
        start("tasks"),
        "Process 'tasks': invalid value 'many' for db_worker option 'max-tasks' in ARGS: invalid "
        "valid_max_tasks value: 'many'.",
        "prodserver.E008",
    ),
    Row(
        "django-q2-value-for-a-switch",
        {"q2": {"BACKEND": "django-q2", "ARGS": {"run_once": "yes"}}},
        Q2,
        start("q2"),
        "Process 'q2': invalid value 'yes' for qcluster option 'run_once' in ARGS: ignored "
        "explicit argument 'yes'.",
        "prodserver.E008",
    ),
    Row(
        "django-q2-nul-in-an-item",
        {"q2": {"BACKEND": "django-q2", "ARGS": ["--run-once\0"]}},
        Q2,
        start("q2"),
        "Process 'q2': " + NUL_IN.format("--run-once\x00"),
        "prodserver.E008",
    ),
    Row(
        "django-q2-prefix-abbreviation",
        {"q2": {"BACKEND": "django-q2", "ARGS": {"ru": True}}},
        Q2,
        start("q2"),
        "Process 'q2': unknown qcluster option 'ru' in ARGS. See 'manage.py qcluster "
        "--help' for the options it accepts.",
        "prodserver.E008",
    ),
    Row(
        "backend-abstract-server-base",
        web("django_prodserver.backends.base.BaseServerBackend"),
        "",
        start(),
        WEB + "BACKEND 'django_prodserver.backends.base.BaseServerBackend' does not implement "
        "start_server(): it is a base class, not a backend. Name a backend such as "
        "'granian-wsgi', or subclass it and implement start_server().",
        None,
    ),
    Row(
        "application-exits-on-import",
        web("gunicorn", GUNI),
        "WSGI_APPLICATION = 'exiting_app.application'\n",
        start(),
        WEB + "the application 'exiting_app:application' failed to import: SystemExit: 0",
        None,
    ),
    Row(
        "granian-asgi-application-is-wsgi",
        web("granian-asgi", GRAN),
        "ASGI_APPLICATION = 'testsite.wsgi.application'\n",
        start(),
        WEB + "the application 'testsite.wsgi:application' cannot be served: it is a WSGI "
        "application, and this server calls an ASGI one. Set ASGI_APPLICATION to your project's "
        "ASGI application, such as 'mysite.asgi.application'.",
        None,
    ),
    Row(
        "json-without-list",
        web("gunicorn", GUNI),
        "",
        [*start(), "--json"],
        "--json goes with --list or --list-backends, and does nothing without: add --list or "
        "--list-backends, or leave out --json.",
        None,
    ),
]

# An option whose value names a package that is not installed, where it is not (uvloop comes
# with Granian 1.x, so the Python 3.9 job has it).
if importlib.util.find_spec("uvloop") is None:
    ROWS += [
        Row(
            "granian-loop-not-installed",
            web("granian-wsgi", {**GRAN, "loop": "uvloop"}),
            "",
            start(),
            WEB + "ARGS['loop'] is 'uvloop': Granian's 'uvloop' event loop needs the 'uvloop' "
            'package, which is not installed. Install it with: pip install "granian[uvloop]", '
            "or leave 'loop' at 'auto'.",
            "prodserver.E008",
        ),
        Row(
            "uvicorn-loop-not-installed",
            web("uvicorn", {**UVI, "loop": "uvloop"}),
            "",
            start(),
            WEB + "invalid value 'uvloop' for uvicorn option 'loop' in ARGS: it needs the "
            "'uvloop' package, which is not installed. Install it with: pip install "
            '"uvicorn[standard]".',
            "prodserver.E008",
        ),
    ]
if importlib.util.find_spec("gevent") is None:
    ROWS.append(
        Row(
            "gunicorn-worker-class-not-installed",
            web("gunicorn", {**GUNI, "worker_class": "gevent"}),
            "",
            start(),
            WEB + "invalid value 'gevent' for gunicorn option 'worker_class' in ARGS: it needs "
            "the 'gevent' package, which is not installed. Install it with: pip install "
            '"gunicorn[gevent]".',
            "prodserver.E008",
        )
    )
    ROWS.append(
        Row(
            "celery-pool-not-installed",
            {"worker": {**CW, "ARGS": {"pool": "gevent"}}},
            CELERY,
            start("worker"),
            "Process 'worker': invalid value 'gevent' for celery worker option 'pool' in ARGS: "
            "it needs the 'gevent' package, which is not installed. Install it with: pip "
            "install gevent.",
            "prodserver.E008",
        )
    )

#: The slowest a row's process may take to exit, measured with the rows running side by side
#: on a loaded machine: far below a hang, far above the usual 1 s.
EXIT_WITHIN = 30.0
#: Rows run at once: one per CPU, at least two.
PARALLEL = max(2, os.cpu_count() or 1)
MODES = ("dry-run", "start")
DRY_RUN_THEN_CHECK = Path(__file__).with_name("dry_run_then_check.py")
#: How a row's backend is named in the counts; rows about the setting, the command line and
#: plugins are counted together.
BACKENDS = (
    "granian-wsgi",
    "granian-asgi",
    "gunicorn",
    "uvicorn",
    "uvicorn-wsgi",
    "waitress",
    "hypercorn",
    "daphne",
    "celery-flower",
    "celery-worker",
    "celery-beat",
    "django-tasks",
    "django-q2",
)
SETTING = "setting, command line, plugins"


def backend_of(row: Row) -> str:
    """The backend a row tries, as the counts in docs/reliability.md group rows."""
    name = row.args[1] if len(row.args) > 1 else None
    entry = row.processes.get(name) if isinstance(row.processes, dict) else None
    backend = entry.get("BACKEND") if isinstance(entry, dict) else None
    return backend if backend in BACKENDS else SETTING


class Result(NamedTuple):
    returncode: int | None  # None: still running at the time limit, then killed
    stdout: str
    stderr: str
    seconds: float
    left_running: bool  # a process of its group outlived it
    listening_after: bool


class Outcome(NamedTuple):
    row: Row
    port: int
    directory: Path
    results: dict[str, Result]  # by mode
    check: Result | None


def _placed(value: Any, port: int, directory: Path) -> Any:
    if isinstance(value, str):
        return value.replace("{port}", str(port)).replace("{dir}", str(directory))
    if isinstance(value, dict):
        return {key: _placed(item, port, directory) for key, item in value.items()}
    if isinstance(value, list):
        return [_placed(item, port, directory) for item in value]
    return value


def _listening(port: int) -> bool:
    with socket.socket() as probe:
        probe.settimeout(1)
        return probe.connect_ex(("127.0.0.1", port)) == 0


def _group_alive(group: int) -> bool:
    try:
        os.killpg(group, 0)
    except ProcessLookupError:
        return False
    return True


def _prepare(directory: Path, certificates: Path) -> None:
    directory.mkdir()
    (directory / "broken_app.py").write_text("raise RuntimeError('boom at import')\n")
    (directory / "broken_urls.py").write_text("raise RuntimeError('boom in urls')\n")
    (directory / "not_callable_app.py").write_text("application = 42\n")
    (directory / "exiting_app.py").write_text("import sys\n\nsys.exit(0)\n")
    (directory / "missing_dep_plugin.py").write_text("import not_installed_pkg  # noqa\n")
    (directory / "raising_plugin.py").write_text("raise RuntimeError('plugin is broken')\n")
    for name in ("cert.pem", "key.pem", "other-key.pem"):
        shutil.copy(certificates / name, directory / name)


def _command(
    argv: list[str], env: Mapping[str, str], port: int | None, within: float, directory: Path
) -> Result:
    """Run ``argv`` in a session of its own until it exits, serves on ``port`` (then it is
    stopped: a bad input must not start a server) or runs for ``within`` seconds. ``port`` is
    None while another socket holds it."""
    started = time.monotonic()
    with (
        tempfile.TemporaryFile("w+", dir=directory) as out,
        tempfile.TemporaryFile("w+", dir=directory) as err,
    ):
        process = subprocess.Popen(
            argv,
            cwd=PROJECT_DIR,
            env={**subprocess_env(), **env},
            stdout=out,
            stderr=err,
            text=True,
            start_new_session=True,
        )
        listening = False
        while process.poll() is None and time.monotonic() - started < within:
            listening = port is not None and _listening(port)
            if listening:
                break
            time.sleep(0.1)
        returncode = process.poll()
        if returncode is None:
            os.killpg(process.pid, signal.SIGKILL)
            process.wait()
        seconds = time.monotonic() - started
        # Workers it forked may still be exiting: a moment to go, then they count as left.
        deadline = time.monotonic() + 2
        while _group_alive(process.pid) and time.monotonic() < deadline:
            time.sleep(0.05)
        left_running = _group_alive(process.pid)
        listening = listening or (port is not None and _listening(port))
        if left_running:
            os.killpg(process.pid, signal.SIGKILL)
        out.seek(0)
        err.seek(0)
        return Result(returncode, out.read(), err.read(), seconds, left_running, listening)


def _run(row: Row, directory: Path) -> Outcome:
    port = free_port()
    # The settings text is written with repr(), so {port} in the processes becomes the port.
    write_settings(
        directory, _placed(row.processes, port, directory), _placed(row.extra, port, directory)
    )
    args = _placed(row.args, port, directory)
    env = _placed(dict(row.env), port, directory)
    within = EXIT_WITHIN
    occupant = None
    if row.id.endswith("port-in-use"):
        occupant = socket.socket()
        occupant.bind(("127.0.0.1", port))
        occupant.listen()
    watched = None if occupant else port
    try:
        start = _command(manage_command(directory, *args), env, watched, within, directory)
        # --dry-run, then check: one process, Django's own command line (dry_run_then_check.py).
        helper = [sys.executable, str(DRY_RUN_THEN_CHECK), *manage_command(directory, *args)[2:]]
        helper += ["--check"] if row.check_id else []
        both = _command(helper, env, watched, within, directory)
    finally:
        if occupant is not None:
            occupant.close()
    if occupant is not None:
        start = start._replace(listening_after=_listening(port))
    try:
        reported = json.loads(both.stdout)
    except ValueError:  # the helper itself failed: its output is the dry-run's
        reported = {"dry_run": {"returncode": both.returncode, "stdout": "", "stderr": both.stderr}}

    def result(name: str) -> Result:
        one = reported[name]
        return both._replace(
            returncode=one["returncode"], stdout=one["stdout"], stderr=one["stderr"]
        )

    check = result("check") if "check" in reported else None
    return Outcome(row, port, directory, {"start": start, "dry-run": result("dry_run")}, check)


@pytest.fixture(scope="module")
def outcomes(tmp_path_factory: pytest.TempPathFactory) -> Iterator[dict[str, Outcome]]:
    """Every row, run once in each mode, several rows at a time."""
    trustme = pytest.importorskip("trustme")
    base = tmp_path_factory.mktemp("bad-inputs")
    authority = trustme.CA()
    issued, other = authority.issue_cert("127.0.0.1"), authority.issue_cert("127.0.0.1")
    (base / "cert.pem").write_bytes(b"".join(blob.bytes() for blob in issued.cert_chain_pems))
    issued.private_key_pem.write_to_path(str(base / "key.pem"))
    other.private_key_pem.write_to_path(str(base / "other-key.pem"))
    directories = {}
    for row in ROWS:
        directories[row.id] = base / row.id
        _prepare(directories[row.id], base)
    with ThreadPoolExecutor(max_workers=PARALLEL) as pool:
        results = pool.map(lambda row: _run(row, directories[row.id]), ROWS)
        yield {outcome.row.id: outcome for outcome in results}


def _expected(row: Row, outcome: Outcome) -> str:
    known = ", ".join(sorted({spec.alias for spec in registry.discover().specs}))
    return (
        row.message.replace("{known}", known)
        .replace("{granian}", GRANIAN_VERSION)
        .replace("{loops}", ", ".join(repr(name) for name in IMPLEMENTATIONS["loop"]))
        .replace("{port}", str(outcome.port))
        .replace("{dir}", str(outcome.directory))
        .replace("{ssl_line}", _ssl_line(outcome))
    )


def _ssl_line(outcome: Outcome) -> str:
    # The line of CPython's _ssl.c that OpenSSL's error names differs between Python versions.
    found = re.search(r"\(_ssl\.c:(\d+)\)", outcome.results["start"].stderr)
    return found.group(1) if found else "?"


# Rows whose answer comes from a library release that Python 3.9 cannot install anew: there the
# older release words the value check itself (Celery 5.6, django-tasks < 0.9), lacks the option
# (Granian 1.7 has no 'uds'), or does not check it (Flower's broker_api).
ON_OLDER_RELEASES = sys.version_info < (3, 10)
OLDER_RELEASES_SKIP = {
    "flower-broker-api-not-http-masked",
    "granian-socket-in-missing-directory",
    "celery-concurrency-negative",
    "django-tasks-interval-negative",
}


def _marks(row: Row) -> list[Any]:
    if ON_OLDER_RELEASES and row.id in OLDER_RELEASES_SKIP:
        return [pytest.mark.skip(reason="another message or check on the releases for Python 3.9")]
    return []


CASES = [
    pytest.param(mode, row, id=f"{mode}-{row.id}", marks=_marks(row))
    for row in ROWS
    for mode in MODES
]


def test_the_table_is_at_least_50_distinct_rows() -> None:
    assert len(ROWS) >= 50
    assert len({row.id for row in ROWS}) == len(ROWS)
    assert len({repr((row.processes, row.extra, row.args, row.env)) for row in ROWS}) == len(ROWS)


def test_every_backend_has_rows() -> None:
    assert {backend_of(row) for row in ROWS} == {*BACKENDS, SETTING}


@pytest.mark.parametrize(("mode", "row"), CASES)
def test_bad_input_is_one_line_and_starts_nothing(
    mode: str, row: Row, outcomes: dict[str, Outcome]
) -> None:
    outcome = outcomes[row.id]
    result = outcome.results[mode]
    output = result.stdout + result.stderr
    # Nothing was served: the process ended on its own, quickly, leaving no process behind and
    # nothing on the row's port.
    assert result.returncode is not None, f"still running after {result.seconds:.0f} s: {output}"
    assert not result.left_running, output
    assert not result.listening_after, output
    assert result.seconds < EXIT_WITHIN
    assert "Traceback" not in output
    if mode == "dry-run" and row.dry_run == DRY_RUN_PASSES:
        # A fault only the start meets: --dry-run describes the start and starts nothing.
        assert result.returncode == 0, output
        assert result.stderr == ""
        assert result.stdout.startswith("Would start process "), output
        return
    assert result.returncode == 1, output
    message = _expected(row, outcome)
    assert result.stderr == f"CommandError: {message}\n"
    # The message names the process (or the setting, when there is no process to name, or the
    # command's own option that was misused).
    named = ("Process '", "PRODUCTION_PROCESSES", "System checks")
    options = [arg for arg in row.args if arg.startswith("--")]
    assert any(word in message for word in (*named, *options))


CHECKED_ROWS = [row for row in ROWS if row.check_id]


@pytest.mark.parametrize(
    "row", [pytest.param(row, id=row.id, marks=_marks(row)) for row in CHECKED_ROWS]
)
def test_check_reports_the_same_message(row: Row, outcomes: dict[str, Outcome]) -> None:
    check = outcomes[row.id].check
    assert check is not None
    output = check.stdout + check.stderr
    assert f"({row.check_id}) {_expected(row, outcomes[row.id])}\n" in output
    is_error = row.check_id.startswith("prodserver.E")  # type: ignore[union-attr]
    assert check.returncode == (1 if is_error else 0), output
    assert "Traceback" not in output
