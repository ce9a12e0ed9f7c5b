"""The platform conventions: ``$PORT`` and ``$WEB_CONCURRENCY``, one rule for every web server.

Heroku, Dokku, Render, Cloud Run and Fly tell a web process where to listen in ``PORT`` and how
many worker processes to run in ``WEB_CONCURRENCY``. Every server backend declares, as data
(``PlatformOptions``), which of its ARGS options are the listen address and the worker count;
the rule is applied here, once, to the process's ARGS before its backend is built:

- when ARGS sets no port (nor a socket to listen on), ``$PORT`` gives the port, on ``0.0.0.0``
  unless ARGS sets the host;
- when ARGS sets no worker count, ``$WEB_CONCURRENCY`` gives it, for servers with workers;
- ARGS always wins, ``--set`` included: it is merged into ARGS first.

Under ``manage.py prodserver --all`` each server process gets a port of its own, as foreman
does: the base port from ``$PORT`` (or 5000), plus 100 for each server process before it in the
setting (``ports_for_several``). Each child then finds its port in ``$PORT``.

An invalid value is a one-line ``InvalidEnvironment`` naming the variable, raised only where the
value would be used. ``Conventions.sources`` says where each value came from, for ``--dry-run``.
"""

from __future__ import annotations

import shlex
from collections.abc import Mapping, Sequence
from typing import Any, NamedTuple

from .exceptions import InvalidEnvironment
from .option_names import option_name

PORT = "PORT"
WEB_CONCURRENCY = "WEB_CONCURRENCY"
EVERY_INTERFACE = "0.0.0.0"
#: foreman's and honcho's base port when ``$PORT`` is not set, and their step per process.
BASE_PORT = 5000
PORT_STEP = 100
HIGHEST_PORT = 65535
#: The most worker processes ``$WEB_CONCURRENCY`` may ask for (the bound the Granian backend sets
#: on ARGS' workers too): more is a typo, and a server would try to start every one.
HIGHEST_WORKERS = 1024


class PlatformOptions(NamedTuple):
    """Which ARGS options of a server are its listen address and its worker count."""

    #: The ARGS key ``$PORT`` is given to: ``"port"``, or ``"bind"`` for a server that takes
    #: ``host:port`` in one option (then ``host`` is None).
    port: str
    #: Every flag that fixes the port or replaces it with a socket: then ``$PORT`` is not used.
    address_flags: frozenset[str]
    #: The ARGS key of the host, beside ``port``; ``0.0.0.0`` is given to it with ``$PORT``.
    host: str | None = None
    #: The flags that set the host alone: ``$PORT`` then gives only the port.
    host_flags: frozenset[str] = frozenset()
    #: The ARGS key of the number of worker processes; None for a server that has none.
    workers: str | None = None
    workers_flags: frozenset[str] = frozenset()
    #: True when a string ARGS is a command line split like a shell (Granian); otherwise a
    #: string is one argument, and options are added to it as a list.
    string_is_command_line: bool = False


class Conventions(NamedTuple):
    """ARGS with the platform's values applied, and where each value came from."""

    args: Any
    sources: tuple[str, ...]


class AssignedPort(NamedTuple):
    """The port ``--all`` gives a server process: ``base``, plus ``PORT_STEP`` for each server
    process before it."""

    port: int
    base: int
    base_from_environment: bool  # the base is $PORT, not foreman's 5000

    def origin(self) -> str:
        """Where the port comes from, as ``--dry-run`` says it."""
        if self.base_from_environment and self.port == self.base:
            return f"from the environment variable {PORT}"
        base = f"{PORT} ({self.base})" if self.base_from_environment else str(self.base)
        step = f" + {self.port - self.base}" if self.port != self.base else ""
        unset = "" if self.base_from_environment else f", {PORT} being unset"
        return f"assigned by --all: {base}{step}{unset}"


def _flags_in(args: Any, string_is_command_line: bool) -> dict[str, str]:
    """Each flag ARGS sets (long flags with dashes), mapped to how a message names it."""
    if isinstance(args, Mapping):
        return {_normal(key): f"ARGS[{key!r}]" for key in args if isinstance(key, str)}
    if isinstance(args, str):
        try:
            tokens = shlex.split(args) if string_is_command_line else [args]
        except ValueError:  # the backend reports the string it cannot split
            tokens = [args]
    elif isinstance(args, (list, tuple)):
        tokens = [token for token in args if isinstance(token, str)]
    else:
        tokens = []
    flags = {}
    for token in tokens:
        if token.startswith("-"):
            flag = token.partition("=")[0]
            flags[_normal(flag)] = f"ARGS option {flag!r}"
            if not token.startswith("--") and len(token) > 2:  # "-w4": the short flag glued
                flags.setdefault(token[:2], f"ARGS option {token[:2]!r}")
    return flags


def _normal(key: str) -> str:
    """``"unix_socket"``, ``"--unix_socket"`` -> ``"--unix-socket"``; a short flag as it is."""
    if key.startswith("-") and not key.startswith("--"):
        return key
    return "--" + option_name(key)


def _first_set(flags: Mapping[str, str], wanted: frozenset[str]) -> str | None:
    return next((named for flag, named in flags.items() if flag in wanted), None)


def _with_options(args: Any, added: dict[str, Any], string_is_command_line: bool) -> Any:
    if not added:
        return args
    if args is None or isinstance(args, Mapping):
        return {**(args or {}), **added}
    argv = [f"--{key}={value}" for key, value in added.items()]
    if isinstance(args, str):
        return f"{args} {shlex.join(argv)}" if string_is_command_line else [args, *argv]
    return [*args, *argv]


def _number(text: str, highest: int) -> int | None:
    """``text`` as a whole number from 0 to ``highest``; None for anything else. Never int() of
    a long string: Python refuses more than 4300 digits with a ValueError."""
    digits = text.lstrip("0") or "0" if text.isascii() and text.isdigit() else ""
    if not digits or len(digits) > len(str(highest)) or int(digits) > highest:
        return None
    return int(digits)


def port_from(environ: Mapping[str, str], process: str) -> int | None:
    """``$PORT`` as a port number, None if it is not set."""
    text = environ.get(PORT)
    if text is None:
        return None
    port = _number(text, HIGHEST_PORT)
    if not port:
        raise InvalidEnvironment(
            f"Process {process!r}: the environment variable {PORT} is {_shown(text)}; it must "
            f"be a port number from 1 to {HIGHEST_PORT}, such as {PORT}=8000. Correct or unset "
            f"{PORT}, or set the port in ARGS."
        )
    return port


def valid_workers(text: str) -> bool:
    """Whether ``text`` is a number of worker processes, from 1 to ``HIGHEST_WORKERS``."""
    return bool(_number(text, HIGHEST_WORKERS))


def workers_from(environ: Mapping[str, str], process: str, option: str) -> int | None:
    """``$WEB_CONCURRENCY`` as a number of worker processes, None if it is not set."""
    text = environ.get(WEB_CONCURRENCY)
    if text is None:
        return None
    if valid_workers(text):
        return int(text)
    if text.isascii() and text.isdigit() and text.strip("0"):  # more than a machine runs
        wanted = f"at most {HIGHEST_WORKERS} worker processes"
    else:
        wanted = "a number of worker processes, 1 or more"
    raise InvalidEnvironment(
        f"Process {process!r}: the environment variable {WEB_CONCURRENCY} is {_shown(text)}; it "
        f"must be {wanted}, such as {WEB_CONCURRENCY}=4. Correct or unset {WEB_CONCURRENCY}, or "
        f"set {option!r} in ARGS."
    )


def _shown(text: str) -> str:
    """A variable's value for a message: quoted, and cut short if it is long."""
    return repr(text) if len(text) <= 40 else f"{text[:20]!r}... ({len(text)} characters)"


def sets_port(args: Any, options: PlatformOptions) -> bool:
    """Whether ARGS itself says where the server listens (a port, or a socket)."""
    given = _flags_in(args, options.string_is_command_line)
    return _first_set(given, options.address_flags) is not None


def apply(
    process: str,
    backend: str,
    args: Any,
    options: PlatformOptions | None,
    environ: Mapping[str, str],
    *,
    assigned: AssignedPort | None = None,
) -> Conventions:
    """ARGS of server ``process`` with ``$PORT`` and ``$WEB_CONCURRENCY`` applied where ARGS
    leaves them unset; ``assigned`` is the port ``--all`` gives it instead of ``$PORT``."""
    if options is None:  # a worker, or a plugin that declares nothing: ARGS as they are
        return Conventions(args, ())
    rule = _Rule(process, options, environ, _flags_in(args, options.string_is_command_line))
    sources = (rule.port(assigned), rule.workers(backend))
    applied = _with_options(args, rule.added, options.string_is_command_line)
    return Conventions(applied, tuple(line for line in sources if line))


class _Rule:
    """One process's ARGS meeting the environment; ``added`` collects the options to add."""

    def __init__(
        self,
        process: str,
        options: PlatformOptions,
        environ: Mapping[str, str],
        given: Mapping[str, str],
    ) -> None:
        self.process = process
        self.options = options
        self.environ = environ
        self.given = given
        self.added: dict[str, Any] = {}

    def port(self, assigned: AssignedPort | None) -> str:
        options = self.options
        in_args = _first_set(self.given, options.address_flags)
        if in_args is not None:
            unused = f"; {PORT} is not used" if PORT in self.environ or assigned else ""
            return f"Port: set by {in_args}{unused}."
        if assigned is not None:
            port, origin = assigned.port, assigned.origin()
            if port > HIGHEST_PORT:
                raise InvalidEnvironment(
                    f"Process {self.process!r}: --all gives it port {port} (base port "
                    f"{assigned.base} + {port - assigned.base}), above {HIGHEST_PORT}. Set a "
                    f"lower {PORT}, or set the port in the process's ARGS."
                )
        else:
            found = port_from(self.environ, self.process)
            if found is None:
                return f"Port: the server's default; {PORT} is not set."
            port, origin = found, f"from the environment variable {PORT}"
        if options.host is None:  # one option takes host:port
            self.added[options.port] = f"{EVERY_INTERFACE}:{port}"
            return f"Port: {port} on {EVERY_INTERFACE}, {origin}."
        self.added[options.port] = port
        host = _first_set(self.given, options.host_flags)
        if host is not None:
            return f"Port: {port}, {origin}; the host is set by {host}."
        self.added[options.host] = EVERY_INTERFACE
        return f"Port: {port} on {EVERY_INTERFACE}, {origin}."

    def workers(self, backend: str) -> str | None:
        option = self.options.workers
        if option is None:  # said only when it is set: it is not used
            if WEB_CONCURRENCY not in self.environ:
                return None
            return f"Workers: {backend!r} runs no worker processes; {WEB_CONCURRENCY} is not used."
        in_args = _first_set(self.given, self.options.workers_flags)
        if in_args is not None:
            unused = f"; {WEB_CONCURRENCY} is not used" if WEB_CONCURRENCY in self.environ else ""
            return f"Workers: set by {in_args}{unused}."
        workers = workers_from(self.environ, self.process, option)
        if workers is None:
            return f"Workers: the server's default; {WEB_CONCURRENCY} is not set."
        self.added[option] = workers
        return f"Workers: {workers}, from the environment variable {WEB_CONCURRENCY}."


def ports_for_several(
    servers: Sequence[tuple[str, bool]], environ: Mapping[str, str]
) -> dict[str, AssignedPort]:
    """The port ``--all`` gives each server process that sets none in ARGS.

    ``servers`` are the server processes being started, in setting order, each with whether
    its ARGS sets a port. The base is ``$PORT`` (or 5000); each server process, whether it uses
    its port or not, moves the next one up by ``PORT_STEP``, so a port never depends on ARGS
    elsewhere. A port above 65535 is reported by ``apply``, for the process it is given to.
    """
    needing = [name for name, has_port in servers if not has_port]
    if not needing:
        return {}
    from_environment = port_from(environ, needing[0])
    base = BASE_PORT if from_environment is None else from_environment
    return {
        name: AssignedPort(base + PORT_STEP * index, base, from_environment is not None)
        for index, (name, has_port) in enumerate(servers)
        if not has_port
    }
