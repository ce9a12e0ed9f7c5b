"""What the backends share: wording every ``ARGS`` problem alike, and a few small helpers.

A program's parser reports a bad argument by the flag it read; the user wrote a key of ``ARGS``
(or an item of a list or string ``ARGS``). ``ArgsErrors`` leads from one back to the other, so
that every message names the option as the user wrote it, and masks the value of a secret
option (one named with password, secret or token).

- ``ArgsErrors`` words the one-line ``InvalidBackendArgs`` of every backend, for ``ARGS`` or
  for an environment variable the server reads as arguments;
- ``negation`` finds a program's ``--no-x`` form of a flag;
- ``silenced`` keeps a parser's usage and help text off the terminal.

``option_values`` has the checks and conversions of option values built on them.

This module imports no server package, so each backend still fails alone, with its install hint,
when its own server is missing. Its names are public: a third-party backend words its errors
with them (``command_line.CommandLineBackend`` does it for the backends built on it).
"""

from __future__ import annotations

import contextlib
import difflib
import io
import shlex
from collections.abc import Collection, Iterator, Mapping, Sequence
from typing import TYPE_CHECKING, NamedTuple

from ..exceptions import InvalidBackendArgs, one_line
from ..redact import is_credential, is_secret, redact_argv, shown
from .base import ArgsSetting, BaseProcessBackend, flag_for
from .preflight import NUL_IN_VALUE
from .ranges import Bound, bound_problem

if TYPE_CHECKING:
    import click


class ArgsOption(NamedTuple):
    """An option as it appears in ``ARGS``: the name to show, and its value if it has one."""

    name: str
    value: object
    has_value: bool


def option_flag(token: str) -> str:
    """``"--bind=x"`` -> ``"--bind"``."""
    return token.partition("=")[0]


def negation(flag: str, known_options: Collection[str]) -> str | None:
    """The program's ``--no-x`` flag for ``--x``, if it has one."""
    negated = "--no-" + flag[2:]
    return negated if flag.startswith("--") and negated in known_options else None


def _abbreviates(flag: str, option_strings: Collection[str]) -> bool:
    # argparse and getopt accept a unique prefix of a long option ("--thr" for "--threads"),
    # and every parser a short option with its value or further short flags attached ("-w4",
    # "-hD").
    if flag.startswith("--"):
        long_options = [option for option in option_strings if option.startswith("--")]
        return len(flag) > 2 and any(option.startswith(flag) for option in long_options)
    short_options = [option for option in option_strings if len(option) == 2]
    return any(flag.startswith(option) for option in short_options)


def _matches(flag: str, option_strings: Collection[str], exact: bool) -> bool:
    return flag in option_strings if exact else _abbreviates(flag, option_strings)


def find_option(
    args_setting: ArgsSetting, argv: Sequence[str], option_strings: Collection[str]
) -> ArgsOption | None:
    """Where ``ARGS`` (or else ``argv``) sets the option spelled ``option_strings``, exactly or
    abbreviated; None if neither does."""
    for exact in (True, False):  # an exact spelling wins over an abbreviation
        if isinstance(args_setting, Mapping):
            for key, value in args_setting.items():
                if isinstance(key, str) and _matches(flag_for(key), option_strings, exact):
                    return ArgsOption(key, value, True)
        for index, token in enumerate(argv):
            flag, equals, value = token.partition("=")
            if not token.startswith("-") or not _matches(flag, option_strings, exact):
                continue
            if equals:
                return ArgsOption(flag, value, True)
            following = argv[index + 1 : index + 2]
            if following and not following[0].startswith("-"):
                return ArgsOption(flag, following[0], True)
            return ArgsOption(flag, None, False)
    return None


def _spelled_like(written: str, flag: str) -> str:
    """``flag`` as the user would write it in ``ARGS``: as a flag, or as a dict key
    ("max_requests", unless the key they wrote has dashes: "max-requests")."""
    if written.startswith("-"):
        return flag
    return flag[2:] if "-" in written else flag[2:].replace("-", "_")


def _sentence(reason: str) -> str:
    reason = one_line(reason)
    return reason if reason.endswith((".", "!", "?")) else reason + "."


def _masked(option: ArgsOption, option_strings: Collection[str], reason: str) -> tuple[object, str]:
    """The value and the parser's reason as a message may show them: a secret value masked in
    both. The option is secret by the name written or by the option it abbreviates."""
    names = (option.name, *option_strings)
    key = next((name for name in names if is_secret(name) or is_credential(name)), option.name)
    if option.has_value:
        items = option.value if isinstance(option.value, (list, tuple)) else [option.value]
        # The longest first: a value may hold another one.
        for text in sorted({str(item) for item in items} - {""}, key=len, reverse=True):
            reason = reason.replace(text, str(shown(key, text)))
    return shown(key, option.value), reason


class ArgsErrors:
    """One-line ``InvalidBackendArgs`` for a backend, all worded alike.

    ``name`` is the program as messages name it ("gunicorn", "celery worker"), ``known_options``
    every option string it accepts, ``program`` the command whose ``--help`` lists them (the
    backend's ``program`` unless given). ``source`` is where ``argv`` comes from: ``ARGS``, or
    an environment variable the server reads as arguments (``GUNICORN_CMD_ARGS``), whose
    items messages then name as written there.
    """

    def __init__(
        self,
        backend: BaseProcessBackend,
        argv: Sequence[str],
        name: str,
        known_options: Collection[str],
        program: str | None = None,
        *,
        source: str = "ARGS",
    ) -> None:
        self.backend = backend
        self.source = source
        self.args_setting = backend.args_setting if source == "ARGS" else None
        self.argv = list(argv)
        self.name = name
        self.program = program or backend.program or name
        self.known_options = set(known_options)
        self.known_long_options = sorted(o for o in known_options if o.startswith("--"))

    def check_omitted_flags(self) -> None:
        """Reject an unknown ARGS key set to False.

        False for a flag with no ``--no-`` form leaves nothing in argv, so the program's parser
        never sees the key: a typo such as ``"relaod": False`` would pass unnoticed.
        """
        if not isinstance(self.args_setting, Mapping):
            return
        for key, value in self.args_setting.items():
            if value is not False or not isinstance(key, str):
                continue
            flag = flag_for(key)
            if flag not in self.known_options and self.backend.negated_flag(flag) is None:
                raise self.unknown_option(flag)

    def find(self, option_strings: Collection[str]) -> ArgsOption | None:
        return find_option(self.args_setting, self.argv, option_strings)

    def _written(self, option_strings: Collection[str]) -> str:
        # The option as ARGS spells it; an option ARGS does not set, by its longest spelling.
        option = self.find(option_strings)
        return option.name if option else max(option_strings, key=len)

    def unknown_option(self, flag: str, hint: str | None = None) -> InvalidBackendArgs:
        name = self._written([flag])
        if hint is None:
            hint = self._suggestion(flag, name)
        return self.backend.error(f"unknown {self.name} option {name!r} in {self.source}. {hint}")

    def _suggestion(self, flag: str, name: str) -> str:
        close = difflib.get_close_matches(flag, self.known_long_options, n=1, cutoff=0.6)
        if not close:
            return f"See '{self.program} --help' for the options it accepts."
        return f"Did you mean {_spelled_like(name, close[0])!r}?"

    def invalid_value(self, option_strings: Collection[str], reason: str) -> InvalidBackendArgs:
        if not option_strings:  # the parser did not say which option
            return self.rejected(reason)
        option = self.find(option_strings)
        if option is None:  # not from ARGS: a default, or the program's own configuration
            flag = max(option_strings, key=len)
            return self.backend.error(
                f"{self.name} cannot start: invalid value for {self.name} option {flag!r}: "
                f"{_sentence(reason)}"
            )
        value, reason = _masked(option, option_strings, reason)
        if option.has_value:
            what = f"invalid value {value!r} for {self.name} option {option.name!r}"
        else:
            what = f"invalid use of {self.name} option {option.name!r}"
        return self.backend.error(f"{what} in {self.source}: {_sentence(reason)}")

    def not_allowed(self, option_strings: Collection[str], why: str) -> InvalidBackendArgs:
        name = self._written(option_strings)
        return self.backend.error(
            f"{self.name} option {name!r} cannot be set in {self.source}: {_sentence(why)}"
        )

    def prints_and_exits(self, option_strings: Collection[str]) -> InvalidBackendArgs:
        instead = "serving" if self.backend.kind == "server" else "starting the worker"
        return self.not_allowed(
            option_strings, f"it makes {self.name} print and exit instead of {instead}"
        )

    def unexpected_argument(self, token: str, why: str) -> InvalidBackendArgs:
        return self.backend.error(
            f"unexpected argument {token!r} in {self.source}: {self.source} holds options only; "
            f"{_sentence(why)}"
        )

    def rejected(self, reason: str) -> InvalidBackendArgs:
        return self.backend.error(f"{self.name} rejects ARGS: {_sentence(reason)}")

    def from_click(self, error: click.ClickException) -> InvalidBackendArgs:
        """The error for what a click command's parser raised (celery, uvicorn)."""
        import click  # only the backends of click programs get here

        if isinstance(error, click.NoSuchOption):
            return self.unknown_option(error.option_name)
        if isinstance(error, click.BadOptionUsage):
            return self.invalid_value([error.option_name], error.message)
        if isinstance(error, click.BadParameter) and isinstance(error.param, click.Option):
            param = error.param
            return self.invalid_value([*param.opts, *param.secondary_opts], error.message)
        return self.rejected(error.message)

    def check_no_print_and_exit(self, print_and_exit_options: Collection[str]) -> None:
        """Reject ``--help`` and the like before a parser prints them and exits."""
        for token in self.argv:
            if option_flag(token) in print_and_exit_options:
                raise self.prints_and_exits([option_flag(token)])

    def check_no_nul(self) -> None:
        """Reject a NUL character in any argument: servers fail on it with a traceback."""
        for index, token in enumerate(self.argv):
            if "\0" not in token:
                continue
            before = self.argv[index - 1] if index else ""
            flag = option_flag(token) if token.startswith("-") else before
            if "\0" in flag or not flag.startswith("-"):
                raise self.rejected(f"the argument {token!r} {NUL_IN_VALUE}")
            raise self.invalid_value([flag], NUL_IN_VALUE)

    def check_bounds(self, bounds: Mapping[str, Bound]) -> None:
        """Reject a number outside its sane range, for the options ``bounds`` names by each of
        their flags (``{"--workers": COUNT, "-w": COUNT}``). Run after the server's parser
        accepted ``argv``: a value that is no number is its parser's to report."""
        for index, token in enumerate(self.argv):
            flag, equals, value = token.partition("=")
            if flag not in bounds:
                continue
            following = self.argv[index + 1 : index + 2]
            given = value if equals else (following[0] if following else "")
            problem = bound_problem(given, bounds[flag])
            if problem:
                raise self.invalid_value([flag], problem)

    def check_no_glued_tokens(self) -> None:
        """Reject ``"--interval 5"`` written as one item: no shell splits it here."""
        for token in self.argv:
            if token.startswith("-") and any(char.isspace() for char in option_flag(token)):
                items = shlex.split(token)
                redacted = redact_argv(items)
                written = token if redacted == items else " ".join(redacted)
                raise self.backend.error(
                    f"the argument {written!r} in ARGS contains a space, but each item of ARGS "
                    f"is passed as one argument. Write it as separate items, {redacted!r}, or "
                    f"as a dict."
                )


def application_from(setting: str) -> str:
    """Why a server's ARGS cannot name the application."""
    return f"the application comes from the {setting} setting"


@contextlib.contextmanager
def silenced() -> Iterator[io.StringIO]:
    """Keep a parser's usage and help text off the terminal; what it wrote is yielded."""
    captured = io.StringIO()
    with contextlib.redirect_stdout(captured), contextlib.redirect_stderr(captured):
        yield captured
