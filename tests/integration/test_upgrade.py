"""Upgrading from django-prodserver 2.x or 3.0: their settings and custom backends, unchanged.

A fresh ``django-admin startproject`` project (the one test_startproject.py builds) gets the
``PRODUCTION_PROCESSES`` of the 2.4.0 and 3.0.0 READMEs, verbatim, and every BACKEND path those
releases shipped; custom backends written as 3.0's README and its own backends write them are
started by ``manage.py prodserver`` in the test project.
"""

from __future__ import annotations

import os
import re
import signal
import time
from pathlib import Path

import pytest

from django_prodserver.backends.django_tasks import INSTALLED_DB_WORKER_APPS

from . import harness
from .test_startproject import _get, _start, fresh_project, manage, write_processes

pytestmark = pytest.mark.integration

__all__ = ["fresh_project"]  # the fixture, shared with test_startproject.py

B = "django_prodserver.backends."
WSGI = "mysite.wsgi:application"
ASGI = "mysite.asgi:application"
CELERY_APP = "celery --app=tests.celery.app"

# What a user adds for the workers, as those packages' own documentation says.
WORKER_APPS = (
    f"INSTALLED_APPS += ['django_tasks', {INSTALLED_DB_WORKER_APPS[0]!r}, 'django_q']\n"
    f"TASKS = {{'default': {{'BACKEND': '{INSTALLED_DB_WORKER_APPS[0]}.DatabaseBackend'}}}}\n"
    "Q_CLUSTER = {'name': 'upgrade', 'orm': 'default', 'timeout': 30, 'retry': 60}\n"
)


@pytest.fixture(scope="module")
def project(fresh_project: Path) -> Path:
    """The fresh project with the Celery application the READMEs name, ``tests.celery.app``."""
    package = fresh_project / "tests"
    package.mkdir(exist_ok=True)
    (package / "__init__.py").write_text("")
    (package / "celery.py").write_text("from celery import Celery\n\napp = Celery('mysite')\n")
    return fresh_project


def dry_run(project: Path, processes: str, name: str) -> list[str]:
    """What ``--dry-run`` prints: the process and backend, the start, and for a server where its
    port and worker count come from."""
    write_processes(project, processes, WORKER_APPS)
    result = manage(project, "prodserver", name, "--dry-run")
    assert (result.returncode, result.stderr) == (0, ""), result.stderr
    return result.stdout.splitlines()


# Every path 3.0.0 documented or shipped, the class it names and a fragment of what it starts.
UPSTREAM_BACKENDS = [
    ("servers.gunicorn.GunicornServer", "GunicornServer", WSGI),
    ("servers.granian.GranianASGIServer", "GranianASGIServer", ASGI),
    ("servers.granian.GranianWSGIServer", "GranianWSGIServer", WSGI),
    ("servers.waitress.WaitressServer", "WaitressServer", WSGI),
    ("servers.uvicorn.UvicornServer", "UvicornServer", ASGI),
    ("servers.uvicorn.UvicornWSGIServer", "UvicornWSGIServer", WSGI),
    ("servers.flower.CeleryFlower", "CeleryFlower", CELERY_APP),
    ("workers.celery.CeleryWorker", "CeleryWorker", CELERY_APP),
    ("workers.celery.CeleryBeat", "CeleryBeat", CELERY_APP),
    ("workers.django_tasks.DjangoTasksWorker", "DjangoTasksWorker", "manage.py db_worker"),
    ("workers.django_q2.DjangoQ2Worker", "DjangoQ2Worker", "manage.py qcluster"),
    ("dev.django_runserver.DjangoRunserver", "DjangoRunserver", "manage.py runserver"),
    ("dev.werkzeug.WerkzeugRunserver", "WerkzeugRunserver", "manage.py runserver_plus"),
    ("dev.werkzeug.RunserverPlus", "RunserverPlus", "manage.py runserver_plus"),
    ("dev.daphne.DaphneRunserver", "DaphneRunserver", "manage.py runserver"),
    ("django_runserver.DjangoRunserver", "DjangoRunserver", "manage.py runserver"),
    ("werkzeug.WerkzeugRunserver", "WerkzeugRunserver", "manage.py runserver_plus"),
    ("daphne.DaphneRunserver", "DaphneRunserver", "manage.py runserver"),
    # 2.x's paths, also 3.0's deprecated ones
    ("gunicorn.GunicornServer", "GunicornServer", WSGI),
    ("granian.GranianASGIServer", "GranianASGIServer", ASGI),
    ("granian.GranianWSGIServer", "GranianWSGIServer", WSGI),
    ("waitress.WaitressServer", "WaitressServer", WSGI),
    ("uvicorn.UvicornServer", "UvicornServer", ASGI),
    ("uvicorn.UvicornWSGIServer", "UvicornWSGIServer", WSGI),
    ("celery.CeleryWorker", "CeleryWorker", CELERY_APP),
    ("celery.CeleryBeat", "CeleryBeat", CELERY_APP),
    ("django_tasks.DjangoTasksWorker", "DjangoTasksWorker", "manage.py db_worker"),
    ("django_q2.DjangoQ2Worker", "DjangoQ2Worker", "manage.py qcluster"),
]


@pytest.mark.parametrize(("path", "class_name", "starts"), UPSTREAM_BACKENDS)
def test_every_upstream_path_dry_runs_in_a_fresh_project(
    project: Path, path: str, class_name: str, starts: str
) -> None:
    entry = {"BACKEND": B + path, "ARGS": {}}
    if "celery" in path.lower() or "flower" in path:
        entry["APP"] = "tests.celery.app"
    first, described, *_ = dry_run(project, repr({"web": entry}), "web")
    assert first == f"Would start process 'web' with backend '{B}{path}' ({class_name}):"
    assert starts in described


# 3.0.0's README, verbatim.
README_3_0 = """{
    "web": {
        "BACKEND": "django_prodserver.backends.servers.gunicorn.GunicornServer",
        "ARGS": {"bind": "0.0.0.0:8111"},
    },
    # "web": {
    #     "BACKEND": "django_prodserver.backends.servers.granian.GranianASGIServer",
    #     "ARGS": {"address": "0.0.0.0", "port": "8000", "workers": "4"},
    # },
    # "web": {
    #     "BACKEND": "django_prodserver.backends.servers.granian.GranianWSGIServer",
    #     "ARGS": {"address": "0.0.0.0", "port": "8000", "workers": "4"},
    # },
    # "web": {
    #     "BACKEND": "django_prodserver.backends.servers.waitress.WaitressServer",
    #     "ARGS": {},
    # },
    # "web": {
    #     "BACKEND": "django_prodserver.backends.servers.uvicorn.UvicornServer",
    #     "ARGS": {},
    # },
    # "web": {
    #     "BACKEND": "django_prodserver.backends.servers.uvicorn.UvicornWSGIServer",
    #     "ARGS": {},
    # },
    "worker": {
        "BACKEND": "django_prodserver.backends.workers.celery.CeleryWorker",
        "APP": "tests.celery.app",
        "ARGS": {},
    },
    # "worker": {
    #     "BACKEND": "django_prodserver.backends.workers.django_tasks.DjangoTasksWorker",
    #     "ARGS": {},
    # },
    # "beat": {
    #     "BACKEND": "django_prodserver.backends.workers.celery.CeleryBeat",
    #     "APP": "tests.celery.app",
    #     "ARGS": {},
    # },
    # "flower": {
    #     "BACKEND": "django_prodserver.backends.servers.flower.CeleryFlower",
    #     "APP": "tests.celery.app",
    #     "ARGS": {"port": "5555", "address": "0.0.0.0"},
    # },
}"""

# 2.4.0's README, verbatim.
README_2_4 = """{
    "web": {
        "BACKEND": "django_prodserver.backends.gunicorn.GunicornServer",
        "ARGS": {"bind": "0.0.0.0:8111"},
    },
    # "web": {
    #     "BACKEND": "django_prodserver.backends.granian.GranianASGIServer",
    #     "ARGS": {"address": "0.0.0.0", "port": "8000", "workers": "4"},
    # },
    # "web": {
    #     "BACKEND": "django_prodserver.backends.granian.GranianWSGIServer",
    #     "ARGS": {"address": "0.0.0.0", "port": "8000", "workers": "4"},
    # },
    # "web": {
    #     "BACKEND": "django_prodserver.backends.waitress.WaitressServer",
    #     "ARGS": {},
    # },
    # "web": {
    #     "BACKEND": "django_prodserver.backends.uvicorn.UvicornServer",
    #     "ARGS": {},
    # },
    # "web": {
    #     "BACKEND": "django_prodserver.backends.uvicorn.UvicornWSGIServer",
    #     "ARGS": {},
    # },
    "worker": {
        "BACKEND": "django_prodserver.backends.celery.CeleryWorker",
        "APP": "tests.celery.app",
        "ARGS": {},
    },
    # "worker": {
    #     "BACKEND": "django_prodserver.backends.django_tasks.DjangoTasksWorker",
    #     "ARGS": {},
    # },
}"""


def commented_entries(readme: str) -> list[tuple[str, str]]:
    """Each commented-out alternative of a README block, uncommented: (name, its entry)."""
    found = re.findall(r'    # "(\w+)": (\{\n(?:    # .*\n)*?)    # \},', readme)
    return [(name, body.replace("    # ", "    ") + "    }") for name, body in found]


CLASS_NAME = re.compile(r'\.(\w+)"')
README_ALTERNATIVES = [
    pytest.param(name, entry, id=f"{version}-{name}-{CLASS_NAME.findall(entry)[0]}")
    for version, readme in (("3.0.0", README_3_0), ("2.4.0", README_2_4))
    for name, entry in commented_entries(readme)
]


def test_the_readmes_hold_the_alternatives_this_module_reads() -> None:
    assert len(commented_entries(README_3_0)) == 8
    assert len(commented_entries(README_2_4)) == 6


@pytest.mark.parametrize("readme", [README_3_0, README_2_4], ids=["3.0.0", "2.4.0"])
@pytest.mark.parametrize(
    ("name", "class_name"), [("web", "GunicornServer"), ("worker", "CeleryWorker")]
)
def test_the_readme_settings_dry_run_verbatim(
    project: Path, readme: str, name: str, class_name: str
) -> None:
    first, *_ = dry_run(project, readme, name)
    assert first.startswith(f"Would start process {name!r} with backend 'django_prodserver.")
    assert first.endswith(f".{class_name}' ({class_name}):")


@pytest.mark.parametrize(("name", "entry"), README_ALTERNATIVES)
def test_each_commented_readme_alternative_dry_runs(project: Path, name: str, entry: str) -> None:
    first, *_ = dry_run(project, f"{{{name!r}: {entry}}}", name)
    assert first.startswith(f"Would start process {name!r} with backend 'django_prodserver.")


def test_check_names_the_current_spelling_of_the_readmes_granian_keys(project: Path) -> None:
    [(_, entry)] = [alt for alt in commented_entries(README_3_0) if "GranianWSGI" in alt[1]]
    write_processes(project, f"{{'web': {entry}}}")
    result = manage(project, "check")
    assert result.returncode == 0, result.stderr
    assert result.stderr == (
        "System check identified some issues:\n\nWARNINGS:\n?: (prodserver.W005) Process 'web': "
        "ARGS['address'] is django-prodserver 3.0's name for Granian's 'host' option; it still "
        "works, but write 'host'.\n\nSystem check identified 1 issue (0 silenced).\n"
    )


SERVED_BY_3_0_PATHS = [
    ("servers.gunicorn.GunicornServer", lambda port: {"bind": f"127.0.0.1:{port}"}),
    (
        "servers.granian.GranianASGIServer",
        lambda port: {"address": "127.0.0.1", "port": str(port), "workers": "1"},
    ),
    (
        "servers.granian.GranianWSGIServer",
        lambda port: {"address": "127.0.0.1", "port": str(port), "workers": "2"},
    ),
    ("servers.waitress.WaitressServer", lambda port: {"port": port}),
    ("servers.uvicorn.UvicornServer", lambda port: {"port": port}),
    ("servers.uvicorn.UvicornWSGIServer", lambda port: {"port": port}),
]


@pytest.mark.parametrize(("path", "port_args"), SERVED_BY_3_0_PATHS)
def test_each_web_server_starts_by_its_3_0_path_and_answers(
    project: Path, path: str, port_args: object
) -> None:
    port = harness.free_port()
    process, log = _start(project, B + path, port_args(port))  # type: ignore[operator]
    try:
        body = _get(port, time.monotonic() + 30, process, log)
        assert "The install worked successfully!" in body
        process.send_signal(signal.SIGTERM)
        assert process.wait(timeout=10) == 0, log.read_text()
        assert "Traceback" not in log.read_text()
    finally:
        if process.poll() is None:
            os.killpg(process.pid, signal.SIGKILL)
            process.wait(timeout=10)


# -- custom backends written against 3.0 (tests/fixtures/project/testsite/upstream_backends.py) --

UPSTREAM = "testsite.upstream_backends."


@pytest.mark.parametrize(
    ("entry", "printed"),
    [
        (
            {
                "BACKEND": UPSTREAM + "ExtendingServer",
                "ARGS": {"bind": "127.0.0.1:8000", "workers": 2},
            },
            'ExtendingServer started with ["testsite.asgi:application", "--interface=asgi3", '
            '"--bind=127.0.0.1:8000", "--workers=2"]',
        ),
        (
            {
                "BACKEND": UPSTREAM + "AppendingServer",
                "ARGS": {"port": 8080, "expose_tracebacks": True},
            },
            'AppendingServer started with ["waitress", "--port=8080", "--expose-tracebacks", '
            '"testsite.wsgi:application"]',
        ),
        (
            {
                "BACKEND": UPSTREAM + "OptionsWorker",
                "OPTIONS": {"queues": ["high", "low"], "autoscale": "4,1"},
                "ARGS": {"concurrency": 2},
            },
            'OptionsWorker started with ["--queues=high", "--queues=low", "--autoscale=4,1", '
            '"--concurrency=2"]',
        ),
        (
            {"BACKEND": UPSTREAM + "AppWorker", "APP": "testsite.celery_app.app", "ARGS": {}},
            "AppWorker(testsite) started with []",
        ),
    ],
)
def test_a_3_0_custom_backend_is_started_with_the_argv_expected(
    tmp_path: Path, entry: dict[str, object], printed: str
) -> None:
    harness.write_settings(tmp_path, {"proc": entry})
    result = harness.run_manage(tmp_path, "prodserver", "proc")
    assert result.returncode == 0, result.stderr
    assert result.stdout.splitlines()[-1] == printed
    assert "Traceback" not in result.stderr
