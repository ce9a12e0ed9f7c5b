"""The base of the backends that are Django management commands: workers (``db_worker``,
``qcluster``) and development servers (``runserver``, ``runserver_plus``)."""

from __future__ import annotations

import argparse
import functools
import shlex
from collections.abc import Collection, Sequence
from typing import Any, ClassVar

from django.core.management import call_command, get_commands, load_command_class
from django.core.management.base import BaseCommand, CommandError

from ..redact import redact_argv
from .base import BaseWorkerBackend
from .command_line import CommandLineProcessBackend, parse_with_argparse
from .options import ArgsErrors, negation, option_flag
from .ranges import SECONDS

# Options that may be given more than once, each time adding a value.
_REPEATABLE_ACTIONS = (argparse._AppendAction, argparse._CountAction)
# Every management command has them; they print and exit.
PRINT_AND_EXIT_OPTIONS = frozenset({"-h", "--help", "--version"})
# manage.py acts on these before any command runs; given to call_command they do nothing.
MANAGE_PY_OPTIONS = {"settings": "--settings", "pythonpath": "--pythonpath"}


class DjangoCommandBackend(CommandLineProcessBackend):
    """A process that is a Django management command, run in this process by ``call_command``.

    The command's own argparse parser checks ``ARGS``, without abbreviations (``"ru"`` is not
    ``--run-once``). Only the arguments built from ``ARGS`` reach the command: none of
    ``manage.py prodserver``'s own.
    """

    settings_keys: ClassVar[frozenset[str]] = frozenset()
    print_and_exit_options: ClassVar[frozenset[str]] = PRINT_AND_EXIT_OPTIONS
    bounds: ClassVar[dict[str, Any]] = {"--interval": SECONDS}
    #: The management command that runs the process.
    command_name: ClassVar[str]

    _command: BaseCommand | None = None

    @property
    def server_label(self) -> str:
        return self.command_name

    def command(self) -> BaseCommand:
        """The management command, loaded once."""
        if self._command is None:
            self._command = load_command_class(self.command_app(), self.command_name)
        return self._command

    def command_app(self) -> str:
        """The installed app that provides the command."""
        app = get_commands().get(self.command_name)
        if app is None:
            raise self.error(
                f"there is no management command {self.command_name!r}: add the app that "
                f"provides it to INSTALLED_APPS."
            )
        return app

    def parser(self) -> argparse.ArgumentParser:
        return self.command().create_parser("manage.py", self.command_name)

    @functools.cached_property
    def _actions(self) -> dict[str, argparse.Action]:
        return self.parser()._option_string_actions

    def option_strings(self) -> Collection[str]:
        return self._actions.keys()

    def repeatable(self, flag: str) -> bool:
        action = self._actions.get(flag)
        return action is None or isinstance(action, _REPEATABLE_ACTIONS)

    def negated_flag(self, flag: str) -> str | None:
        # "reload": False gives --no-reload where the command has it (a BooleanOptionalAction,
        # or a store_false option named so), or the store_false option that clears what a
        # store_true flag sets (runserver_plus: "threaded": False is --nothreading, as in 3.0);
        # otherwise the flag is left out.
        actions = self._actions
        named = negation(flag, actions)
        action = actions.get(flag)
        if named or not isinstance(action, argparse._StoreTrueAction):
            return named
        opposites = [
            other
            for other in actions.values()
            if isinstance(other, argparse._StoreFalseAction) and other.dest == action.dest
        ]
        return opposites[0].option_strings[0] if opposites else None

    def args_errors(self, args: Sequence[str]) -> ArgsErrors:
        return ArgsErrors(
            self, args, self.command_name, self._actions, program=f"manage.py {self.command_name}"
        )

    def parse(self, errors: ArgsErrors) -> argparse.Namespace:
        try:
            namespace, unknown = parse_with_argparse(
                errors, self.parser(), print_and_exit_options=PRINT_AND_EXIT_OPTIONS
            )
        except CommandError as e:
            # Django's CommandParser raises this instead of printing usage and exiting, for
            # what argparse does not raise as an ArgumentError (a required argument missing).
            raise errors.rejected(str(e).removeprefix("Error: ")) from e
        if unknown and not unknown[0].startswith("-"):
            raise errors.unexpected_argument(
                unknown[0], f"{self.command_name} takes no positional arguments"
            )
        if unknown:
            raise errors.unknown_option(option_flag(unknown[0]))
        for dest, flag in MANAGE_PY_OPTIONS.items():
            if getattr(namespace, dest, None) is not None:
                raise errors.not_allowed(
                    [flag],
                    f"it is an option of manage.py itself and does nothing for "
                    f"{self.command_name}; give it to manage.py prodserver instead",
                )
        return namespace

    def start_server(self, *args: str) -> None:
        call_command(self.command(), *args)

    def describe_start(self, args: Sequence[str]) -> str:
        return shlex.join(["manage.py", self.command_name, *redact_argv(args)])


class DjangoCommandWorker(DjangoCommandBackend, BaseWorkerBackend):
    """A worker that is a Django management command."""
