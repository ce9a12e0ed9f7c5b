"""Celery's worker and beat, run in this process through Celery's own command line.

The process entry names the application in ``APP`` ("proj.celery.app" or "proj.celery:app").
It is imported here first, so that a wrong path is one clear line rather than Celery's
multi-line report; Celery is then started with ``--app`` set to the same path.
"""

from __future__ import annotations

import copy
import importlib
import shlex
from collections.abc import Mapping, Sequence
from typing import Any, ClassVar

import celery
import click
from celery.bin.base import CLIContext, CommaSeparatedList
from celery.bin.beat import beat as beat_command
from celery.bin.celery import celery as celery_command
from celery.bin.worker import worker as worker_command

from ..exceptions import InvalidBackendArgs
from ._command_line import (
    check_no_glued_tokens,
    describe_source,
    flag_of,
    one_line,
    rejection,
    silenced,
    suggestion,
)
from .base import ArgsSetting, BaseWorkerBackend, args_to_argv

APP_EXAMPLE = "'proj.celery.app'"


class CeleryBackend(BaseWorkerBackend):
    """What the worker and beat share: APP, Celery's click parser and how Celery is started."""

    settings_keys: ClassVar[frozenset[str]] = frozenset({"APP"})
    program = "celery"
    #: The celery sub-command: "worker" or "beat".
    subcommand: ClassVar[str]
    subcommand_parser: ClassVar[click.Command]

    _app: celery.Celery | None = None

    @property
    def backend_name(self) -> str:
        return str(self.server_config.get("BACKEND", self.alias))

    @property
    def app_path(self) -> str:
        """``APP``, checked to be written as a dotted path."""
        path = self.server_config.get("APP")
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
        module_name, _, attr = path.partition(":") if ":" in path else path.rpartition(".")
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
        module_name, _, attr = path.partition(":") if ":" in path else path.rpartition(".")
        try:
            module = importlib.import_module(module_name)
        except Exception as e:
            missing = e.name if isinstance(e, ModuleNotFoundError) else None
            # Only the module APP names (or a package above it) missing is a wrong path;
            # a module it imports that is missing is reported as the import error it is.
            if missing and (module_name == missing or module_name.startswith(missing + ".")):
                raise self.error(f"APP {path!r}: there is no module named {missing!r}.") from e
            raise self.error(
                f"APP {path!r} could not be imported: {type(e).__name__}: {one_line(str(e))}"
            ) from e
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

    def prep_server_args(self) -> list[str]:
        return args_to_argv(self._lists_joined(), self.process_name, self.negated_flag)

    def _lists_joined(self) -> ArgsSetting:
        # Celery's -Q, -X and -I take one comma-separated value and keep only the last when
        # repeated: "queues": ["a", "b"] must become --queues=a,b to consume both queues.
        if not isinstance(self.args, Mapping):
            return self.args
        options = self._options()
        joined = {}
        for key, value in self.args.items():
            option = options.get(flag_of(key)) if isinstance(key, str) else None
            if option is not None and isinstance(value, (list, tuple)):
                joined[key] = self._list_value(key, value, option)
            else:
                joined[key] = value
        return joined

    def _list_value(
        self, key: str, value: list[Any] | tuple[Any, ...], option: click.Option
    ) -> object:
        if isinstance(option.type, CommaSeparatedList):
            return ",".join(str(item) for item in value)
        if option.multiple or len(value) < 2:
            return value
        raise self.error(
            f"ARGS[{key!r}] = {value!r} is a list, but celery {self.subcommand}'s "
            f"{flag_of(key)} takes one value, and repeating it would keep only the last."
        )

    def negated_flag(self, flag: str) -> str | None:
        option = self._options().get(flag)
        if option is not None and option.secondary_opts:
            return option.secondary_opts[0]  # such as --no-enable-remote-control
        return None

    def check_args(self, args: Sequence[str]) -> None:
        app = self.celery_app()
        check_no_glued_tokens(self, args)
        parser = copy.copy(self.subcommand_parser)
        parser.params = self._params()
        # Option callbacks read the application's configuration from the context object.
        context_object = CLIContext(app=app, no_color=True, workdir=None, quiet=True)
        try:
            with silenced():
                context = parser.make_context(
                    f"celery {self.subcommand}", list(args), obj=context_object
                )
        except click.exceptions.Exit as e:
            raise self.error(
                f"ARGS asks celery {self.subcommand} for its help, which prints and exits "
                f"instead of starting: {shlex.join(args)!r}."
            ) from e
        except click.ClickException as e:
            raise self._rejected(e, args) from e
        except Exception as e:  # a callback that fails, such as a pool that cannot be imported
            raise self.error(
                f"celery {self.subcommand} could not check ARGS {shlex.join(args)!r}: "
                f"{type(e).__name__}: {one_line(str(e))}"
            ) from e
        if context.params.get("detach"):
            source = describe_source(self.args, args, {"--detach", "-D"}) or "ARGS"
            raise self.error(
                f"{source}: prodserver runs celery {self.subcommand} in the foreground, where a "
                f"process manager can supervise it and stop it; remove this option."
            )

    def _rejected(self, error: click.ClickException, args: Sequence[str]) -> InvalidBackendArgs:
        if isinstance(error, click.NoSuchOption):
            return self._unknown_option(error.option_name, args)
        flags: set[str] = set()
        if isinstance(error, click.BadParameter) and error.param is not None:
            flags = {*error.param.opts, *getattr(error.param, "secondary_opts", ())}
        elif isinstance(error, click.BadOptionUsage):
            flags = {error.option_name}
        source = describe_source(self.args, args, flags)
        return rejection(self, source, f"celery {self.subcommand}", error.format_message())

    def _unknown_option(self, name: str, args: Sequence[str]) -> InvalidBackendArgs:
        program = f"celery {self.subcommand}"
        source = describe_source(self.args, args, {name}) or "ARGS"
        if name in {"-A", "--app"}:
            return self.error(f"{source}: set the Celery application in 'APP' instead.")
        if name in self._global_flags():
            return self.error(
                f"{source}: {name} is an option of the celery command itself, not of "
                f"{program}; set it in your Celery application's configuration instead."
            )
        return self.error(
            f"{source}: {program} has no option {name}.{suggestion(name, self._options())}"
        )

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
        return shlex.join([self.program, *self.celery_argv(args)])


class CeleryWorker(CeleryBackend):
    """``celery worker``. SIGTERM is a warm shutdown: tasks in progress finish first."""

    subcommand = "worker"
    subcommand_parser = worker_command


class CeleryBeat(CeleryBackend):
    """``celery beat``, the periodic task scheduler. SIGTERM saves the schedule and exits 0."""

    subcommand = "beat"
    subcommand_parser = beat_command
