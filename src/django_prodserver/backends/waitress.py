"""waitress, run in this process through its own command-line runner.

``ARGS`` are the options of ``waitress-serve`` (``waitress-serve --help``); the application is
always ``WSGI_APPLICATION``.

Binding: waitress's own default is ``0.0.0.0:8080``, every interface. This backend binds
``127.0.0.1`` instead, by adding ``--host=127.0.0.1``, unless ``ARGS`` sets ``host``, ``listen``
or ``unix_socket``: a process exposed beyond the machine must say so. ``port`` alone keeps the
loopback host.

Before waitress starts, the application is imported and every address it will listen on is
checked to be free: a broken application or a busy port is one line and exit status 1.

waitress installs no SIGTERM handler, so SIGTERM would kill it in the middle of its requests.
This backend handles SIGTERM and SIGINT: it stops accepting connections, lets the requests in
flight finish and their responses reach the client (for up to ``GRACEFUL_TIMEOUT`` seconds),
then exits with status 0. A second signal skips the wait.
"""

from __future__ import annotations

import contextlib
import getopt
import logging
import signal
import time
from collections.abc import Iterator, Mapping, Sequence
from types import FrameType
from typing import Any, Callable, ClassVar

import waitress
import waitress.runner
from waitress import wasyncore
from waitress.adjustments import Adjustments, asbool
from waitress.channel import HTTPChannel
from waitress.server import BaseWSGIServer
from waitress.utilities import logger as waitress_logger

from .. import targets
from ._options import (
    STOP_SIGNALS,
    ArgsErrors,
    application_from,
    lists_joined,
    negation,
    option_flag,
)
from ._preflight import check_addresses_free, import_application, port_problem
from .base import BaseServerBackend, args_to_argv, flag_for

PROGRAM = "waitress-serve"
SERVER = "waitress"
LOOPBACK = "127.0.0.1"
#: How long in-flight requests may take to finish after SIGTERM: gunicorn's default.
GRACEFUL_TIMEOUT = 30.0
# The options that choose where waitress listens; without any, it would take 0.0.0.0.
ADDRESS_OPTIONS = frozenset({"--host", "--listen", "--unix-socket"})
RUNNER_OPTIONS = ("help", "call")  # the runner's own, not adjustments


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


def _parse(argv: Sequence[str]) -> tuple[dict[str, Any], list[str]]:
    kw, positionals = Adjustments.parse_args(list(argv))
    return kw, positionals


class WaitressServer(BaseServerBackend):
    """waitress serving ``WSGI_APPLICATION``."""

    program: ClassVar[str] = PROGRAM

    def negated_flag(self, flag: str) -> str | None:
        # Every boolean adjustment has one: --no-ipv6, --no-expose-tracebacks, ...
        return negation(flag, known_options())

    def prep_server_args(self) -> list[str]:
        # waitress keeps the last value of a repeated option; it adds up only --listen.
        args = lists_joined(self, SERVER, lambda flag: False, lambda flag: flag == "--listen")
        argv = args_to_argv(args, self.process_name, self.negated_flag)
        if not self._sets_address(argv):
            argv = [f"--host={LOOPBACK}", *argv]
        return argv

    def _sets_address(self, argv: Sequence[str]) -> bool:
        try:
            kw, _ = _parse(argv)
        except getopt.GetoptError:
            return True  # check_args() reports the problem; add nothing to it
        return any(flag_for(key) in ADDRESS_OPTIONS for key in kw)

    def check_args(self, args: Sequence[str]) -> None:
        known = known_options()
        errors = ArgsErrors(self, args, SERVER, known)
        errors.check_omitted_flags()
        for token in args:
            # getopt would take a unique prefix ("--po" for "--port"); a typo should not.
            if token.startswith("--") and option_flag(token) not in known:
                raise errors.unknown_option(option_flag(token))
        try:
            kw, positionals = _parse(args)
        except getopt.GetoptError as e:  # a value missing, or given to a flag
            raise errors.invalid_value(["--" + e.opt], e.msg) from e
        if positionals:
            raise errors.unexpected_argument(positionals[0], application_from("WSGI_APPLICATION"))
        if kw["help"]:
            raise errors.prints_and_exits(["--help"])
        if kw["call"]:
            raise errors.not_allowed(["--call"], application_from("WSGI_APPLICATION"))
        adjustments = {key: value for key, value in kw.items() if key not in RUNNER_OPTIONS}
        self._check_values(errors, adjustments)
        self._check_ranges(errors, adjustments)
        try:
            # Resolves the addresses and checks the options against each other; binds nothing.
            Adjustments(**adjustments)
        except ValueError as e:
            raise errors.rejected(str(e)) from e
        targets.wsgi_target()

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
        return {option_flag(token) for token in BaseServerBackend.prep_server_args(self)}

    def _check_values(self, errors: ArgsErrors, adjustments: Mapping[str, Any]) -> None:
        casts = _casts()
        for key, value in adjustments.items():
            try:
                casts[key](value)
            except ValueError as e:
                raise errors.invalid_value([flag_for(key)], str(e)) from e

    def start_server(self, *args: str) -> None:
        kw, _ = _parse(args)
        adjustments = Adjustments(**{k: v for k, v in kw.items() if k not in RUNNER_OPTIONS})
        if not adjustments.unix_socket:
            check_addresses_free(
                self, [sockaddr[:2] for family, _, _, sockaddr in adjustments.listen]
            )
        import_application(self, targets.wsgi_target())
        argv = [PROGRAM, *args, targets.wsgi_target()]
        status = waitress.runner.run(argv=argv, _serve=serve_until_stopped)
        if status:  # the runner has printed why
            raise SystemExit(status)

    def describe_start(self, args: Sequence[str]) -> str:
        return super().describe_start([*args, targets.wsgi_target()])


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

    @contextlib.contextmanager
    def installed(self) -> Iterator[None]:
        previous = {sig: signal.signal(sig, self.handle) for sig in STOP_SIGNALS}
        try:
            yield
        finally:
            for sig, handler in previous.items():
                signal.signal(sig, handler)


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
