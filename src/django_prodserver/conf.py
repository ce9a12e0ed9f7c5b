"""Read ``PRODUCTION_PROCESSES`` and turn one entry into a ready backend.

Everything here raises ``ProdserverError`` subclasses worded for the process concerned; the
command and the system checks share it, so both say the same thing about the same mistake.
"""

from __future__ import annotations

import difflib
import os
from collections.abc import Mapping, Sequence
from typing import Any, NamedTuple

from django.conf import settings

from . import environment, registry, warmup
from .backends.base import BaseProcessBackend
from .exceptions import (
    EntryNotAMapping,
    InvalidApplication,
    InvalidArgsType,
    InvalidBackend,
    InvalidOverride,
    MissingBackendKey,
    NoProcesses,
    ProdserverError,
    SettingNotAMapping,
    UnknownEntryKey,
    UnknownProcess,
)
from .option_names import same_option
from .redact import redact_argv

SETTING = "PRODUCTION_PROCESSES"
COMMON_KEYS = frozenset({"BACKEND", "ARGS"})


class ProcessConfig(NamedTuple):
    """One validated entry of ``PRODUCTION_PROCESSES``."""

    name: str
    backend: str
    entry: Mapping[str, Any]  # the whole entry; the backend receives it as keyword arguments
    #: Where the listen port and the worker count come from, once ``with_environment`` has run.
    sources: tuple[str, ...] = ()


def processes_setting() -> Mapping[str, Any]:
    """The setting itself, checked to be a non-empty mapping of names to entries."""
    processes = getattr(settings, SETTING, None)
    if processes is None:
        raise NoProcesses(
            f"{SETTING} is not set. Add it to your settings, such as "
            f"{SETTING} = {{'web': {{'BACKEND': 'gunicorn'}}}}."
        )
    if not isinstance(processes, Mapping):
        raise SettingNotAMapping(
            f"{SETTING} must be a dict of process names to settings, "
            f"not {type(processes).__name__}."
        )
    if not processes:
        raise NoProcesses(
            f"{SETTING} is empty. Add a process, such as {{'web': {{'BACKEND': 'gunicorn'}}}}."
        )
    for name in processes:
        if not isinstance(name, str) or not name:
            raise SettingNotAMapping(
                f"{SETTING} has the key {name!r}; process names must be non-empty strings."
            )
    return processes


def _suggest(word: str, choices: list[str]) -> str:
    close = difflib.get_close_matches(word, choices, n=1, cutoff=0.6)
    return f" Did you mean {close[0]!r}?" if close else ""


def get_process(name: str | None = None) -> ProcessConfig:
    """The entry for process ``name``, or the first one when no name is given."""
    processes = processes_setting()
    if name is None:
        name = next(iter(processes))
    elif name not in processes:
        raise UnknownProcess(
            f"There is no process {name!r} in {SETTING}.{_suggest(name, list(processes))} "
            f"Configured processes: {', '.join(processes)}."
        )
    return validate_entry(name, processes[name])


_WORDS = {"true": True, "false": False, "none": None}


def with_overrides(config: ProcessConfig, overrides: list[str]) -> ProcessConfig:
    """``config`` with ``--set OPTION=VALUE`` overrides merged into its ARGS dict."""
    if not overrides:
        return config
    args = config.entry.get("ARGS") or {}
    if not isinstance(args, Mapping):
        raise InvalidOverride(
            f"Process {config.name!r}: --set needs ARGS to be a dict, but it is a "
            f"{type(args).__name__}. Write ARGS as a dict of options to override them."
        )
    merged: dict[str, Any] = dict(args)
    given: dict[str, list[Any]] = {}
    for override in overrides:
        option, equals, text = override.partition("=")
        if not equals or not option.strip():
            raise InvalidOverride(
                f"Process {config.name!r}: --set {override!r} is not OPTION=VALUE, "
                f"such as --set workers=8."
            )
        given.setdefault(option.strip(), []).append(_WORDS.get(text.lower(), text))
    for option, values in given.items():
        # "max_requests" in ARGS and --set max-requests=... are the same option.
        for key in [k for k in merged if same_option(k, option)]:
            del merged[key]
        merged[option] = values[0] if len(values) == 1 else values
    return config._replace(entry={**config.entry, "ARGS": merged})


def with_environment(
    config: ProcessConfig,
    environ: Mapping[str, str] | None = None,
    assigned: environment.AssignedPort | None = None,
    resolved_backend: registry.ResolvedBackend | None = None,
) -> ProcessConfig:
    """``config`` with ``$PORT`` and ``$WEB_CONCURRENCY`` applied to ARGS where ARGS leaves
    the port or the worker count unset (``environment.apply``); ``--set`` overrides, merged
    before, count as ARGS. ``assigned`` is the port ``--all`` gives the process;
    ``resolved_backend`` what its BACKEND resolves to, if it is known already."""
    backend_class = (resolved_backend or resolved(config)).backend_class
    conventions = environment.apply(
        config.name,
        config.backend,
        config.entry.get("ARGS"),
        backend_class.platform_options if backend_class.kind == "server" else None,
        os.environ if environ is None else environ,
        assigned=assigned,
    )
    entry = dict(config.entry)
    if conventions.args is not entry.get("ARGS"):
        entry["ARGS"] = conventions.args
    return config._replace(entry=entry, sources=conventions.sources)


def resolved(config: ProcessConfig) -> registry.ResolvedBackend:
    """What the process's BACKEND resolves to; an error is worded for the process."""
    try:
        return registry.resolve(config.backend)
    except ProdserverError as e:
        raise e.in_process(config.name) from e.__cause__


def validate_entry(name: str, entry: Any) -> ProcessConfig:
    """Check the shape of one entry: a mapping with a BACKEND string and a usable ARGS."""
    if not isinstance(entry, Mapping):
        raise EntryNotAMapping(
            f"Process {name!r}: its entry in {SETTING} must be a dict with a 'BACKEND' key, "
            f"not {type(entry).__name__}."
        )
    if "BACKEND" not in entry:
        keys = [key for key in entry if isinstance(key, str)]
        typo = difflib.get_close_matches("BACKEND", keys, n=1, cutoff=0.6)
        found = f" It has {typo[0]!r}: did you mean 'BACKEND'?" if typo else ""
        raise MissingBackendKey(
            f"Process {name!r}: its entry has no 'BACKEND' key.{found} Set 'BACKEND' to a "
            f"backend alias such as 'gunicorn', or a dotted path to a backend class."
        )
    backend = entry["BACKEND"]
    if not isinstance(backend, str) or not backend.strip():
        raise MissingBackendKey(
            f"Process {name!r}: 'BACKEND' must be a backend alias or a dotted path, "
            f"not {backend!r}."
        )
    args = entry.get("ARGS")
    if args is not None and not isinstance(args, (Mapping, str, list, tuple)):
        raise InvalidArgsType(
            f"Process {name!r}: 'ARGS' must be a dict of options, a string or a list of "
            f"strings, not {type(args).__name__}."
        )
    return ProcessConfig(name, backend, entry)


def entry_keys(backend_class: type[BaseProcessBackend]) -> frozenset[str] | None:
    """The keys an entry with this backend may have: BACKEND, ARGS, HEALTHCHECK for a server,
    and those the backend reads itself; None for a backend that does not declare
    ``settings_keys`` (it receives the whole entry, as in 3.0)."""
    if backend_class.settings_keys is None:
        return None
    keys = COMMON_KEYS | backend_class.settings_keys
    return keys | {warmup.KEY} if backend_class.kind == "server" else keys


def load_backend(
    config: ProcessConfig, resolved_backend: registry.ResolvedBackend | None = None
) -> BaseProcessBackend:
    """Build the process's backend (its BACKEND resolved, unless ``resolved_backend`` gives it),
    rejecting keys it does not read."""
    resolved_backend = resolved_backend or resolved(config)
    backend_class = resolved_backend.backend_class
    _refuse_base_class(config, backend_class)
    allowed = entry_keys(backend_class)
    if allowed is not None:
        for key in config.entry:
            if key not in allowed and key != warmup.KEY:  # on a worker: its own line below
                raise UnknownEntryKey(
                    f"Process {config.name!r}: unknown key {key!r} in its entry."
                    f"{_suggest(str(key), sorted(allowed))} "
                    f"Backend {config.backend!r} reads: {', '.join(sorted(allowed))}."
                )
    warmup.healthcheck_path(config.name, config.entry, backend_class.kind)
    return backend_class(alias=resolved_backend.alias, process_name=config.name, **config.entry)


#: A backend to name instead of a base class that has not set its class attributes.
#: A backend of each kind, to name instead of a base class of that kind.
_EXAMPLES = {
    "server": "'granian-wsgi'",
    "worker": "'celery-worker'",
    "dev": "'runserver'",
    "process": "'granian-wsgi' or 'celery-worker'",  # a base of either kind
}


def _refuse_base_class(config: ProcessConfig, backend_class: type[BaseProcessBackend]) -> None:
    # A base class would pass every check and then fail at the start with a traceback:
    # NotImplementedError, or AttributeError for a class attribute its subclasses set.
    left = registry.left_to_subclasses(backend_class)
    if not left:
        return
    methods = [name for name in left if name.endswith("()")]
    attributes = [name for name in left if name not in methods]
    todo = [(verb, names) for verb, names in (("implement", methods), ("set", attributes)) if names]
    missing = " and ".join(f"{verb} {', '.join(names)}" for verb, names in todo)
    them = " and ".join(f"{verb} {'them' if len(names) > 1 else 'it'}" for verb, names in todo)
    fix = missing if left == ["start_server()"] else them
    example = _EXAMPLES.get(str(backend_class.kind), _EXAMPLES["process"])
    raise InvalidBackend(
        f"Process {config.name!r}: BACKEND {config.backend!r} does not {missing}: it is a base "
        f"class, not a backend. Name a backend such as {example}, or "
        f"subclass it and {fix}."
    )


def undeclared_keys(config: ProcessConfig, backend: BaseProcessBackend) -> list[str]:
    """Messages for the keys of an entry whose backend does not declare ``settings_keys``.

    Such a backend (one written for django-prodserver 3.0) receives the whole entry and may read
    any key, so an unknown key is not an error: it may be a key the backend reads, or a typo.
    """
    if type(backend).settings_keys is not None:
        return []  # load_backend() has rejected every unknown key
    return [
        f"Process {config.name!r}: backend {config.backend!r} does not declare settings_keys, "
        f"so its key {key!r} cannot be checked.{_suggest(str(key), sorted(COMMON_KEYS))} If the "
        f"backend reads it, add settings_keys = frozenset({{{str(key)!r}}}) to "
        f"{type(backend).__name__}; otherwise remove the key."
        for key in config.entry
        if key not in COMMON_KEYS and not (key == warmup.KEY and type(backend).kind == "server")
    ]


Prepared = tuple[BaseProcessBackend, list[str]]


def prepare(config: ProcessConfig) -> Prepared:
    """The backend for ``config`` and its validated arguments: everything short of starting.

    Each call builds them anew; ``processes.ProcessHandler`` keeps them for a command run.
    """
    backend = load_backend(config)
    return backend, prepare_args(config, backend)


def _refuse_nul_bytes(backend: BaseProcessBackend, args: Sequence[object]) -> None:
    # No command line can carry a NUL byte, and the servers that parse ARGS in this process
    # (Granian's paths, runserver_plus's files) fail on one with a traceback.
    for token in args:
        if isinstance(token, str) and "\0" in token:
            shown_token = redact_argv([token])[0]
            raise backend.error(
                f"the argument {shown_token!r} built from ARGS holds a NUL byte, which no "
                f"command line can carry; remove it from ARGS."
            )


def prepare_args(config: ProcessConfig, backend: BaseProcessBackend) -> list[str]:
    """The arguments ``backend`` starts with, built from ARGS and checked."""
    try:
        args = backend.prep_server_args()
        _refuse_nul_bytes(backend, args)
        backend.check_args(args)
    except InvalidApplication as e:
        # Worded for the setting (WSGI_APPLICATION, ...), which every process shares.
        if e.message.startswith(f"Process {config.name!r}: "):
            raise
        raise e.in_process(config.name) from e
    return args
