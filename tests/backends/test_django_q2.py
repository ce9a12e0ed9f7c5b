"""The django-q2 backend: qcluster's ARGS, their checks, and waiting for the cluster.

qcluster really runs in tests/integration/test_workers.py; here ``start_server`` is observed
where it hands its arguments to ``call_command``.
"""

from __future__ import annotations

import multiprocessing
from typing import Any

import pytest

from django_prodserver.backends import _management_command
from django_prodserver.backends.base import BaseServerBackend, BaseWorkerBackend
from django_prodserver.backends.django_q2 import DjangoQ2Worker
from django_prodserver.exceptions import InvalidBackendArgs

SettingsWrapper = Any  # pytest-django's settings fixture


@pytest.fixture
def q2_installed(settings: SettingsWrapper) -> None:
    # First: installing the app imports django_q.conf, which reads Q_CLUSTER once.
    settings.Q_CLUSTER = {"name": "unit", "orm": "default", "timeout": 30, "retry": 60}
    settings.INSTALLED_APPS = [*settings.INSTALLED_APPS, "django_q"]


def worker(args: Any = None) -> DjangoQ2Worker:
    entry: dict[str, Any] = {"BACKEND": "django-q2"}
    if args is not None:
        entry["ARGS"] = args
    return DjangoQ2Worker(alias="django-q2", process_name="q", **entry)


def checked_argv(backend: DjangoQ2Worker) -> list[str]:
    argv = backend.prep_server_args()
    backend.check_args(argv)
    return argv


def error_of(backend: DjangoQ2Worker) -> str:
    with pytest.raises(InvalidBackendArgs) as caught:
        checked_argv(backend)
    return caught.value.message


def test_it_is_a_worker() -> None:
    assert issubclass(DjangoQ2Worker, BaseWorkerBackend)
    assert not issubclass(DjangoQ2Worker, BaseServerBackend)
    assert DjangoQ2Worker.kind == "worker"


def test_without_django_q_in_installed_apps_it_says_to_add_it() -> None:
    assert error_of(worker()) == (
        "Process 'q': backend 'django-q2' runs django-q2's qcluster command: add 'django_q' "
        "to INSTALLED_APPS."
    )


@pytest.mark.usefixtures("q2_installed")
def test_args_become_qcluster_options() -> None:
    assert checked_argv(worker({"name": "emails", "run_once": True})) == [
        "--name=emails",
        "--run-once",
    ]
    assert checked_argv(worker(["-n", "emails"])) == ["-n", "emails"]
    assert checked_argv(worker({"run_once": False})) == []


@pytest.mark.usefixtures("q2_installed")
def test_an_unknown_option_is_named_with_a_suggestion() -> None:
    assert error_of(worker({"run_one": True})) == (
        "Process 'q': unknown qcluster option 'run_one' in ARGS. Did you mean 'run_once'?"
    )


@pytest.mark.usefixtures("q2_installed")
def test_a_prefix_of_an_option_is_not_that_option() -> None:
    # qcluster's argparse would expand "--ru" to --run-once, and the cluster stop after a run.
    assert error_of(worker({"ru": True})) == (
        "Process 'q': unknown qcluster option 'ru' in ARGS. "
        "See 'manage.py qcluster --help' for the options it accepts."
    )


@pytest.mark.usefixtures("q2_installed")
def test_an_unknown_option_without_a_close_match_points_to_qcluster_s_help() -> None:
    assert error_of(worker({"workers": 4})) == (
        "Process 'q': unknown qcluster option 'workers' in ARGS. "
        "See 'manage.py qcluster --help' for the options it accepts."
    )


@pytest.mark.usefixtures("q2_installed")
def test_a_positional_argument_is_refused() -> None:
    assert error_of(worker("emails")) == (
        "Process 'q': unexpected argument 'emails' in ARGS: ARGS holds options only; "
        "qcluster takes no positional arguments."
    )


@pytest.mark.usefixtures("q2_installed")
def test_a_value_given_to_a_flag_is_refused() -> None:
    assert error_of(worker(["--run-once=yes"])) == (
        "Process 'q': invalid value 'yes' for qcluster option '--run-once' in ARGS: "
        "ignored explicit argument 'yes'."
    )


@pytest.mark.usefixtures("q2_installed")
def test_django_s_pythonpath_option_is_refused() -> None:
    assert error_of(worker(["--pythonpath=/srv"])) == (
        "Process 'q': qcluster option '--pythonpath' cannot be set in ARGS: it is an option "
        "of manage.py itself and does nothing for qcluster; give it to manage.py prodserver "
        "instead."
    )


@pytest.mark.usefixtures("q2_installed")
def test_version_is_refused() -> None:
    assert error_of(worker({"version": True})) == (
        "Process 'q': qcluster option 'version' cannot be set in ARGS: it makes qcluster "
        "print and exit instead of starting the worker."
    )


class Child:
    def __init__(self) -> None:
        self.joined = False

    def join(self) -> None:
        self.joined = True


@pytest.mark.usefixtures("q2_installed")
def test_start_runs_qcluster_and_waits_for_the_cluster(monkeypatch: pytest.MonkeyPatch) -> None:
    calls: list[tuple[Any, ...]] = []
    sentinel = Child()
    monkeypatch.setattr(_management_command, "call_command", lambda *args: calls.append(args))
    monkeypatch.setattr(multiprocessing, "active_children", lambda: [sentinel])
    backend = worker({"name": "emails"})

    backend.start_server(*checked_argv(backend))

    assert calls == [(backend.command(), "--name=emails")]
    assert sentinel.joined


def test_describe_start() -> None:
    assert worker().describe_start(["--name=emails"]) == "manage.py qcluster --name=emails"


def test_a_stop_signal_during_qcluster_start_up_is_a_clean_stop(
    monkeypatch: pytest.MonkeyPatch,
) -> None:
    from django_prodserver.backends._management_command import DjangoCommandWorker

    def stopped_during_start_up(self: DjangoCommandWorker, *args: str) -> None:
        raise AttributeError("'NoneType' object has no attribute 'is_set'")

    monkeypatch.setattr(DjangoCommandWorker, "start_server", stopped_during_start_up)
    DjangoQ2Worker(alias="django-q2", process_name="q2", BACKEND="django-q2").start_server()


def test_other_attribute_errors_are_not_hidden(monkeypatch: pytest.MonkeyPatch) -> None:
    from django_prodserver.backends._management_command import DjangoCommandWorker

    def broken(self: DjangoCommandWorker, *args: str) -> None:
        raise AttributeError("'Cluster' object has no attribute 'broker'")

    monkeypatch.setattr(DjangoCommandWorker, "start_server", broken)
    with pytest.raises(AttributeError, match="broker"):
        DjangoQ2Worker(alias="django-q2", process_name="q2", BACKEND="django-q2").start_server()


@pytest.mark.usefixtures("q2_installed")
def test_without_q_cluster_it_says_to_set_it(settings: SettingsWrapper) -> None:
    del settings.Q_CLUSTER
    assert error_of(worker()) == (
        "Process 'q': Q_CLUSTER is not set to a dict: django-q2 would use a Redis broker on "
        "localhost. Set Q_CLUSTER, such as {'name': 'mysite', 'orm': 'default'}."
    )


def test_a_cluster_that_does_not_start_is_one_line(monkeypatch: pytest.MonkeyPatch) -> None:
    from django_prodserver.backends._management_command import DjangoCommandWorker

    def sentinel_died(self: DjangoCommandWorker, *args: str) -> None:
        raise RuntimeError("Q Cluster unit failed to start: sentinel exited with code 1")

    monkeypatch.setattr(DjangoCommandWorker, "start_server", sentinel_died)
    with pytest.raises(InvalidBackendArgs) as caught:
        DjangoQ2Worker(alias="django-q2", process_name="q2", BACKEND="django-q2").start_server()
    assert caught.value.message == (
        "Process 'q2': the django-q2 cluster did not start: Q Cluster unit failed to start: "
        "sentinel exited with code 1"
    )
