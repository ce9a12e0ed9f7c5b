"""The django-tasks database worker: the ``db_worker`` command, run in this process.

``db_worker`` moved out of django-tasks into django-tasks-db (app ``django_tasks_db``).
django-tasks before 0.9, the last releases for Python 3.9, shipped it in the app
``django_tasks.backends.database``. Whichever of the two is installed is used.
"""

from __future__ import annotations

import importlib.util
from typing import ClassVar

from django.apps import apps

from ._management_command import DjangoCommandWorker

#: The apps that have provided ``db_worker``, newest first.
DB_WORKER_APPS = ("django_tasks_db", "django_tasks.backends.database")


def _is_importable(module: str) -> bool:
    try:
        return importlib.util.find_spec(module) is not None
    except ModuleNotFoundError:  # a parent package is missing
        return False


INSTALLED_DB_WORKER_APPS = [app for app in DB_WORKER_APPS if _is_importable(app)]
if not INSTALLED_DB_WORKER_APPS:
    # Neither is installed: this import fails, and the registry turns the failure into
    # 'pip install "django-prodserver[django-tasks]"'.
    import django_tasks_db  # noqa: F401


class DjangoTasksWorker(DjangoCommandWorker):
    """Runs ``manage.py db_worker`` of django-tasks-db (or of django-tasks before 0.9).

    On SIGTERM ``db_worker`` finishes the task it is running, however long it takes; it has no
    timeout option, so ``graceful_timeout()`` is the default 30 s.
    """

    program = "db_worker"
    command_name = "db_worker"
    comma_list_options: ClassVar[frozenset[str]] = frozenset({"--queue-name", "--exclude-queues"})

    def command_app(self) -> str:
        for app in INSTALLED_DB_WORKER_APPS:
            if apps.is_installed(app):
                return app
        raise self.error(
            f"backend {self.backend_name!r} runs the db_worker "
            f"command of {INSTALLED_DB_WORKER_APPS[0]!r}, which is not in INSTALLED_APPS: add "
            f"{INSTALLED_DB_WORKER_APPS[0]!r} to INSTALLED_APPS."
        )
