"""What the uvicorn backend changes in uvicorn while it runs, and why.

- ``accepted_connections_without_delay``: with ``workers`` above 1 (or ``reload``) uvicorn binds
  the listening socket itself, without naming TCP as its protocol, and asyncio then leaves
  Nagle's algorithm on for every accepted connection; each keep-alive response waited for the
  client's delayed ACK (about 40 ms). ``TCP_NODELAY`` on that socket is inherited by the
  connections it accepts.
- ``sighup_stops_one_process``: one uvicorn process handles SIGTERM and SIGINT, not SIGHUP, whose
  default action kills it with its requests in flight (status 129). While it serves, SIGHUP is
  one more signal of its graceful shutdown. (With several workers, uvicorn's supervisor restarts
  them on SIGHUP, gracefully, and is left to do so.)
"""

from __future__ import annotations

import contextlib
import signal
import socket
from collections.abc import Iterator

from uvicorn import config as uvicorn_config
from uvicorn import server as uvicorn_server

from ..stop_signals import STOP_SIGNALS

#: The signals that stop one uvicorn process gracefully, and end it with status 0.
ONE_PROCESS_STOP_SIGNALS = (*STOP_SIGNALS, signal.SIGHUP)


@contextlib.contextmanager
def accepted_connections_without_delay() -> Iterator[None]:
    """While uvicorn runs, the TCP sockets its ``Config.bind_socket()`` binds get ``TCP_NODELAY``.

    uvicorn binds one there for its worker processes and its reloader (uvicorn 0.30 to 0.54 alike),
    with ``proto`` 0, so asyncio's own ``TCP_NODELAY`` for accepted TCP connections is skipped; on
    Linux an accepted connection inherits it from the listening socket instead.
    """
    config_class = uvicorn_config.Config
    bind_socket = config_class.bind_socket

    def bind_socket_without_delay(config: uvicorn_config.Config) -> socket.socket:
        sock = bind_socket(config)
        if sock.family in (socket.AF_INET, socket.AF_INET6):
            sock.setsockopt(socket.IPPROTO_TCP, socket.TCP_NODELAY, 1)
        return sock

    config_class.bind_socket = bind_socket_without_delay  # type: ignore[method-assign,assignment]
    try:
        yield
    finally:
        config_class.bind_socket = bind_socket  # type: ignore[method-assign]


@contextlib.contextmanager
def sighup_stops_one_process() -> Iterator[None]:
    """While inside, a uvicorn server handles SIGHUP as it handles SIGTERM.

    uvicorn installs its handlers for the signals of ``uvicorn.server.HANDLED_SIGNALS`` when it
    starts serving (every version this package supports reads that name then).
    """
    handled = uvicorn_server.HANDLED_SIGNALS
    uvicorn_server.HANDLED_SIGNALS = (*handled, signal.SIGHUP)  # type: ignore[assignment]
    try:
        yield
    finally:
        uvicorn_server.HANDLED_SIGNALS = handled
