"""The base of a backend that runs a program through its own command line: ``CommandLineBackend``.

A server with a command line (gunicorn, uvicorn, waitress, ...) is driven the same way every
time: ``ARGS`` become its arguments, its own parser checks them, and its own entry point runs in
this process. What is the same for each lives here, once:

- ``ARGS`` to argv by the shared rule: list values joined or repeated as the program takes
  them, False as its ``--no-x`` flag, from an option table built once per backend;
- ``check_args()``: ARGS keys set to False that the program does not know, options that print
  and exit, items with spaces or NUL characters, the program's own parser
  (``parse_with_argparse``, ``parse_with_click``, from ``parsing`` and re-exported here), the
  backend's value checks, sane ranges
  (``bounds``), an environment variable the program reads as more arguments, the application;
- ``start_server()``: the pre-flight checks of ``preflight.check_start`` on the backend's
  ``StartPlan``, the application imported, database connections closed, then ``run()`` under
  the backend's stop-signal handling.

A backend built on it declares its tables and writes ``option_strings()``, ``parse()``,
``check_values()``, ``plan_start()`` and ``run()``. ``CommandLineProcessBackend`` is the
``ARGS`` half alone, for a process that serves no HTTP (Celery, management commands).
"""

from __future__ import annotations

import abc
import argparse
import contextlib
import functools
import os
import shlex
from collections.abc import Collection, Mapping, Sequence
from typing import Any, ClassVar, Literal

from .. import targets
from .base import BaseProcessBackend, BaseServerBackend, args_to_argv
from .option_values import lists_joined, option_seconds
from .options import ArgsErrors, negation
from .parsing import appended_options, parse_with_argparse, parse_with_click
from .preflight import StartPlan, check_start, import_application
from .ranges import Bound

__all__ = [
    "ASGICommandLineBackend",
    "CommandLineBackend",
    "CommandLineProcessBackend",
    "StartPlan",
    "appended_options",
    "parse_with_argparse",
    "parse_with_click",
]


class CommandLineProcessBackend(BaseProcessBackend):
    """A process run through its program's command line: how ``ARGS`` become its arguments,
    and how they are checked before anything starts.

    Subclasses give ``option_strings()`` and ``parse()``; ``check_values()`` and the class
    tables below are optional.
    """

    #: The program as messages name it ("gunicorn", "waitress"); ``program`` when empty.
    server_name: ClassVar[str] = ""
    #: Options that make the program print something and exit: refused before it parses.
    print_and_exit_options: ClassVar[frozenset[str]] = frozenset({"-h", "--help"})
    #: Options that take several values as one comma-separated argument: a list in ``ARGS`` is
    #: joined with commas for them, because repeating the option would keep only the last.
    comma_list_options: ClassVar[frozenset[str]] = frozenset()
    #: The sane range of each numeric option, under each of its flags; ``preflight`` has the
    #: ranges (``COUNT``, ``CONNECTIONS``, ``BACKLOG``, ``SECONDS``).
    bounds: ClassVar[Mapping[str, Bound]] = {}
    #: An environment variable the program reads as more arguments (``GUNICORN_CMD_ARGS``):
    #: checked as ``ARGS`` are, and named in its messages.
    environment_args: ClassVar[str | None] = None
    #: The program's option for the seconds it may take to drain after the stop signal, under
    #: each of its flags: ``graceful_timeout()`` reads it from the arguments.
    graceful_timeout_options: ClassVar[frozenset[str]] = frozenset()

    @property
    def server_label(self) -> str:
        """The program as messages name it."""
        return self.server_name or self.program or type(self).__name__

    def graceful_timeout(self) -> float:
        """The seconds ``graceful_timeout_options`` gives in the arguments; the default (30 s)
        where the program has no such option or the arguments do not set it."""
        if not self.graceful_timeout_options:
            return super().graceful_timeout()
        given = option_seconds(self.prep_server_args(), self.graceful_timeout_options)
        return super().graceful_timeout() if given is None else given

    def option_strings(self) -> Collection[str]:
        """Every option string the program's command line accepts."""
        raise NotImplementedError

    @functools.cached_property
    def known_options(self) -> frozenset[str]:
        """``option_strings()`` and ``print_and_exit_options``, built once per backend."""
        return frozenset(self.option_strings()) | self.print_and_exit_options

    def repeatable(self, flag: str) -> bool:
        """Whether a list value repeats ``flag`` (the program adds up its values); a list of
        two or more values for any other option is refused. True for an option the program
        does not know: ``check_args()`` names it."""
        return flag not in self.known_options

    def comma_separated(self, flag: str) -> bool:
        """Whether ``flag`` takes a list as one comma-separated value: ``comma_list_options``."""
        return flag in self.comma_list_options

    def negated_flag(self, flag: str) -> str | None:
        return negation(flag, self.known_options)

    def user_args(self) -> list[str]:
        """``ARGS`` as the program's arguments: lists joined or repeated as it takes them."""
        args = lists_joined(self, self.server_label, self.comma_separated, self.repeatable)
        return args_to_argv(args, self.process_name, self.negated_flag)

    def prep_server_args(self) -> list[str]:
        return self.user_args()

    def args_errors(self, args: Sequence[str]) -> ArgsErrors:
        """The error wording for ``args``, from ``ARGS``."""
        return ArgsErrors(self, args, self.server_label, self.known_options)

    def check_args(self, args: Sequence[str]) -> None:
        errors = self.args_errors(args)
        errors.check_omitted_flags()
        self.check_argv(errors)
        variable = self.environment_args
        if variable and os.environ.get(variable, "").strip():
            try:
                argv = shlex.split(os.environ[variable])
            except ValueError as e:
                raise self.error(
                    f"the environment variable {variable} cannot be read as arguments: {e}."
                ) from e
            known = self.known_options
            self.check_argv(ArgsErrors(self, argv, self.server_label, known, source=variable))

    def check_argv(self, errors: ArgsErrors) -> Any:
        """The checks of one argument list, in order; returns what ``parse()`` returned."""
        errors.check_no_print_and_exit(self.print_and_exit_options)
        errors.check_no_glued_tokens()
        errors.check_no_nul()
        parsed = self.parse(errors)
        self.check_values(errors, parsed)
        errors.check_bounds(self.bounds)
        return parsed

    @abc.abstractmethod
    def parse(self, errors: ArgsErrors) -> Any:
        """``errors.argv`` parsed by the program's own parser, starting nothing; a problem
        raised as ``errors`` words it. What it returns goes to ``check_values()``."""
        raise NotImplementedError

    def check_values(self, errors: ArgsErrors, parsed: Any) -> None:
        """Raise for what the program's parser lets through and the program then fails on, or
        ignores."""


class CommandLineBackend(CommandLineProcessBackend, BaseServerBackend):
    """A server run through its command line, serving the project's application.

    ``start_server()`` is the fixed sequence: ``plan_start()``, the pre-flight checks, the
    application imported, database connections closed, ``run()`` under
    ``stop_signal_handling()``.
    """

    settings_keys: ClassVar[frozenset[str]] = frozenset()
    #: The setting the application comes from: "WSGI_APPLICATION" or "ASGI_APPLICATION".
    application_setting: ClassVar[str] = "WSGI_APPLICATION"
    #: Where the program's command line names the application: "first" (before the options),
    #: "last", or None where it takes none (``run()`` hands it over otherwise).
    application_argument: ClassVar[Literal["first", "last"] | None] = "last"

    def application_interface(self) -> str:
        return "asgi" if self.application_setting == "ASGI_APPLICATION" else "wsgi"

    def target(self) -> str:
        """The application, as ``module:attribute``."""
        if self.application_setting == "ASGI_APPLICATION":
            return targets.asgi_target()
        return targets.wsgi_target()

    def command_line(self, args: Sequence[str]) -> list[str]:
        """``args`` with the application, where the program's command line takes it."""
        if self.application_argument is None:
            return list(args)
        if self.application_argument == "first":
            return [self.target(), *args]
        return [*args, self.target()]

    def check_args(self, args: Sequence[str]) -> None:
        super().check_args(args)
        self.target()

    def plan_start(self, args: Sequence[str]) -> StartPlan:
        """What a start with ``args`` will listen on and load, from the program's parsed
        configuration; binds nothing. It may raise for what only the configuration shows."""
        return StartPlan()

    def stop_signal_handling(self) -> contextlib.AbstractContextManager[object]:
        """What ``run()`` runs inside: nothing, for a server that handles the stop signals."""
        return contextlib.nullcontext()

    @abc.abstractmethod
    def run(self, args: Sequence[str], plan: StartPlan) -> int | None:
        """Run the server until it stops; a non-zero status ends the process with it."""
        raise NotImplementedError

    def start_server(self, *args: str) -> None:
        plan = self.plan_start(args)
        check_start(self, plan)
        if plan.imports_application:
            import_application(self, self.target(), isolated=plan.isolated)
        # Workers may be forked from this process: a database connection opened here (by the
        # system checks, say) must not be shared by all of them.
        from django.db import connections

        connections.close_all()
        with self.stop_signal_handling():
            status = self.run(args, plan)
        if status:
            raise SystemExit(status)

    def listen_address(self, args: Sequence[str]) -> tuple[str, int] | None:
        addresses = self.plan_start(args).addresses
        return (str(addresses[0][0]), int(addresses[0][1])) if addresses else None

    def describe_start(self, args: Sequence[str]) -> str:
        return super().describe_start(self.command_line(args))


class ASGICommandLineBackend(CommandLineBackend):
    """A command-line server of the ASGI application, which its command line names first (an
    option left without its value then fails on its own instead of taking the application)."""

    application_setting: ClassVar[str] = "ASGI_APPLICATION"
    application_argument: ClassVar[Literal["first", "last"] | None] = "first"

    def argparse_parser(self) -> argparse.ArgumentParser:
        """The server's own argparse parser (Daphne's and Hypercorn's are)."""
        raise NotImplementedError

    @functools.cached_property
    def appended_flags(self) -> frozenset[str]:
        """The options the server's parser collects into a list: a list value repeats them."""
        return appended_options(self.argparse_parser())

    def parser_spelling(self, flag: str) -> str:
        """``flag`` as the server's parser spells it (``ARGS`` may write it otherwise)."""
        return flag

    def repeatable(self, flag: str) -> bool:
        return self.parser_spelling(flag) in self.appended_flags or super().repeatable(flag)
