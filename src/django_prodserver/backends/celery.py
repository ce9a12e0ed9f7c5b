"""Celery's worker and beat, run in this process through Celery's own command line.

The process entry names the application in ``APP`` ("proj.celery.app" or "proj.celery:app").
It is imported here first, so that a wrong path is one clear line rather than Celery's
multi-line report; Celery is then started with ``--app`` set to the same path.
"""

from __future__ import annotations

import copy
import importlib
from collections.abc import Sequence
from typing import ClassVar

import celery
import click
from celery.bin.base import CLIContext, CommaSeparatedList
from celery.bin.beat import beat as beat_command
from celery.bin.celery import celery as celery_command
from celery.bin.worker import worker as worker_command

from ..exceptions import InvalidBackendArgs
from ._options import ArgsErrors, application_from, lists_joined, one_line, silenced
from .base import BaseWorkerBackend, args_to_argv

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

    @property
    def command_name(self) -> str:
        """The sub-command as messages name it: "celery worker"."""
        return f"{self.program} {self.subcommand}"

    def args_errors(self, args: Sequence[str]) -> ArgsErrors:
        return ArgsErrors(self, args, self.command_name, self._options(), program=self.command_name)

    def prep_server_args(self) -> list[str]:
        # Celery's -Q, -X and -I take one comma-separated value and keep only the last when
        # repeated: "queues": ["a", "b"] must become --queues=a,b to consume both queues.
        options = self._options()

        def comma_separated(flag: str) -> bool:
            return flag in options and isinstance(options[flag].type, CommaSeparatedList)

        def repeatable(flag: str) -> bool:
            return flag not in options or options[flag].multiple

        args = lists_joined(self, self.command_name, comma_separated, repeatable)
        return args_to_argv(args, self.process_name, self.negated_flag)

    def negated_flag(self, flag: str) -> str | None:
        option = self._options().get(flag)
        if option is not None and option.secondary_opts:
            return option.secondary_opts[0]  # such as --no-enable-remote-control
        return None

    def check_args(self, args: Sequence[str]) -> None:
        app = self.celery_app()
        errors = self.args_errors(args)
        errors.check_omitted_flags()
        errors.check_no_glued_tokens()
        parser = copy.copy(self.subcommand_parser)
        parser.params = self._params()
        # Option callbacks read the application's configuration from the context object.
        context_object = CLIContext(app=app, no_color=True, workdir=None, quiet=True)
        try:
            with silenced():
                context = parser.make_context(self.command_name, list(args), obj=context_object)
        except click.exceptions.Exit as e:
            raise errors.prints_and_exits(["--help"]) from e
        except click.NoSuchOption as e:
            raise self._unknown_option(errors, e.option_name) from e
        except click.ClickException as e:
            raise errors.from_click(e) from e
        except Exception as e:  # a callback that fails, such as a pool that cannot be imported
            raise errors.rejected(f"{type(e).__name__}: {e}") from e
        if context.params.get("detach"):
            raise errors.not_allowed(
                ["--detach", "-D"],
                f"prodserver runs {self.command_name} in the foreground, where a process "
                f"manager can supervise it and stop it",
            )

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


class CeleryWorker(CeleryBackend):
    """``celery worker``. SIGTERM is a warm shutdown: tasks in progress finish first."""

    subcommand = "worker"
    subcommand_parser = worker_command


class CeleryBeat(CeleryBackend):
    """``celery beat``, the periodic task scheduler. SIGTERM saves the schedule and exits 0."""

    subcommand = "beat"
    subcommand_parser = beat_command
