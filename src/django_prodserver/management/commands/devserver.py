"""``manage.py devserver [NAME]``: start a development server configured in
``PRODUCTION_PROCESSES``, or, without one, ``runserver``.

``devserver NAME`` starts the process ``NAME`` when the setting has it and its backend is a
development server (``runserver``, ``runserver-plus``, ``daphne-runserver``); its options come
from the entry's ``ARGS``. Anything else is ``runserver``, exactly as before: ``devserver``,
``devserver 8000``, ``devserver 0.0.0.0:8000 --noreload``.

The command subclasses whichever ``runserver`` the project has active, so
``django.contrib.staticfiles`` (or any app that overrides ``runserver``) keeps working under this
name too.
"""

from __future__ import annotations

from typing import Any

from django.core.management import get_commands, load_command_class
from django.core.management.base import BaseCommand, CommandError

from ... import conf
from ...exceptions import ProdserverError
from .prodserver import Command as ProdserverCommand


def _active_runserver() -> type:
    app_name = get_commands()["runserver"]
    command = load_command_class(app_name, "runserver")
    return type(command)


def _configured_process(name: str) -> bool:
    """Whether ``name`` is a process of the setting, rather than runserver's address."""
    try:
        return name in conf.processes_setting()
    except ProdserverError:  # no usable setting: the argument can only be an address
        return False


class DevProcessCommand(ProdserverCommand):
    """``prodserver`` limited to development servers, as ``devserver NAME`` runs it."""

    kind = "dev"


class Command(_active_runserver()):  # type: ignore[misc]
    help = (
        "Start a development server: the process NAME of PRODUCTION_PROCESSES when it has a "
        "development backend, otherwise Django's runserver (the argument is then its address)."
    )

    def handle(self, *args: Any, **options: Any) -> None:
        name = options.get("addrport")
        if name is None or not _configured_process(name):
            super().handle(*args, **options)
            return
        self._refuse_runserver_options(name, options)
        command = DevProcessCommand(stdout=self.stdout, stderr=self.stderr)
        # prodserver's own defaults for every option it has, as `prodserver NAME` would get.
        prodserver_options = vars(
            command.create_parser("manage.py", "devserver").parse_args([name])
        )
        # The development server runs the system checks itself, as runserver does.
        command.handle(**{**prodserver_options, "skip_checks": True})

    def _refuse_runserver_options(self, name: str, options: dict[str, Any]) -> None:
        # runserver's own options would be silently dropped: the process's ARGS configure it.
        defaults = vars(self.create_parser("manage.py", "devserver").parse_args([]))
        common = set(vars(BaseCommand().create_parser("manage.py", "devserver").parse_args([])))
        for dest, default in defaults.items():
            if dest in common or dest == "addrport" or options.get(dest, default) == default:
                continue
            flag = next(
                action.option_strings[-1]
                for action in self.create_parser("manage.py", "devserver")._actions
                if action.dest == dest
            )
            raise CommandError(
                f"devserver {name} starts process {name!r} with the options of its ARGS; "
                f"set {flag} there instead of on the command line."
            )
