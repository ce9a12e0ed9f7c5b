"""The django-q2 cluster: the ``qcluster`` command, run in this process."""

from __future__ import annotations

import multiprocessing

import django_q  # noqa: F401 - a missing django-q2 becomes an install hint in the registry
from django.apps import apps
from django.conf import settings

from ._management_command import DjangoCommandWorker
from .base import DEFAULT_GRACEFUL_TIMEOUT


class DjangoQ2Worker(DjangoCommandWorker):
    """Runs ``manage.py qcluster`` and stays until the cluster has stopped."""

    program = "qcluster"
    command_name = "qcluster"

    def graceful_timeout(self) -> float:
        """``Q_CLUSTER["timeout"]``, the seconds a task may run before the cluster kills it. On
        SIGTERM the cluster waits for the tasks in progress; without a task timeout that wait
        has no bound, and this is ``DEFAULT_GRACEFUL_TIMEOUT`` (30 s)."""
        cluster = getattr(settings, "Q_CLUSTER", None)
        timeout = cluster.get("timeout") if isinstance(cluster, dict) else None
        return DEFAULT_GRACEFUL_TIMEOUT if timeout is None else float(timeout)

    def command_app(self) -> str:
        if not apps.is_installed("django_q"):
            raise self.error(
                f"backend {self.backend_name!r} runs django-q2's "
                f"qcluster command: add 'django_q' to INSTALLED_APPS."
            )
        if not isinstance(getattr(settings, "Q_CLUSTER", None), dict):
            # Without it django-q2 takes a Redis broker on localhost, and the cluster's
            # sentinel dies at start where none runs.
            raise self.error(
                "Q_CLUSTER is not set to a dict: django-q2 would use a Redis broker on "
                "localhost. Set Q_CLUSTER, such as {'name': 'mysite', 'orm': 'default'}."
            )
        return "django_q"

    def start_server(self, *args: str) -> None:
        try:
            super().start_server(*args)
        except AttributeError as e:
            # qcluster's start() polls cluster.start_event, which its own SIGTERM handler sets
            # to None after stopping the cluster: a stop signal during start-up ends start()
            # with this error although the cluster has stopped cleanly.
            if "'is_set'" not in str(e):
                raise
            return
        except RuntimeError as e:  # "Q Cluster ... failed to start: sentinel exited with code 1"
            raise self.error(f"the django-q2 cluster did not start: {e}") from e
        # qcluster returns as soon as the cluster's sentinel process is up; the cluster lives in
        # that child. Waiting for it here keeps this process the one a process manager watches,
        # and lets qcluster's SIGTERM handler (which stops the sentinel and waits for the tasks
        # in progress) finish before this process exits.
        for child in multiprocessing.active_children():
            child.join()
