"""Real task workers started by ``manage.py prodserver NAME``, fed real tasks.

Celery uses kombu's filesystem transport (no broker server); django-tasks and django-q2 use a
SQLite file. Every task leaves a file behind, so a test sees it ran without a result backend.
Every wait is bounded.
"""

from __future__ import annotations

import signal
import time
from collections.abc import Callable
from pathlib import Path

import pytest
from celery import Celery

from django_prodserver.backends.django_tasks import INSTALLED_DB_WORKER_APPS

from . import harness
from .conftest import StartServer

pytestmark = pytest.mark.integration

SLOW_TASK_SECONDS = 3


def wait_for(condition: Callable[[], bool], server: harness.ServerProcess, timeout: float) -> None:
    """Poll ``condition``, failing early with the worker's output if the worker exits."""
    deadline = time.monotonic() + timeout
    while time.monotonic() < deadline:
        if condition():
            return
        if server.proc.poll() is not None:
            raise AssertionError(f"worker exited with {server.proc.returncode}:\n{server.output}")
        time.sleep(0.1)
    raise AssertionError(f"condition not met within {timeout}s:\n{server.output}")


# Celery


def celery_settings(tmp_path: Path) -> str:
    queue = tmp_path / "broker" / "queue"
    control = tmp_path / "broker" / "control"
    queue.mkdir(parents=True)
    control.mkdir(parents=True)
    return (
        "CELERY_BROKER_URL = 'filesystem://'\n"
        f"CELERY_BROKER_TRANSPORT_OPTIONS = {celery_transport_options(tmp_path)!r}\n"
        "CELERY_WORKER_HIJACK_ROOT_LOGGER = False\n"
    )


def celery_transport_options(tmp_path: Path) -> dict[str, str]:
    queue = str(tmp_path / "broker" / "queue")
    # Producer and consumer share one folder: what one writes, the other reads.
    return {
        "data_folder_in": queue,
        "data_folder_out": queue,
        "control_folder": str(tmp_path / "broker" / "control"),
    }


def producer(tmp_path: Path) -> Celery:
    """A Celery client in the test process, sending to the worker's folders."""
    return Celery(
        "producer",
        broker="filesystem://",
        broker_transport_options=celery_transport_options(tmp_path),
    )


CELERY_WORKER = {
    "BACKEND": "celery-worker",
    "APP": "testsite.celery_app.app",
    "ARGS": {
        "concurrency": 1,
        "loglevel": "INFO",
        "queues": ["alpha", "beta"],
        # gossip, mingle and heartbeats talk to other workers; there are none.
        "without_gossip": True,
        "without_mingle": True,
        "without_heartbeat": True,
    },
}


def test_celery_worker_runs_tasks_from_both_listed_queues(
    start_server: StartServer, tmp_path: Path
) -> None:
    server = start_server({"worker": CELERY_WORKER}, "worker", celery_settings(tmp_path))
    client = producer(tmp_path)
    for queue in ("alpha", "beta"):
        client.send_task(
            "testsite.write_file", args=[str(tmp_path / queue), f"ran from {queue}"], queue=queue
        )

    wait_for(lambda: (tmp_path / "beta").exists() and (tmp_path / "alpha").exists(), server, 30)

    assert (tmp_path / "alpha").read_text() == "ran from alpha"
    assert (tmp_path / "beta").read_text() == "ran from beta"
    assert server.stop(signal.SIGTERM, timeout=20) == 0, server.output


def test_celery_worker_finishes_its_task_on_sigterm(
    start_server: StartServer, tmp_path: Path
) -> None:
    server = start_server({"worker": CELERY_WORKER}, "worker", celery_settings(tmp_path))
    producer(tmp_path).send_task(
        "testsite.slow_write_file", args=[str(tmp_path), SLOW_TASK_SECONDS], queue="alpha"
    )
    wait_for((tmp_path / "started").exists, server, 30)

    status = server.stop(signal.SIGTERM, timeout=20)

    assert (tmp_path / "finished").exists(), server.output
    assert status == 0, server.output
    assert "Warm shutdown" in server.output


def test_celery_beat_starts_and_stops_cleanly(start_server: StartServer, tmp_path: Path) -> None:
    beat = {
        "BACKEND": "celery-beat",
        "APP": "testsite.celery_app:app",
        "ARGS": {"schedule": str(tmp_path / "beat-schedule"), "loglevel": "DEBUG"},
    }
    server = start_server({"beat": beat}, "beat", celery_settings(tmp_path))
    # Beat logs "Ticking" once its schedule file is open; a stop before that lands inside
    # Celery's own start-up (on 3.13 mid-import of dbm.sqlite3), which is not what this tests.
    wait_for(lambda: "beat: Ticking with max interval" in server.output, server, 30)

    assert server.stop(signal.SIGTERM) == 0, server.output


def test_celery_dry_run_shows_the_invocation(tmp_path: Path) -> None:
    harness.write_settings(tmp_path, {"worker": CELERY_WORKER}, celery_settings(tmp_path))

    result = harness.run_manage(tmp_path, "prodserver", "worker", "--dry-run")

    assert result.returncode == 0, result.stderr
    assert result.stdout.splitlines()[-1] == (
        "celery --app=testsite.celery_app.app --skip-checks worker --concurrency=1 "
        "--loglevel=INFO --queues=alpha,beta --without-gossip --without-mingle "
        "--without-heartbeat"
    )


def test_celery_worker_without_app_is_one_line(tmp_path: Path) -> None:
    harness.write_settings(tmp_path, {"worker": {"BACKEND": "celery-worker"}})

    result = harness.run_manage(tmp_path, "prodserver", "worker")

    assert result.returncode == 1
    assert result.stderr == (
        "CommandError: Process 'worker': backend 'celery-worker' needs 'APP', the dotted path "
        "to your Celery application, such as 'proj.celery.app'.\n"
    )


# django-tasks


# django-tasks-db on Python 3.10+; on 3.9, django-tasks < 0.9 and its own database app.
DB_WORKER_APP = INSTALLED_DB_WORKER_APPS[0]


def tasks_settings(tmp_path: Path) -> str:
    return (
        f"INSTALLED_APPS = [*INSTALLED_APPS, 'django_tasks', {DB_WORKER_APP!r}]\n"
        f"DATABASES = {{'default': {{'ENGINE': 'django.db.backends.sqlite3', "
        f"'NAME': {str(tmp_path / 'db.sqlite3')!r}}}}}\n"
        f"TASKS = {{'default': {{'BACKEND': '{DB_WORKER_APP}.DatabaseBackend'}}}}\n"
    )


def enqueue(tmp_path: Path, code: str) -> None:
    """Run ``code`` in ``manage.py shell`` with the worker's settings."""
    result = harness.run_manage(tmp_path, "shell", "-c", code)
    assert result.returncode == 0, result.stderr


def migrated(tmp_path: Path, processes: dict[str, object], extra: str) -> None:
    harness.write_settings(tmp_path, processes, extra)
    result = harness.run_manage(tmp_path, "migrate", "--verbosity=0")
    assert result.returncode == 0, result.stderr


DJANGO_TASKS_WORKER = {"BACKEND": "django-tasks", "ARGS": {"interval": 0.2}}


def test_django_tasks_worker_runs_a_task(start_server: StartServer, tmp_path: Path) -> None:
    migrated(tmp_path, {"tasks": DJANGO_TASKS_WORKER}, tasks_settings(tmp_path))
    target = tmp_path / "written"
    enqueue(
        tmp_path,
        f"from testsite.tasks import write_file; write_file.enqueue({str(target)!r}, 'hello')",
    )

    server = start_server({"tasks": DJANGO_TASKS_WORKER}, "tasks", tasks_settings(tmp_path))
    wait_for(target.exists, server, 30)

    assert target.read_text() == "hello"
    assert server.stop(signal.SIGTERM) == 0, server.output


def test_django_tasks_worker_finishes_its_task_on_sigterm(
    start_server: StartServer, tmp_path: Path
) -> None:
    migrated(tmp_path, {"tasks": DJANGO_TASKS_WORKER}, tasks_settings(tmp_path))
    enqueue(
        tmp_path,
        f"from testsite.tasks import slow_write_file; "
        f"slow_write_file.enqueue({str(tmp_path)!r}, {SLOW_TASK_SECONDS})",
    )
    server = start_server({"tasks": DJANGO_TASKS_WORKER}, "tasks", tasks_settings(tmp_path))
    wait_for((tmp_path / "started").exists, server, 30)

    status = server.stop(signal.SIGTERM, timeout=20)

    assert (tmp_path / "finished").exists(), server.output
    assert status == 0, server.output


def test_django_tasks_without_the_app_is_one_line(tmp_path: Path) -> None:
    harness.write_settings(tmp_path, {"tasks": DJANGO_TASKS_WORKER})

    result = harness.run_manage(tmp_path, "prodserver", "tasks")

    assert result.returncode == 1
    assert result.stderr == (
        f"CommandError: Process 'tasks': backend 'django-tasks' runs the db_worker command of "
        f"{DB_WORKER_APP!r}, which is not in INSTALLED_APPS: add {DB_WORKER_APP!r} to "
        f"INSTALLED_APPS.\n"
    )


# django-q2


def q2_settings(tmp_path: Path) -> str:
    return (
        "INSTALLED_APPS = [*INSTALLED_APPS, 'django_q']\n"
        f"DATABASES = {{'default': {{'ENGINE': 'django.db.backends.sqlite3', "
        f"'NAME': {str(tmp_path / 'db.sqlite3')!r}}}}}\n"
        "Q_CLUSTER = {'name': 'prodserver-test', 'orm': 'default', 'workers': 1, "
        "'timeout': 30, 'retry': 60, 'poll': 0.2, 'catch_up': False}\n"
    )


Q2_WORKER = {"BACKEND": "django-q2"}


def test_django_q2_cluster_runs_a_task(start_server: StartServer, tmp_path: Path) -> None:
    migrated(tmp_path, {"q2": Q2_WORKER}, q2_settings(tmp_path))
    target = tmp_path / "written"
    enqueue(
        tmp_path,
        f"from django_q.tasks import async_task; "
        f"async_task('testsite.tasks.q2_write_file', {str(target)!r}, 'hello')",
    )

    server = start_server({"q2": Q2_WORKER}, "q2", q2_settings(tmp_path))
    wait_for(target.exists, server, 30)

    assert target.read_text() == "hello"
    assert server.stop(signal.SIGTERM, timeout=20) == 0, server.output


def test_django_q2_cluster_finishes_its_task_on_sigterm(
    start_server: StartServer, tmp_path: Path
) -> None:
    migrated(tmp_path, {"q2": Q2_WORKER}, q2_settings(tmp_path))
    enqueue(
        tmp_path,
        f"from django_q.tasks import async_task; "
        f"async_task('testsite.tasks.q2_slow_write_file', {str(tmp_path)!r}, {SLOW_TASK_SECONDS})",
    )
    server = start_server({"q2": Q2_WORKER}, "q2", q2_settings(tmp_path))
    wait_for((tmp_path / "started").exists, server, 30)

    status = server.stop(signal.SIGTERM, timeout=30)

    assert (tmp_path / "finished").exists(), server.output
    assert status == 0, server.output


# Bad ARGS: one line, worded as for the web servers

BAD_OPTIONS: dict[str, tuple[dict[str, object], Callable[[Path], str], str]] = {
    "celery-worker": (
        {**CELERY_WORKER, "ARGS": {"concurency": 2}},
        celery_settings,
        "Process 'worker': unknown celery worker option 'concurency' in ARGS. "
        "Did you mean 'concurrency'?",
    ),
    "django-tasks": (
        {"BACKEND": "django-tasks", "ARGS": {"interval": [1, 2]}},
        tasks_settings,
        "Process 'worker': invalid value [1, 2] for db_worker option 'interval' in ARGS: it "
        "takes one value, and repeating it would keep only the last.",
    ),
    "django-q2": (
        {"BACKEND": "django-q2", "ARGS": ["--run-once=yes"]},
        q2_settings,
        "Process 'worker': invalid value 'yes' for qcluster option '--run-once' in ARGS: "
        "ignored explicit argument 'yes'.",
    ),
}


@pytest.mark.parametrize("backend", list(BAD_OPTIONS))
def test_bad_option_is_one_line_without_traceback(tmp_path: Path, backend: str) -> None:
    worker, settings, message = BAD_OPTIONS[backend]
    harness.write_settings(tmp_path, {"worker": worker}, settings(tmp_path))

    result = harness.run_manage(tmp_path, "prodserver", "worker")

    assert result.returncode == 1
    assert result.stderr == f"CommandError: {message}\n"
