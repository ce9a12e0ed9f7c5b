"""The Granian backend: Granian started in this process through its Python API.

``ARGS`` takes the options of the installed Granian's command line (``options``); the parsed
values become keyword arguments of ``Granian(target, ...)``, checked first (``checks``), and
``serve()`` runs the workers (``workers``).
"""

from __future__ import annotations

import gc
import multiprocessing
import os
import shlex
import sys
from collections.abc import Mapping, Sequence
from pathlib import Path
from typing import Any, ClassVar, NamedTuple

from django.conf import settings
from granian import Granian
from granian.errors import ConfigurationError

from ...environment import PlatformOptions
from ...exceptions import ProdserverError
from ...option_names import option_name
from ...redact import shown
from ..base import BaseServerBackend
from ..preflight import check_addresses_free, import_application
from . import checks, interfaces, options, static, workers
from .versions import GRANIAN_PARAMETERS, GRANIAN_VERSION, UPSTREAM_SYNONYMS


def _project_dir() -> Path:
    base_dir = getattr(settings, "BASE_DIR", None)
    if base_dir:
        return Path(base_dir)
    script = Path(sys.argv[0])
    return script.resolve().parent if script.is_file() else Path.cwd()


class GranianCall(NamedTuple):
    """Everything ``start_server()`` passes to Granian."""

    target: str
    kwargs: dict[str, Any]
    preload: bool


class GranianServer(BaseServerBackend):
    """Granian serving the project's WSGI or ASGI application.

    The alias picks the interface: ``granian-wsgi`` serves ``WSGI_APPLICATION`` over ``wsgi``,
    ``granian-asgi`` serves the ASGI application over ``asginl``. Reached by a dotted path, this
    class needs ``ARGS['interface']``; the subclasses below stand for one alias each instead.
    """

    program = "granian"
    settings_keys: ClassVar[frozenset[str]] = frozenset({"PRELOAD", "STATIC"})
    platform_options: ClassVar[PlatformOptions] = PlatformOptions(
        port="port",
        address_flags=frozenset({"--port", "--uds"}),
        host="host",
        host_flags=frozenset({"--host", "--address"}),
        workers="workers",
        workers_flags=frozenset({"--workers"}),
        string_is_command_line=True,
    )
    #: The alias of ``interfaces.INTERFACES_BY_ALIAS`` this class stands for; None: the one it is
    #: registered under, if any.
    serves_alias: ClassVar[str | None] = None

    @property
    def server_config(self) -> Any:
        """ARGS as written: 3.0's ``GranianServerBase`` kept it here, and its subclasses read or
        replace it in their ``__init__``; replacing it changes what is parsed, as it did."""
        return self.args_setting

    @server_config.setter
    def server_config(self, args: Any) -> None:
        self.args_setting = args

    # -- ARGS to Granian argv --------------------------------------------------------------

    def prep_server_args(self) -> list[str]:
        """Granian argv: a dict is mapped option by option, a string is split like a shell."""
        argv = self._args_argv()
        static_argv = static.static_argv(self)
        if static_argv and any(token.startswith("--static-path-") for token in argv):
            raise self.error(
                "STATIC sets Granian's static-path options from STATIC_URL and STATIC_ROOT; "
                "remove the static-path options from ARGS, or drop STATIC."
            )
        return [*argv, *static_argv]

    def _args_argv(self) -> list[str]:
        if isinstance(self.args_setting, Mapping):
            return options.map_args(self, self.args_setting).argv
        if isinstance(self.args_setting, str):
            try:
                return shlex.split(self.args_setting)
            except ValueError as e:
                raise self.error(f"ARGS is a string that cannot be split into options: {e}.") from e
        return super().prep_server_args()

    # -- validation and the Granian call ---------------------------------------------------

    def setting_warnings(self) -> list[str]:
        """A warning for each ARGS key spelled as django-prodserver 3.0 spelled it, and for each
        ``GRANIAN_*`` variable of the ``granian`` command set in the environment."""
        warnings = checks.environment_warnings(self, os.environ)
        if not isinstance(self.args_setting, Mapping):
            return warnings
        for key in self.args_setting:
            name = option_name(str(key))
            if name in UPSTREAM_SYNONYMS:
                current = UPSTREAM_SYNONYMS[name]
                spelled = current.replace("-", "_") if "_" in str(key) else current
                warnings.append(
                    f"Process {self.process_name!r}: ARGS[{key!r}] is django-prodserver 3.0's "
                    f"name for Granian's {current!r} option; it still works, but write "
                    f"{spelled!r}."
                )
        return warnings

    def check_args(self, args: Sequence[str]) -> None:
        self.granian_call(args)

    _calls: dict[tuple[str, ...], GranianCall] | None = None  # granian_call()'s, by argv

    def granian_call(self, args: Sequence[str]) -> GranianCall:
        """Parse ``args`` with Granian's command line and build the constructor call, once per
        argv: the checks, ``--dry-run``, the start and the deployment facts share it."""
        if self._calls is None:
            self._calls = {}
        key = tuple(args)
        if key not in self._calls:
            self._calls[key] = self._build_call(args)
        return self._calls[key]

    def _build_call(self, args: Sequence[str]) -> GranianCall:
        origins = (
            options.map_args(self, self.args_setting).origins
            if isinstance(self.args_setting, Mapping)
            else {}
        )
        given = options.parse(self, args, origins)
        checks.check_ranges(self, given, origins)
        interface = self._interface(given.pop("interface", None), origins)
        target = self._target(interface)
        kwargs = {"interface": interface, **options.constructor_kwargs(self, given, origins)}
        if interface == "wsgi" and not any(
            name in given or name in origins for name in workers.POOL_OPTIONS
        ):
            kwargs["blocking_threads"] = workers.DJANGO_WSGI_BLOCKING_THREADS
        for name, value in workers.PRODUCTION_DEFAULTS.items():
            if name not in given and name in GRANIAN_PARAMETERS:
                kwargs[name] = value
        if kwargs.get("reload") and "reload_paths" not in kwargs:
            kwargs["reload_paths"] = [_project_dir()]
        checks.check_combination(self, kwargs, origins)
        # Interface first, then the constructor's own order: a stable, readable --dry-run.
        order = list(GRANIAN_PARAMETERS)
        ordered = dict(sorted(kwargs.items(), key=lambda item: order.index(item[0])))
        ordered = {"interface": interface, **ordered}
        preload = self._preload_setting() and not kwargs.get("reload") and not kwargs.get("factory")
        return GranianCall(target, ordered, preload)

    def application_interface(self) -> str | None:
        family = interfaces.INTERFACES_BY_ALIAS.get(self.serves_alias or self.alias or "")
        return {interfaces.WSGI_INTERFACES: "wsgi", interfaces.ASGI_INTERFACES: "asgi"}.get(
            family or ()
        )

    def _interface(self, requested: str | None, origins: options.Origins) -> str:
        key = options.origin_key(origins, "interface", "--interface")
        return interfaces.interface_served(self, self.serves_alias or self.alias, requested, key)

    def _target(self, interface: str) -> str:
        from ... import targets

        try:
            return targets.wsgi_target() if interface == "wsgi" else targets.asgi_target()
        except ProdserverError as e:
            if self.process_name:
                raise e.in_process(self.process_name) from e
            raise

    def _preload_setting(self) -> bool:
        return self.entry_switch("PRELOAD", True)

    def graceful_timeout(self) -> float:
        """Granian's ``workers_kill_timeout``: ARGS's, or the ``DEFAULT_GRACEFUL_TIMEOUT`` (30 s)
        that ``workers.PRODUCTION_DEFAULTS`` passes, Granian having no bound of its own."""
        return float(self.granian_call(self.prep_server_args()).kwargs["workers_kill_timeout"])

    # -- starting --------------------------------------------------------------------------

    def describe_start(self, args: Sequence[str]) -> str:
        call = self.granian_call(args)
        arguments = [repr(call.target)]
        arguments += [
            f"{keyword}={shown(keyword, value)!r}" for keyword, value in call.kwargs.items()
        ]
        serve = "target_loader=load_application" if call.preload else ""
        # A dry run shows no system-check warnings: the variables it would not apply, here.
        ignored = checks.environment_warnings(self, os.environ)
        return "\n".join([f"Granian({', '.join(arguments)}).serve({serve})", *ignored])

    def start_server(self, *args: str) -> None:
        call = self.granian_call(args)
        self._check_address_free(call.kwargs)
        serve_kwargs: dict[str, Any] = {}
        if call.preload:
            # Imported once here, the application is shared copy-on-write by the forked
            # workers, and an import error stops everything before any worker starts.
            workers._PRELOADED[call.target] = import_application(self, call.target)
            serve_kwargs["target_loader"] = workers.load_application
        elif not call.kwargs.get("reload"):
            # Each worker imports it: try it once first, without keeping it in this process.
            import_application(self, call.target, isolated=True)
        if call.kwargs.get("reload"):
            # A forked worker inherits the modules the main process imported (settings,
            # URLconf, views from the system checks) and would serve the old code after a
            # reload; a spawned worker starts from a fresh interpreter.
            multiprocessing.set_start_method("spawn", force=True)
            serve_kwargs["spawn_target"] = workers.ExitLikeAForkedWorker(
                getattr(Granian, workers.SPAWNERS[call.kwargs["interface"]])
            )
        from django.db import connections

        # Forked workers must not share the main process's database sockets.
        connections.close_all()
        if call.preload:
            # Everything loaded so far lives as long as the workers: set aside from the garbage
            # collector, it is not traversed in every worker (ASGI workers spent about 3% more
            # CPU per request without this) nor copied into each one by that traversal.
            gc.freeze()
        try:
            server = Granian(call.target, **call.kwargs)
            server.serve(**serve_kwargs)
        except ConfigurationError as e:
            raise self.error(
                f"Granian {GRANIAN_VERSION} rejected its {e} setting; see its log above."
            ) from e

    def listen_address(self, args: Sequence[str]) -> tuple[str, int] | None:
        return self.listen_address_of(self.granian_call(args).kwargs)

    def worker_processes(self, args: Sequence[str]) -> int:
        workers_given = self.granian_call(args).kwargs.get("workers")
        return int(workers_given or GRANIAN_PARAMETERS["workers"].default)

    def _check_address_free(self, kwargs: dict[str, Any]) -> None:
        # Granian reports a busy port as "Address already in use (os error 98)", without the
        # address; binding here first lets the error name it.
        address = self.listen_address_of(kwargs)
        if address:
            check_addresses_free(self, [address])

    @staticmethod
    def listen_address_of(kwargs: dict[str, Any]) -> tuple[str, int] | None:
        """The TCP address Granian listens on with ``kwargs``; None on a Unix socket."""
        if kwargs.get("uds"):
            return None
        address = kwargs.get("address", GRANIAN_PARAMETERS["address"].default)
        return str(address), int(kwargs.get("port", GRANIAN_PARAMETERS["port"].default))


class GranianASGIServer(GranianServer):
    """``granian-asgi`` under a class name, for ``BACKEND`` dotted paths."""

    serves_alias = "granian-asgi"


class GranianWSGIServer(GranianServer):
    """``granian-wsgi`` under a class name, for ``BACKEND`` dotted paths."""

    serves_alias = "granian-wsgi"


# django-prodserver 2.x named the shared base class so.
GranianServerBase = GranianServer
