"""uvicorn, run in this process through its own command-line entry point.

``ARGS`` are uvicorn's command-line options (``uvicorn --help``). ``uvicorn`` serves the ASGI
application (``ASGI_APPLICATION``, or the ``asgi`` module beside ``WSGI_APPLICATION``);
``uvicorn-wsgi`` serves ``WSGI_APPLICATION`` with ``--interface=wsgi``. uvicorn's defaults
apply: it binds ``127.0.0.1:8000``. ``UVICORN_*`` environment variables are read as the
``uvicorn`` command reads them.

Before uvicorn starts, the application is imported (in a short-lived child process when
``workers`` or ``reload`` start it in other processes) and ``host``:``port`` is checked to be
free: a broken application or a busy port is one line and exit status 1.

On SIGTERM or SIGINT uvicorn finishes its in-flight requests, then raises the signal again to
end with the signal's status (143 for SIGTERM). This backend ends with status 0 instead: the
shutdown was the one asked for.
"""

from __future__ import annotations

from collections.abc import Sequence
from typing import Any, ClassVar

import click
from click.core import ParameterSource
from uvicorn import config as uvicorn_config
from uvicorn.importer import ImportFromStringError, import_from_string
from uvicorn.main import main as uvicorn_command  # the click command `uvicorn` runs

from .. import targets
from ._options import (
    ArgsErrors,
    application_from,
    exit_zero_on_stop_signals,
    lists_joined,
    negation,
    option_flag,
)
from ._preflight import certificate_problem, check_addresses_free, import_application, port_problem
from .base import BaseServerBackend, args_to_argv

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
# uvicorn listens on a Unix socket or an inherited descriptor instead of host and port.
SOCKET_OPTIONS = ("uds", "fd")


def _repeatable(flag: str) -> bool:
    # A list repeats an option uvicorn collects (--header, --reload-dir, ...); any other would
    # keep only its last value.
    for param in uvicorn_command.params:
        if isinstance(param, click.Option) and flag in (*param.opts, *param.secondary_opts):
            return bool(param.multiple)
    return True  # not an option: check_args names it


def known_options() -> frozenset[str]:
    """Every option string of this uvicorn version's command line."""
    options = {"--help"}
    for param in uvicorn_command.params:
        if isinstance(param, click.Option):
            options.update(param.opts, param.secondary_opts)
    return frozenset(options)


class UvicornServer(BaseServerBackend):
    """uvicorn serving the project's ASGI application."""

    program: ClassVar[str] = PROGRAM
    #: The setting the application comes from, named in error messages.
    application_setting: ClassVar[str] = "ASGI_APPLICATION"

    def target(self) -> str:
        return targets.asgi_target()

    def prep_server_args(self) -> list[str]:
        args = lists_joined(self, PROGRAM, lambda flag: False, _repeatable)
        return args_to_argv(args, self.process_name, self.negated_flag)

    def negated_flag(self, flag: str) -> str | None:
        # --no-access-log, --no-use-colors, --no-proxy-headers, --no-server-header, ...
        return negation(flag, known_options())

    def check_args(self, args: Sequence[str]) -> None:
        errors = ArgsErrors(self, args, PROGRAM, known_options())
        errors.check_omitted_flags()
        errors.check_no_print_and_exit(PRINT_AND_EXIT_OPTIONS)
        if self._user_sets_interface():
            raise errors.not_allowed(
                INTERFACE_OPTIONS,
                "the backend sets it; use BACKEND 'uvicorn' for ASGI or 'uvicorn-wsgi' for WSGI",
            )
        try:
            # Parses and converts every value as `uvicorn` would, and runs nothing. Extra
            # arguments are kept rather than refused, to name the first one in the message.
            context = uvicorn_command.make_context(
                PROGRAM, [self.target(), *args], allow_extra_args=True
            )
        except click.ClickException as e:
            raise errors.from_click(e) from e
        if context.args:
            raise errors.unexpected_argument(
                context.args[0], application_from(self.application_setting)
            )
        self._check_values(errors, context)

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
                names = ", ".join(repr(key) for key in table)
                raise errors.invalid_value(
                    flags(name), f"{e} (uvicorn takes {names}, or a 'module:attribute')"
                ) from e
        certificate, key = params.get("ssl_certfile"), params.get("ssl_keyfile")
        tls_options = [
            name
            for name in params
            if name.startswith("ssl_") and name not in ("ssl_certfile", "ssl_keyfile")
        ]
        for name in tls_options:
            if given(name) and not certificate:
                raise errors.invalid_value(
                    flags(name), "uvicorn ignores it unless 'ssl_certfile' is set"
                )
        if key and not certificate:
            raise errors.invalid_value(
                flags("ssl_keyfile"),
                "HTTPS needs 'ssl_certfile' too; set it, or remove 'ssl_keyfile'",
            )
        if certificate:
            problem = certificate_problem(certificate, key, params.get("ssl_keyfile_password"))
            if problem:
                raise errors.invalid_value(flags("ssl_keyfile" if key else "ssl_certfile"), problem)

    def _user_sets_interface(self) -> bool:
        # Looks at ARGS alone: uvicorn-wsgi adds --interface=wsgi itself.
        user_argv = BaseServerBackend.prep_server_args(self)
        return any(option_flag(token) in INTERFACE_OPTIONS for token in user_argv)

    def start_server(self, *args: str) -> None:
        context = uvicorn_command.make_context(PROGRAM, [self.target(), *args])
        params = context.params
        if params.get("uds") is None and params.get("fd") is None:
            check_addresses_free(self, [(params["host"], params["port"])])
        # Imported here, uvicorn finds it loaded; its worker and reload processes are spawned
        # and import it themselves, so for them it is only tried, in a child process.
        isolated = bool(params.get("reload") or (params.get("workers") or 1) > 1)
        import_application(self, self.target(), isolated=isolated)
        with exit_zero_on_stop_signals():
            # The application first, as uvicorn's documentation writes it: an option left
            # without its value then fails on its own instead of taking the application.
            # standalone_mode=False: return when uvicorn returns rather than calling sys.exit().
            uvicorn_command.main(
                args=[self.target(), *args], prog_name=PROGRAM, standalone_mode=False
            )

    def describe_start(self, args: Sequence[str]) -> str:
        return super().describe_start([self.target(), *args])


class UvicornWSGIServer(UvicornServer):
    """uvicorn serving ``WSGI_APPLICATION`` through its WSGI interface."""

    application_setting: ClassVar[str] = "WSGI_APPLICATION"

    def target(self) -> str:
        return targets.wsgi_target()

    def prep_server_args(self) -> list[str]:
        return ["--interface=wsgi", *super().prep_server_args()]
