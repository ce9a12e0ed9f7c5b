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
"""

from __future__ import annotations

import argparse
import signal
from collections.abc import Sequence
from typing import Any, ClassVar

from gunicorn.app.wsgiapp import WSGIApplication
from gunicorn.config import Config
from gunicorn.util import parse_address

from .. import targets
from ._options import (
    ArgsErrors,
    application_from,
    lists_joined,
    negation,
    option_flag,
    silenced,
)
from ._preflight import (
    certificate_problem,
    check_addresses_free,
    import_application,
    inherits_sockets,
    port_problem,
)
from .base import BaseServerBackend, args_to_argv

PROGRAM = "gunicorn"
USAGE = "%(prog)s [OPTIONS] [APP_MODULE]"
NO_CONTROL_SOCKET = "--no-control-socket"
CONTROL_SOCKET_OPTIONS = frozenset({"--control-socket", NO_CONTROL_SOCKET})
PRINT_AND_EXIT_OPTIONS = frozenset({"-h", "--help", "-v", "--version"})
# Options that would replace WSGI_APPLICATION as the application.
APPLICATION_OPTIONS = frozenset({"--paste", "--paster"})


def strict_parser(config: Config) -> argparse.ArgumentParser:
    """gunicorn's parser for ``config``, without argparse's abbreviations.

    With them, a typo that happens to prefix another option silently sets that one
    (``--prot`` becomes ``--protocol``), and ARGS, written once in settings, gain nothing.
    """
    parser: argparse.ArgumentParser = config.parser()
    parser.allow_abbrev = False
    return parser


def known_options() -> frozenset[str]:
    """Every option string of this gunicorn version's command line."""
    cli_lists = [setting.cli for setting in Config().settings.values() if setting.cli]
    return frozenset(option for cli in cli_lists for option in cli) | PRINT_AND_EXIT_OPTIONS


def _repeatable(flag: str) -> bool:
    actions = strict_parser(Config(USAGE, prog=PROGRAM))._option_string_actions
    action = actions.get(flag)
    return action is None or isinstance(action, argparse._AppendAction)


# TLS options gunicorn reads only when it serves HTTPS, that is when certfile is set.
TLS_OPTIONS = (
    "ssl_version",
    "cert_reqs",
    "ca_certs",
    "ciphers",
    "suppress_ragged_eofs",
    "do_handshake_on_connect",
)


class _ConfigFromArgv(Config):  # type: ignore[misc]  # gunicorn ships no type hints
    """gunicorn's ``Config``, whose parser reads the given argv rather than ``sys.argv``.

    ``Application.load_config()`` calls ``parser.parse_args()`` with no arguments, which reads
    ``sys.argv``: the ``manage.py prodserver`` command line, Django's own options included.
    Everything else it does (gunicorn.conf.py, ``--config``, ``GUNICORN_CMD_ARGS``) is kept.
    """

    def __init__(self, argv: Sequence[str], usage: str | None, prog: str | None) -> None:
        super().__init__(usage, prog=prog)
        self.argv = list(argv)

    def parser(self) -> argparse.ArgumentParser:
        parser: argparse.ArgumentParser = super().parser()
        parser.allow_abbrev = False  # as in strict_parser(), which checked these arguments
        parse_args = parser.parse_args
        argv = self.argv

        def parse_given_argv(
            args: Sequence[str] | None = None, namespace: argparse.Namespace | None = None
        ) -> argparse.Namespace:
            return parse_args(argv if args is None else args, namespace)

        parser.parse_args = parse_given_argv  # type: ignore[method-assign,assignment]
        return parser


class DjangoGunicornApplication(WSGIApplication):  # type: ignore[misc]
    """gunicorn's WSGI application, configured from ``argv`` (options, then APP_MODULE)."""

    def __init__(self, argv: Sequence[str]) -> None:
        self.argv = list(argv)
        super().__init__(USAGE, prog=PROGRAM)

    def load_default_config(self) -> None:
        self.cfg = _ConfigFromArgv(self.argv, self.usage, prog=self.prog)

    def load_config(self) -> None:
        super().load_config()
        graceful_on_sigint(self.cfg)


def graceful_on_sigint(config: Config) -> None:
    """Make SIGINT stop the arbiter and its workers as SIGTERM does, keeping the user's hooks."""
    when_ready = config.when_ready
    post_worker_init = config.post_worker_init

    def when_ready_then_graceful(arbiter: Any) -> None:
        # The arbiter dispatches a queued signal to handle_<name>: SIGINT now takes the
        # graceful path of SIGTERM instead of stopping the workers at once.
        arbiter.handle_int = arbiter.handle_term
        when_ready(arbiter)

    def post_worker_init_then_graceful(worker: Any) -> None:
        # A Ctrl-C reaches the workers too (the whole process group): finish the requests.
        signal.signal(signal.SIGINT, worker.handle_exit)
        post_worker_init(worker)

    config.set("when_ready", when_ready_then_graceful)
    config.set("post_worker_init", post_worker_init_then_graceful)


class GunicornServer(BaseServerBackend):
    """gunicorn serving ``WSGI_APPLICATION``."""

    program: ClassVar[str] = PROGRAM

    def negated_flag(self, flag: str) -> str | None:
        # gunicorn has few: --no-sendfile, --no-control-socket.
        return negation(flag, known_options())

    def prep_server_args(self) -> list[str]:
        # A list repeats an option that gunicorn appends to (bind, env, ...); for any other,
        # gunicorn would keep only the last value, so a list is refused.
        args = lists_joined(self, PROGRAM, lambda flag: False, _repeatable)
        argv = args_to_argv(args, self.process_name, self.negated_flag)
        known = known_options()
        user_sets_socket = any(option_flag(token) in CONTROL_SOCKET_OPTIONS for token in argv)
        if NO_CONTROL_SOCKET in known and not user_sets_socket:
            argv = [NO_CONTROL_SOCKET, *argv]
        return argv

    def check_args(self, args: Sequence[str]) -> None:
        errors = ArgsErrors(self, args, PROGRAM, known_options())
        errors.check_omitted_flags()
        errors.check_no_print_and_exit(PRINT_AND_EXIT_OPTIONS)
        options = self._parse(errors, args)
        self._validate_values(errors, options)
        targets.wsgi_target()

    def _parse(self, errors: ArgsErrors, args: Sequence[str]) -> argparse.Namespace:
        parser = strict_parser(Config(USAGE, prog=PROGRAM))
        # Raise ArgumentError instead of printing usage and exiting.
        parser.exit_on_error = False
        try:
            # Combined short flags ("-hD") still reach argparse's help or version action, and
            # parser.error() still prints and exits: keep that off the terminal.
            with silenced() as captured:
                options, extra = parser.parse_known_args(list(args))
        except argparse.ArgumentError as e:
            option_strings = e.argument_name.split("/") if e.argument_name else []
            raise errors.invalid_value(option_strings, e.message) from e
        except SystemExit as e:
            if not e.code:
                raise errors.prints_and_exits(PRINT_AND_EXIT_OPTIONS) from e
            reason = captured.getvalue().strip().splitlines()[-1].partition("error: ")[2]
            raise errors.rejected(reason) from e
        # gunicorn's APP_MODULE positional takes the first positional arguments; any later
        # ones are left over with the unknown options.
        positionals = [*options.args, *(token for token in extra if not token.startswith("-"))]
        if positionals:
            raise errors.unexpected_argument(positionals[0], application_from("WSGI_APPLICATION"))
        if extra:
            raise errors.unknown_option(option_flag(extra[0]))
        if getattr(options, "paste", None) is not None:
            raise errors.not_allowed(APPLICATION_OPTIONS, application_from("WSGI_APPLICATION"))
        return options

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
        if "worker_class" in given:
            try:
                config.worker_class  # noqa: B018 - loads the class, as the arbiter will
            except Exception as e:
                # gunicorn appends the import's whole traceback: "...not found: \n\n[Traceback".
                reason = str(e).split("\n\n[")[0].rstrip(": ")
                raise errors.invalid_value(cli["worker_class"].cli, reason) from e
        tls_options = [name for name in TLS_OPTIONS if name in given]
        if tls_options and not config.certfile:
            raise errors.invalid_value(
                cli[tls_options[0]].cli, "gunicorn ignores it unless 'certfile' is set"
            )
        if "certfile" in given or "keyfile" in given:
            if not config.certfile:
                raise errors.invalid_value(
                    cli["keyfile"].cli, "HTTPS needs 'certfile' too; set it, or remove 'keyfile'"
                )
            problem = certificate_problem(config.certfile, config.keyfile)
            if problem:
                option = "keyfile" if "keyfile" in given else "certfile"
                raise errors.invalid_value(cli[option].cli, problem)

    def start_server(self, *args: str) -> None:
        target = targets.wsgi_target()
        application = DjangoGunicornApplication([*args, target])
        config = application.cfg
        if not inherits_sockets():
            try:
                addresses = [address for address in config.address if isinstance(address, tuple)]
            except RuntimeError as e:  # a bind from gunicorn.conf.py or GUNICORN_CMD_ARGS
                raise self.error(f"gunicorn cannot start: {e}") from e
            check_addresses_free(self, addresses, reuse_port=config.reuse_port)
        # With preload, gunicorn imports the application here itself: import it here first.
        import_application(self, target, isolated=not config.preload_app)
        # Workers are forked from this process: a database connection opened here (by the
        # system checks, say) must not be shared by all of them.
        from django.db import connections

        connections.close_all()
        application.run()

    def describe_start(self, args: Sequence[str]) -> str:
        return super().describe_start([*args, targets.wsgi_target()])
