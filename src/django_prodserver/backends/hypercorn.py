"""Hypercorn, run in this process through its own command-line entry point.

``ARGS`` are the options of ``hypercorn`` (``hypercorn --help``). Hypercorn's own defaults apply:
it binds ``127.0.0.1:8000`` and runs one worker process. Its workers are started with
``multiprocessing``'s ``spawn`` and import the application themselves.

The application Hypercorn loads is ``django_prodserver.backends.hypercorn_asgi:application``:
the project's ASGI application (``ASGI_APPLICATION``, or the ``asgi`` module beside
``WSGI_APPLICATION``), with the ASGI lifespan events answered when it is plain Django, whose
handler raises on them. Hypercorn would otherwise log a lifespan error at every start.

Signals: Hypercorn handles SIGTERM and SIGINT itself, and gracefully: it stops accepting
connections and waits for the requests in flight for ``graceful_timeout`` seconds (Hypercorn's
default is 3; set ``"graceful_timeout"`` for longer requests), then exits with status 0.
"""

from __future__ import annotations

import argparse
import contextlib
import importlib.util
import types
from collections.abc import Sequence
from typing import Any, ClassVar

# Imported at the top on purpose: without Hypercorn this import fails, and the registry turns
# that into 'pip install "django-prodserver[hypercorn]"'.
import hypercorn.__main__ as hypercorn_main
from hypercorn.config import Config

from ..environment import PlatformOptions
from ..stop_signals import exit_zero_on_stop_signals
from . import hypercorn_workers
from .command_line import (
    ASGICommandLineBackend,
    StartPlan,
    parse_with_argparse,
)
from .hypercorn_files import check_hypercorn_files
from .option_values import option_seconds, package_missing
from .options import ArgsErrors, application_from, option_flag, silenced
from .ranges import BACKLOG, CONNECTIONS, COUNT, SECONDS, Bound, port_problem

PROGRAM = "hypercorn"
#: What Hypercorn loads; the module finds the project's application in the settings.
APPLICATION = "django_prodserver.backends.hypercorn_asgi:application"
# Hypercorn's worker classes, and the package each needs beyond Hypercorn itself.
WORKER_CLASSES = {"asyncio": None, "uvloop": "uvloop", "trio": "trio"}
WORKER_CLASS_OPTIONS = ["-k", "--worker-class"]
WORKERS_OPTIONS = ["-w", "--workers"]
DEFAULT_BIND = "127.0.0.1:8000"
#: Sane ranges; 0 workers is Hypercorn's "serve in this process".
BOUNDS = {
    **dict.fromkeys(WORKERS_OPTIONS, Bound(0, COUNT.high)),
    "--backlog": BACKLOG,
    "--max-requests": CONNECTIONS,
    **dict.fromkeys(
        ["--graceful-timeout", "--keep-alive", "--read-timeout", "--websocket-ping-interval"],
        SECONDS,
    ),
}


class _ParserBuilt(Exception):
    def __init__(self, parser: argparse.ArgumentParser) -> None:
        self.parser = parser


class _ConfigBuilt(Exception):
    def __init__(self, config: Config) -> None:
        self.config = config


def _config_built(config: Config) -> int:
    raise _ConfigBuilt(config)


class _StopAtParse(argparse.ArgumentParser):
    def parse_args(self, *args: Any, **kwargs: Any) -> Any:
        raise _ParserBuilt(self)


def hypercorn_parser() -> argparse.ArgumentParser:
    """The parser ``hypercorn`` itself builds, without abbreviations or exiting on errors.

    Hypercorn builds its parser inside ``main()``; ``main()`` is run up to the point where the
    parser would read its arguments, and the parser is taken from there. Nothing else runs.
    """
    argparse_for_main = types.ModuleType("argparse")
    argparse_for_main.__dict__.update(vars(argparse))
    argparse_for_main.ArgumentParser = _StopAtParse  # type: ignore[attr-defined]
    original = hypercorn_main.argparse  # type: ignore[attr-defined]
    hypercorn_main.argparse = argparse_for_main  # type: ignore[attr-defined]
    try:
        hypercorn_main.main([APPLICATION])
    except _ParserBuilt as built:
        parser = built.parser
    finally:
        hypercorn_main.argparse = original  # type: ignore[attr-defined]
    parser.__class__ = argparse.ArgumentParser
    parser.prog = PROGRAM
    parser.allow_abbrev = False  # a typo that prefixes another option must not set that one
    parser.exit_on_error = False
    return parser


def hypercorn_config(args: Sequence[str]) -> Config:
    """The ``Config`` Hypercorn's ``main()`` builds from ``args`` (checked), config file included.

    ``main()`` runs up to the point where it would call ``run(config)``; nothing else runs.
    """
    original = hypercorn_main.run  # type: ignore[attr-defined]
    hypercorn_main.run = _config_built  # type: ignore[attr-defined]
    try:
        hypercorn_main.main([APPLICATION, *args])
    except _ConfigBuilt as built:
        return built.config
    finally:
        hypercorn_main.run = original  # type: ignore[attr-defined]
    raise AssertionError("hypercorn's main() returned without a configuration")  # pragma: no cover


def tcp_addresses(binds: Sequence[str]) -> list[tuple[str, int]]:
    """The ``(host, port)`` of each TCP bind, read as Hypercorn reads it (``Config``): a host
    alone is port 8000; Unix sockets and inherited descriptors are left out."""
    addresses = []
    for bind in binds:
        if bind.startswith(("unix:", "fd://")):
            continue
        stripped = bind.replace("[", "").replace("]", "")
        host, colon, port = stripped.rpartition(":")
        try:
            addresses.append((host, int(port)) if colon else (stripped, 8000))
        except ValueError:
            addresses.append((stripped, 8000))
    return addresses


def known_options() -> frozenset[str]:
    """Every option string of this Hypercorn version's command line."""
    return frozenset(hypercorn_parser()._option_string_actions)


class HypercornServer(ASGICommandLineBackend):
    """Hypercorn serving the project's ASGI application."""

    program: ClassVar[str] = PROGRAM
    bounds: ClassVar[dict[str, Any]] = BOUNDS
    platform_options: ClassVar[PlatformOptions] = PlatformOptions(
        port="bind",
        address_flags=frozenset({"--bind", "-b", "--insecure-bind", "--quic-bind"}),
        workers="workers",
        workers_flags=frozenset({"--workers", "-w"}),
    )

    def option_strings(self) -> frozenset[str]:
        return known_options()

    def argparse_parser(self) -> argparse.ArgumentParser:
        return hypercorn_parser()  # --bind, --server-name, ... are appended

    def command_line(self, args: Sequence[str]) -> list[str]:
        # Hypercorn loads the module that wraps the project's application (hypercorn_asgi).
        return [APPLICATION, *args]

    def graceful_timeout(self) -> float:
        """Hypercorn's ``graceful_timeout`` from ARGS, or Hypercorn's default (3 s): how long
        it waits for the requests in flight after SIGTERM."""
        given = option_seconds(self.prep_server_args(), ["--graceful-timeout"])
        return float(Config.graceful_timeout) if given is None else given

    def parse(self, errors: ArgsErrors) -> Config:
        options, extra = parse_with_argparse(
            errors, hypercorn_parser(), self.command_line(errors.argv)
        )
        if extra and not extra[0].startswith("-"):
            raise errors.unexpected_argument(extra[0], application_from("ASGI_APPLICATION"))
        if extra:
            raise errors.unknown_option(option_flag(extra[0]))
        self._check_worker_class(errors, options.worker_class)
        if options.config is not None:
            try:
                hypercorn_main._load_config(options.config)
            except Exception as e:  # a missing file, or one that does not load
                raise errors.invalid_value(["-c", "--config"], f"{type(e).__name__}: {e}") from e
        return hypercorn_config(errors.argv)

    def check_values(self, errors: ArgsErrors, parsed: Any) -> None:
        """What Hypercorn accepts and then fails on once it starts: a traceback in the main
        process, a worker that dies (and a server that exits 0), or a wait forever."""
        config: Config = parsed
        if config.workers < 0:
            raise errors.invalid_value(
                WORKERS_OPTIONS,
                "it must be 0 (serve in this process) or more; Hypercorn starts no worker for "
                "a negative count and waits forever",
            )
        for option_strings, binds in _bind_options(config):
            for _, port in tcp_addresses(binds):
                problem = port_problem(port)
                if problem:
                    raise errors.invalid_value(option_strings, problem)
        check_hypercorn_files(errors, config)

    def _check_worker_class(self, errors: ArgsErrors, worker_class: Any) -> None:
        # Hypercorn reports these only once it starts, as a traceback.
        if not isinstance(worker_class, str):  # not given
            return
        if worker_class not in WORKER_CLASSES:
            choices = ", ".join(repr(name) for name in WORKER_CLASSES)
            raise errors.invalid_value(WORKER_CLASS_OPTIONS, f"it must be one of {choices}")
        package = WORKER_CLASSES[worker_class]
        if package is not None and importlib.util.find_spec(package) is None:
            raise errors.invalid_value(
                WORKER_CLASS_OPTIONS,
                package_missing(package, f'pip install "hypercorn[{package}]"'),
            )

    def _options(self, args: Sequence[str]) -> argparse.Namespace:
        # Called after check_args() accepted ``args``.
        with silenced():
            return hypercorn_parser().parse_known_args([APPLICATION, *args])[0]

    def listen_address(self, args: Sequence[str]) -> tuple[str, int] | None:
        bind = ([*self._options(args).binds] or [DEFAULT_BIND])[0]
        if bind.startswith(("unix:", "fd://")):
            return None
        host, _, port = bind.rpartition(":")
        if not host:  # a host alone: Hypercorn's port 8000
            return bind.strip("[]"), 8000
        return host.strip("[]"), int(port)

    def worker_processes(self, args: Sequence[str]) -> int:
        workers = self._options(args).workers
        return workers if isinstance(workers, int) else 1

    def plan_start(self, args: Sequence[str]) -> StartPlan:
        config = hypercorn_config(args)
        binds = [bind for _, option_binds in _bind_options(config) for bind in option_binds]
        return StartPlan(
            config=config,
            addresses=tcp_addresses(binds),
            unix_sockets=[bind[len("unix:") :] for bind in binds if bind.startswith("unix:")],
            # Hypercorn sets SO_REUSEPORT on its sockets when it runs more than one worker.
            reuse_port=config.workers > 1,
            # Hypercorn's workers are spawned and import the application themselves: it is
            # tried (with the HEALTHCHECK request) in a child process; the workers start cold.
            isolated=True,
        )

    def stop_signal_handling(self) -> contextlib.AbstractContextManager[object]:
        return exit_zero_on_stop_signals()

    def run(self, args: Sequence[str], plan: StartPlan) -> int:
        return hypercorn_workers.run(plan.config)


def _bind_options(config: Config) -> list[tuple[list[str], list[str]]]:
    """The binds Hypercorn listens on over TCP, each with the options that set them."""
    binds = [(["-b", "--bind"], list(config.bind))]
    if config.ssl_enabled:  # Hypercorn reads insecure_bind only with HTTPS
        binds.append((["--insecure-bind"], list(config.insecure_bind)))
    return binds
