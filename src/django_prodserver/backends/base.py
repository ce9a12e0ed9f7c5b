"""The base classes of every backend, and the ARGS-to-argv rule they share.

``BaseProcessBackend`` is the root; ``BaseServerBackend`` (answers HTTP), ``BaseWorkerBackend``
(consumes tasks) and ``BaseDevServerBackend`` (a development server) say what a backend is, as in
django-prodserver 3.0, whose names and relations they keep.
"""

from __future__ import annotations

import os
import shlex
import signal
from collections.abc import Callable, Mapping, Sequence
from typing import Any, ClassVar

from ..environment import PlatformOptions
from ..exceptions import (
    DevelopmentServerRefused,
    InvalidApplication,
    InvalidArgsType,
    InvalidBackendArgs,
)
from ..redact import redact_argv, shown

ArgsSetting = Any  # a mapping, a string or a list of strings, as written in settings

#: Seconds a process may take to drain when its server sets no bound of its own: gunicorn's
#: default graceful timeout, and Kubernetes' default termination grace period.
DEFAULT_GRACEFUL_TIMEOUT = 30.0


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


class BaseProcessBackend:
    """A process that ``manage.py prodserver`` can start: the root of every backend.

    Subclass ``BaseServerBackend`` for something that answers HTTP, ``BaseWorkerBackend`` for a
    task consumer (or ``BaseDevServerBackend`` for a development server). Subclasses implement
    ``start_server()``; most also override ``check_args()`` to validate the arguments with the
    program's own parser before anything starts.

    ``self.args_setting`` is ``ARGS`` as written in settings; ``self.args`` is the argument list
    it becomes (django-prodserver 3.0's meaning): ``prep_server_args()`` returns it, and a
    subclass may extend it with fixed arguments, as in ``args = ["fixed"]; args.extend(self.args)``.
    """

    #: "server" for something that answers HTTP, "worker" for a task consumer, "dev" for a
    #: development server; "process" (this class) is started by ``prodserver`` alone.
    kind: ClassVar[str] = "process"
    #: Keys of the PRODUCTION_PROCESSES entry this backend reads besides BACKEND and ARGS; any
    #: other key is an error. None (not declared, as in backends written for 3.0): the backend
    #: receives the whole entry, and ``manage.py check`` warns about keys it does not know.
    settings_keys: ClassVar[frozenset[str] | None] = None
    #: The program name shown by ``--dry-run``.
    program: ClassVar[str] = ""
    #: ARGS options meant for development only; ``check --deploy`` warns about them.
    development_options: ClassVar[frozenset[str]] = frozenset({"reload"})
    #: The signal that asks the process to stop gracefully (``--all`` and exported files send it).
    stop_signal: ClassVar[signal.Signals] = signal.SIGTERM
    #: Which ARGS options are the listen address and the worker count, for $PORT and
    #: $WEB_CONCURRENCY (environment.py); None: the platform's variables do not apply.
    platform_options: ClassVar[PlatformOptions | None] = None
    #: Whether ``HEALTHCHECK`` is requested through the project's application before serving;
    #: False for a server of another application (Flower), where it feeds the probes only.
    warms_up: ClassVar[bool] = True

    alias: str | None = None
    process_name: str | None = None
    _args: list[str] | None = None

    def __init__(
        self, *, alias: str | None = None, process_name: str | None = None, **entry: Any
    ) -> None:
        self.alias = alias
        self.process_name = process_name
        self.entry = entry  #: the process's entry of ``PRODUCTION_PROCESSES``
        self.args_setting: ArgsSetting = entry.get("ARGS", {})

    @property
    def backend_name(self) -> str:
        """The process's ``BACKEND`` as written, for messages: an alias or a dotted path."""
        return str(self.entry.get("BACKEND") or self.alias or type(self).__name__)

    @property
    def args(self) -> list[str]:
        """``ARGS`` as command-line arguments, built on first use (a bad value raises then)."""
        if self._args is None:
            self._args = self._format_server_args_from_dict(self.args_setting)
        return self._args

    @args.setter
    def args(self, argv: list[str]) -> None:
        self._args = argv

    def _format_server_args_from_dict(self, args: ArgsSetting) -> list[str]:
        """``args`` (an ``ARGS`` setting) as command-line arguments, by the shared rule.

        The name and signature are django-prodserver 3.0's; the rule is ``args_to_argv``'s, with
        this backend's ``negated_flag()`` for False.
        """
        return args_to_argv(args, self.process_name, self.negated_flag)

    def prep_server_args(self) -> list[str]:
        """The command-line arguments ``start_server()`` is called with: ``self.args``."""
        return list(self.args)

    def negated_flag(self, flag: str) -> str | None:
        """The program's flag for ``False``, such as ``--no-access-log``; None omits the flag."""
        return None

    def check_args(self, args: Sequence[str]) -> None:
        """Raise ``InvalidBackendArgs`` if the server would reject ``args``. Starts nothing."""

    def setting_warnings(self) -> list[str]:
        """What ``manage.py check`` shows as warnings about this entry; the process still starts.

        For settings that work but should change, such as an older spelling of an option.
        """
        return []

    def check_can_start(self) -> None:
        """Raise a ``ProdserverError`` if the process must not start in this environment.

        The command calls it before ``--dry-run`` and before a start; ``manage.py check`` does
        not, so a process that only some environments may start does not fail the others.
        """

    def start_server(self, *args: str) -> None:
        """Run the server in this process until it stops."""
        raise NotImplementedError

    def application_interface(self) -> str | None:
        """How the server calls the project's application: ``"wsgi"`` (``WSGI_APPLICATION``) or
        ``"asgi"`` (``ASGI_APPLICATION``, or the ``asgi`` module beside the WSGI one); None (the
        default) for a process that serves no application of the project, such as a worker."""
        return None

    def check_application(self) -> None:
        """Raise ``InvalidBackendArgs`` if the application the server would serve does not
        import, is not callable, or has the other interface (``targets.interface_problem``):
        ``--dry-run`` calls it; at a start, ``preflight.import_application`` checks the same."""
        from .. import targets

        interface = self.application_interface()
        try:
            problem = interface and targets.project_application_problem(interface)
        except InvalidApplication as e:  # worded for the setting: said for this process
            raise e.in_process(self.process_name or "?") from e
        if problem:
            raise self.error(problem)

    def graceful_timeout(self) -> float:
        """Seconds the process may take to finish its work after ``stop_signal``; after that a
        supervisor may kill it. Backends whose server has such an option read it from ARGS."""
        return DEFAULT_GRACEFUL_TIMEOUT

    def describe_start(self, args: Sequence[str]) -> str:
        """What ``--dry-run`` prints: the invocation ``start_server(*args)`` performs, with
        secret values masked."""
        return shlex.join([self.program or type(self).__name__, *redact_argv(args)])

    def healthcheck(self) -> str | None:
        """The entry's ``HEALTHCHECK`` path, validated: requested before serving, and probed."""
        from .. import warmup

        return warmup.healthcheck_path(self.process_name or "?", self.entry, self.kind)

    def listen_address(self, args: Sequence[str]) -> tuple[str, int] | None:
        """The first TCP ``(host, port)`` the server listens on with ``args``; None when it
        listens on no TCP port (a Unix socket, an inherited descriptor) or does not say."""
        return None

    def worker_processes(self, args: Sequence[str]) -> int:
        """How many processes serve requests or tasks with ``args``: sizes resource requests."""
        return 1

    def error(self, message: str) -> InvalidBackendArgs:
        """An ``InvalidBackendArgs`` worded for this process."""
        where = f"Process {self.process_name!r}: " if self.process_name else ""
        return InvalidBackendArgs(where + message)

    def entry_switch(self, key: str, default: bool) -> bool:
        """The entry's ``key`` (``default`` when absent), refused unless True or False."""
        if not isinstance(value := self.entry.get(key, default), bool):
            raise self.error(f"{key} must be True or False, not {value!r}.")
        return value


class BaseServerBackend(BaseProcessBackend):
    """A backend that answers HTTP: ``manage.py server`` starts it."""

    kind: ClassVar[str] = "server"


class BaseWorkerBackend(BaseProcessBackend):
    """A backend that consumes tasks rather than serving HTTP: ``manage.py worker`` starts it."""

    kind: ClassVar[str] = "worker"


class BaseDevServerBackend(BaseServerBackend):
    """A development server (``runserver`` and the like): ``manage.py devserver NAME`` starts it.

    It refuses to start while ``DEBUG`` is False, unless its entry sets
    ``"ALLOW_IN_PRODUCTION": True``: development servers are not built to face the internet,
    and some (Werkzeug's debugger) run any code a visitor sends.
    """

    kind: ClassVar[str] = "dev"
    settings_keys: ClassVar[frozenset[str]] = frozenset({"ALLOW_IN_PRODUCTION"})
    development_options: ClassVar[frozenset[str]] = frozenset()  # all of it is development

    def allowed_in_production(self) -> bool:
        """The entry's ``ALLOW_IN_PRODUCTION``, checked to be True or False."""
        return self.entry_switch("ALLOW_IN_PRODUCTION", False)

    def check_can_start(self) -> None:
        from django.conf import settings

        if not self.allowed_in_production() and not settings.DEBUG:
            where = f"Process {self.process_name!r}: " if self.process_name else ""
            raise DevelopmentServerRefused(
                f"{where}{self.backend_name!r} is a development server and DEBUG is False. Develop "
                f"with DEBUG = True, or set 'ALLOW_IN_PRODUCTION': True in its entry to start it "
                f"anyway."
            )
