"""A django-prodserver backend written the way a third party would: Python's wsgiref server.

It depends only on django-prodserver's public API. Not for production: single-threaded.
"""

from __future__ import annotations

import argparse
import signal
import sys
import threading
from collections.abc import Sequence
from typing import Any
from wsgiref.simple_server import make_server

from django.utils.module_loading import import_string

from django_prodserver.backends.base import BaseServerBackend
from django_prodserver.targets import wsgi_target


class _ArgsError(Exception):
    pass


class _Parser(argparse.ArgumentParser):
    def error(self, message: str) -> Any:  # raise instead of printing usage and exiting
        raise _ArgsError(message)


def _parser() -> _Parser:
    parser = _Parser(prog="wsgiref", add_help=False)
    parser.add_argument("--host", default="127.0.0.1")
    parser.add_argument("--port", type=int, default=8000)
    return parser


class WsgirefServer(BaseServerBackend):
    program = "wsgiref"

    def check_args(self, args: Sequence[str]) -> None:
        try:
            _parser().parse_args(list(args))
        except _ArgsError as e:
            raise self.error(f"wsgiref rejected ARGS: {e}.") from e

    def start_server(self, *args: str) -> None:
        options = _parser().parse_args(list(args))
        application = import_string(wsgi_target().replace(":", "."))
        with make_server(options.host, options.port, application) as httpd:
            # serve_forever() must be stopped from another thread; the handler only asks.
            signal.signal(
                signal.SIGTERM, lambda *_: threading.Thread(target=httpd.shutdown).start()
            )
            print(f"wsgiref serving on {options.host}:{options.port}", file=sys.stderr, flush=True)
            httpd.serve_forever()
