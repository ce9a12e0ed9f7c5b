"""Daphne, run in this process through its own command-line interface.

``ARGS`` are the options of ``daphne`` (``daphne --help``); the application is always the ASGI
application (``ASGI_APPLICATION``, or the ``asgi`` module beside ``WSGI_APPLICATION``). Daphne's
own default applies: it binds ``127.0.0.1:8000``. Daphne spells two options with underscores,
``--websocket_timeout`` and ``--websocket_connect_timeout``; in ``ARGS`` they are written like
every other option (``websocket_timeout`` or ``websocket-timeout``).

Daphne serves no lifespan protocol, so plain Django's ASGI handler needs nothing more.

On SIGTERM or SIGINT Daphne itself (Twisted) stops at once and cancels the requests in flight.
This backend stops gracefully instead: it stops listening, lets the HTTP requests in flight
finish and their responses reach the client (for up to ``GRACEFUL_TIMEOUT`` seconds), then
stops Daphne, which closes WebSocket connections as it always does, and exits with status 0.
A second signal stops Daphne without waiting: the requests in flight are cancelled and get no
response (a synchronous view already running in its thread still returns before the process
exits).
"""

from __future__ import annotations

import argparse
import logging
import signal
import time
from collections.abc import Sequence
from types import FrameType
from typing import Any, ClassVar

# Imported at the top on purpose: without Daphne this import fails, and the registry turns that
# into 'pip install "django-prodserver[daphne]"'. daphne.cli installs Twisted's asyncio reactor.
from daphne.cli import CommandLineInterface
from daphne.http_protocol import WebRequest
from daphne.server import Server
from twisted.internet import reactor as twisted_reactor

from .. import targets
from ._options import (
    STOP_SIGNALS,
    ArgsErrors,
    application_from,
    exit_zero_on_stop_signals,
    negation,
    option_flag,
    silenced,
)
from .base import BaseServerBackend

PROGRAM = "daphne"
PRINT_AND_EXIT_OPTIONS = frozenset({"-h", "--help"})
VERBOSITY_LEVELS = (0, 1, 2, 3)  # what daphne's run() maps to log levels
#: How long in-flight requests may take to finish after SIGTERM: gunicorn's default.
GRACEFUL_TIMEOUT = 30.0
#: How often the graceful stop looks at the requests in flight.
POLL_INTERVAL = 0.05

logger = logging.getLogger("daphne.server")
reactor: Any = twisted_reactor  # the asyncio reactor daphne installed


def daphne_parser() -> argparse.ArgumentParser:
    """Daphne's own parser, without argparse's abbreviations and without exiting on errors."""
    parser: argparse.ArgumentParser = CommandLineInterface().parser
    parser.allow_abbrev = False  # a typo that prefixes another option must not set that one
    parser.exit_on_error = False
    return parser


def daphne_spellings() -> dict[str, str]:
    """Every long option of daphne, written with dashes, mapped to daphne's own spelling."""
    return {
        "--" + option[2:].replace("_", "-"): option
        for option in daphne_parser()._option_string_actions
        if option.startswith("--")
    }


def known_options() -> frozenset[str]:
    """Every option string of daphne's command line, as ``ARGS`` may write it."""
    short = {option for option in daphne_parser()._option_string_actions if len(option) == 2}
    return frozenset(daphne_spellings()) | short


class GracefulServer(Server):  # type: ignore[misc]  # daphne ships no type hints
    """Daphne's server, stopped by SIGTERM or SIGINT only when its requests in flight are done."""

    def __init__(self, *args: Any, **kwargs: Any) -> None:
        kwargs["signal_handlers"] = False  # Twisted's would stop the reactor at once
        super().__init__(*args, **kwargs)
        self.ports: list[Any] = []
        self.stop_signals = 0
        self.deadline = 0.0
        self.stopping = False

    def run(self) -> None:
        reactor.callWhenRunning(self.install_stop_handlers)
        super().run()

    def listen_success(self, port: Any) -> None:
        self.ports.append(port)
        super().listen_success(port)

    def install_stop_handlers(self) -> None:
        for sig in STOP_SIGNALS:
            signal.signal(sig, self.handle_stop_signal)

    def handle_stop_signal(self, signum: int, frame: FrameType | None) -> None:
        # Only asks the reactor: a signal handler runs between any two bytecodes.
        self.stop_signals += 1
        reactor.callFromThread(self.stop_now if self.stop_signals > 1 else self.stop_gracefully)

    def requests_in_flight(self) -> int:
        """HTTP requests whose response is not complete (WebSockets are not waited for)."""
        return sum(
            1
            for protocol, details in self.connections.items()
            if isinstance(protocol, WebRequest) and "disconnected" not in details
        )

    def stop_gracefully(self) -> None:
        logger.info("Stopping: finishing %d request(s) in flight", self.requests_in_flight())
        for port in self.ports:
            port.stopListening()
        self.deadline = time.monotonic() + GRACEFUL_TIMEOUT
        self.stop_when_idle()

    def stop_when_idle(self) -> None:
        # A finished response may still be buffered: a transport with data to write is among
        # the reactor's writers until the data has reached the client.
        idle = not self.requests_in_flight() and not reactor.getWriters()
        if idle or time.monotonic() > self.deadline:
            self.stop_now()
        else:
            reactor.callLater(POLL_INTERVAL, self.stop_when_idle)

    def stop_now(self) -> None:
        if not self.stopping:
            self.stopping = True
            reactor.stop()  # Daphne then cancels what is left, WebSockets included


class DaphneCommandLine(CommandLineInterface):  # type: ignore[misc]
    """``daphne``'s command line, serving with the graceful server."""

    server_class = GracefulServer


class DaphneServer(BaseServerBackend):
    """Daphne serving the project's ASGI application."""

    program: ClassVar[str] = PROGRAM

    def negated_flag(self, flag: str) -> str | None:
        # --no-server-name is daphne's only one.
        return negation(flag, known_options())

    def prep_server_args(self) -> list[str]:
        spellings = daphne_spellings()
        argv = []
        for token in super().prep_server_args():
            flag, equals, value = token.partition("=")
            # --websocket-timeout is daphne's --websocket_timeout
            argv.append(spellings[flag] + equals + value if flag in spellings else token)
        return argv

    def check_args(self, args: Sequence[str]) -> None:
        spellings = daphne_spellings()
        errors = ArgsErrors(self, args, PROGRAM, known_options())
        errors.check_omitted_flags()
        errors.check_no_print_and_exit(PRINT_AND_EXIT_OPTIONS)
        parser = daphne_parser()
        try:
            # The application first, as in start_server(): an option left without its value
            # then fails on its own instead of taking the application.
            with silenced() as captured:
                options, extra = parser.parse_known_args([targets.asgi_target(), *args])
        except argparse.ArgumentError as e:
            raise errors.invalid_value(self._spelled(e.argument_name, spellings), e.message) from e
        except SystemExit as e:  # combined short flags that reach -h, or parser.error()
            if not e.code:
                raise errors.prints_and_exits(PRINT_AND_EXIT_OPTIONS) from e
            reason = captured.getvalue().strip().splitlines()[-1].partition("error: ")[2]
            raise errors.rejected(reason) from e
        if extra and not extra[0].startswith("-"):
            raise errors.unexpected_argument(extra[0], application_from("ASGI_APPLICATION"))
        if extra:
            raise errors.unknown_option(option_flag(extra[0]))
        if options.verbosity not in VERBOSITY_LEVELS:
            raise errors.invalid_value(["-v", "--verbosity"], "it must be 0, 1, 2 or 3")
        command_line = CommandLineInterface()
        try:
            command_line._get_forwarded_host(options)
            command_line._get_forwarded_port(options)
        except argparse.ArgumentError as e:
            raise errors.invalid_value(self._spelled(e.argument_name, spellings), e.message) from e

    @staticmethod
    def _spelled(argument_name: str | None, spellings: dict[str, str]) -> list[str]:
        """The option strings argparse names, with the dashed spelling ``ARGS`` may use."""
        option_strings = argument_name.split("/") if argument_name else []
        dashed = [flag for flag, spelling in spellings.items() if spelling in option_strings]
        return [*option_strings, *dashed]

    def start_server(self, *args: str) -> None:
        with exit_zero_on_stop_signals():
            DaphneCommandLine().run([targets.asgi_target(), *args])

    def describe_start(self, args: Sequence[str]) -> str:
        return super().describe_start([targets.asgi_target(), *args])
