"""Each backend's stop behaviour as data: the signal that stops it gracefully, and how long it may
take to drain (``graceful_timeout()``), read from the server's own option in ARGS where it has
one. ``manage.py prodserver --all`` and the exported deployment files rely on both.

The drain itself is observed on real servers in tests/integration; here the numbers.
"""

from __future__ import annotations

import signal
from typing import Any

import pytest

from django_prodserver import registry
from django_prodserver.backends import django_tasks
from django_prodserver.backends.base import DEFAULT_GRACEFUL_TIMEOUT, BaseServerBackend
from django_prodserver.backends.granian import GRANIAN_VERSION

SettingsWrapper = Any  # pytest-django's settings fixture
CELERY_APP = "testsite.celery_app.app"


def backend(alias: str, args: Any = None, **entry: Any) -> BaseServerBackend:
    """The backend ``alias`` as PRODUCTION_PROCESSES builds it, its ARGS checked."""
    if args is not None:
        entry["ARGS"] = args
    backend_class = registry.resolve(alias).backend_class
    built = backend_class(alias=alias, process_name="p", BACKEND=alias, **entry)
    built.check_args(built.prep_server_args())  # the timeouts are read from checked ARGS
    return built


def test_the_default_is_thirty_seconds_and_sigterm() -> None:
    assert DEFAULT_GRACEFUL_TIMEOUT == 30.0
    assert BaseServerBackend.stop_signal is signal.SIGTERM
    assert BaseServerBackend().graceful_timeout() == 30.0


@pytest.mark.parametrize(
    "alias",
    [
        "gunicorn",
        "uvicorn",
        "uvicorn-wsgi",
        "granian-wsgi",
        "granian-asgi",
        "hypercorn",
        "daphne",
        "waitress",
        "celery-worker",
        "celery-beat",
        "celery-flower",
        "django-tasks",
    ],
)
def test_every_backend_stops_gracefully_on_sigterm(alias: str) -> None:
    assert registry.resolve(alias).backend_class.stop_signal is signal.SIGTERM


@pytest.mark.parametrize(
    ("alias", "args", "expected"),
    [
        # gunicorn's own default, and its graceful_timeout option in each way ARGS is written.
        ("gunicorn", None, 30.0),
        ("gunicorn", {"graceful_timeout": 75}, 75.0),
        ("gunicorn", {"graceful-timeout": "12"}, 12.0),
        ("gunicorn", ["--graceful-timeout", "9"], 9.0),
        ("gunicorn", "--graceful-timeout=8", 8.0),
        ("gunicorn", {"timeout": 90}, 30.0),  # the worker timeout is another thing
        # uvicorn waits however long; the bound is timeout_graceful_shutdown.
        ("uvicorn", None, 30.0),
        ("uvicorn", {"timeout_graceful_shutdown": 20}, 20.0),
        ("uvicorn-wsgi", {"timeout-graceful-shutdown": 45}, 45.0),
        # The bound is workers_kill_timeout, a duration; prodserver sets 30 s unless ARGS does.
        ("granian-wsgi", None, 30.0),
        ("granian-wsgi", {"workers_kill_timeout": 25}, 25.0),
        ("granian-asgi", "--workers-kill-timeout 40", 40.0),
        ("granian-asgi", {"workers_kill_timeout": None}, 30.0),  # None leaves prodserver's default
        # Hypercorn's own default is 3 seconds.
        ("hypercorn", None, 3.0),
        ("hypercorn", {"graceful_timeout": 12}, 12.0),
        # daphne and waitress: the backend's fixed graceful stop.
        ("daphne", None, 30.0),
        ("waitress", None, 30.0),
        ("waitress", {"channel_timeout": 300}, 30.0),
    ],
)
def test_graceful_timeout_comes_from_the_server_s_option(
    alias: str, args: Any, expected: float
) -> None:
    assert backend(alias, args).graceful_timeout() == expected


def test_db_worker_finishes_its_task_however_long_and_takes_the_default(
    settings: SettingsWrapper,
) -> None:
    app = django_tasks.INSTALLED_DB_WORKER_APPS[0]
    settings.INSTALLED_APPS = [*settings.INSTALLED_APPS, "django_tasks", app]
    settings.TASKS = {"default": {"BACKEND": f"{app}.DatabaseBackend"}}
    assert backend("django-tasks").graceful_timeout() == 30.0


def test_granian_reads_the_timeout_in_seconds() -> None:
    assert backend("granian-wsgi", {"workers_kill_timeout": 12}).graceful_timeout() == 12.0


@pytest.mark.skipif(
    int(GRANIAN_VERSION.split(".")[0]) < 2, reason="Granian 2 reads durations such as '1m'"
)
def test_granian_reads_a_human_readable_duration() -> None:
    assert backend("granian-wsgi", {"workers_kill_timeout": "1m"}).graceful_timeout() == 60.0


@pytest.mark.parametrize(
    ("args", "expected"),
    [
        (None, 30.0),  # a warm shutdown waits for every task: no bound of its own
        ({"time_limit": 120}, 120.0),  # no task outlives its hard time limit
        ({"soft_time_limit": 120}, 30.0),  # a soft limit only raises inside the task
        (["--time-limit", "7.5"], 7.5),
    ],
)
def test_a_celery_worker_is_bounded_by_the_tasks_hard_time_limit(
    args: Any, expected: float
) -> None:
    assert backend("celery-worker", args, APP=CELERY_APP).graceful_timeout() == expected


def test_a_celery_worker_reads_the_application_s_time_limit() -> None:
    worker = backend("celery-worker", APP=CELERY_APP)
    app = worker.celery_app()  # type: ignore[attr-defined]
    previous = app.conf.task_time_limit
    app.conf.task_time_limit = 300
    try:
        assert worker.graceful_timeout() == 300.0
        # ARGS wins over the application's configuration, as it does when Celery starts.
        assert backend("celery-worker", {"time_limit": 60}, APP=CELERY_APP).graceful_timeout() == 60
    finally:
        app.conf.task_time_limit = previous


@pytest.mark.parametrize("alias", ["celery-beat", "celery-flower"])
def test_beat_and_flower_stop_at_once_and_take_the_default(alias: str) -> None:
    assert backend(alias, APP=CELERY_APP).graceful_timeout() == 30.0


@pytest.mark.parametrize(
    ("cluster", "expected"), [({"timeout": 90}, 90.0), ({}, 30.0), (None, 30.0)]
)
def test_django_q2_is_bounded_by_the_task_timeout(
    settings: SettingsWrapper, cluster: Any, expected: float
) -> None:
    from django_prodserver.backends.django_q2 import DjangoQ2Worker

    settings.Q_CLUSTER = cluster
    worker = DjangoQ2Worker(alias="django-q2", process_name="q", BACKEND="django-q2")
    assert worker.graceful_timeout() == expected
