"""Flower, Celery's monitoring web application, run in this process as ``celery flower``.

The entry names the Celery application in ``APP``, as for the Celery worker and beat. ``ARGS``
are Flower's options (``celery flower --help``: ``port``, ``address``, ``basic_auth``,
``url_prefix``, ...), parsed by Flower's own option definitions before anything starts: Flower
itself silently ignores an option it does not know.

Its kind is "server": Flower answers HTTP (the dashboard and its API) for as long as it runs,
and consumes no tasks. ``manage.py server`` starts it, and it belongs behind the same proxy and
health checks as the web servers.

Binding: Flower's own default is port 5555 on every interface. This backend adds
``--address=127.0.0.1`` unless ``ARGS`` sets ``address`` or ``unix_socket``: a dashboard that
can revoke tasks and shut workers down must be exposed on purpose.

Flower ends with status 0 on SIGTERM (its own handler) and on SIGINT. It stops at once and has
no timeout option: ``graceful_timeout()`` is the default 30 s.
"""

from __future__ import annotations

import copy
from collections.abc import Mapping, Sequence
from pathlib import Path
from typing import Any, ClassVar

from flower.command import flower as flower_command

try:
    from flower.utils.authentication import validate_auth_option
    from flower.utils.broker import validate_broker_api
except ImportError:  # pragma: no cover - Flower 2.0, the last release for Python 3.9
    from flower.views.auth import validate_auth_option

    def validate_broker_api(url: str) -> None:
        """Flower 2.0 checks nothing here either; its broker API fails when first used."""


from tornado.options import _Option, options

from ..environment import PlatformOptions
from ..option_names import option_name  # "--unix_socket" -> "unix-socket", as tornado names it
from ..stop_signals import exit_zero_on_stop_signals
from .base import BaseServerBackend, args_to_argv
from .celery import CeleryBackend
from .option_values import lists_joined
from .options import ArgsErrors, option_flag
from .preflight import StartPlan, certificate_problem, check_start
from .ranges import CONNECTIONS, port_problem

LOOPBACK = "127.0.0.1"
DEFAULT_PORT = 5555  # Flower's
ADDRESS_OPTIONS = frozenset({"address", "unix-socket"})
PRINT_AND_EXIT_OPTIONS = frozenset({"help"})


def flower_options() -> dict[str, _Option]:
    """Flower's options, Tornado's logging ones included, by name with dashes (Tornado's way)."""
    return dict(options._options)


class CeleryFlower(CeleryBackend, BaseServerBackend):
    """``celery flower``: the Flower dashboard for the Celery application ``APP``."""

    warms_up: ClassVar[bool] = False  # Flower serves its own application, not Django's
    platform_options: ClassVar[PlatformOptions] = PlatformOptions(
        port="port",
        address_flags=frozenset({"--port", "--unix-socket"}),
        host="address",
        host_flags=frozenset({"--address"}),
    )
    subcommand = "flower"
    subcommand_parser = flower_command

    def _known_flags(self) -> list[str]:
        return [f"--{name}" for name in flower_options()]

    def args_errors(self, args: Sequence[str]) -> ArgsErrors:
        return ArgsErrors(
            self, args, self.command_name, self._known_flags(), program=self.command_name
        )

    def negated_flag(self, flag: str) -> str | None:
        option = flower_options().get(option_name(flag))
        if option is not None and option.type is bool:
            return f"{flag}=false"  # tornado's form: --enable-events=false
        return None

    def prep_server_args(self) -> list[str]:
        known = flower_options()

        def comma_separated(flag: str) -> bool:
            option = known.get(option_name(flag))
            return option is not None and option.multiple

        def repeatable(flag: str) -> bool:
            return option_name(flag) not in known  # check_args reports it

        # A "multiple" option takes one comma-separated value; repeated, tornado keeps the last.
        args = lists_joined(self, self.command_name, comma_separated, repeatable)
        argv = args_to_argv(args, self.process_name, self.negated_flag)
        if not any(option_name(option_flag(token)) in ADDRESS_OPTIONS for token in argv):
            argv = [f"--address={LOOPBACK}", *argv]
        return argv

    def check_args(self, args: Sequence[str]) -> None:
        self.celery_app()
        errors = self.args_errors(args)
        errors.check_omitted_flags()
        known = flower_options()
        given: dict[str, Any] = {}
        for token in args:
            if not token.startswith("-"):
                raise errors.unexpected_argument(
                    token, f"{self.command_name} takes no positional arguments"
                )
            flag, equals, value = token.partition("=")
            name = option_name(flag)
            if name in PRINT_AND_EXIT_OPTIONS:
                raise errors.prints_and_exits([flag])
            if name not in known:  # celery's own options (--app, ...) are explained
                raise self._unknown_option(errors, flag)
            given[name] = self._parsed(errors, known[name], flag, value if equals else None)
        self._check_combination(errors, given)

    def _parsed(self, errors: ArgsErrors, option: _Option, flag: str, value: str | None) -> Any:
        """The value as tornado parses it, without touching Flower's global options."""
        if value is None:
            if option.type is not bool:
                raise errors.invalid_value(
                    [flag], f"Flower takes the value after an '=', such as '{flag}=VALUE'"
                )
            value = "true"
        parsing = copy.copy(option)
        parsing.callback = None
        try:
            return parsing.parse(value)
        except Exception as e:  # int(), float(), tornado's own Error, ...
            raise errors.invalid_value([flag], str(e) or type(e).__name__) from e

    def _check_combination(self, errors: ArgsErrors, given: Mapping[str, Any]) -> None:
        """What Flower checks only once it starts, and reports with a log line and exit 1."""
        if bool(given.get("certfile")) != bool(given.get("keyfile")):
            raise errors.rejected("Both 'certfile' and 'keyfile' are required to enable SSL")
        if given.get("certfile"):
            # Tornado loads the pair only at the first handshake, and fails every one.
            problem = certificate_problem(given["certfile"], given["keyfile"])
            if problem:
                raise errors.invalid_value(["--keyfile"], problem)
        problem = port_problem(given["port"]) if "port" in given else None
        if problem:
            raise errors.invalid_value(["--port"], problem)
        errors.check_bounds(dict.fromkeys(["--max-tasks", "--max_tasks"], CONNECTIONS))
        for user in given.get("basic-auth") or []:
            if ":" not in user:
                option = errors.find(["--basic-auth", "--basic_auth"])
                name = option.name if option else "basic_auth"
                # The value is not shown: without its ':' it may be a password alone.
                raise self.error(
                    f"invalid value for {self.command_name} option {name!r} in ARGS: each user "
                    f"is written 'user:password', and Flower answers 401 to every request for "
                    f"an entry without ':'."
                )
        if given.get("auth") and not validate_auth_option(given["auth"]):
            raise errors.invalid_value(
                ["--auth"],
                "Flower takes one '*' at most, only before the '@', and not with '|'",
            )
        if given.get("broker-api"):
            try:
                validate_broker_api(given["broker-api"])
            except ValueError as e:
                raise errors.invalid_value(["--broker-api"], str(e)) from e
        conf = given.get("conf")
        if conf and not Path(conf).is_file():
            raise errors.invalid_value(["--conf"], f"there is no file {conf!r}")

    @staticmethod
    def _given(args: Sequence[str]) -> dict[str, str]:
        given = {}
        for token in args:  # tornado's --name=value form, which prep_server_args() writes
            name, _, value = token.lstrip("-").partition("=")
            given[name.replace("_", "-")] = value
        return given

    def listen_address(self, args: Sequence[str]) -> tuple[str, int] | None:
        given = self._given(args)
        if given.get("unix-socket"):
            return None
        return given.get("address") or LOOPBACK, int(given.get("port") or DEFAULT_PORT)

    def start_server(self, *args: str) -> None:
        # Flower's own answer to a busy port is a 47-line traceback.
        address, unix_socket = self.listen_address(args), self._given(args).get("unix-socket")
        check_start(
            self,
            StartPlan(
                addresses=[address] if address else [],
                unix_sockets=[unix_socket] if unix_socket else [],
            ),
        )
        with exit_zero_on_stop_signals():
            super().start_server(*args)
