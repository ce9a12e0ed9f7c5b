"""The base class every backend derives from, and the ARGS-to-argv rule they share."""

from __future__ import annotations

import os
import shlex
from collections.abc import Callable, Mapping, Sequence
from typing import Any, ClassVar

from ..exceptions import InvalidArgsType, InvalidBackendArgs
from ..redact import redact_argv, shown

ArgsSetting = Any  # a mapping, a string or a list of strings, as written in settings


def flag_for(key: str) -> str:
    """The flag an ``ARGS`` key becomes: ``"max_requests"`` -> ``"--max-requests"``.

    A key already written as a flag (``"-w"``, ``"--bind"``) is kept; otherwise ``"max_requests"``
    and ``"max-requests"`` both become ``"--max-requests"``, the spelling every supported CLI uses.
    """
    return key if key.startswith("-") else "--" + key.replace("_", "-")


def _value_text(process: str | None, key: str, value: object) -> str:
    if isinstance(value, (str, int, float, os.PathLike)) and not isinstance(value, bool):
        return os.fspath(value) if isinstance(value, os.PathLike) else str(value)
    where = f"Process {process!r}: " if process else ""
    raise InvalidBackendArgs(
        f"{where}ARGS[{key!r}] is {shown(key, value)!r} ({type(value).__name__}); a value must "
        f"be a string, a number, a path, True, False, None or a list of those."
    )


def args_to_argv(
    args: ArgsSetting,
    process: str | None = None,
    negate: Callable[[str], str | None] = lambda flag: None,
) -> list[str]:
    """Turn an ``ARGS`` setting into command-line arguments.

    - a string is one argument, exactly as written;
    - a list or tuple of strings is used as it is;
    - a mapping gives ``--key=value`` per item: ``True`` and ``None`` give a bare ``--key``,
      ``False`` gives ``negate(flag)`` (the program's ``--no-key`` form) or, where the program
      has none, omits the flag; a list or tuple repeats the option once per item, numbers and
      paths become strings.
    """
    where = f"Process {process!r}: " if process else ""
    if args is None:
        return []
    if isinstance(args, str):
        return [args]
    if isinstance(args, (list, tuple)):
        bad = [item for item in args if not isinstance(item, str)]
        if bad:
            raise InvalidArgsType(
                f"{where}ARGS given as a list must hold only strings; {bad[0]!r} is "
                f"{type(bad[0]).__name__}. Use a dict to give typed values."
            )
        return list(args)
    if not isinstance(args, Mapping):
        raise InvalidArgsType(
            f"{where}ARGS must be a dict of options, a string or a list of strings, "
            f"not {type(args).__name__}."
        )
    argv: list[str] = []
    for key, value in args.items():
        if not isinstance(key, str) or not key.strip("-"):
            raise InvalidBackendArgs(f"{where}ARGS has the key {key!r}; keys must be option names.")
        flag = flag_for(key)
        values = value if isinstance(value, (list, tuple)) else [value]
        for item in values:
            if item is True or item is None:
                argv.append(flag)
            elif item is False:
                negated = negate(flag)
                if negated:
                    argv.append(negated)
            elif flag.startswith("--"):
                argv.append(f"{flag}={_value_text(process, key, item)}")
            else:  # a short flag takes its value as the next argument
                argv.extend([flag, _value_text(process, key, item)])
    return argv


class BaseServerBackend:
    """A production process that ``manage.py prodserver`` can start.

    Subclasses set ``kind`` and implement ``start_server()``; most also override
    ``check_args()`` to validate the arguments with the server's own parser before anything
    starts. ``prep_server_args()`` turns ``ARGS`` into command-line arguments.
    """

    #: "server" for something that answers HTTP, "worker" for a task consumer.
    kind: ClassVar[str] = "server"
    #: Keys of the PRODUCTION_PROCESSES entry this backend reads besides BACKEND and ARGS.
    settings_keys: ClassVar[frozenset[str]] = frozenset()
    #: The program name shown by ``--dry-run``.
    program: ClassVar[str] = ""
    #: ARGS options meant for development only; ``check --deploy`` warns about them.
    development_options: ClassVar[frozenset[str]] = frozenset({"reload"})

    def __init__(
        self, *, alias: str | None = None, process_name: str | None = None, **server_config: Any
    ) -> None:
        self.alias = alias
        self.process_name = process_name
        self.server_config = server_config
        self.args: ArgsSetting = server_config.get("ARGS", {})

    def prep_server_args(self) -> list[str]:
        """The command-line arguments ``start_server()`` is called with."""
        return args_to_argv(self.args, self.process_name, self.negated_flag)

    def negated_flag(self, flag: str) -> str | None:
        """The program's flag for ``False``, such as ``--no-access-log``; None omits the flag."""
        return None

    def check_args(self, args: Sequence[str]) -> None:
        """Raise ``InvalidBackendArgs`` if the server would reject ``args``. Starts nothing."""

    def start_server(self, *args: str) -> None:
        """Run the server in this process until it stops."""
        raise NotImplementedError

    def describe_start(self, args: Sequence[str]) -> str:
        """What ``--dry-run`` prints: the invocation ``start_server(*args)`` performs, with
        secret values masked."""
        return shlex.join([self.program or type(self).__name__, *redact_argv(args)])

    def error(self, message: str) -> InvalidBackendArgs:
        """An ``InvalidBackendArgs`` worded for this process."""
        where = f"Process {self.process_name!r}: " if self.process_name else ""
        return InvalidBackendArgs(where + message)


class BaseWorkerBackend(BaseServerBackend):
    """A backend that consumes tasks rather than serving HTTP."""

    kind: ClassVar[str] = "worker"
