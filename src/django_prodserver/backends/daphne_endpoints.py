"""The endpoints Daphne will listen on, read and checked before Daphne starts.

Daphne turns its options (``bind``, ``port``, ``unix-socket``, ``fd``, ``endpoint``) into
Twisted endpoint descriptions, and Twisted reads them only once the reactor runs: a TLS endpoint
whose files are missing is a traceback, and a busy port or a bad host four log lines ending
``CRITICAL Listen failure`` (and an exit with status 0). Here each description is built by
Twisted exactly as Daphne will build it, which reads a TLS endpoint's certificate and key (and
checks that they match) but listens on nothing, and its TCP address is known before the start.
"""

from __future__ import annotations

import argparse
from collections.abc import Sequence
from typing import Any, NamedTuple

from daphne.cli import DEFAULT_HOST, DEFAULT_PORT
from daphne.endpoints import build_endpoint_description_strings
from twisted.internet import reactor
from twisted.internet.endpoints import serverFromString

from .ranges import port_problem

ENDPOINT_OPTIONS = ["-e", "--endpoint"]
PORT_OPTIONS = ["-p", "--port"]
TCP_OPTIONS = ["-b", "--bind", *PORT_OPTIONS]


class Endpoint(NamedTuple):
    """One endpoint Daphne listens on: its description, the options that set it, and its
    TCP ``(host, port)`` (None for a Unix socket or an inherited descriptor)."""

    description: str
    option_strings: list[str]
    address: tuple[str, int] | None
    #: Why Twisted cannot build it, or None.
    problem: str | None
    #: The path of a Unix socket endpoint.
    unix_socket: str | None = None


def _descriptions(options: argparse.Namespace) -> list[tuple[str, list[str]]]:
    """Daphne's endpoint descriptions for ``options``, with the options that set each, by the
    rules of Daphne's ``CommandLineInterface.run()``: host and port default to each other's
    defaults, and to 127.0.0.1:8000 when nothing else binds."""
    host, port = options.host, options.port
    if not any(
        [host, port is not None, options.unix_socket, options.file_descriptor is not None]
    ) and not (options.socket_strings):
        host, port = DEFAULT_HOST, DEFAULT_PORT
    elif host and port is None:
        port = DEFAULT_PORT
    elif port is not None and not host:
        host = DEFAULT_HOST
    described = [
        (description, TCP_OPTIONS)
        for description in build_endpoint_description_strings(host=host, port=port)
    ]
    described += [
        (description, ["-u", "--unix-socket", "--fd"])
        for description in build_endpoint_description_strings(
            unix_socket=options.unix_socket, file_descriptor=options.file_descriptor
        )
    ]
    return described + [(description, ENDPOINT_OPTIONS) for description in options.socket_strings]


def daphne_endpoints(options: argparse.Namespace) -> list[Endpoint]:
    """Every endpoint Daphne would listen on with ``options`` (as its parser returns them)."""
    endpoints = []
    for description, setting in _descriptions(options):
        option_strings, address, problem, path = setting, None, None, None
        try:
            endpoint: Any = serverFromString(reactor, description)  # type: ignore[no-untyped-call]
        except Exception as e:  # an unknown type, a bad number, a TLS file that cannot be read
            problem = f"Twisted cannot use the endpoint {description!r}: {_reason(e)}"
        else:
            if hasattr(endpoint, "_port") and hasattr(endpoint, "_interface"):  # TCP, TLS
                address = (endpoint._interface or "0.0.0.0", int(endpoint._port))
                problem = port_problem(address[1])
                if problem and setting is TCP_OPTIONS:
                    option_strings = PORT_OPTIONS  # the port is wrong, not the host
            elif hasattr(endpoint, "_address"):  # a Unix socket
                path = str(endpoint._address)
        endpoints.append(Endpoint(description, option_strings, address, problem, path))
    return endpoints


def _reason(error: Exception) -> str:
    if isinstance(error, OSError) and error.strerror:
        return f"{error.strerror}: {error.filename!r}" if error.filename else error.strerror
    return str(error) or type(error).__name__


def tcp_addresses(endpoints: Sequence[Endpoint]) -> list[tuple[str, int]]:
    return [endpoint.address for endpoint in endpoints if endpoint.address is not None]


def unix_sockets(endpoints: Sequence[Endpoint]) -> list[str]:
    return [endpoint.unix_socket for endpoint in endpoints if endpoint.unix_socket is not None]
