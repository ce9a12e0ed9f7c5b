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

import os
import shutil
import socket
import time
from collections.abc import Iterator
from concurrent.futures import ThreadPoolExecutor
from importlib import metadata
from pathlib import Path
from typing import Any, NamedTuple

import pytest

from django_prodserver import registry
from django_prodserver.backends.django_tasks import INSTALLED_DB_WORKER_APPS
from django_prodserver.backends.uvicorn import IMPLEMENTATIONS

from .harness import free_port, run_manage, write_settings

pytestmark = pytest.mark.integration


class Row(NamedTuple):
    id: str
    processes: Any
    extra: str
    args: list[str]
    message: str
    check_id: str | None


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
NOT_A_BACKEND = "A backend must be a subclass of django_prodserver.backends.base.BaseServerBackend."


def web(backend: Any, args: Any = None, **keys: Any) -> dict[str, Any]:
    entry = {"BACKEND": backend, **({"ARGS": args} if args is not None else {}), **keys}
    return {"web": entry}


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
        "ARGS, BACKEND.",
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
        "PRELOAD, STATIC.",
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
        WEB + "cannot listen on 127.0.0.1:70000: a port is a number from 0 to 65535, not 70000.",
        None,
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
        "uvicorn-application-raises", web("uvicorn", UVI), BROKEN_ASGI, start(), IMPORT_FAILED, None
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
    Row("gunicorn-port-in-use", web("gunicorn", GUNI), "", start(), PORT_IN_USE, None),
    Row("uvicorn-port-in-use", web("uvicorn", UVI), "", start(), PORT_IN_USE, None),
    Row("uvicorn-wsgi-port-in-use", web("uvicorn-wsgi", UVI), "", start(), PORT_IN_USE, None),
    Row("waitress-port-in-use", web("waitress", WAIT), "", start(), PORT_IN_USE, None),
    Row("granian-wsgi-port-in-use", web("granian-wsgi", GRAN), "", start(), PORT_IN_USE, None),
    Row("granian-asgi-port-in-use", web("granian-asgi", GRAN), "", start(), PORT_IN_USE, None),
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

#: The slowest a row's process may take to exit, measured with the rows running side by side
#: on a loaded machine: far below a hang (run_manage's timeout is 60 s), far above the usual 1 s.
EXIT_WITHIN = 30.0
#: Rows run at once: one per CPU, at least two.
PARALLEL = max(2, os.cpu_count() or 1)


class Outcome(NamedTuple):
    row: Row
    port: int
    directory: Path
    returncode: int
    stdout: str
    stderr: str
    seconds: float
    listening_after: bool
    check_returncode: int | None
    check_output: str


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


def _prepare(directory: Path, certificate: Path) -> None:
    directory.mkdir()
    (directory / "broken_app.py").write_text("raise RuntimeError('boom at import')\n")
    (directory / "broken_urls.py").write_text("raise RuntimeError('boom in urls')\n")
    (directory / "missing_dep_plugin.py").write_text("import not_installed_pkg  # noqa\n")
    (directory / "raising_plugin.py").write_text("raise RuntimeError('plugin is broken')\n")
    shutil.copy(certificate, directory / "cert.pem")


def _run(row: Row, directory: Path) -> Outcome:
    port = free_port()
    # The settings text is written with repr(), so {port} in the processes becomes the port.
    write_settings(
        directory, _placed(row.processes, port, directory), _placed(row.extra, port, directory)
    )
    occupant = None
    if row.id.endswith("port-in-use"):
        occupant = socket.socket()
        occupant.bind(("127.0.0.1", port))
        occupant.listen()
    try:
        started = time.monotonic()
        result = run_manage(directory, *_placed(row.args, port, directory), timeout=60)
        seconds = time.monotonic() - started
    finally:
        if occupant is not None:
            occupant.close()
    listening_after = _listening(port)
    check = run_manage(directory, "check") if row.check_id else None
    return Outcome(
        row,
        port,
        directory,
        result.returncode,
        result.stdout,
        result.stderr,
        seconds,
        listening_after,
        check.returncode if check else None,
        (check.stdout + check.stderr) if check else "",
    )


@pytest.fixture(scope="module")
def outcomes(tmp_path_factory: pytest.TempPathFactory) -> Iterator[dict[str, Outcome]]:
    """Every row, run once, several at a time."""
    trustme = pytest.importorskip("trustme")
    base = tmp_path_factory.mktemp("bad-inputs")
    certificate = base / "cert.pem"
    issued = trustme.CA().issue_cert("127.0.0.1")
    certificate.write_bytes(b"".join(blob.bytes() for blob in issued.cert_chain_pems))
    directories = {}
    for row in ROWS:
        directories[row.id] = base / row.id
        _prepare(directories[row.id], certificate)
    with ThreadPoolExecutor(max_workers=PARALLEL) as pool:
        results = pool.map(lambda row: _run(row, directories[row.id]), ROWS)
        yield {outcome.row.id: outcome for outcome in results}


def _expected(row: Row, outcome: Outcome) -> str:
    known = ", ".join(sorted({spec.alias for spec in registry.discover().specs}))
    from importlib import metadata

    return (
        row.message.replace("{known}", known)
        .replace("{granian}", metadata.version("granian"))
        .replace("{loops}", ", ".join(repr(name) for name in IMPLEMENTATIONS["loop"]))
        .replace("{port}", str(outcome.port))
        .replace("{dir}", str(outcome.directory))
    )


def test_the_table_is_at_least_50_distinct_rows() -> None:
    assert len(ROWS) >= 50
    assert len({row.id for row in ROWS}) == len(ROWS)
    assert len({repr((row.processes, row.extra, row.args)) for row in ROWS}) == len(ROWS)


@pytest.mark.parametrize("row", ROWS, ids=[row.id for row in ROWS])
def test_bad_input_is_one_line_and_starts_nothing(row: Row, outcomes: dict[str, Outcome]) -> None:
    outcome = outcomes[row.id]
    message = _expected(row, outcome)
    assert outcome.returncode == 1, outcome.stderr
    assert outcome.stderr == f"CommandError: {message}\n"
    assert "Traceback" not in outcome.stdout + outcome.stderr
    # Nothing was served: nothing on the row's port afterwards, and the process ended on its
    # own, quickly.
    assert not outcome.listening_after
    assert outcome.seconds < EXIT_WITHIN
    # The message names the process (or the setting, when there is no process to name).
    assert any(word in message for word in ("Process '", "PRODUCTION_PROCESSES", "System checks"))


CHECKED_ROWS = [row for row in ROWS if row.check_id]


@pytest.mark.parametrize("row", CHECKED_ROWS, ids=[row.id for row in CHECKED_ROWS])
def test_check_reports_the_same_message(row: Row, outcomes: dict[str, Outcome]) -> None:
    outcome = outcomes[row.id]
    assert f"({row.check_id}) {_expected(row, outcome)}\n" in outcome.check_output
    is_error = row.check_id.startswith("prodserver.E")  # type: ignore[union-attr]
    assert outcome.check_returncode == (1 if is_error else 0), outcome.check_output
    assert "Traceback" not in outcome.check_output
