"""A django-prodserver backend for Cheroot, the WSGI server of CherryPy.

``ARGS`` are the options of the ``cheroot`` command (``bind``, ``threads``, ``max_threads``,
``timeout``, ``shutdown_timeout``, ...); the application is always ``WSGI_APPLICATION``.
Cheroot's own default applies: it binds ``[::1]:8000``, the IPv6 loopback.

On SIGTERM or SIGINT the server stops accepting connections, lets the requests in flight finish
(for up to ``shutdown_timeout`` seconds, 5 by default), and the process exits with status 0.

It uses django-prodserver's public API only: ``BaseServerBackend``, ``targets.wsgi_target()``.
"""

from __future__ import annotations

import argparse
import signal
import threading
from collections.abc import Sequence
from typing import Any

# Imported at module level: if Cheroot is missing, `manage.py prodserver --list-backends` and
# every error message say so, with the module's name.
from cheroot import wsgi
from cheroot.cli import parse_wsgi_bind_addr
from django.utils.module_loading import import_string

from django_prodserver.backends.base import BaseServerBackend
from django_prodserver.targets import wsgi_target

PROGRAM = "cheroot"
STOP_SIGNALS = (signal.SIGTERM, signal.SIGINT)


class ArgsError(Exception):
    """What the parser would otherwise print before exiting."""


class Parser(argparse.ArgumentParser):
    def error(self, message: str) -> Any:  # raise instead of printing usage and exiting
        raise ArgsError(message)


def parser() -> Parser:
    """The options of ``cheroot --help`` that configure the server, by their long names."""
    p = Parser(prog=PROGRAM, add_help=False, allow_abbrev=False)
    p.add_argument("--bind", dest="bind_addr", type=parse_wsgi_bind_addr, default="[::1]:8000")
    p.add_argument("--server-name")
    p.add_argument("--threads", dest="numthreads", type=int)
    p.add_argument("--max-threads", dest="max", type=int)
    p.add_argument("--timeout", type=int)
    p.add_argument("--shutdown-timeout", type=int)
    p.add_argument("--request-queue-size", type=int)
    p.add_argument("--accepted-queue-size", type=int)
    p.add_argument("--accepted-queue-timeout", type=int)
    return p


def server_options(args: Sequence[str]) -> dict[str, Any]:
    """Keyword arguments of ``cheroot.wsgi.Server`` for ``args``; raises ``ArgsError``."""
    options = vars(parser().parse_args(list(args)))
    return {name: value for name, value in options.items() if value is not None}


class CherootServer(BaseServerBackend):
    """Cheroot serving ``WSGI_APPLICATION``."""

    kind = "server"  # answers HTTP; a task consumer would subclass BaseWorkerBackend
    program = PROGRAM  # what --dry-run shows

    def check_args(self, args: Sequence[str]) -> None:
        """Reject what Cheroot would reject, in one line, before anything starts."""
        try:
            options = server_options(args)
        except ArgsError as e:
            raise self.error(f"cheroot rejects ARGS: {e}.") from e
        if options.get("numthreads", 1) < 1:
            raise self.error("ARGS['threads'] must be 1 or more.")

    def describe_start(self, args: Sequence[str]) -> str:
        return super().describe_start([*args, wsgi_target()])

    def start_server(self, *args: str) -> None:
        options = server_options(args)
        application = import_string(wsgi_target().replace(":", "."))
        server = wsgi.Server(wsgi_app=application, **options)
        stopping: list[threading.Thread] = []

        def stop(signum: int, frame: object) -> None:
            # server.stop() waits for the requests in flight: not in a signal handler.
            if not stopping:
                stopping.append(threading.Thread(target=server.stop))
                stopping[0].start()

        previous = {sig: signal.signal(sig, stop) for sig in STOP_SIGNALS}
        try:
            server.prepare()  # binds: a busy port fails here, before "serving on" is printed
            print(f"cheroot serving on {server.bind_addr}", flush=True)
            server.serve()
        finally:
            for thread in stopping:
                thread.join()
            for sig, handler in previous.items():
                signal.signal(sig, handler)
