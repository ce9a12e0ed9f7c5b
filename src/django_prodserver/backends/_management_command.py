"""The base of the workers that are Django management commands (``db_worker``, ``qcluster``)."""

from __future__ import annotations

import argparse
import re
import shlex
from collections.abc import Sequence
from typing import ClassVar

from django.core.management import call_command, get_commands, load_command_class
from django.core.management.base import BaseCommand, CommandError

from ..exceptions import InvalidBackendArgs
from ..redact import redact_argv
from ._options import ArgsErrors, lists_joined, negation, option_flag, silenced
from .base import BaseWorkerBackend, args_to_argv

# Options that may be given more than once, each time adding a value.
_REPEATABLE_ACTIONS = (argparse._AppendAction, argparse._CountAction)
# Every management command has them; they print and exit.
PRINT_AND_EXIT_OPTIONS = ("-h", "--help", "--version")
# manage.py acts on these before any command runs; given to call_command they do nothing.
MANAGE_PY_OPTIONS = {"settings": "--settings", "pythonpath": "--pythonpath"}


class DjangoCommandWorker(BaseWorkerBackend):
    """A worker that is a Django management command, run in this process by ``call_command``.

    The command's own argparse parser checks ``ARGS``. Only the arguments built from ``ARGS``
    reach the command: none of ``manage.py prodserver``'s own.
    """

    #: The management command that runs the worker.
    command_name: ClassVar[str]
    #: Options that take several values as one comma-separated argument: a list in ``ARGS`` is
    #: joined with commas for them, because repeating the option would keep only the last.
    comma_list_options: ClassVar[frozenset[str]] = frozenset()

    _command: BaseCommand | None = None

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

    def prep_server_args(self) -> list[str]:
        args = lists_joined(
            self, self.command_name, self.comma_list_options.__contains__, self._repeatable
        )
        return args_to_argv(args, self.process_name, self.negated_flag)

    def _repeatable(self, flag: str) -> bool:
        action = self.parser()._option_string_actions.get(flag)
        return action is None or isinstance(action, _REPEATABLE_ACTIONS)

    def negated_flag(self, flag: str) -> str | None:
        # "reload": False gives --no-reload where the command has it (a BooleanOptionalAction,
        # or a store_false option named so); otherwise the flag is left out.
        return negation(flag, self.parser()._option_string_actions)

    def check_args(self, args: Sequence[str]) -> None:
        parser = self.parser()
        errors = ArgsErrors(
            self,
            args,
            self.command_name,
            parser._option_string_actions,
            program=f"manage.py {self.command_name}",
        )
        errors.check_omitted_flags()
        errors.check_no_glued_tokens()
        try:
            with silenced():
                namespace, unknown = parser.parse_known_args(list(args))
        except CommandError as e:
            # Django's CommandParser raises this instead of printing usage and exiting.
            raise self._rejected(errors, str(e)) from e
        except SystemExit as e:  # help or version, printed (to nowhere)
            raise errors.prints_and_exits(PRINT_AND_EXIT_OPTIONS) from e
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

    @staticmethod
    def _rejected(errors: ArgsErrors, message: str) -> InvalidBackendArgs:
        # argparse words it "Error: argument --interval: invalid valid_interval value: 'abc'".
        message = message.removeprefix("Error: ")
        named = re.match(r"argument (\S+): (.*)", message, re.DOTALL)
        if named is None:
            return errors.rejected(message)
        return errors.invalid_value(named.group(1).split("/"), named.group(2))

    def start_server(self, *args: str) -> None:
        call_command(self.command(), *args)

    def describe_start(self, args: Sequence[str]) -> str:
        return shlex.join(["manage.py", self.command_name, *redact_argv(args)])
