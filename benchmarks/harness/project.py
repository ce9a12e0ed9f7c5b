"""The example project, run from a temporary directory that holds its settings and database.

``examples/project/`` itself is never written to (apart from Python's bytecode cache): each
benchmark settings module lives in the temporary directory, extends ``exampleproject.settings``
and points the database at a migrated copy there.
"""

from __future__ import annotations

import os
import shutil
import sys
import tempfile
from pathlib import Path
from typing import Any

from .processes import run_bounded

REPO_DIR = Path(__file__).resolve().parents[2]
EXAMPLE_DIR = REPO_DIR / "examples" / "project"
BASE_SETTINGS = "bench_settings"
WITHOUT_APP_SETTINGS = "bench_settings_without_app"
BENCH_URLS = "bench_urls"
#: Only in the benchmark's URLconf: runs a full garbage collection in the worker that serves it
#: and answers with that worker's pid (the example project users see has no such view).
COLLECT_PATH = "/bench/collect/"


class ExampleProject:
    """A temporary home for settings modules, the SQLite database and server logs."""

    def __init__(self, keep: bool = False) -> None:
        self.root = Path(tempfile.mkdtemp(prefix="prodserver-bench-"))
        self.logs = self.root / "logs"
        self.logs.mkdir()
        self.keep = keep
        self._modules = 0
        database = self.root / "db.sqlite3"
        self._write(
            BASE_SETTINGS,
            "from exampleproject.settings import *  # noqa: F403\n\n"
            f"DATABASES = {{'default': {{'ENGINE': 'django.db.backends.sqlite3', "
            f"'NAME': {str(database)!r}}}}}\n"
            f"ROOT_URLCONF = {BENCH_URLS!r}\n",
        )
        self._write(
            BENCH_URLS,
            "import gc\nimport os\n\n"
            "from django.http import HttpResponse\nfrom django.urls import path\n\n"
            "from exampleproject.urls import urlpatterns as example_urlpatterns\n\n\n"
            "def collect(request):\n"
            "    gc.collect()\n"
            "    return HttpResponse(str(os.getpid()))\n\n\n"
            f"urlpatterns = [*example_urlpatterns, path({COLLECT_PATH[1:]!r}, collect)]\n",
        )
        self._write(
            WITHOUT_APP_SETTINGS,
            f"from {BASE_SETTINGS} import *  # noqa: F403\n\n"
            "INSTALLED_APPS = [app for app in INSTALLED_APPS if app != 'django_prodserver']\n",
        )

    def _write(self, module: str, text: str) -> None:
        (self.root / f"{module}.py").write_text(text)

    def migrate(self) -> None:
        """Create the database (the example's migration adds the row ``/db/`` reads)."""
        done = run_bounded(self.manage("migrate", "--verbosity=0"), 180, EXAMPLE_DIR, self.env())
        if done.returncode != 0:
            raise RuntimeError(f"manage.py migrate failed:\n{done.stdout}{done.stderr}")

    def settings_with(self, processes: dict[str, Any], more: str = "") -> str:
        """A new settings module whose ``PRODUCTION_PROCESSES`` is ``processes``, plus ``more``."""
        self._modules += 1
        module = f"bench_settings_{self._modules}"
        base = f"from {BASE_SETTINGS} import *  # noqa: F403\n\n"
        self._write(module, f"{base}PRODUCTION_PROCESSES = {processes!r}\n{more}\n")
        return module

    def env(self, settings_module: str = BASE_SETTINGS, **extra: str) -> dict[str, str]:
        env = dict(os.environ)
        env.pop("DJANGO_SETTINGS_MODULE", None)
        path = [str(self.root), *filter(None, [env.get("PYTHONPATH")])]
        env.update(
            PYTHONPATH=os.pathsep.join(path),
            DJANGO_SETTINGS_MODULE=settings_module,
            PYTHONUNBUFFERED="1",
            **extra,
        )
        return env

    @staticmethod
    def manage(*args: str) -> list[str]:
        return [sys.executable, "manage.py", *args]

    def cleanup(self) -> None:
        if not self.keep:
            shutil.rmtree(self.root, ignore_errors=True)
