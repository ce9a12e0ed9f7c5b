"""Granian, started in this process through its Python API.

``ARGS`` takes the options of the installed Granian's command line. They are turned into
Granian argv and parsed by Granian's own click command, so types, ranges, choices and file
checks are exactly the installed version's; the parsed values then become keyword arguments of
``Granian(target, ...)``. Nothing is started by the parse: the command line's callback never runs.
"""

from __future__ import annotations

import dataclasses
import difflib
import gc
import importlib
import importlib.util
import inspect
import json
import multiprocessing
import os
import shlex
import ssl
import sys
from collections.abc import Mapping, Sequence
from enum import Enum
from importlib import metadata
from pathlib import Path
from typing import Any, ClassVar, NamedTuple

import click
from click.core import ParameterSource
from django.conf import settings

# Imported at the top on purpose: without Granian this import fails, and the registry turns that
# into 'pip install "django-prodserver[granian]"'.
from granian import Granian
from granian.cli import cli as granian_cli
from granian.errors import ConfigurationError
from granian.http import HTTP1Settings, HTTP2Settings

from ..exceptions import ProdserverError, or_list
from ..redact import shown
from ._preflight import check_addresses_free, import_application, import_target
from .base import BaseServerBackend

__all__ = ["import_target"]  # re-exported: load_application's workers use it

GRANIAN_VERSION = metadata.version("granian")
GRANIAN_PARAMETERS = inspect.signature(Granian.__init__).parameters

# Interface families. Plain Django's ASGIHandler raises on the lifespan scope, so ASGI defaults
# to "asginl" (no lifespan); "asgi" stays available for a wrapper that implements lifespan.
ASGI_INTERFACES = ("asginl", "asgi")
WSGI_INTERFACES = ("wsgi",)
DJANGO_INTERFACES = (*WSGI_INTERFACES, *ASGI_INTERFACES)
INTERFACES_BY_ALIAS = {"granian-asgi": ASGI_INTERFACES, "granian-wsgi": WSGI_INTERFACES}

# Blocking threads per WSGI worker unless ARGS says otherwise. Granian's own default is about
# backlog / workers / 2 (512 with one worker), started on demand: under load a Django worker grows
# to hundreds of threads, each holding its own database connection and memory. Eight keeps
# connections countable (workers x 8) and served as fast as 4 or 16 in benchmarks/soak.py.
DJANGO_WSGI_BLOCKING_THREADS = 8
# ARGS options that size the pool: any of them, even set to None, leaves Granian's own rule.
POOL_OPTIONS = ("blocking_threads", "backpressure")

# Granian 2.x refuses more than one blocking thread outside WSGI (ConfigurationError in serve()).
SINGLE_BLOCKING_THREAD_OUTSIDE_WSGI = "runtime_threads" in GRANIAN_PARAMETERS

# Granian 2.3 added serving static files from a route.
SERVES_STATIC_FILES = "static_path_route" in GRANIAN_PARAMETERS

# Command-line parameters whose constructor keyword is named differently.
KWARG_NAMES = {
    "host": "address",
    "ssl_certificate": "ssl_cert",
    "ssl_keyfile": "ssl_key",
    "ssl_keyfile_password": "ssl_key_password",
    "log_access_enabled": "log_access",
    "log_access_fmt": "log_access_format",
    "log_config": "log_dictconfig",
}
# The --http1-*/--http2-* options are fields of one settings object each.
HTTP_SETTINGS: dict[str, type[Any]] = {"http1_": HTTP1Settings, "http2_": HTTP2Settings}
HTTP_FIELD_NAMES = {"http1_buffer_size": "max_buffer_size"}

# Options of later Granian releases: the version that added each, and what to use before it.
NEWER_OPTIONS: dict[str, tuple[str, str]] = {
    "blocking-threads-idle-timeout": ("2.0", ""),
    "runtime-blocking-threads": ("2.0", ""),
    "http1-header-read-timeout": ("2.0", ""),
    "reload-tick": ("2.2", ""),
    "reload-ignore-worker-failure": ("2.2", ""),
    "ssl-ca": ("2.3", ""),
    "ssl-crl": ("2.3", ""),
    "ssl-client-verify": ("2.3", ""),
    "static-path-route": ("2.3", "serve static files with WhiteNoise or a proxy"),
    "static-path-mount": ("2.3", "serve static files with WhiteNoise or a proxy"),
    "static-path-expires": ("2.3", "serve static files with WhiteNoise or a proxy"),
    "working-dir": ("2.4", "use manage.py's --pythonpath"),
    "env-files": ("2.4", "load the file in settings.py"),
    "uds": ("2.5", ""),
    "workers-max-rss": ("2.5", "use 'workers-lifetime' to recycle workers by age"),
    "rss-sample-interval": ("2.5", ""),
    "uds-permissions": ("2.6", ""),
    "ssl-protocol-min": ("2.6", ""),
    "rss-samples": ("2.6", ""),
    "static-path-dir-to-file": ("2.7", ""),
    "metrics": ("2.7", ""),
    "metrics-scrape-interval": ("2.7", ""),
    "metrics-address": ("2.7", ""),
    "metrics-port": ("2.7", ""),
}

# Optional packages Granian needs for some options: option keyword -> (module, install hint).
OPTIONAL_PACKAGES = {
    "reload": ("watchfiles", 'pip install "django-prodserver[granian-reload]"'),
    "process_name": ("setproctitle", 'pip install "granian[pname]"'),
    "env_files": ("dotenv", 'pip install "granian[dotenv]"'),
}

APP_PLACEHOLDER = "django-application"  # the target comes from settings, not from ARGS

# Applications imported by the main process before Granian forks its workers.
_PRELOADED: dict[str, Any] = {}


def load_application(target: str) -> Any:
    """Granian's ``target_loader``: the application the main process imported before forking.

    A worker started with ``spawn`` or ``forkserver`` begins with an empty dict and imports it.
    """
    if target not in _PRELOADED:
        _PRELOADED[target] = import_target(target)
    return _PRELOADED[target]


class CliOption(NamedTuple):
    """One long name of a Granian command-line option."""

    param: click.Option
    negated: bool  # the name is the --no-... form of a switch


class Rename(NamedTuple):
    """A name that the installed Granian spells differently."""

    option: str
    values: Mapping[str, str] | None  # value translations, None to keep values as given


def cli_options(command: click.Command) -> dict[str, CliOption]:
    """Every long option name of ``command`` (without dashes), with its parameter."""
    options: dict[str, CliOption] = {}
    for param in command.params:
        if isinstance(param, click.Option) and param.expose_value:
            for opt in param.opts:
                options[opt.lstrip("-")] = CliOption(param, negated=False)
            for opt in param.secondary_opts:
                options[opt.lstrip("-")] = CliOption(param, negated=True)
    return options


def renames_for(options: Mapping[str, object]) -> dict[str, Rename]:
    """Names that work on Granian 1.x and 2.x alike, mapped to what ``options`` calls them."""
    # "threads" means blocking threads per worker on every version, although Granian 1.x's
    # own --threads meant runtime threads.
    renames = {"threads": Rename("blocking-threads", None)}
    if "runtime-mode" in options and "threading-mode" not in options:  # Granian 2.x
        renames["threading-mode"] = Rename("runtime-mode", {"workers": "st", "runtime": "mt"})
    if "threading-mode" in options and "runtime-mode" not in options:  # Granian 1.x
        renames["runtime-mode"] = Rename("threading-mode", {"st": "workers", "mt": "runtime"})
        renames["runtime-threads"] = Rename("threads", None)
    return renames


def missing_option_message(name: str, options: Sequence[str], version: str) -> str:
    """Why ``name`` is not an option of Granian ``version``, which has ``options``."""
    base_name = name[3:] if name.startswith("no-") else name
    if base_name in NEWER_OPTIONS:
        added, instead = NEWER_OPTIONS[base_name]
        alternative = f", or {instead}" if instead else ", or remove it"
        return (
            f"needs Granian {added} or later; {version} is installed. Upgrade Granian{alternative}."
        )
    close = difflib.get_close_matches(name, options, n=3, cutoff=0.6)
    if close:
        return f"is not an option of Granian {version}. Did you mean {or_list(close)}?"
    return f"is not an option of Granian {version}. `granian --help` lists its options."


def _plain(value: Any) -> Any:
    # Granian's constructor takes its enums' plain values, which also read better in --dry-run.
    if isinstance(value, Enum):
        return value.value
    if isinstance(value, tuple):  # a repeatable option
        return list(value)
    return value


def _shown(keyword: str, value: Any) -> str:
    return repr(shown(keyword, value))


def _project_dir() -> Path:
    base_dir = getattr(settings, "BASE_DIR", None)
    if base_dir:
        return Path(base_dir)
    script = Path(sys.argv[0])
    return script.resolve().parent if script.is_file() else Path.cwd()


class MappedArgs(NamedTuple):
    argv: list[str]
    origins: dict[str, tuple[str, Any]]  # click parameter name -> (ARGS key, value as written)


class GranianCall(NamedTuple):
    """Everything ``start_server()`` passes to Granian."""

    target: str
    kwargs: dict[str, Any]
    preload: bool


class GranianServer(BaseServerBackend):
    """Granian serving the project's WSGI or ASGI application.

    The alias picks the interface: ``granian-wsgi`` serves ``WSGI_APPLICATION`` over ``wsgi``,
    ``granian-asgi`` serves the ASGI application over ``asginl``. Reached by a dotted path, this
    class needs ``ARGS['interface']``; the subclasses below fix the interface family instead.
    """

    program = "granian"
    settings_keys: ClassVar[frozenset[str]] = frozenset({"PRELOAD", "STATIC"})
    #: The interfaces this class serves, the first being the default; None: decided by the alias.
    interfaces: ClassVar[tuple[str, ...] | None] = None

    # -- ARGS to Granian argv --------------------------------------------------------------

    def prep_server_args(self) -> list[str]:
        """Granian argv: a dict is mapped option by option, a string is split like a shell."""
        argv = self._args_argv()
        static_argv = self._static_argv()
        if static_argv and any(token.startswith("--static-path-") for token in argv):
            raise self.error(
                "STATIC sets Granian's static-path options from STATIC_URL and STATIC_ROOT; "
                "remove the static-path options from ARGS, or drop STATIC."
            )
        return [*argv, *static_argv]

    def _args_argv(self) -> list[str]:
        if isinstance(self.args, Mapping):
            return self._map_args(self.args).argv
        if isinstance(self.args, str):
            try:
                return shlex.split(self.args)
            except ValueError as e:
                raise self.error(f"ARGS is a string that cannot be split into options: {e}.") from e
        return super().prep_server_args()

    def _static_argv(self) -> list[str]:
        """Granian's static-file options for Django's STATIC_URL and STATIC_ROOT, when STATIC."""
        static = self.server_config.get("STATIC", False)
        if not isinstance(static, bool):
            raise self.error(f"STATIC must be True or False, not {static!r}.")
        if not static:
            return []
        if not SERVES_STATIC_FILES:
            raise self.error(
                f"STATIC needs Granian 2.3 or later; {GRANIAN_VERSION} is installed. Upgrade "
                f"Granian, or serve static files with WhiteNoise or a proxy."
            )
        return [
            f"--static-path-route={self._static_route()}",
            f"--static-path-mount={self._static_root()}",
        ]

    def _static_route(self) -> str:
        url = str(getattr(settings, "STATIC_URL", "") or "")
        path = url.split("://", 1)[-1].split("/", 1)[-1] if "://" in url else url
        if "://" in url or url.startswith("//") or not path.strip("/"):
            raise self.error(
                f"STATIC serves STATIC_URL from this server, but STATIC_URL is {url!r}. Set it "
                f"to a path such as 'static/', or drop STATIC when a CDN serves the files."
            )
        return "/" + path.strip("/")

    def _static_root(self) -> Path:
        root = getattr(settings, "STATIC_ROOT", None)
        if not root:
            raise self.error(
                "STATIC serves the files 'manage.py collectstatic' gathers in STATIC_ROOT, but "
                "STATIC_ROOT is not set. Set it, such as BASE_DIR / 'staticfiles', and run "
                "collectstatic."
            )
        path = Path(root)
        if not path.is_dir() or not any(path.iterdir()):
            raise self.error(
                f"STATIC serves STATIC_ROOT, but {str(path)!r} is empty or missing. Run "
                f"'manage.py collectstatic' before starting the server."
            )
        return path

    def _map_args(self, args: Mapping[Any, Any]) -> MappedArgs:
        options = cli_options(granian_cli)
        renames = renames_for(options)
        argv: list[str] = []
        origins: dict[str, tuple[str, Any]] = {}
        for key, value in args.items():
            if not isinstance(key, str) or not key.strip("-"):
                raise self.error(f"ARGS has the key {key!r}; keys must be option names.")
            name = key.lstrip("-").replace("_", "-")
            rename = renames.get(name, Rename(name, None))
            option = options.get(rename.option)
            if option is None and name == "static":
                raise self.error(
                    f"ARGS[{key!r}] is not a Granian option: to serve Django's static files, "
                    f"set 'STATIC': True in the process's entry, beside 'ARGS'."
                )
            if option is None:
                message = missing_option_message(name, list(options), GRANIAN_VERSION)
                raise self.error(f"ARGS[{key!r}] {message}")
            param_name = str(option.param.name)
            if param_name in origins:
                first = origins[param_name][0]
                raise self.error(
                    f"ARGS[{first!r}] and ARGS[{key!r}] set the same Granian option "
                    f"{option.param.opts[0]}; keep one."
                )
            origins[param_name] = (key, value)
            argv.extend(self._option_argv(key, value, option, rename.values))
        return MappedArgs(argv, origins)

    def _option_argv(
        self, key: str, value: Any, option: CliOption, values: Mapping[str, str] | None
    ) -> list[str]:
        param = option.param
        if param.is_flag:
            on = self._switch(key, value) != option.negated
            if on:
                return [param.opts[0]]
            return [param.secondary_opts[0]] if param.secondary_opts else []
        if value is None:  # leaves the option at Granian's default
            return []
        items = list(value) if isinstance(value, (list, tuple)) else [value]
        if len(items) != 1 and not param.multiple:
            raise self.error(
                f"ARGS[{key!r}] is {shown(key, value)!r}; this option takes one value, not a list."
            )
        return [f"{param.opts[0]}={self._value_text(key, item, values)}" for item in items]

    def _switch(self, key: str, value: Any) -> bool:
        if value is None or isinstance(value, bool):
            return value is not False  # None gives the bare flag, as for every backend
        if isinstance(value, str):
            try:
                return bool(click.BOOL.convert(value, None, None))
            except click.BadParameter:
                pass
        raise self.error(
            f"ARGS[{key!r}] is {shown(key, value)!r}; a switch takes True or False "
            f"(or the strings 'true', 'false', 'yes', 'no', 'on', 'off', '1', '0')."
        )

    def _value_text(self, key: str, value: Any, values: Mapping[str, str] | None) -> str:
        if isinstance(value, bool):
            raise self.error(
                f"ARGS[{key!r}] is {shown(key, value)!r}; this option takes a value, "
                f"not True or False."
            )
        if not isinstance(value, (str, int, float, os.PathLike)):
            raise self.error(
                f"ARGS[{key!r}] holds {shown(key, value)!r} ({type(value).__name__}); a value "
                f"must be a string, a number or a path, or a list of those for an option that "
                f"repeats."
            )
        text = os.fspath(value) if isinstance(value, os.PathLike) else str(value)
        if values is None:
            return text
        if text not in values:
            raise self.error(f"ARGS[{key!r}] is {value!r}; accepted: {or_list(sorted(values))}.")
        return values[text]

    # -- validation and the Granian call ---------------------------------------------------

    def check_args(self, args: Sequence[str]) -> None:
        self.granian_call(args)

    def granian_call(self, args: Sequence[str]) -> GranianCall:
        """Parse ``args`` with Granian's command line and build the constructor call."""
        origins = self._map_args(self.args).origins if isinstance(self.args, Mapping) else {}
        ctx = self._parse(args, origins)
        given = {
            name: _plain(value)
            for name, value in ctx.params.items()
            if name != "app" and ctx.get_parameter_source(name) is ParameterSource.COMMANDLINE
        }
        interface = self._interface(given.pop("interface", None), origins)
        target = self._target(interface)
        kwargs = {"interface": interface, **self._constructor_kwargs(given, origins)}
        if interface == "wsgi" and not any(
            name in given or name in origins for name in POOL_OPTIONS
        ):
            kwargs["blocking_threads"] = DJANGO_WSGI_BLOCKING_THREADS
        if kwargs.get("reload") and "reload_paths" not in kwargs:
            kwargs["reload_paths"] = [_project_dir()]
        self._check_combination(kwargs, origins)
        # Interface first, then the constructor's own order: a stable, readable --dry-run.
        order = list(GRANIAN_PARAMETERS)
        ordered = dict(sorted(kwargs.items(), key=lambda item: order.index(item[0])))
        ordered = {"interface": interface, **ordered}
        preload = self._preload_setting() and not kwargs.get("reload") and not kwargs.get("factory")
        return GranianCall(target, ordered, preload)

    def _parse(self, argv: Sequence[str], origins: dict[str, tuple[str, Any]]) -> click.Context:
        for token in argv:
            if token in ("--help", "--version"):
                raise self.error(f"ARGS cannot contain {token}: it would print and exit.")
        try:
            return granian_cli.make_context("granian", [APP_PLACEHOLDER, *argv])
        except click.NoSuchOption as e:
            message = missing_option_message(
                e.option_name.lstrip("-"), list(cli_options(granian_cli)), GRANIAN_VERSION
            )
            raise self.error(f"ARGS option {e.option_name!r} {message}") from e
        except click.BadParameter as e:
            raise self.error(f"{self._named(e.param, origins)}: {e.message}") from e
        except click.ClickException as e:
            message = e.format_message().replace(APP_PLACEHOLDER, "the application")
            raise self.error(f"Granian {GRANIAN_VERSION} rejects ARGS: {message}") from e

    def _named(self, param: click.Parameter | None, origins: dict[str, tuple[str, Any]]) -> str:
        # How an error names the setting that caused it: the ARGS key with its value, or the
        # option as written in a string or list ARGS.
        origin = origins.get(str(param.name)) if param else None
        if origin:
            value = shown(origin[0], origin[1])
            return f"ARGS[{origin[0]!r}] is {value!r}, which Granian {GRANIAN_VERSION} rejects"
        flag = param.opts[0] if param else "?"
        return f"ARGS option {flag!r} is rejected by Granian {GRANIAN_VERSION}"

    def _backend_name(self) -> str:
        return str(self.server_config.get("BACKEND") or self.alias or type(self).__name__)

    def _interface(self, requested: str | None, origins: dict[str, tuple[str, Any]]) -> str:
        key = origins.get("interface", ("--interface",))[0]
        family = self.interfaces or INTERFACES_BY_ALIAS.get(self.alias or "")
        if family is None:
            return self._interface_without_family(requested, key)
        if requested is None:
            return family[0]
        if requested not in family:
            other = "granian-wsgi" if family == ASGI_INTERFACES else "granian-asgi"
            raise self.error(
                f"ARGS[{key!r}] is {requested!r}, but BACKEND {self._backend_name()!r} serves "
                f"{or_list(family)}. Remove ARGS[{key!r}], or use BACKEND {other!r}."
            )
        return requested

    def _interface_without_family(self, requested: str | None, key: str) -> str:
        if requested is None:
            raise self.error(
                f"BACKEND {self._backend_name()!r} does not say which interface to serve. "
                f"Use BACKEND 'granian-wsgi' or 'granian-asgi', or set ARGS['interface'] "
                f"to 'wsgi', 'asginl' or 'asgi'."
            )
        if requested not in DJANGO_INTERFACES:
            raise self.error(
                f"ARGS[{key!r}] is {requested!r}; Django is served over "
                f"{or_list(DJANGO_INTERFACES)}."
            )
        return requested

    def _target(self, interface: str) -> str:
        from .. import targets

        try:
            return targets.wsgi_target() if interface == "wsgi" else targets.asgi_target()
        except ProdserverError as e:
            if self.process_name:
                raise e.in_process(self.process_name) from e
            raise

    def _constructor_kwargs(
        self, given: dict[str, Any], origins: dict[str, tuple[str, Any]]
    ) -> dict[str, Any]:
        kwargs: dict[str, Any] = {}
        http_fields: dict[str, dict[str, Any]] = {prefix: {} for prefix in HTTP_SETTINGS}
        for name, value in given.items():
            prefix = name[:6]
            if prefix in HTTP_SETTINGS:
                http_fields[prefix][HTTP_FIELD_NAMES.get(name, name[6:])] = value
            elif name == "log_config":
                kwargs["log_dictconfig"] = self._log_dictconfig(value, origins)
            else:
                kwargs[KWARG_NAMES.get(name, name)] = value
        for prefix, fields in http_fields.items():
            if fields:
                kwargs[prefix + "settings"] = self._http_settings(HTTP_SETTINGS[prefix], fields)
        for keyword in kwargs:
            if keyword not in GRANIAN_PARAMETERS:
                raise self.error(
                    f"Granian {GRANIAN_VERSION} has a command-line option for {keyword!r} but "
                    f"no such argument to Granian(); remove it from ARGS."
                )
        return kwargs

    def _http_settings(self, settings_class: type[Any], fields: dict[str, Any]) -> Any:
        known = {field.name for field in dataclasses.fields(settings_class)}
        for name in fields:
            if name not in known:
                raise self.error(
                    f"Granian {GRANIAN_VERSION} has a command-line option for {name!r} but "
                    f"{settings_class.__name__} has no such field; remove it from ARGS."
                )
        return settings_class(**fields)

    def _log_dictconfig(self, path: Path, origins: dict[str, tuple[str, Any]]) -> Any:
        key = origins.get("log_config", ("--log-config",))[0]
        try:
            config = json.loads(path.read_text())
        except (OSError, ValueError) as e:
            raise self.error(f"ARGS[{key!r}]: {str(path)!r} is not a JSON file: {e}.") from e
        if not isinstance(config, dict):
            raise self.error(
                f"ARGS[{key!r}]: {str(path)!r} must hold a JSON object (a logging dictConfig)."
            )
        return config

    def _check_combination(self, kwargs: dict[str, Any], origins: dict[str, Any]) -> None:
        """What Granian would reject only after starting, or not at all, rejected now."""
        self._check_ssl(kwargs)
        threads = kwargs.get("blocking_threads", 1)
        if SINGLE_BLOCKING_THREAD_OUTSIDE_WSGI and kwargs["interface"] != "wsgi" and threads > 1:
            key = origins.get("blocking_threads", ("--blocking-threads",))[0]
            raise self.error(
                f"ARGS[{key!r}] is {threads}, but Granian {GRANIAN_VERSION} runs ASGI with one "
                f"blocking thread per worker. Use more 'workers', or BACKEND 'granian-wsgi'."
            )
        for keyword, (module, hint) in OPTIONAL_PACKAGES.items():
            if kwargs.get(keyword) and importlib.util.find_spec(module) is None:
                option = keyword.replace("_", "-")
                raise self.error(
                    f"Granian's {option!r} option needs the {module!r} package, which is not "
                    f"installed. Install it with: {hint}"
                )

    def _check_ssl(self, kwargs: dict[str, Any]) -> None:
        cert, key = kwargs.get("ssl_cert"), kwargs.get("ssl_key")
        if cert is None and key is None:
            return
        if cert is None or key is None:
            missing = "ssl-certificate" if cert is None else "ssl-keyfile"
            # Granian would silently serve plain HTTP.
            raise self.error(
                f"HTTPS needs both 'ssl-certificate' and 'ssl-keyfile'; set {missing!r}."
            )
        context = ssl.SSLContext(ssl.PROTOCOL_TLS_SERVER)
        try:
            context.load_cert_chain(cert, key, kwargs.get("ssl_key_password"))
        except (ssl.SSLError, OSError) as e:
            raise self.error(
                f"the certificate {str(cert)!r} and key {str(key)!r} cannot be loaded: {e}."
            ) from e

    def _preload_setting(self) -> bool:
        preload = self.server_config.get("PRELOAD", True)
        if not isinstance(preload, bool):
            raise self.error(f"PRELOAD must be True or False, not {preload!r}.")
        return preload

    # -- starting --------------------------------------------------------------------------

    def describe_start(self, args: Sequence[str]) -> str:
        call = self.granian_call(args)
        arguments = [repr(call.target)]
        arguments += [
            f"{keyword}={_shown(keyword, value)}" for keyword, value in call.kwargs.items()
        ]
        serve = "target_loader=load_application" if call.preload else ""
        return f"Granian({', '.join(arguments)}).serve({serve})"

    def start_server(self, *args: str) -> None:
        call = self.granian_call(args)
        self._check_address_free(call.kwargs)
        serve_kwargs: dict[str, Any] = {}
        if call.preload:
            self._preload(call.target)
            serve_kwargs["target_loader"] = load_application
        elif not call.kwargs.get("reload"):
            # Each worker imports it: try it once first, without keeping it in this process.
            import_application(self, call.target, isolated=True)
        if call.kwargs.get("reload"):
            # A forked worker inherits the modules the main process imported (settings,
            # URLconf, views from the system checks) and would serve the old code after a
            # reload; a spawned worker starts from a fresh interpreter.
            multiprocessing.set_start_method("spawn", force=True)
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

    def _check_address_free(self, kwargs: dict[str, Any]) -> None:
        # Granian reports a busy port as "Address already in use (os error 98)", without the
        # address; binding here first lets the error name it.
        if kwargs.get("uds"):
            return
        address = kwargs.get("address", GRANIAN_PARAMETERS["address"].default)
        port = int(kwargs.get("port", GRANIAN_PARAMETERS["port"].default))
        check_addresses_free(self, [(address, port)])

    def _preload(self, target: str) -> None:
        # Imported once here, the application is shared copy-on-write by the forked workers,
        # and an import error stops everything before any worker starts.
        _PRELOADED[target] = import_application(self, target)


class GranianASGIServer(GranianServer):
    """``granian-asgi`` under a class name, for ``BACKEND`` dotted paths."""

    interfaces = ASGI_INTERFACES


class GranianWSGIServer(GranianServer):
    """``granian-wsgi`` under a class name, for ``BACKEND`` dotted paths."""

    interfaces = WSGI_INTERFACES
