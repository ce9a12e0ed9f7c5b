"""Celery's worker and beat, run in this process through Celery's own command line.

The process entry names the application in ``APP`` ("proj.celery.app" or "proj.celery:app").
It is imported here first, so that a wrong path is one clear line rather than Celery's
multi-line report; Celery is then started with ``--app`` set to the same path.
"""

from __future__ import annotations

import copy
import functools
import importlib
import importlib.util
from collections.abc import Sequence
from typing import Any, ClassVar

import celery
import click
from celery.bin.base import CLIContext, CommaSeparatedList
from celery.bin.beat import beat as beat_command
from celery.bin.celery import celery as celery_command
from celery.bin.worker import worker as worker_command

from .. import targets
from ..exceptions import InvalidBackendArgs, ProdserverError, one_line
from ..stop_signals import is_stop
from .base import DEFAULT_GRACEFUL_TIMEOUT, BaseWorkerBackend
from .command_line import CommandLineProcessBackend, parse_with_click
from .option_values import option_seconds, package_missing
from .options import ArgsErrors, application_from
from .preflight import directory_problem
from .ranges import COUNT, SECONDS

APP_EXAMPLE = "'proj.celery.app'"
# Worker pools that need a package Celery does not install, and how to install it (Celery's own
# [eventlet] extra installs nothing on Python 3.10+).
POOL_PACKAGES = {"gevent": "pip install gevent", "eventlet": "pip install eventlet"}
POOL_OPTIONS = ["-P", "--pool"]
#: The options naming a file Celery creates, whose directory must exist.
FILE_OPTIONS = ("logfile", "pidfile", "schedule")
#: Broker URL schemes whose kombu transport needs a package Celery does not bring, and the extra.
TRANSPORT_PACKAGES = {"redis": "redis", "rediss": "redis", "sentinel": "redis", "sqs": "boto3"}
TRANSPORT_EXTRAS = {"redis": "redis", "boto3": "sqs"}


class CeleryBackend(CommandLineProcessBackend):
    """What the worker, beat and Flower share: APP, Celery's click parser and how Celery is
    started. Its subclasses add the kind: a worker base class, or a server one for Flower."""

    settings_keys: ClassVar[frozenset[str]] = frozenset({"APP"})
    program = "celery"
    print_and_exit_options: ClassVar[frozenset[str]] = frozenset({"--help"})
    bounds: ClassVar[dict[str, Any]] = {
        **dict.fromkeys(["-c", "--concurrency"], COUNT),
        **dict.fromkeys(["--time-limit", "--soft-time-limit", "--max-interval"], SECONDS),
    }
    #: The celery sub-command: "worker" or "beat".
    subcommand: ClassVar[str]
    subcommand_parser: ClassVar[click.Command]

    _app: celery.Celery | None = None

    @property
    def app_path(self) -> str:
        """``APP``, checked to be written as a dotted path."""
        path = self.entry.get("APP")
        if path is None or path == "":
            raise self.error(
                f"backend {self.backend_name!r} needs 'APP', the dotted path to your Celery "
                f"application, such as {APP_EXAMPLE}."
            )
        if not isinstance(path, str):
            raise self.error(
                f"'APP' must be the dotted path to your Celery application, such as "
                f"{APP_EXAMPLE}, not a value of type {type(path).__name__}."
            )
        module_name, attr = targets.split(path)
        if not module_name or not attr:
            raise self.error(
                f"APP {path!r} is not a dotted path to a Celery application, such as "
                f"{APP_EXAMPLE} or 'proj.celery:app'."
            )
        return path

    def celery_app(self) -> celery.Celery:
        """The application ``APP`` names, imported once."""
        if self._app is None:
            self._app = self._import_app(self.app_path)
        return self._app

    def _import_app(self, path: str) -> celery.Celery:
        module_name, attr = targets.split(path)
        try:
            module = importlib.import_module(module_name)
        except BaseException as e:  # sys.exit() in the module too: a failed import, not a stop
            if is_stop(e):
                raise
            # Only the module APP names (or a package above it) missing is a wrong path;
            # a module it imports that is missing is reported as the import error it is.
            if isinstance(e, ModuleNotFoundError) and targets.module_not_found(e, module_name):
                raise self.error(f"APP {path!r}: there is no module named {e.name!r}.") from e
            raise self.error(f"APP {path!r} could not be imported: {one_line(e)}") from e
        app = getattr(module, attr, None)
        if isinstance(app, celery.Celery):
            return app
        candidates = [
            name for name, value in vars(module).items() if isinstance(value, celery.Celery)
        ]
        hint = f" Did you mean '{module_name}.{candidates[0]}'?" if candidates else ""
        found = (
            f"module {module_name!r} has no attribute {attr!r}"
            if app is None
            else f"{attr!r} in module {module_name!r} is of type {type(app).__name__}"
        )
        raise self.error(f"APP {path!r} is not a Celery application: {found}.{hint}")

    # ARGS

    def _options(self) -> dict[str, click.Option]:
        """Every flag of the sub-command, with the application's own added options."""
        options: dict[str, click.Option] = {}
        for param in self._params():
            if isinstance(param, click.Option):
                for flag in [*param.opts, *param.secondary_opts]:
                    options[flag] = param
        return options

    def _params(self) -> list[click.Parameter]:
        # Celery adds an application's user_options to its commands when it starts; a check
        # made before that must know them too.
        user_options = self._app.user_options if self._app is not None else {}
        return [
            *self.subcommand_parser.params,
            *user_options.get(self.subcommand, ()),
            *user_options.get("preload", ()),
        ]

    @property
    def command_name(self) -> str:
        """The sub-command as messages name it: "celery worker"."""
        return f"{self.program} {self.subcommand}"

    @property
    def server_label(self) -> str:
        return self.command_name

    def args_errors(self, args: Sequence[str]) -> ArgsErrors:
        return ArgsErrors(self, args, self.command_name, self._options(), program=self.command_name)

    def comma_separated(self, flag: str) -> bool:
        # Celery's -Q, -X and -I take one comma-separated value and keep only the last when
        # repeated: "queues": ["a", "b"] must become --queues=a,b to consume both queues.
        option = self._options().get(flag)
        return option is not None and isinstance(option.type, CommaSeparatedList)

    def repeatable(self, flag: str) -> bool:
        options = self._options()
        return flag not in options or options[flag].multiple

    def negated_flag(self, flag: str) -> str | None:
        option = self._options().get(flag)
        if option is not None and option.secondary_opts:
            return option.secondary_opts[0]  # such as --no-enable-remote-control
        return None

    def check_args(self, args: Sequence[str]) -> None:
        self.celery_app()  # its own options are known from here on
        self._check_broker_transport()
        super().check_args(args)

    def _check_broker_transport(self) -> None:
        # kombu imports the transport's package lazily: without it the worker fails at start
        # with "'NoneType' object has no attribute 'Redis'".
        scheme = str(self.celery_app().conf.broker_url or "").partition("://")[0].lower()
        package = TRANSPORT_PACKAGES.get(scheme)
        if package and importlib.util.find_spec(package) is None:
            raise self.error(
                f"the broker of APP {self.app_path!r} is a {scheme!r} URL, whose transport "
                f"needs the package {package!r}, which is not installed: "
                f'pip install "celery[{TRANSPORT_EXTRAS[package]}]".'
            )

    def parse(self, errors: ArgsErrors) -> click.Context:
        self._check_pool(errors)
        parser = copy.copy(self.subcommand_parser)
        parser.params = self._params()
        # Option callbacks read the application's configuration from the context object.
        context_object = CLIContext(app=self.celery_app(), no_color=True, workdir=None, quiet=True)
        try:
            context = parse_with_click(
                errors,
                parser,
                obj=context_object,
                unknown_option=functools.partial(self._unknown_option, errors),
            )
        except ProdserverError:
            raise
        except Exception as e:  # a callback that fails, such as a pool that cannot be imported
            raise errors.rejected(f"{type(e).__name__}: {e}") from e
        if context.params.get("detach"):
            raise errors.not_allowed(
                ["--detach", "-D"],
                f"prodserver runs {self.command_name} in the foreground, where a process "
                f"manager can supervise it and stop it",
            )
        for param in parser.params:  # files Celery opens once started: a traceback there
            path = context.params.get(param.name or "") if param.name in FILE_OPTIONS else None
            # '%n', '%i': names Celery fills in per node and process.
            problem = isinstance(path, str) and "%" not in path and directory_problem(path)
            if problem:
                raise errors.invalid_value(param.opts, problem)
        return context

    def _check_pool(self, errors: ArgsErrors) -> None:
        # Celery imports the gevent pool only once the worker starts, and then fails with a
        # traceback; the eventlet pool fails on a dependency eventlet would have brought.
        pool = errors.find(POOL_OPTIONS)
        package = str(pool.value) if pool else ""
        if package in POOL_PACKAGES and importlib.util.find_spec(package) is None:
            reason = package_missing(package, POOL_PACKAGES[package])
            raise errors.invalid_value(POOL_OPTIONS, reason)

    def _unknown_option(self, errors: ArgsErrors, flag: str) -> InvalidBackendArgs:
        if flag in {"-A", "--app"}:
            return errors.not_allowed([flag], application_from("APP"))
        if flag in self._global_flags():
            return errors.unknown_option(
                flag,
                hint=f"It is an option of the celery command, not of {self.command_name}: set "
                f"it in your Celery application's configuration instead.",
            )
        return errors.unknown_option(flag)

    @staticmethod
    def _global_flags() -> set[str]:
        return {
            flag
            for param in celery_command.params
            if isinstance(param, click.Option)
            for flag in param.opts
        }

    # Starting

    def celery_argv(self, args: Sequence[str]) -> list[str]:
        # --skip-checks: prodserver has already run Django's system checks, or was told not to.
        return [f"--app={self.app_path}", "--skip-checks", self.subcommand, *args]

    def start_server(self, *args: str) -> None:
        self.celery_app()
        try:
            # What `celery` runs, with our arguments: never the process's own sys.argv, which
            # holds manage.py's. Unlike Celery.start(), this keeps the worker's exit status.
            status = celery_command.main(
                args=self.celery_argv(args), prog_name="celery", standalone_mode=False
            )
        except click.ClickException as e:
            raise self.error(
                f"celery {self.subcommand} did not start: {one_line(e.format_message())}"
            ) from e
        if isinstance(status, int) and status != 0:
            raise SystemExit(status)

    def describe_start(self, args: Sequence[str]) -> str:
        return super().describe_start(self.celery_argv(args))


class CeleryWorker(CeleryBackend, BaseWorkerBackend):
    """``celery worker``. SIGTERM is a warm shutdown: tasks in progress finish first."""

    subcommand = "worker"
    subcommand_parser = worker_command

    def graceful_timeout(self) -> float:
        """The tasks' hard time limit: ``time_limit`` in ARGS, else the application's
        ``task_time_limit``. A warm shutdown has no bound of its own (it waits for every task in
        progress); without a time limit this is ``DEFAULT_GRACEFUL_TIMEOUT`` (30 s)."""
        given = option_seconds(self.prep_server_args(), ["--time-limit"])
        if given is None:
            given = self.celery_app().conf.task_time_limit
        return DEFAULT_GRACEFUL_TIMEOUT if given is None else float(given)


class CeleryBeat(CeleryBackend, BaseWorkerBackend):
    """``celery beat``, the periodic task scheduler. SIGTERM saves the schedule and exits 0.

    Beat stops at once and has no timeout option: ``graceful_timeout()`` is the default 30 s.
    """

    subcommand = "beat"
    subcommand_parser = beat_command
