"""django-extensions' Werkzeug development server: ``manage.py runserver_plus``.

``ARGS`` are runserver_plus's options (``print_sql``, ``cert_file``, ``nopin``, ...; see
``manage.py runserver_plus --help``), with django-prodserver 3.0's names ``extra_files`` and
``exclude_patterns`` for its repeatable ``--extra-file`` and ``--exclude-pattern``. The command
is loaded from django-extensions whether or not ``django_extensions`` is in ``INSTALLED_APPS``.

Werkzeug's interactive debugger runs any Python code a visitor types into an error page: like
every development backend, this one refuses to start while ``DEBUG`` is False unless the entry
sets ``ALLOW_IN_PRODUCTION``.
"""

from __future__ import annotations

import argparse
from collections.abc import Mapping, Sequence
from importlib import metadata
from typing import ClassVar

# Imported at the top on purpose: without them the registry says
# 'pip install "django-prodserver[runserver-plus]"'.
import django_extensions  # noqa: F401
import werkzeug  # noqa: F401

from ._runserver import RunserverCommandBackend
from .options import ArgsErrors, option_flag
from .preflight import directory_problem

DJANGO_EXTENSIONS_VERSION = metadata.version("django-extensions")
WERKZEUG_VERSION = metadata.version("werkzeug")


def _release(version: str) -> tuple[int, ...]:
    return tuple(int(part) for part in version.split(".")[:2] if part.isdigit())


# runserver_plus --noreload tells Werkzeug it runs under Werkzeug's reloader, and Werkzeug 2.1 and
# later then fail on a socket the reloader would have passed (KeyError: 'WERKZEUG_SERVER_FD';
# django-extensions issue #1886, open in 4.1).
NORELOAD_BROKEN = _release(DJANGO_EXTENSIONS_VERSION) <= (4, 1) and (
    _release(WERKZEUG_VERSION) >= (2, 1)
)


class WerkzeugRunserver(RunserverCommandBackend):
    """``manage.py runserver_plus`` of django-extensions, configured in ``PRODUCTION_PROCESSES``."""

    program = "runserver_plus"
    command_name = "runserver_plus"
    command_package = "django_extensions"
    renamed_keys: ClassVar[Mapping[str, str]] = {
        "extra_files": "extra-file",
        "exclude_patterns": "exclude-pattern",
    }

    def check_args(self, args: Sequence[str]) -> None:
        super().check_args(args)
        if NORELOAD_BROKEN and any(option_flag(token) == "--noreload" for token in args):
            raise self.error(
                f"runserver_plus cannot start with 'noreload': django-extensions "
                f"{DJANGO_EXTENSIONS_VERSION} then fails with Werkzeug {WERKZEUG_VERSION} "
                f"(django-extensions issue #1886). Remove 'noreload' from ARGS."
            )

    def check_values(self, errors: ArgsErrors, parsed: argparse.Namespace) -> None:
        super().check_values(errors, parsed)
        # A certificate or key that does not exist is created there by runserver_plus: in a
        # missing directory, that is a traceback at start.
        for dest, flags in (
            ("cert_path", ["--cert-file", "--cert"]),
            ("key_file_path", ["--key-file"]),
        ):
            path = getattr(parsed, dest, None)
            if path and (problem := directory_problem(path)):
                raise errors.invalid_value(flags, problem)


class RunserverPlus(WerkzeugRunserver):
    """``WerkzeugRunserver`` under the name django-extensions users know."""
