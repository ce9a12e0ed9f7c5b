"""A django-prodserver backend for Cheroot, the WSGI server of CherryPy.

``ARGS`` are the options of the ``cheroot`` command (``bind``, ``threads``, ``max_threads``,
``timeout``, ``shutdown_timeout``, ...); the application is always ``WSGI_APPLICATION``.
Cheroot's own default applies: it binds ``[::1]:8000``, the IPv6 loopback. On SIGTERM or SIGINT
the server stops accepting connections, lets the requests in flight finish (for up to
``shutdown_timeout`` seconds, 5 by default), and the process exits with status 0.

Built on django-prodserver's public command-line base, it gets the built-in backends' one-line
errors and pre-flight checks (a busy port, a missing socket directory, a broken application).
"""

from __future__ import annotations

import argparse
import threading
from collections.abc import Sequence
from typing import Any, ClassVar

# At module level: if Cheroot is missing, users are told which module to install.
from cheroot import wsgi
from cheroot.cli import parse_wsgi_bind_addr

from django_prodserver.backends.command_line import (
    CommandLineBackend,
    StartPlan,
    parse_with_argparse,
)
from django_prodserver.backends.options import ArgsErrors, application_from, option_flag
from django_prodserver.backends.preflight import import_target
from django_prodserver.backends.ranges import COUNT, SECONDS, Bound
from django_prodserver.stop_signals import stop_signals_handled


def parser() -> argparse.ArgumentParser:
    """The options of ``cheroot --help`` that configure the server, by their long names."""
    p = argparse.ArgumentParser(prog="cheroot", add_help=False)
    p.add_argument("--bind", dest="bind_addr", type=parse_wsgi_bind_addr, default="[::1]:8000")
    p.add_argument("--server-name")
    for option in ("threads", "max-threads", "timeout", "shutdown-timeout", "request-queue-size"):
        p.add_argument(f"--{option}", type=int)
    return p


def server_options(args: Sequence[str]) -> dict[str, Any]:
    """Keyword arguments of ``cheroot.wsgi.Server`` for arguments ``check_args()`` accepted."""
    options = vars(parser().parse_args(list(args)))
    names = {"threads": "numthreads", "max_threads": "max"}  # the Server's own names
    return {names.get(key, key): value for key, value in options.items() if value is not None}


class CherootServer(CommandLineBackend):
    """Cheroot serving ``WSGI_APPLICATION``."""

    program = "cheroot"  # what --dry-run shows, and messages name
    bounds: ClassVar[dict[str, Bound]] = {"--threads": COUNT, "--timeout": SECONDS}

    def option_strings(self) -> list[str]:
        return [flag for action in parser()._actions for flag in action.option_strings]

    def parse(self, errors: ArgsErrors) -> argparse.Namespace:
        options, extra = parse_with_argparse(errors, parser())
        if extra and not extra[0].startswith("-"):
            raise errors.unexpected_argument(extra[0], application_from("WSGI_APPLICATION"))
        if extra:
            raise errors.unknown_option(option_flag(extra[0]))
        return options

    def plan_start(self, args: Sequence[str]) -> StartPlan:
        options = server_options(args)
        bind = options["bind_addr"]  # (host, port), or a Unix socket's path
        if isinstance(bind, str):
            return StartPlan(config=options, unix_sockets=[bind])
        return StartPlan(config=options, addresses=[bind])

    def run(self, args: Sequence[str], plan: StartPlan) -> None:
        server = wsgi.Server(wsgi_app=import_target(self.target()), **plan.config)
        stopping: list[threading.Thread] = []

        def stop(signum: int, frame: object) -> None:
            # server.stop() waits for the requests in flight: not in a signal handler.
            if not stopping:
                stopping.append(threading.Thread(target=server.stop))
                stopping[0].start()

        with stop_signals_handled(stop):
            server.prepare()
            print(f"cheroot serving on {server.bind_addr}", flush=True)
            server.serve()
        for thread in stopping:
            thread.join()
