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
exits). SIGHUP, which would end Daphne at once, is the same graceful stop: Daphne cannot reload
its code, and a supervisor starts it again.

Before Daphne starts, its endpoints are built as Twisted will build them (a TLS endpoint's files
are read: ``daphne_endpoints``), each TCP address is checked free, and the application is
imported: each problem is one line, instead of a traceback or Daphne's ``Listen failure``.
"""

from __future__ import annotations

import argparse
import contextlib
import logging
import signal
import time
from collections.abc import Sequence
from types import FrameType
from typing import Any, ClassVar

# Imported at the top on purpose: without Daphne this import fails, and the registry turns that
# into 'pip install "django-prodserver[daphne]"'. daphne.cli installs Twisted's asyncio reactor.
from daphne.cli import DEFAULT_HOST, DEFAULT_PORT, CommandLineInterface
from daphne.http_protocol import WebRequest
from daphne.server import Server
from twisted.internet import reactor as twisted_reactor

from ..environment import PlatformOptions
from ..stop_signals import STOP_SIGNALS, exit_zero_on_stop_signals
from .base import DEFAULT_GRACEFUL_TIMEOUT
from .command_line import (
    ASGICommandLineBackend,
    StartPlan,
    parse_with_argparse,
)
from .daphne_endpoints import daphne_endpoints, tcp_addresses, unix_sockets
from .options import ArgsErrors, application_from, option_flag, silenced
from .preflight import directory_problem
from .ranges import SECONDS

PROGRAM = "daphne"
#: Sane ranges, under Daphne's own spellings (``prep_server_args()`` writes those).
BOUNDS = dict.fromkeys(
    [
        "--websocket_timeout",
        "--websocket_connect_timeout",
        "-t",
        "--http-timeout",
        "--ping-interval",
        "--ping-timeout",
        "--application-close-timeout",
    ],
    SECONDS,
)
VERBOSITY_LEVELS = (0, 1, 2, 3)  # what daphne's run() maps to log levels
#: How long in-flight requests may take to finish after SIGTERM: the default drain.
GRACEFUL_TIMEOUT = DEFAULT_GRACEFUL_TIMEOUT
#: How often the graceful stop looks at the requests in flight.
POLL_INTERVAL = 0.05
#: SIGHUP, where the platform has it: a graceful stop, as SIGTERM is.
HANGUP_SIGNALS = tuple(sig for sig in (getattr(signal, "SIGHUP", None),) if sig is not None)

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
        self.listen_failure: str | None = None

    def run(self) -> None:
        reactor.callWhenRunning(self.install_stop_handlers)
        super().run()

    def listen_success(self, port: Any) -> None:
        self.ports.append(port)
        super().listen_success(port)

    def listen_error(self, failure: Any) -> None:
        # Daphne logs it and stops with status 0; the backend makes it the exit status.
        self.listen_failure = failure.getErrorMessage()
        super().listen_error(failure)

    def install_stop_handlers(self) -> None:
        # SIGHUP too: Daphne cannot reload, and its default would end the process at once.
        for sig in (*STOP_SIGNALS, *HANGUP_SIGNALS):
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


class DaphneServer(ASGICommandLineBackend):
    """Daphne serving the project's ASGI application."""

    program: ClassVar[str] = PROGRAM
    bounds: ClassVar[dict[str, Any]] = BOUNDS
    platform_options: ClassVar[PlatformOptions] = PlatformOptions(
        port="port",
        address_flags=frozenset(
            {"--port", "-p", "--unix-socket", "-u", "--fd", "--endpoint", "-e"}
        ),
        host="bind",
        host_flags=frozenset({"--bind", "-b"}),
    )

    def option_strings(self) -> frozenset[str]:
        return known_options()

    def argparse_parser(self) -> argparse.ArgumentParser:
        return daphne_parser()  # --endpoint is appended

    def parser_spelling(self, flag: str) -> str:
        # ARGS writes daphne's --proxy_headers style options with dashes.
        return daphne_spellings().get(flag, flag)

    def graceful_timeout(self) -> float:
        """``GRACEFUL_TIMEOUT`` (30 s): Daphne has no such option; this backend's graceful stop
        waits that long for the requests in flight."""
        return GRACEFUL_TIMEOUT

    def prep_server_args(self) -> list[str]:
        spellings = daphne_spellings()
        argv = []
        for token in self.user_args():
            flag, equals, value = token.partition("=")
            # --websocket-timeout is daphne's --websocket_timeout
            argv.append(spellings[flag] + equals + value if flag in spellings else token)
        return argv

    def parse(self, errors: ArgsErrors) -> argparse.Namespace:
        spellings = daphne_spellings()
        options, extra = parse_with_argparse(
            errors,
            daphne_parser(),
            self.command_line(errors.argv),
            option_strings=lambda name: self._spelled(name, spellings),
        )
        if extra and not extra[0].startswith("-"):
            raise errors.unexpected_argument(extra[0], application_from("ASGI_APPLICATION"))
        if extra:
            raise errors.unknown_option(option_flag(extra[0]))
        return options

    def check_values(self, errors: ArgsErrors, parsed: Any) -> None:
        options: argparse.Namespace = parsed
        if options.verbosity not in VERBOSITY_LEVELS:
            raise errors.invalid_value(["-v", "--verbosity"], "it must be 0, 1, 2 or 3")
        command_line = CommandLineInterface()
        try:
            command_line._get_forwarded_host(options)
            command_line._get_forwarded_port(options)
        except argparse.ArgumentError as e:
            spelled = self._spelled(e.argument_name, daphne_spellings())
            raise errors.invalid_value(spelled, e.message) from e
        log = options.access_log
        log_problem = log not in (None, "-") and directory_problem(log)
        if log_problem:
            raise errors.invalid_value(["--access-log"], log_problem)
        for endpoint in daphne_endpoints(options):
            if endpoint.problem:
                raise errors.invalid_value(endpoint.option_strings, endpoint.problem)

    @staticmethod
    def _spelled(argument_name: str | None, spellings: dict[str, str]) -> list[str]:
        """The option strings argparse names, with the dashed spelling ``ARGS`` may use."""
        option_strings = argument_name.split("/") if argument_name else []
        dashed = [flag for flag, spelling in spellings.items() if spelling in option_strings]
        return [*option_strings, *dashed]

    def _options(self, args: Sequence[str]) -> argparse.Namespace:
        with silenced():  # called after check_args() accepted ``args``
            return daphne_parser().parse_known_args(self.command_line(args))[0]

    def listen_address(self, args: Sequence[str]) -> tuple[str, int] | None:
        options = self._options(args)
        if options.unix_socket or options.file_descriptor is not None or options.socket_strings:
            return None
        return options.host or DEFAULT_HOST, options.port or DEFAULT_PORT

    def plan_start(self, args: Sequence[str]) -> StartPlan:
        endpoints = daphne_endpoints(self._options(args))
        # Daphne serves from this process, and finds the application imported (and warm).
        return StartPlan(addresses=tcp_addresses(endpoints), unix_sockets=unix_sockets(endpoints))

    def stop_signal_handling(self) -> contextlib.AbstractContextManager[object]:
        return exit_zero_on_stop_signals()

    def run(self, args: Sequence[str], plan: StartPlan) -> None:
        command_line = DaphneCommandLine()
        try:
            command_line.run(self.command_line(args))
        except SystemExit:  # Daphne's exit(1) when an endpoint failed before serving
            self._check_listened(command_line.server)
            raise
        self._check_listened(command_line.server)

    def _check_listened(self, graceful: GracefulServer) -> None:
        # After Daphne's log lines ending "CRITICAL Listen failure": one line, exit 1.
        if graceful.listen_failure:
            raise self.error(f"Daphne could not listen: {graceful.listen_failure}")


def __getattr__(name: str) -> Any:
    # django-prodserver 3.0 kept its Daphne development server in this module; it is loaded
    # only when asked for, so that serving with Daphne never imports the runserver machinery.
    if name == "DaphneRunserver":
        from .daphne_runserver import DaphneRunserver

        return DaphneRunserver
    raise AttributeError(f"module {__name__!r} has no attribute {name!r}")
