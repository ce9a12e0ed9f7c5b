"""uvicorn, run in this process through its own command-line entry point.

``ARGS`` are uvicorn's command-line options (``uvicorn --help``). ``uvicorn`` serves the ASGI
application (``ASGI_APPLICATION``, or the ``asgi`` module beside ``WSGI_APPLICATION``);
``uvicorn-wsgi`` serves ``WSGI_APPLICATION`` with ``--interface=wsgi``. uvicorn's defaults
apply: it binds ``127.0.0.1:8000``. ``UVICORN_*`` environment variables are read as the
``uvicorn`` command reads them.

On SIGTERM or SIGINT uvicorn finishes its in-flight requests, then raises the signal again to
end with the signal's status (143 for SIGTERM). This backend ends with status 0 instead: the
shutdown was the one asked for.
"""

from __future__ import annotations

from collections.abc import Sequence
from typing import ClassVar

import click
from uvicorn.main import main as uvicorn_command  # the click command `uvicorn` runs

from .. import targets
from ._options import (
    ArgsErrors,
    application_from,
    exit_zero_on_stop_signals,
    negation,
    option_flag,
)
from .base import BaseServerBackend

PROGRAM = "uvicorn"
PRINT_AND_EXIT_OPTIONS = frozenset({"--help", "--version"})
INTERFACE_OPTIONS = ["--interface"]


def known_options() -> frozenset[str]:
    """Every option string of this uvicorn version's command line."""
    options = {"--help"}
    for param in uvicorn_command.params:
        if isinstance(param, click.Option):
            options.update(param.opts, param.secondary_opts)
    return frozenset(options)


class UvicornServer(BaseServerBackend):
    """uvicorn serving the project's ASGI application."""

    program: ClassVar[str] = PROGRAM
    #: The setting the application comes from, named in error messages.
    application_setting: ClassVar[str] = "ASGI_APPLICATION"

    def target(self) -> str:
        return targets.asgi_target()

    def negated_flag(self, flag: str) -> str | None:
        # --no-access-log, --no-use-colors, --no-proxy-headers, --no-server-header, ...
        return negation(flag, known_options())

    def check_args(self, args: Sequence[str]) -> None:
        errors = ArgsErrors(self, args, PROGRAM, known_options())
        errors.check_no_print_and_exit(PRINT_AND_EXIT_OPTIONS)
        if self._user_sets_interface():
            raise errors.not_allowed(
                INTERFACE_OPTIONS,
                "the backend sets it; use BACKEND 'uvicorn' for ASGI or 'uvicorn-wsgi' for WSGI",
            )
        try:
            # Parses and converts every value as `uvicorn` would, and runs nothing. Extra
            # arguments are kept rather than refused, to name the first one in the message.
            context = uvicorn_command.make_context(
                PROGRAM, [self.target(), *args], allow_extra_args=True
            )
        except click.ClickException as e:
            raise errors.from_click(e) from e
        if context.args:
            raise errors.unexpected_argument(
                context.args[0], application_from(self.application_setting)
            )

    def _user_sets_interface(self) -> bool:
        # Looks at ARGS alone: uvicorn-wsgi adds --interface=wsgi itself.
        user_argv = BaseServerBackend.prep_server_args(self)
        return any(option_flag(token) in INTERFACE_OPTIONS for token in user_argv)

    def start_server(self, *args: str) -> None:
        with exit_zero_on_stop_signals():
            # The application first, as uvicorn's documentation writes it: an option left
            # without its value then fails on its own instead of taking the application.
            # standalone_mode=False: return when uvicorn returns rather than calling sys.exit().
            uvicorn_command.main(
                args=[self.target(), *args], prog_name=PROGRAM, standalone_mode=False
            )

    def describe_start(self, args: Sequence[str]) -> str:
        return super().describe_start([self.target(), *args])


class UvicornWSGIServer(UvicornServer):
    """uvicorn serving ``WSGI_APPLICATION`` through its WSGI interface."""

    application_setting: ClassVar[str] = "WSGI_APPLICATION"

    def target(self) -> str:
        return targets.wsgi_target()

    def prep_server_args(self) -> list[str]:
        return ["--interface=wsgi", *super().prep_server_args()]
