"""waitress, run in this process through its own command-line runner.

``ARGS`` are the options of ``waitress-serve`` (``waitress-serve --help``); the application is
always ``WSGI_APPLICATION``.

Binding: waitress's own default is ``0.0.0.0:8080``, every interface. This backend binds
``127.0.0.1`` instead, by adding ``--host=127.0.0.1``, unless ``ARGS`` sets ``host``, ``listen``
or ``unix_socket``: a process exposed beyond the machine must say so. ``port`` alone keeps the
loopback host.

Before waitress starts, the application is imported and every address it will listen on is
checked to be free: a broken application or a busy port is one line and exit status 1.

waitress installs no SIGTERM handler, so SIGTERM (and SIGHUP) would kill it in the middle of its
requests. This backend handles SIGTERM, SIGINT and SIGHUP alike: it stops accepting connections,
lets the requests in flight finish and their responses reach the client (for up to
``GRACEFUL_TIMEOUT`` seconds), then exits with status 0. A second signal skips the wait.
waitress cannot reload its code in place, so SIGHUP is a graceful stop rather than a reload.
"""

from __future__ import annotations

import contextlib
import getopt
import logging
import signal
import time
from collections.abc import Mapping, Sequence
from types import FrameType
from typing import Any, Callable, ClassVar

import waitress
import waitress.runner
from waitress import wasyncore
from waitress.adjustments import Adjustments, asbool
from waitress.channel import HTTPChannel
from waitress.server import BaseWSGIServer
from waitress.utilities import logger as waitress_logger

from ..environment import PlatformOptions
from ..stop_signals import STOP_SIGNALS, stop_signals_handled
from .base import DEFAULT_GRACEFUL_TIMEOUT, flag_for
from .command_line import CommandLineBackend, StartPlan
from .options import ArgsErrors, application_from, option_flag
from .ranges import BACKLOG, CONNECTIONS, COUNT, SECONDS, port_problem

PROGRAM = "waitress-serve"
SERVER = "waitress"
LOOPBACK = "127.0.0.1"
#: How long in-flight requests may take to finish after a stop signal: waitress has no such
#: option, and this backend's graceful stop waits the default graceful timeout.
GRACEFUL_TIMEOUT = DEFAULT_GRACEFUL_TIMEOUT
#: The signals that stop waitress gracefully: SIGHUP too, which would otherwise kill it (and its
#: requests in flight) as the default action of a signal waitress does not handle.
GRACEFUL_STOP_SIGNALS = (*STOP_SIGNALS, signal.SIGHUP)
# The options that choose where waitress listens; without any, it would take 0.0.0.0.
ADDRESS_OPTIONS = frozenset({"--host", "--listen", "--unix-socket"})
RUNNER_OPTIONS = ("help", "call")  # the runner's own, not adjustments
BOUNDS = {
    "--threads": COUNT,
    "--backlog": BACKLOG,
    "--connection-limit": CONNECTIONS,
    **dict.fromkeys(["--channel-timeout", "--cleanup-interval"], SECONDS),
    "--asyncore-loop-timeout": SECONDS,
}


def _casts() -> dict[str, Callable[[Any], Any]]:
    # Adjustments._params is the table waitress's own parse_args() builds its options from.
    return dict(Adjustments._params)


def known_options() -> frozenset[str]:
    """Every option of ``waitress-serve``, as ``Adjustments.parse_args()`` accepts them."""
    options = {f"--{name}" for name in RUNNER_OPTIONS}
    for name, cast in _casts().items():
        flag = flag_for(name)
        options.add(flag)
        if cast is asbool:
            options.add("--no-" + flag[2:])
    return frozenset(options)


def _adjustments(argv: Sequence[str]) -> dict[str, Any]:
    """The adjustments ``argv`` sets, without the runner's own options."""
    kw, _ = Adjustments.parse_args(list(argv))
    return {key: value for key, value in kw.items() if key not in RUNNER_OPTIONS}


class WaitressServer(CommandLineBackend):
    """waitress serving ``WSGI_APPLICATION``."""

    program: ClassVar[str] = PROGRAM
    server_name: ClassVar[str] = SERVER
    print_and_exit_options: ClassVar[frozenset[str]] = frozenset({"--help"})
    bounds: ClassVar[dict[str, Any]] = BOUNDS
    platform_options: ClassVar[PlatformOptions] = PlatformOptions(
        port="port",
        address_flags=frozenset({"--port", "--listen", "--unix-socket"}),
        host="host",
        host_flags=frozenset({"--host"}),
    )

    def option_strings(self) -> frozenset[str]:
        return known_options()

    def repeatable(self, flag: str) -> bool:
        # waitress keeps the last value of a repeated option; it adds up only --listen.
        return flag == "--listen"

    def prep_server_args(self) -> list[str]:
        argv = self.user_args()
        if not self._sets_address(argv):
            argv = [f"--host={LOOPBACK}", *argv]
        return argv

    def _sets_address(self, argv: Sequence[str]) -> bool:
        try:
            adjustments = _adjustments(argv)
        except getopt.GetoptError:
            return True  # check_args() reports the problem; add nothing to it
        return any(flag_for(key) in ADDRESS_OPTIONS for key in adjustments)

    def parse(self, errors: ArgsErrors) -> dict[str, Any]:
        for token in errors.argv:
            # getopt would take a unique prefix ("--po" for "--port"); a typo should not.
            if token.startswith("--") and option_flag(token) not in self.known_options:
                raise errors.unknown_option(option_flag(token))
        try:
            kw, positionals = Adjustments.parse_args(list(errors.argv))
        except getopt.GetoptError as e:  # a value missing, or given to a flag
            raise errors.invalid_value(["--" + e.opt], e.msg) from e
        if positionals:
            raise errors.unexpected_argument(positionals[0], application_from("WSGI_APPLICATION"))
        if kw["call"]:
            raise errors.not_allowed(["--call"], application_from("WSGI_APPLICATION"))
        return {key: value for key, value in kw.items() if key not in RUNNER_OPTIONS}

    def check_values(self, errors: ArgsErrors, parsed: Any) -> None:
        casts = _casts()
        for key, value in parsed.items():
            try:
                casts[key](value)
            except ValueError as e:
                raise errors.invalid_value([flag_for(key)], str(e)) from e
        self._check_ranges(errors, parsed)
        try:
            # Resolves the addresses and checks the options against each other; binds nothing.
            Adjustments(**parsed)
        except ValueError as e:
            raise errors.rejected(str(e)) from e

    def _check_ranges(self, errors: ArgsErrors, adjustments: Mapping[str, Any]) -> None:
        """What waitress accepts and then serves wrongly: a port it wraps round (70000 is
        4464), no threads to answer with, host or port beside a Unix socket it alone uses."""
        ports = [("port", adjustments["port"])] if "port" in adjustments else []
        for address in str(adjustments.get("listen", "")).split():
            port = address.rpartition(":")[2]
            if port.lstrip("-").isdigit():  # not a service name, which waitress looks up
                ports.append(("listen", port))
        for key, port in ports:
            problem = port_problem(port)
            if problem:
                raise errors.invalid_value([flag_for(key)], problem)
        if "threads" in adjustments and int(adjustments["threads"]) < 1:
            raise errors.invalid_value(["--threads"], "at least 1 thread is needed")
        if adjustments.get("unix_socket"):
            for key in ("host", "port", "listen"):
                if key in adjustments and flag_for(key) in self._user_flags():
                    raise errors.invalid_value(
                        [flag_for(key)], "waitress ignores it when 'unix_socket' is set"
                    )

    def _user_flags(self) -> set[str]:
        # Looks at ARGS alone: the backend adds --host itself when ARGS sets no address.
        return {option_flag(token) for token in self.args}

    def plan_start(self, args: Sequence[str]) -> StartPlan:
        adjustments = Adjustments(**_adjustments(args))
        if adjustments.unix_socket:
            return StartPlan(unix_sockets=[adjustments.unix_socket])
        return StartPlan(addresses=[sockaddr[:2] for _, _, _, sockaddr in adjustments.listen])

    def run(self, args: Sequence[str], plan: StartPlan) -> int:
        argv = [PROGRAM, *self.command_line(args)]
        # The runner prints why when it fails, and returns the status.
        return int(waitress.runner.run(argv=argv, _serve=serve_until_stopped) or 0)


class StopRequest:
    """What SIGTERM and SIGINT set while waitress serves; the serving loop reads it."""

    def __init__(self, wake: Callable[[], None]) -> None:
        self.wake = wake  # interrupts the loop's wait for socket events
        self.signals = 0

    @property
    def requested(self) -> bool:
        return self.signals > 0

    @property
    def forced(self) -> bool:
        return self.signals > 1

    def handle(self, signum: int, frame: FrameType | None) -> None:
        # Only flags and a write to waitress's wake-up pipe: raising here would surface inside
        # waitress's socket handling, which treats any exception as a broken channel.
        self.signals += 1
        self.wake()

    def installed(self) -> contextlib.AbstractContextManager[None]:
        return stop_signals_handled(self.handle, GRACEFUL_STOP_SIGNALS)


def listeners(socket_map: Mapping[int, Any]) -> list[Any]:
    return [item for item in socket_map.values() if isinstance(item, BaseWSGIServer)]


def requests_in_flight(socket_map: Mapping[int, Any]) -> int:
    """Connections with a request being served or a response not yet sent."""
    return sum(
        1
        for item in socket_map.values()
        if isinstance(item, HTTPChannel) and (item.requests or item.total_outbufs_len)
    )


def serve_until_stopped(app: Any, **adjustments: Any) -> None:
    """``waitress.serve()``, but SIGTERM and SIGINT finish the requests in flight, then return."""
    socket_map: dict[int, Any] = {}
    server = waitress.create_server(app, map=socket_map, **adjustments)
    logging.basicConfig()  # as waitress.serve() does; idempotent
    server.print_listen("Serving on http://{}:{}")
    serving = listeners(socket_map)
    stop = StopRequest(wake=serving[0].trigger.pull_trigger)
    adj = server.adj
    deadline = time.monotonic() + GRACEFUL_TIMEOUT  # reset when the stop is requested
    try:
        with stop.installed():
            _loop(socket_map, adj, until=lambda: stop.requested)
            waitress_logger.info(
                "Stopping: finishing %d request(s) in flight", requests_in_flight(socket_map)
            )
            for listener in serving:
                # Close the listening socket only: the listener's close() would also close
                # the wake-up pipe that task threads use to hand their responses over.
                wasyncore.dispatcher.close(listener)
            deadline = time.monotonic() + GRACEFUL_TIMEOUT
            _loop(
                socket_map,
                adj,
                until=lambda: (
                    stop.forced or not requests_in_flight(socket_map) or time.monotonic() > deadline
                ),
            )
    finally:
        # Idle task threads exit at once; threads still in a request (a second signal, or
        # the timeout) are not waited for again.
        remaining = 0.0 if stop.forced else max(0.0, deadline - time.monotonic())
        server.task_dispatcher.shutdown(timeout=remaining)
        wasyncore.close_all(socket_map)


def _loop(socket_map: dict[int, Any], adj: Any, until: Callable[[], bool]) -> None:
    while not until():
        wasyncore.loop(
            timeout=adj.asyncore_loop_timeout,
            map=socket_map,
            use_poll=adj.asyncore_use_poll,
            count=1,
        )
