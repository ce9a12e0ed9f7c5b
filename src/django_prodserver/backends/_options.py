"""What the gunicorn, uvicorn and waitress backends share.

- ``ArgsErrors`` words every ``ARGS`` problem the same way for the three servers, naming the
  option as the user wrote it (the dict key, or the flag of a list or string ``ARGS``);
- ``negation`` finds a program's ``--no-x`` form of a flag;
- ``exit_zero_on_stop_signals`` turns SIGTERM and SIGINT into a clean exit.

This module imports no server package, so each backend still fails alone, with its install hint,
when its own server is missing.
"""

from __future__ import annotations

import contextlib
import difflib
import signal
from collections.abc import Collection, Iterator, Mapping, Sequence
from types import FrameType
from typing import NamedTuple

from ..exceptions import InvalidBackendArgs
from .base import BaseServerBackend, _flag

STOP_SIGNALS = (signal.SIGTERM, signal.SIGINT)


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
    # getopt accepts a unique prefix of a long option ("--thr" for "--threads"), and every
    # parser a short option with its value or further short flags attached ("-w4", "-hD").
    if flag.startswith("--"):
        long_options = [option for option in option_strings if option.startswith("--")]
        return len(flag) > 2 and any(option.startswith(flag) for option in long_options)
    short_options = [option for option in option_strings if len(option) == 2]
    return any(flag.startswith(option) for option in short_options)


def _matches(flag: str, option_strings: Collection[str], exact: bool) -> bool:
    return flag in option_strings if exact else _abbreviates(flag, option_strings)


def find_option(
    args_setting: object, argv: Sequence[str], option_strings: Collection[str]
) -> ArgsOption:
    """Where ``ARGS`` sets the option spelled ``option_strings``, exactly or abbreviated."""
    for exact in (True, False):  # an exact spelling wins over an abbreviation
        if isinstance(args_setting, Mapping):
            for key, value in args_setting.items():
                if _matches(_flag(key), option_strings, exact):  # keys are str: see args_to_argv
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
    # Not in ARGS at all: an option the backend adds itself.
    return ArgsOption(max(option_strings, key=len), None, False)


def _sentence(reason: str) -> str:
    reason = " ".join(str(reason).split())
    return reason if reason.endswith((".", "!", "?")) else reason + "."


class ArgsErrors:
    """One-line ``InvalidBackendArgs`` for a backend, all worded alike.

    ``server`` is the name used in messages ("gunicorn"), ``program`` the command whose
    ``--help`` lists the options, ``known_options`` every option string the server accepts.
    """

    def __init__(
        self,
        backend: BaseServerBackend,
        argv: Sequence[str],
        server: str,
        known_options: Collection[str],
    ) -> None:
        self.backend = backend
        self.argv = list(argv)
        self.server = server
        self.program = backend.program or server
        self.known_long_options = sorted(o for o in known_options if o.startswith("--"))

    def find(self, option_strings: Collection[str]) -> ArgsOption:
        return find_option(self.backend.args, self.argv, option_strings)

    def unknown_option(self, flag: str) -> InvalidBackendArgs:
        name = self.find([flag]).name
        close = difflib.get_close_matches(flag, self.known_long_options, n=1, cutoff=0.6)
        if close:
            # Suggest in the user's own spelling: a dict key without dashes, or a flag.
            shown = close[0] if name.startswith("-") else close[0][2:]
            hint = f"Did you mean {shown!r}?"
        else:
            hint = f"See '{self.program} --help' for the options it accepts."
        return self.backend.error(f"unknown {self.server} option {name!r} in ARGS. {hint}")

    def invalid_value(self, option_strings: Collection[str], reason: str) -> InvalidBackendArgs:
        if not option_strings:  # the parser did not say which option
            return self.rejected(reason)
        option = self.find(option_strings)
        if option.has_value:
            what = f"invalid value {option.value!r} for {self.server} option {option.name!r}"
        else:
            what = f"invalid use of {self.server} option {option.name!r}"
        return self.backend.error(f"{what} in ARGS: {_sentence(reason)}")

    def not_allowed(self, option_strings: Collection[str], why: str) -> InvalidBackendArgs:
        name = self.find(option_strings).name
        return self.backend.error(
            f"{self.server} option {name!r} cannot be set in ARGS: {_sentence(why)}"
        )

    def prints_and_exits(self, option_strings: Collection[str]) -> InvalidBackendArgs:
        return self.not_allowed(
            option_strings, f"it makes {self.server} print and exit instead of serving"
        )

    def unexpected_argument(self, token: str, setting: str) -> InvalidBackendArgs:
        return self.backend.error(
            f"unexpected argument {token!r} in ARGS: ARGS holds options only; the application "
            f"comes from the {setting} setting."
        )

    def rejected(self, reason: str) -> InvalidBackendArgs:
        return self.backend.error(f"{self.server} rejects ARGS: {_sentence(reason)}")

    def check_no_print_and_exit(self, print_and_exit_options: Collection[str]) -> None:
        """Reject ``--help`` and the like before a parser prints them and exits."""
        for token in self.argv:
            if option_flag(token) in print_and_exit_options:
                raise self.prints_and_exits([option_flag(token)])


@contextlib.contextmanager
def exit_zero_on_stop_signals() -> Iterator[None]:
    """While inside, SIGTERM and SIGINT end the process with status 0.

    A server that shuts down gracefully and then re-raises the signal (uvicorn does, to report
    how it ended) would otherwise end with 143 or a KeyboardInterrupt; a supervisor reads that as
    a crash. Signals arriving before the server has installed its own handlers stop it too.
    """

    def exit_zero(signum: int, frame: FrameType | None) -> None:
        raise SystemExit(0)

    previous = {sig: signal.signal(sig, exit_zero) for sig in STOP_SIGNALS}
    try:
        yield
    finally:
        for sig, handler in previous.items():
            signal.signal(sig, handler)
