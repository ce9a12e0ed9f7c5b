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
import importlib.util
import types
from collections.abc import Sequence
from typing import Any, ClassVar

# Imported at the top on purpose: without Hypercorn this import fails, and the registry turns
# that into 'pip install "django-prodserver[hypercorn]"'.
import hypercorn.__main__ as hypercorn_main

from .. import targets
from ._options import (
    ArgsErrors,
    application_from,
    exit_zero_on_stop_signals,
    option_flag,
    silenced,
)
from .base import BaseServerBackend

PROGRAM = "hypercorn"
PRINT_AND_EXIT_OPTIONS = frozenset({"-h", "--help"})
#: What Hypercorn loads; the module finds the project's application in the settings.
APPLICATION = "django_prodserver.backends.hypercorn_asgi:application"
# Hypercorn's worker classes, and the package each needs beyond Hypercorn itself.
WORKER_CLASSES = {"asyncio": None, "uvloop": "uvloop", "trio": "trio"}
WORKER_CLASS_OPTIONS = ["-k", "--worker-class"]


class _ParserBuilt(Exception):
    def __init__(self, parser: argparse.ArgumentParser) -> None:
        self.parser = parser


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


def known_options() -> frozenset[str]:
    """Every option string of this Hypercorn version's command line."""
    return frozenset(hypercorn_parser()._option_string_actions)


class HypercornServer(BaseServerBackend):
    """Hypercorn serving the project's ASGI application."""

    program: ClassVar[str] = PROGRAM

    def check_args(self, args: Sequence[str]) -> None:
        targets.asgi_target()  # the application must be found before anything starts
        errors = ArgsErrors(self, args, PROGRAM, known_options())
        errors.check_omitted_flags()
        errors.check_no_print_and_exit(PRINT_AND_EXIT_OPTIONS)
        parser = hypercorn_parser()
        try:
            # The application first, as in start_server(): an option left without its value
            # then fails on its own instead of taking the application.
            with silenced() as captured:
                options, extra = parser.parse_known_args([APPLICATION, *args])
        except argparse.ArgumentError as e:
            option_strings = e.argument_name.split("/") if e.argument_name else []
            raise errors.invalid_value(option_strings, e.message) from e
        except SystemExit as e:  # combined short flags that reach -h, or parser.error()
            if not e.code:
                raise errors.prints_and_exits(PRINT_AND_EXIT_OPTIONS) from e
            reason = captured.getvalue().strip().splitlines()[-1].partition("error: ")[2]
            raise errors.rejected(reason) from e
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
                f"it needs the {package!r} package, which is not installed. Install it with: "
                f'pip install "hypercorn[{package}]"',
            )

    def start_server(self, *args: str) -> None:
        with exit_zero_on_stop_signals():
            status = hypercorn_main.main([APPLICATION, *args])
        if status:
            raise SystemExit(status)

    def describe_start(self, args: Sequence[str]) -> str:
        return super().describe_start([APPLICATION, *args])
