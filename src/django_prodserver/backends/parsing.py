"""Parsing ``ARGS`` with a server's own parser, each of its failures one line.

``parse_with_argparse`` and ``parse_with_click`` run an argparse parser or a click command on
the arguments, start nothing, and turn what the parser would print and exit with into the
``ArgsErrors`` wording every backend shares; ``appended_options`` reads which options of an
argparse parser add up their values. ``command_line`` re-exports them for backends built on it.
"""

from __future__ import annotations

import argparse
from collections.abc import Collection, Sequence
from typing import TYPE_CHECKING, Any, Callable

from .options import ArgsErrors, silenced

if TYPE_CHECKING:
    import click

__all__ = ["appended_options", "parse_with_argparse", "parse_with_click"]


def _named(argument_name: str | None) -> list[str]:
    return argument_name.split("/") if argument_name else []


def parse_with_argparse(
    errors: ArgsErrors,
    parser: argparse.ArgumentParser,
    argv: Sequence[str] | None = None,
    *,
    print_and_exit_options: Collection[str] = ("-h", "--help"),
    option_strings: Callable[[str | None], list[str]] = _named,
) -> tuple[argparse.Namespace, list[str]]:
    """``parser.parse_known_args(argv)`` (``errors.argv`` unless given), its failures as one line.

    Abbreviations are turned off: a typo that prefixes another option (``--prot`` for
    ``--protocol``) must not set that one. ``option_strings`` turns the argument name argparse
    reports ("-w/--workers") into the option strings to look for in ``ARGS``.
    """
    parser.allow_abbrev = False
    parser.exit_on_error = False  # raise ArgumentError rather than print usage and exit
    try:
        # Combined short flags ("-hD") still reach a help action, and parser.error() still
        # prints and exits: keep that off the terminal.
        with silenced() as captured:
            return parser.parse_known_args(list(errors.argv if argv is None else argv))
    except argparse.ArgumentError as e:
        raise errors.invalid_value(option_strings(e.argument_name), e.message) from e
    except SystemExit as e:
        if not e.code:
            raise errors.prints_and_exits(print_and_exit_options) from e
        reason = captured.getvalue().strip().splitlines()[-1].partition("error: ")[2]
        raise errors.rejected(reason) from e


def appended_options(parser: argparse.ArgumentParser) -> frozenset[str]:
    """The options ``parser`` collects into a list (``action="append"``): a list value in
    ``ARGS`` repeats them (``repeatable()``)."""
    return frozenset(
        option
        for action in parser._actions
        if isinstance(action, argparse._AppendAction)
        for option in action.option_strings
    )


def parse_with_click(
    errors: ArgsErrors,
    command: click.Command,
    argv: Sequence[str] | None = None,
    *,
    unknown_option: Callable[[str], Exception] | None = None,
    **context_settings: Any,
) -> click.Context:
    """``command.make_context()`` for ``argv`` (``errors.argv`` unless given): every value
    parsed and converted as the program would, nothing run; its failures as one line.

    ``unknown_option`` words the error for an option the command does not know, where the
    backend says more than ``errors.unknown_option`` would.
    """
    import click  # only the backends of click programs get here

    try:
        with silenced():
            return command.make_context(
                errors.name, list(errors.argv if argv is None else argv), **context_settings
            )
    except click.exceptions.Exit as e:  # --help or --version, printed (to nowhere)
        raise errors.prints_and_exits(["--help"]) from e
    except click.NoSuchOption as e:
        if unknown_option is None:
            raise errors.unknown_option(e.option_name) from e
        raise unknown_option(e.option_name) from e
    except click.ClickException as e:
        raise errors.from_click(e) from e
