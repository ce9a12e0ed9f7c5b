"""uvicorn, run in this process through its own command-line entry point.

``ARGS`` are uvicorn's command-line options (``uvicorn --help``). ``uvicorn`` serves the ASGI
application (``ASGI_APPLICATION``, or the ``asgi`` module beside ``WSGI_APPLICATION``);
``uvicorn-wsgi`` serves ``WSGI_APPLICATION`` with ``--interface=wsgi``. uvicorn's defaults
apply: it binds ``127.0.0.1:8000``. ``UVICORN_*`` environment variables are read as the
``uvicorn`` command reads them.

Before uvicorn starts, the application is imported (in a short-lived child process when
``workers`` or ``reload`` start it in other processes) and ``host``:``port`` is checked to be
free: a broken application or a busy port is one line and exit status 1.

With ``workers`` above 1 (or ``reload``) uvicorn binds the listening socket itself, without
naming TCP as its protocol, and asyncio then leaves Nagle's algorithm on for every accepted
connection: each keep-alive response waited for the client's delayed ACK (about 40 ms). This
backend sets ``TCP_NODELAY`` on that socket, which the connections it accepts inherit, as uvicorn
does for the socket it lets asyncio create with one worker.

On SIGTERM or SIGINT uvicorn finishes its in-flight requests, then raises the signal again to
end with the signal's status (143 for SIGTERM). This backend ends with status 0 instead: the
shutdown was the one asked for. One uvicorn process would die of SIGHUP with its requests in
flight; here SIGHUP is a graceful stop too (with several workers, uvicorn restarts them).
``uvicorn_runtime`` has both changes to uvicorn.
"""

from __future__ import annotations

import contextlib
import functools
from collections.abc import Collection, Sequence
from typing import Any, ClassVar, Literal

# Imported first on purpose: without uvicorn this import fails, and the registry turns that into
# 'pip install "django-prodserver[uvicorn]"'. Before uvicorn's own dependencies (click), so that
# the message names uvicorn.
from uvicorn import config as uvicorn_config

# isort: split
import click
from click.core import ParameterSource
from uvicorn.importer import ImportFromStringError, import_from_string
from uvicorn.main import main as uvicorn_command  # the click command `uvicorn` runs

from ..environment import PlatformOptions
from ..stop_signals import exit_zero_on_stop_signals
from .base import BaseServerBackend
from .command_line import CommandLineBackend, StartPlan, parse_with_click
from .log_config import log_config_problem
from .option_values import check_tls, missing_package
from .options import ArgsErrors, application_from, option_flag
from .ranges import BACKLOG, CONNECTIONS, COUNT, SECONDS, port_problem
from .uvicorn_runtime import (
    ONE_PROCESS_STOP_SIGNALS,
    accepted_connections_without_delay,
    sighup_stops_one_process,
)

PROGRAM = "uvicorn"
PRINT_AND_EXIT_OPTIONS = frozenset({"--help", "--version"})
INTERFACE_OPTIONS = ["--interface"]
# Options whose value is a name from uvicorn's table or a "module:attribute" to import.
# uvicorn 0.36 renamed LOOP_SETUPS to LOOP_FACTORIES.
IMPLEMENTATIONS: dict[str, dict[str, Any]] = {
    "loop": getattr(uvicorn_config, "LOOP_FACTORIES", None)
    or getattr(uvicorn_config, "LOOP_SETUPS", {}),
    "http": uvicorn_config.HTTP_PROTOCOLS,
    "ws": uvicorn_config.WS_PROTOCOLS,
}
# Packages that uvicorn's own implementations above import, and how to install each.
OPTIONAL_PACKAGES = {
    "uvloop": 'pip install "uvicorn[standard]"',
    "httptools": 'pip install "uvicorn[standard]"',
    "websockets": 'pip install "uvicorn[standard]"',
    "wsproto": "pip install wsproto",
}
# uvicorn listens on a Unix socket or an inherited descriptor instead of host and port.
SOCKET_OPTIONS = ("uds", "fd")


BOUNDS = {
    "--workers": COUNT,
    "--backlog": BACKLOG,
    "--limit-concurrency": CONNECTIONS,
    **dict.fromkeys(
        [
            "--timeout-keep-alive",
            "--timeout-graceful-shutdown",
            "--timeout-worker-healthcheck",
            "--ws-ping-interval",
            "--ws-ping-timeout",
        ],
        SECONDS,
    ),
}


def _options_by_flag() -> dict[str, click.Option]:
    return {
        flag: param
        for param in uvicorn_command.params
        if isinstance(param, click.Option)
        for flag in (*param.opts, *param.secondary_opts)
    }


class UvicornServer(CommandLineBackend):
    """uvicorn serving the project's ASGI application."""

    program: ClassVar[str] = PROGRAM
    print_and_exit_options: ClassVar[frozenset[str]] = PRINT_AND_EXIT_OPTIONS
    bounds = BOUNDS
    # uvicorn sets no bound of its own (it waits for every request in flight, however long):
    # without the option, graceful_timeout() is the default 30 s.
    graceful_timeout_options = frozenset({"--timeout-graceful-shutdown"})
    platform_options = PlatformOptions(
        port="port",
        address_flags=frozenset({"--port", "--uds", "--fd"}),
        host="host",
        host_flags=frozenset({"--host"}),
        workers="workers",
        workers_flags=frozenset({"--workers"}),
    )
    application_setting: ClassVar[str] = "ASGI_APPLICATION"
    # The application first, as uvicorn's documentation writes it: an option left without its
    # value then fails on its own instead of taking the application.
    application_argument: ClassVar[Literal["first", "last"] | None] = "first"

    @functools.cached_property
    def _options(self) -> dict[str, click.Option]:
        return _options_by_flag()

    def option_strings(self) -> Collection[str]:
        return self._options.keys()

    def repeatable(self, flag: str) -> bool:
        # A list repeats an option uvicorn collects (--header, --reload-dir, ...); any other
        # would keep only its last value.
        option = self._options.get(flag)
        return option is None or bool(option.multiple)

    def parse(self, errors: ArgsErrors) -> click.Context:
        if self._user_sets_interface():
            raise errors.not_allowed(
                INTERFACE_OPTIONS,
                "the backend sets it; use BACKEND 'uvicorn' for ASGI or 'uvicorn-wsgi' for WSGI",
            )
        # Extra arguments are kept rather than refused, to name the first one in the message.
        context = parse_with_click(
            errors, uvicorn_command, self.command_line(errors.argv), allow_extra_args=True
        )
        if context.args:
            raise errors.unexpected_argument(
                context.args[0], application_from(self.application_setting)
            )
        return context

    def check_values(self, errors: ArgsErrors, parsed: Any) -> None:
        self._check_values(errors, parsed)

    def _check_values(self, errors: ArgsErrors, context: click.Context) -> None:
        """What uvicorn's parser lets through and uvicorn then fails on, or ignores."""
        params = context.params

        def given(name: str) -> bool:
            return context.get_parameter_source(name) is ParameterSource.COMMANDLINE

        def flags(name: str) -> list[str]:
            param = next(p for p in context.command.params if p.name == name)
            return [*param.opts, *param.secondary_opts]

        problem = port_problem(params["port"])
        if problem:
            raise errors.invalid_value(flags("port"), problem)
        if given("workers") and params["workers"] is not None and params["workers"] < 1:
            raise errors.invalid_value(flags("workers"), "at least 1 worker is needed")
        sockets = [name for name in SOCKET_OPTIONS if given(name) and params[name] is not None]
        for name in ("host", "port", *sockets[1:]):
            if sockets and given(name):
                raise errors.invalid_value(
                    flags(name),
                    f"uvicorn ignores it when {sockets[0]!r} is set; remove one of them",
                )
        reload_options = [name for name in params if name.startswith("reload_") and given(name)]
        if reload_options and not params["reload"]:
            raise errors.invalid_value(
                flags(reload_options[0]), "uvicorn ignores it unless 'reload' is set"
            )
        if params["reload"] and given("workers") and (params["workers"] or 1) > 1:
            raise errors.invalid_value(
                flags("workers"),
                "uvicorn runs one process when 'reload' is set; remove one of them",
            )
        for name, table in IMPLEMENTATIONS.items():
            value = params.get(name)
            if not given(name) or not isinstance(value, str):
                continue
            try:
                if table.get(value, value):
                    import_from_string(table.get(value, value))
            except (ImportFromStringError, ImportError) as e:
                reason = missing_package(e, OPTIONAL_PACKAGES) if table.get(value) else None
                if reason:
                    raise errors.invalid_value(flags(name), reason) from e
                names = ", ".join(repr(key) for key in table)
                raise errors.invalid_value(
                    flags(name), f"{e} (uvicorn takes {names}, or a 'module:attribute')"
                ) from e
        log_file = params["log_config"]
        if isinstance(log_file, str) and not log_file.endswith((".yaml", ".yml")):  # as uvicorn
            problem = log_config_problem(log_file, "json" if log_file.endswith(".json") else "ini")
            if problem:
                raise errors.invalid_value(flags("log_config"), problem)
        check_tls(
            errors,
            params,
            flags,
            given,
            certificate="ssl_certfile",
            key="ssl_keyfile",
            password="ssl_keyfile_password",
            dependent=[
                name
                for name in params
                if name.startswith("ssl_") and name not in ("ssl_certfile", "ssl_keyfile")
            ],
        )

    def _user_sets_interface(self) -> bool:
        # Looks at ARGS alone: uvicorn-wsgi adds --interface=wsgi itself.
        user_argv = BaseServerBackend.prep_server_args(self)
        return any(option_flag(token) in INTERFACE_OPTIONS for token in user_argv)

    def _params(self, args: Sequence[str]) -> dict[str, Any]:
        return dict(uvicorn_command.make_context(PROGRAM, self.command_line(args)).params)

    def plan_start(self, args: Sequence[str]) -> StartPlan:
        params = self._params(args)
        sockets = [params["uds"]] if params.get("uds") is not None else []
        tcp = params.get("uds") is None and params.get("fd") is None
        return StartPlan(
            addresses=[(params["host"], params["port"])] if tcp else [],
            unix_sockets=sockets,
            # Imported here, uvicorn finds it loaded; its worker and reload processes are
            # spawned and import it themselves, so for them it is only tried, in a child.
            isolated=bool(params.get("reload") or (params.get("workers") or 1) > 1),
        )

    def stop_signal_handling(self) -> contextlib.AbstractContextManager[object]:
        return exit_zero_on_stop_signals(ONE_PROCESS_STOP_SIGNALS)

    def run(self, args: Sequence[str], plan: StartPlan) -> None:
        # With workers or reload, uvicorn's supervisor takes SIGHUP itself: it restarts them.
        one_process = contextlib.nullcontext() if plan.isolated else sighup_stops_one_process()
        with accepted_connections_without_delay(), one_process:
            # standalone_mode=False: return when uvicorn returns rather than call sys.exit().
            uvicorn_command.main(
                args=self.command_line(args), prog_name=PROGRAM, standalone_mode=False
            )

    def worker_processes(self, args: Sequence[str]) -> int:
        return int(self._params(args).get("workers") or 1)


class UvicornWSGIServer(UvicornServer):
    """uvicorn serving ``WSGI_APPLICATION`` through its WSGI interface."""

    application_setting: ClassVar[str] = "WSGI_APPLICATION"

    def prep_server_args(self) -> list[str]:
        return ["--interface=wsgi", *super().prep_server_args()]
