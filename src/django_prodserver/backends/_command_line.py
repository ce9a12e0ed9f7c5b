"""What the task-worker backends share: wording a parser's complaint about ``ARGS``, and the base
for workers that are Django management commands (``db_worker``, ``qcluster``).

A parser reports a bad argument by the flag it read; the user wrote a key of ``ARGS``. The
helpers here lead from one back to the other, so an error names what the user wrote.
"""

from __future__ import annotations

import argparse
import contextlib
import difflib
import io
import re
import shlex
from collections.abc import Collection, Iterator, Mapping, Sequence
from typing import ClassVar

from django.core.management import call_command, get_commands, load_command_class
from django.core.management.base import BaseCommand, CommandError

from ..exceptions import InvalidBackendArgs
from .base import ArgsSetting, BaseWorkerBackend, args_to_argv

# Options that may be given more than once, each time adding a value.
_REPEATABLE_ACTIONS = (argparse._AppendAction, argparse._CountAction)


def flag_of(key: str) -> str:
    """The flag an ``ARGS`` key becomes, by the rule of ``args_to_argv``."""
    return key if key.startswith("-") else "--" + key.replace("_", "-")


def _spells(token: str, flags: Collection[str]) -> bool:
    # "--interval=5" and "--interval"; argparse's unique prefix "--inter=5"; a short flag with
    # its value attached, "-c2".
    name = token.split("=", 1)[0]
    return (
        name in flags
        or (len(name) > 2 and name.startswith("--") and any(f.startswith(name) for f in flags))
        or (not name.startswith("--") and token[:2] in flags)
    )


def describe_source(
    settings_args: ArgsSetting, argv: Sequence[str], flags: Collection[str]
) -> str | None:
    """Where in ``ARGS`` the option known by ``flags`` is set; None if it is not."""
    if isinstance(settings_args, Mapping):
        for key, value in settings_args.items():
            if isinstance(key, str) and _spells(flag_of(key), flags):
                return f"ARGS[{key!r}] = {value!r}"
    for token in argv:
        if _spells(token, flags):
            return f"the argument {token!r} in ARGS"
    return None


def suggestion(name: str, known_flags: Collection[str]) -> str:
    """' Did you mean --x?', or the accepted options when none is close."""
    long_flags = sorted(flag for flag in known_flags if flag.startswith("--"))
    close = difflib.get_close_matches(name, long_flags, n=1, cutoff=0.6)
    if close:
        return f" Did you mean {close[0]}?"
    return f" It accepts: {', '.join(long_flags)}."


def rejection(
    backend: BaseWorkerBackend, source: str | None, program: str, detail: str
) -> InvalidBackendArgs:
    """The error for a value the program's parser refused, naming the ARGS item if it can."""
    detail = one_line(detail).rstrip(".")
    if source is None:  # the program's own default, such as a TASKS backend it cannot use
        return backend.error(f"{program} cannot start: {detail}.")
    return backend.error(f"{source} is not accepted by {program}: {detail}.")


def check_no_glued_tokens(backend: BaseWorkerBackend, argv: Sequence[str]) -> None:
    """Reject ``"--interval 5"`` written as one item: no shell splits it here."""
    for token in argv:
        name = token.split("=", 1)[0]
        if token.startswith("-") and any(char.isspace() for char in name):
            raise backend.error(
                f"the argument {token!r} in ARGS contains a space, but each item of ARGS is "
                f"passed as one argument. Write it as separate items, {shlex.split(token)!r}, "
                f"or as a dict."
            )


@contextlib.contextmanager
def silenced() -> Iterator[None]:
    """Keep a parser's usage and help text off the terminal while it only checks."""
    with contextlib.redirect_stdout(io.StringIO()), contextlib.redirect_stderr(io.StringIO()):
        yield


def one_line(text: str) -> str:
    return " ".join(text.split())


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

    # manage.py acts on these before any command runs; given to call_command they do nothing.
    _MANAGE_PY_OPTIONS: ClassVar[dict[str, str]] = {
        "settings": "--settings",
        "pythonpath": "--pythonpath",
    }

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
        return args_to_argv(self._lists_joined(), self.process_name, self.negated_flag)

    def _lists_joined(self) -> ArgsSetting:
        if not isinstance(self.args, Mapping):
            return self.args
        return {
            key: self._list_value(key, value)
            if isinstance(key, str) and isinstance(value, (list, tuple))
            else value
            for key, value in self.args.items()
        }

    def _list_value(self, key: str, value: list[object] | tuple[object, ...]) -> object:
        flag = flag_of(key)
        if flag in self.comma_list_options:
            return ",".join(str(item) for item in value)
        action = self.parser()._option_string_actions.get(flag)
        if action is None or isinstance(action, _REPEATABLE_ACTIONS) or len(value) < 2:
            return value  # repeated; an unknown option is for check_args to report
        raise self.error(
            f"ARGS[{key!r}] = {value!r} is a list, but {self.command_name}'s {flag} takes one "
            f"value: repeated, only the last would count."
        )

    def negated_flag(self, flag: str) -> str | None:
        # "reload": False gives --no-reload where the command has it (a BooleanOptionalAction,
        # or a store_false option named so); otherwise the flag is left out.
        negated = "--no-" + flag[2:]
        if flag.startswith("--") and negated in self.parser()._option_string_actions:
            return negated
        return None

    def check_args(self, args: Sequence[str]) -> None:
        check_no_glued_tokens(self, args)
        parser = self.parser()
        try:
            with silenced():
                namespace, unknown = parser.parse_known_args(list(args))
        except CommandError as e:
            # Django's CommandParser raises this instead of printing usage and exiting.
            raise self._rejected(args, str(e).removeprefix("Error: ")) from e
        except SystemExit as e:
            raise self.error(
                f"ARGS asks {self.command_name} for its help or version, which prints and exits "
                f"instead of starting the worker: {shlex.join(args)!r}."
            ) from e
        if unknown:
            raise self._unknown(parser, args, unknown[0])
        for dest, flag in self._MANAGE_PY_OPTIONS.items():
            if getattr(namespace, dest, None) is not None:
                source = describe_source(self.args, args, {flag}) or "ARGS"
                raise self.error(
                    f"{source}: {flag} is an option of manage.py itself and does nothing for "
                    f"{self.command_name}; give it to manage.py prodserver instead."
                )

    def _rejected(self, args: Sequence[str], message: str) -> InvalidBackendArgs:
        # argparse words it "argument --interval: invalid valid_interval value: 'abc'".
        named = re.match(r"argument (\S+): ", message)
        flags = set(named.group(1).split("/")) if named else set()
        return rejection(self, describe_source(self.args, args, flags), self.command_name, message)

    def _unknown(
        self, parser: argparse.ArgumentParser, args: Sequence[str], token: str
    ) -> InvalidBackendArgs:
        known = parser._option_string_actions
        if not token.startswith("-"):
            return self.error(
                f"the argument {token!r} in ARGS: {self.command_name} takes no positional "
                f"arguments, only options.{suggestion(token, known)}"
            )
        name = token.split("=", 1)[0]
        source = describe_source(self.args, args, {name}) or "ARGS"
        return self.error(
            f"{source}: {self.command_name} has no option {name}.{suggestion(name, known)}"
        )

    def start_server(self, *args: str) -> None:
        call_command(self.command(), *args)

    def describe_start(self, args: Sequence[str]) -> str:
        return shlex.join(["manage.py", self.command_name, *args])
