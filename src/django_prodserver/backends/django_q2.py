"""The django-q2 cluster: the ``qcluster`` command, run in this process."""

from __future__ import annotations

import multiprocessing

import django_q  # noqa: F401 - a missing django-q2 becomes an install hint in the registry
from django.apps import apps

from ._management_command import DjangoCommandWorker


class DjangoQ2Worker(DjangoCommandWorker):
    """Runs ``manage.py qcluster`` and stays until the cluster has stopped."""

    program = "qcluster"
    command_name = "qcluster"

    def command_app(self) -> str:
        if not apps.is_installed("django_q"):
            raise self.error(
                f"backend {self.server_config.get('BACKEND', self.alias)!r} runs django-q2's "
                f"qcluster command: add 'django_q' to INSTALLED_APPS."
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
        # qcluster returns as soon as the cluster's sentinel process is up; the cluster lives in
        # that child. Waiting for it here keeps this process the one a process manager watches,
        # and lets qcluster's SIGTERM handler (which stops the sentinel and waits for the tasks
        # in progress) finish before this process exits.
        for child in multiprocessing.active_children():
            child.join()
