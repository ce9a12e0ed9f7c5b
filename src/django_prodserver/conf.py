"""Read ``PRODUCTION_PROCESSES`` and turn one entry into a ready backend.

Everything here raises ``ProdserverError`` subclasses worded for the process concerned; the
command and the system checks share it, so both say the same thing about the same mistake.
"""

from __future__ import annotations

import difflib
from collections.abc import Mapping
from typing import Any, NamedTuple

from django.conf import settings

from . import registry
from .backends.base import BaseServerBackend
from .exceptions import (
    EntryNotAMapping,
    InvalidApplication,
    InvalidArgsType,
    InvalidOverride,
    MissingBackendKey,
    NoProcesses,
    ProdserverError,
    SettingNotAMapping,
    UnknownEntryKey,
    UnknownProcess,
)

SETTING = "PRODUCTION_PROCESSES"
COMMON_KEYS = frozenset({"BACKEND", "ARGS"})


class ProcessConfig(NamedTuple):
    """One validated entry of ``PRODUCTION_PROCESSES``."""

    name: str
    backend: str
    entry: Mapping[str, Any]  # the whole entry; the backend receives it as keyword arguments


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


def select_process(name: str | None, kind: str | None) -> ProcessConfig:
    """Like ``get_process``, but without a name the first process of ``kind`` is chosen."""
    if name is not None or kind is None:
        return get_process(name)
    for candidate, entry in processes_setting().items():
        try:
            config = validate_entry(candidate, entry)
            if registry.resolve(config.backend).backend_class.kind == kind:
                return config
        except ProdserverError:
            continue  # reported by `check` and by --list; it cannot be the default here
    raise UnknownProcess(
        f"No process in {SETTING} has a {kind} backend that can be loaded. "
        f"Run 'manage.py prodserver --list' to see each process and its backend."
    )


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
        for key in [k for k in merged if _same_option(k, option)]:
            del merged[key]
        merged[option] = values[0] if len(values) == 1 else values
    return config._replace(entry={**config.entry, "ARGS": merged})


def _same_option(first: str, second: str) -> bool:
    return first.lstrip("-").replace("_", "-") == second.lstrip("-").replace("_", "-")


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


def load_backend(config: ProcessConfig) -> BaseServerBackend:
    """Resolve the process's BACKEND and build the backend, rejecting keys it does not read."""
    try:
        resolved = registry.resolve(config.backend)
    except ProdserverError as e:
        raise e.in_process(config.name) from e.__cause__
    backend_class = resolved.backend_class
    allowed = COMMON_KEYS | backend_class.settings_keys
    for key in config.entry:
        if key not in allowed:
            raise UnknownEntryKey(
                f"Process {config.name!r}: unknown key {key!r} in its entry."
                f"{_suggest(str(key), sorted(allowed))} "
                f"Backend {config.backend!r} reads: {', '.join(sorted(allowed))}."
            )
    return backend_class(alias=resolved.alias, process_name=config.name, **config.entry)


def prepare(config: ProcessConfig) -> tuple[BaseServerBackend, list[str]]:
    """The backend for ``config`` and its validated arguments: everything short of starting."""
    backend = load_backend(config)
    try:
        args = backend.prep_server_args()
        backend.check_args(args)
    except InvalidApplication as e:
        # Worded for the setting (WSGI_APPLICATION, ...), which every process shares.
        if e.message.startswith(f"Process {config.name!r}: "):
            raise
        raise e.in_process(config.name) from e
    return backend, args
