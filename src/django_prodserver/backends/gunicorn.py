"""gunicorn, run in this process through its own application class.

``ARGS`` are gunicorn's command-line options (``gunicorn --help``); the application is always
``WSGI_APPLICATION``. gunicorn's own defaults apply: it binds ``127.0.0.1:8000``, or
``0.0.0.0:$PORT`` when the ``PORT`` environment variable is set. ``gunicorn.conf.py`` in the
working directory and ``GUNICORN_CMD_ARGS`` are read as the ``gunicorn`` command reads them.

gunicorn 25.1+ opens a control socket (``~/.gunicorn/gunicorn.ctl`` or under
``$XDG_RUNTIME_DIR``) for ``gunicornc``. This backend turns it off with ``--no-control-socket``
unless ``ARGS`` sets ``control_socket`` to a path: a web process should not leave files in the
home directory of whoever runs it.

SIGTERM and SIGINT are graceful: workers finish their requests (up to ``graceful_timeout``),
then the process exits with status 0. gunicorn's own SIGINT is a quick stop that cuts requests in
flight; a container runtime or a Ctrl-C that sends SIGINT should not lose requests. SIGQUIT stays
gunicorn's quick stop.

Before gunicorn starts, the application is imported once in a short-lived child process (the
main process stays free of it, so SIGHUP still reloads the code) and every address in ``bind`` is
checked to be free: a broken application or a busy port is one line and exit status 1, not a
traceback per worker or gunicorn's retry loop.

Just before each fork the arbiter collects its garbage and freezes what is left (``gc.freeze()``):
the workers' collectors then leave the inherited objects, and the memory pages they share, alone.
"""

from __future__ import annotations

import argparse
import functools
from collections.abc import Sequence
from pathlib import Path
from typing import Any, ClassVar

# Imported first on purpose: without gunicorn this import fails here, and the registry turns
# that into 'pip install "django-prodserver[gunicorn]"'.
import gunicorn  # noqa: F401

from ..environment import PlatformOptions
from .command_line import CommandLineBackend, StartPlan, parse_with_argparse
from .gunicorn_application import (
    PROGRAM,
    USAGE,
    Config,
    DjangoGunicornApplication,
    frozen_before_fork,
    graceful_on_sigint,
    parse_address,
    warm_up_each_worker,
)
from .log_config import log_config_problem
from .option_values import check_tls, missing_package
from .options import ArgsErrors, application_from, option_flag
from .preflight import directory_problem, inherits_sockets
from .ranges import BACKLOG, CONNECTIONS, COUNT, SECONDS, port_problem

__all__ = [
    "DjangoApplication",
    "DjangoGunicornApplication",
    "GunicornServer",
    "frozen_before_fork",
    "graceful_on_sigint",
    "known_options",
    "warm_up_each_worker",
]

NO_CONTROL_SOCKET = "--no-control-socket"
CONTROL_SOCKET_OPTIONS = frozenset({"--control-socket", NO_CONTROL_SOCKET})
PRINT_AND_EXIT_OPTIONS = frozenset({"-h", "--help", "-v", "--version"})
# Options that would replace WSGI_APPLICATION as the application.
APPLICATION_OPTIONS = frozenset({"--paste", "--paster"})
# Settings with which gunicorn exits at once, or serves from a detached process that no process
# manager supervises, and why each is refused.
NOT_SERVING = {
    "daemon": "prodserver runs gunicorn in the foreground, where a process manager can "
    "supervise it and stop it",
    "check_config": "it makes gunicorn check its configuration and exit instead of serving; "
    "'manage.py prodserver --dry-run' checks it without starting",
    "print_config": "it makes gunicorn print its configuration and exit instead of serving",
}
BOUNDS = {
    **dict.fromkeys(["-w", "--workers", "--threads"], COUNT),
    "--worker-connections": CONNECTIONS,
    "--backlog": BACKLOG,
    **dict.fromkeys(["-t", "--timeout", "--graceful-timeout", "--keep-alive"], SECONDS),
}
# Packages that gunicorn's own worker classes need, and how to install each.
WORKER_PACKAGES = {
    "gevent": 'pip install "gunicorn[gevent]"',
    "eventlet": 'pip install "gunicorn[eventlet]"',
    "tornado": 'pip install "gunicorn[tornado]"',
}
# TLS options gunicorn reads only when it serves HTTPS, that is when certfile is set.
TLS_OPTIONS = (
    "ssl_version",
    "cert_reqs",
    "ca_certs",
    "ciphers",
    "suppress_ragged_eofs",
    "do_handshake_on_connect",
)


def strict_parser(config: Config) -> argparse.ArgumentParser:
    """gunicorn's parser for ``config``, without argparse's abbreviations.

    With them, a typo that happens to prefix another option silently sets that one
    (``--prot`` becomes ``--protocol``), and ARGS, written once in settings, gain nothing.
    """
    parser: argparse.ArgumentParser = config.parser()
    parser.allow_abbrev = False
    return parser


@functools.cache
def known_options() -> frozenset[str]:
    """Every option string of this gunicorn version's command line (built once: each ``Config()``
    builds all of gunicorn's settings)."""
    cli_lists = [setting.cli for setting in Config().settings.values() if setting.cli]
    return frozenset(option for cli in cli_lists for option in cli) | PRINT_AND_EXIT_OPTIONS


class GunicornServer(CommandLineBackend):
    """gunicorn serving ``WSGI_APPLICATION``."""

    program: ClassVar[str] = PROGRAM
    print_and_exit_options: ClassVar[frozenset[str]] = PRINT_AND_EXIT_OPTIONS
    environment_args = "GUNICORN_CMD_ARGS"
    # How long the workers may finish their requests after SIGTERM before the arbiter kills
    # them; gunicorn's default is the base's, 30 s.
    graceful_timeout_options = frozenset({"--graceful-timeout"})
    bounds: ClassVar[dict[str, Any]] = BOUNDS
    platform_options: ClassVar[PlatformOptions] = PlatformOptions(
        port="bind",
        address_flags=frozenset({"--bind", "-b"}),
        workers="workers",
        workers_flags=frozenset({"--workers", "-w"}),
    )

    def option_strings(self) -> frozenset[str]:
        return known_options()

    @functools.cached_property
    def _actions(self) -> dict[str, argparse.Action]:
        return strict_parser(Config(USAGE, prog=PROGRAM))._option_string_actions

    def repeatable(self, flag: str) -> bool:
        # A list repeats an option that gunicorn appends to (bind, env, ...); for any other,
        # gunicorn would keep only the last value, so a list is refused.
        action = self._actions.get(flag)
        return action is None or isinstance(action, argparse._AppendAction)

    def prep_server_args(self) -> list[str]:
        argv = self.user_args()
        user_sets_socket = any(option_flag(token) in CONTROL_SOCKET_OPTIONS for token in argv)
        if NO_CONTROL_SOCKET in self.known_options and not user_sets_socket:
            argv = [NO_CONTROL_SOCKET, *argv]
        return argv

    def parse(self, errors: ArgsErrors) -> argparse.Namespace:
        parser = strict_parser(Config(USAGE, prog=PROGRAM))
        options, extra = parse_with_argparse(
            errors, parser, print_and_exit_options=PRINT_AND_EXIT_OPTIONS
        )
        # gunicorn's APP_MODULE positional takes the first positional arguments; any later
        # ones are left over with the unknown options.
        positionals = [*options.args, *(token for token in extra if not token.startswith("-"))]
        if positionals:
            raise errors.unexpected_argument(positionals[0], application_from("WSGI_APPLICATION"))
        if extra:
            raise errors.unknown_option(option_flag(extra[0]))
        if getattr(options, "paste", None) is not None:
            raise errors.not_allowed(APPLICATION_OPTIONS, application_from("WSGI_APPLICATION"))
        for name, why in NOT_SERVING.items():
            if getattr(options, name, None):
                raise errors.not_allowed(Config().settings[name].cli, why)
        return options

    def check_values(self, errors: ArgsErrors, parsed: Any) -> None:
        self._validate_values(errors, parsed)

    def _validate_values(self, errors: ArgsErrors, options: argparse.Namespace) -> None:
        """Run gunicorn's own validator of each setting given, as loading its config would."""
        config = Config(USAGE, prog=PROGRAM)
        for name, value in vars(options).items():
            if value is None or name == "args":
                continue
            try:
                config.set(name, value)
            except Exception as e:  # gunicorn's validators raise ValueError, TypeError, ...
                raise errors.invalid_value(config.settings[name].cli, str(e)) from e
        self._validate_settings(errors, config, options)
        validate: Any = getattr(type(config), "validate", None)  # gunicorn 25+
        if validate is not None:
            try:
                validate(config)
            except Exception as e:
                raise errors.rejected(str(e)) from e

    def _validate_settings(
        self, errors: ArgsErrors, config: Config, options: argparse.Namespace
    ) -> None:
        """What gunicorn's validators let through and gunicorn then fails on, or ignores."""
        given = {name for name, value in vars(options).items() if value is not None}
        cli = config.settings
        if "bind" in given:
            for bind in config.bind:
                try:
                    address = parse_address(bind)
                except RuntimeError as e:
                    raise errors.invalid_value(cli["bind"].cli, str(e)) from e
                problem = port_problem(address[1]) if isinstance(address, tuple) else None
                if problem:
                    raise errors.invalid_value(cli["bind"].cli, f"{bind!r}: {problem}")
        reload_options = sorted(name for name in given if name.startswith("reload_"))
        if reload_options and not config.reload:
            raise errors.invalid_value(
                cli[reload_options[0]].cli, "gunicorn ignores it unless 'reload' is set"
            )
        if "workers" in given and config.workers < 1:
            # gunicorn accepts 0, and then serves nothing.
            raise errors.invalid_value(cli["workers"].cli, "at least 1 worker is needed")
        try:
            config.env  # noqa: B018 - splits each 'env' entry, as the arbiter will
        except RuntimeError as e:
            raise errors.invalid_value(cli["raw_env"].cli, f"{e}: write it as NAME=VALUE") from e
        config_file = str(config.config or "") if "config" in given else ""
        if (
            config_file
            and not config_file.startswith("python:")
            and not Path(config_file).is_file()
        ):
            raise errors.invalid_value(cli["config"].cli, f"the file {config_file!r} is missing")
        for name in ("pidfile", "accesslog", "errorlog"):  # files gunicorn creates
            path = getattr(config, name) if name in given else None
            missing = isinstance(path, str) and path != "-" and directory_problem(path)
            if missing:
                raise errors.invalid_value(cli[name].cli, missing)
        for name, file_format in (("logconfig", "ini"), ("logconfig_json", "json")):
            log_problem = name in given and log_config_problem(getattr(config, name), file_format)
            if log_problem:
                raise errors.invalid_value(cli[name].cli, log_problem)
        if "worker_class" in given:
            try:
                config.worker_class  # noqa: B018 - loads the class, as the arbiter will
            except Exception as e:
                # gunicorn appends the import's whole traceback: "...not found: \n\n[Trace".
                failure = str(e).split("\n\n[")[0].rstrip(": ")
                reason = missing_package(e, WORKER_PACKAGES) or failure
                raise errors.invalid_value(cli["worker_class"].cli, reason) from e
        check_tls(
            errors,
            {name: getattr(config, name) for name in ("certfile", "keyfile")},
            lambda name: cli[name].cli,
            given.__contains__,
            certificate="certfile",
            key="keyfile",
            dependent=TLS_OPTIONS,
        )

    def plan_start(self, args: Sequence[str]) -> StartPlan:
        application = DjangoGunicornApplication(self.command_line(args), self.healthcheck())
        config = application.cfg
        for name, why in NOT_SERVING.items():
            if getattr(config, name, False):  # from gunicorn.conf.py: ARGS were checked
                raise self.error(
                    f"gunicorn cannot start: its configuration sets {name!r} ({config.config}): "
                    f"{why}."
                )
        try:
            addresses = list(config.address)
        except RuntimeError as e:  # a bind from gunicorn.conf.py or GUNICORN_CMD_ARGS
            raise self.error(f"gunicorn cannot start: {e}") from e
        listens_itself = not inherits_sockets()
        return StartPlan(
            config=application,
            addresses=[a for a in addresses if isinstance(a, tuple)] if listens_itself else [],
            unix_sockets=[a for a in addresses if isinstance(a, str)] if listens_itself else [],
            reuse_port=bool(config.reuse_port),
            # With preload, gunicorn imports the application here itself: import it here
            # first. Without, only try it in a child: SIGHUP then still reloads the code.
            isolated=not config.preload_app,
        )

    def run(self, args: Sequence[str], plan: StartPlan) -> None:
        plan.config.run()

    def listen_address(self, args: Sequence[str]) -> tuple[str, int] | None:
        config = DjangoGunicornApplication(self.command_line(args)).cfg
        addresses = [address for address in config.address if isinstance(address, tuple)]
        return (str(addresses[0][0]), int(addresses[0][1])) if addresses else None

    def worker_processes(self, args: Sequence[str]) -> int:
        return int(DjangoGunicornApplication(self.command_line(args)).cfg.workers)


# django-prodserver 2.x and 3.0 named the gunicorn application class so.
DjangoApplication = DjangoGunicornApplication
