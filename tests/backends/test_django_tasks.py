"""The django-tasks backend: which app's db_worker it runs, its ARGS and their checks.

db_worker really runs in tests/integration/test_workers.py; here ``start_server`` is observed
where it hands its arguments to ``call_command``.
"""

from __future__ import annotations

import sys
from typing import Any

import pytest

from django_prodserver import registry
from django_prodserver.backends import _management_command, django_tasks
from django_prodserver.backends.base import BaseServerBackend, BaseWorkerBackend
from django_prodserver.backends.django_tasks import DjangoTasksWorker
from django_prodserver.exceptions import BackendDependencyMissing, InvalidBackendArgs

SettingsWrapper = Any  # pytest-django's settings fixture


# django-tasks-db on Python 3.10+; on 3.9, django-tasks < 0.9 and its own database app.
DB_WORKER_APP = django_tasks.INSTALLED_DB_WORKER_APPS[0]


@pytest.fixture
def tasks_installed(settings: SettingsWrapper) -> None:
    settings.INSTALLED_APPS = [*settings.INSTALLED_APPS, "django_tasks", DB_WORKER_APP]
    settings.TASKS = {"default": {"BACKEND": f"{DB_WORKER_APP}.DatabaseBackend"}}


def worker(args: Any = None) -> DjangoTasksWorker:
    entry: dict[str, Any] = {"BACKEND": "django-tasks"}
    if args is not None:
        entry["ARGS"] = args
    return DjangoTasksWorker(alias="django-tasks", process_name="tasks", **entry)


def checked_argv(backend: DjangoTasksWorker) -> list[str]:
    argv = backend.prep_server_args()
    backend.check_args(argv)
    return argv


def error_of(backend: DjangoTasksWorker) -> str:
    with pytest.raises(InvalidBackendArgs) as caught:
        checked_argv(backend)
    return caught.value.message


def test_it_is_a_worker() -> None:
    assert issubclass(DjangoTasksWorker, BaseWorkerBackend)
    assert not issubclass(DjangoTasksWorker, BaseServerBackend)
    assert DjangoTasksWorker.kind == "worker"
    assert DjangoTasksWorker.settings_keys == frozenset()


# Which db_worker


def test_the_db_worker_app_of_this_python_is_found() -> None:
    expected = (
        "django_tasks_db" if sys.version_info >= (3, 10) else "django_tasks.backends.database"
    )
    assert [expected] == django_tasks.INSTALLED_DB_WORKER_APPS


@pytest.mark.skipif(sys.version_info < (3, 10), reason="django-tasks-db needs Python 3.10")
def test_without_the_app_in_installed_apps_it_says_which_to_add() -> None:
    assert error_of(worker()) == (
        "Process 'tasks': backend 'django-tasks' runs the db_worker command of "
        "'django_tasks_db', which is not in INSTALLED_APPS: add 'django_tasks_db' to "
        "INSTALLED_APPS."
    )


def test_the_older_django_tasks_app_is_named_where_it_is_the_one_installed(
    monkeypatch: pytest.MonkeyPatch,
) -> None:
    # Python 3.9 gets django-tasks < 0.9, whose database backend app held db_worker.
    monkeypatch.setattr(
        django_tasks, "INSTALLED_DB_WORKER_APPS", ["django_tasks.backends.database"]
    )

    assert error_of(worker()) == (
        "Process 'tasks': backend 'django-tasks' runs the db_worker command of "
        "'django_tasks.backends.database', which is not in INSTALLED_APPS: add "
        "'django_tasks.backends.database' to INSTALLED_APPS."
    )


def test_a_module_under_a_missing_package_is_not_importable() -> None:
    assert django_tasks._is_importable("no_such_package.backends.database") is False


@pytest.mark.usefixtures("tasks_installed")
def test_the_installed_app_s_db_worker_is_the_command() -> None:
    command = worker().command()

    assert type(command).__module__ == f"{DB_WORKER_APP}.management.commands.db_worker"


def test_without_any_db_worker_package_the_registry_gives_the_install_hint(
    monkeypatch: pytest.MonkeyPatch,
) -> None:
    # As if not installed. A db_worker app that an earlier test imported is in sys.modules,
    # where the backend would find it without its package: it goes too.
    for module in ("django_tasks_db", "django_tasks", *django_tasks.DB_WORKER_APPS):
        monkeypatch.setitem(sys.modules, module, None)
    monkeypatch.delitem(sys.modules, "django_prodserver.backends.django_tasks")

    with pytest.raises(BackendDependencyMissing) as caught:
        registry.resolve("django-tasks")

    assert caught.value.message == (
        "BACKEND 'django-tasks' needs the module 'django_tasks_db', which is not installed. "
        'Install it with: pip install "django-prodserver[django-tasks]"'
    )


# ARGS to argv


@pytest.mark.usefixtures("tasks_installed")
def test_dict_args_become_db_worker_options() -> None:
    argv = checked_argv(worker({"interval": 0.5, "max_tasks": 10, "batch": True}))

    assert argv == ["--interval=0.5", "--max-tasks=10", "--batch"]


@pytest.mark.usefixtures("tasks_installed")
def test_lists_of_queues_are_joined_with_commas() -> None:
    # --queue-name takes "a,b"; repeated, argparse keeps only the last.
    argv = checked_argv(worker({"queue_name": ["a", "b"]}))

    assert argv == ["--queue-name=a,b"]


@pytest.mark.usefixtures("tasks_installed")
def test_excluded_queues_are_joined_with_commas() -> None:
    backend = worker({"queue_name": "*", "exclude_queues": ("c", "d")})

    if "--exclude-queues" in backend.parser()._option_string_actions:
        assert checked_argv(backend) == ["--queue-name=*", "--exclude-queues=c,d"]
    else:  # the db_worker of django-tasks 0.8 (on Python 3.9) has no --exclude-queues
        assert error_of(backend) == (
            "Process 'tasks': unknown db_worker option 'exclude_queues' in ARGS. "
            "See 'manage.py db_worker --help' for the options it accepts."
        )


@pytest.mark.usefixtures("tasks_installed")
def test_false_gives_the_no_form_where_db_worker_has_one() -> None:
    argv = checked_argv(worker({"reload": False, "startup_delay": False, "batch": False}))

    assert argv == ["--no-reload", "--no-startup-delay"]


@pytest.mark.usefixtures("tasks_installed")
def test_a_list_for_a_single_valued_option_is_refused() -> None:
    assert error_of(worker({"interval": [1, 2]})) == (
        "Process 'tasks': invalid value [1, 2] for db_worker option 'interval' in ARGS: it "
        "takes one value, and repeating it would keep only the last."
    )


@pytest.mark.usefixtures("tasks_installed")
def test_string_and_list_args_are_used_as_written() -> None:
    assert checked_argv(worker("--batch")) == ["--batch"]
    assert checked_argv(worker(["--interval", "2", "--queue-name=a,b"])) == [
        "--interval",
        "2",
        "--queue-name=a,b",
    ]


# check_args


@pytest.mark.usefixtures("tasks_installed")
def test_an_unknown_option_is_named_with_a_suggestion() -> None:
    assert error_of(worker({"intervall": 2})) == (
        "Process 'tasks': unknown db_worker option 'intervall' in ARGS. Did you mean 'interval'?"
    )


@pytest.mark.usefixtures("tasks_installed")
def test_a_bad_value_is_named_with_db_worker_s_own_words() -> None:
    assert error_of(worker({"interval": "inf"})) == (
        "Process 'tasks': invalid value 'inf' for db_worker option 'interval' in ARGS: "
        "Must be a finite floating point value."
    )


@pytest.mark.usefixtures("tasks_installed")
def test_an_abbreviated_option_is_refused() -> None:
    # argparse would take "--inter" for "--interval": a typo must not set another option.
    assert error_of(worker(["--inter=abc"])) == (
        "Process 'tasks': unknown db_worker option '--inter' in ARGS. Did you mean '--interval'?"
    )


@pytest.mark.usefixtures("tasks_installed")
def test_an_interval_beyond_a_week_is_refused() -> None:
    assert error_of(worker({"interval": 10**20})) == (
        "Process 'tasks': invalid value 100000000000000000000 for db_worker option 'interval' "
        "in ARGS: it must be from 0 to 604800."
    )


@pytest.mark.usefixtures("tasks_installed")
def test_a_backend_that_is_not_a_database_backend_is_named(settings: SettingsWrapper) -> None:
    settings.TASKS = {
        "default": {"BACKEND": "django_tasks.backends.immediate.ImmediateBackend"},
    }

    assert error_of(worker()) == (
        "Process 'tasks': db_worker cannot start: invalid value for db_worker option "
        "'--backend': Backend 'default' is not a database backend."
    )


@pytest.mark.usefixtures("tasks_installed")
def test_django_s_own_settings_option_is_refused() -> None:
    assert error_of(worker({"settings": "other.settings"})) == (
        "Process 'tasks': db_worker option 'settings' cannot be set in ARGS: it is an option "
        "of manage.py itself and does nothing for db_worker; give it to manage.py prodserver "
        "instead."
    )


@pytest.mark.usefixtures("tasks_installed")
def test_help_is_refused_without_printing(capsys: pytest.CaptureFixture[str]) -> None:
    assert error_of(worker({"help": True})) == (
        "Process 'tasks': db_worker option 'help' cannot be set in ARGS: it makes db_worker "
        "print and exit instead of starting the worker."
    )
    assert capsys.readouterr() == ("", "")


# Starting


@pytest.mark.usefixtures("tasks_installed")
def test_start_calls_db_worker_with_our_arguments(monkeypatch: pytest.MonkeyPatch) -> None:
    calls: list[tuple[Any, ...]] = []
    monkeypatch.setattr(_management_command, "call_command", lambda *args: calls.append(args))
    backend = worker({"queue_name": ["a", "b"], "interval": 1})

    backend.start_server(*checked_argv(backend))

    assert calls == [(backend.command(), "--queue-name=a,b", "--interval=1")]


def test_describe_start() -> None:
    assert worker().describe_start(["--queue-name=a,b", "--interval=1"]) == (
        "manage.py db_worker --queue-name=a,b --interval=1"
    )
