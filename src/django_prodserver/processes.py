"""The process handler: each process of ``PRODUCTION_PROCESSES`` built once per command run.

Modelled on Django's connection handlers (``django.utils.connection.BaseConnectionHandler``: one
object per alias, made on first use and kept), for the length of one ``manage.py`` command. A
start goes through these steps for a process, and each is done once, whoever asks for it:

- the entry, validated (``conf.get_process``);
- its BACKEND, resolved to a backend class (``registry.resolve``), which gives the kind;
- the backend, built from the entry as the run starts it: ``--set`` overrides and the platform's
  ``PORT`` and ``WEB_CONCURRENCY`` applied (``conf.load_backend``);
- its arguments, built from ARGS and checked with the server's own parser (``conf.prepare``).

The command, the system checks it runs, ``--list``, ``--dry-run``, ``--all`` and ``--export``
all ask the handler, so the checks check the very backend and arguments that start, and a
failure is one error, kept and raised again rather than met again. A run that prepares another
configuration of a process (``--set`` overrides, another environment) prepares that one apart.

``ProcessHandler`` is used inside ``for_this_run()``; outside one (``manage.py check``, a test),
``current()`` gives a handler of its own to each caller. ``plan()`` prepares several processes
for ``--all`` (each server given a port of its own), for the supervisor to run.
"""

from __future__ import annotations

import contextlib
import os
from collections.abc import Callable, Iterator, Mapping, Sequence
from contextvars import ContextVar
from typing import Any, Generic, NamedTuple, TypeVar

from . import conf, environment, registry
from .backends.base import BaseProcessBackend
from .exceptions import ProdserverError, UnknownProcess, WrongProcessKind


class PreparedProcess(NamedTuple):
    """A process ready to start: its configuration, its backend and its arguments."""

    config: conf.ProcessConfig
    backend: BaseProcessBackend
    args: list[str]


T = TypeVar("T")
_MISSING: Any = object()


class _Kept(Generic[T]):
    """Values, or the errors making them raised, by key. Keys are compared, not hashed: an
    entry may hold unhashable values."""

    def __init__(self) -> None:
        self._pairs: list[tuple[object, T | ProdserverError]] = []

    def get(self, key: object, make: Callable[[], T]) -> T:
        kept = next((value for known, value in self._pairs if known == key), _MISSING)
        if kept is _MISSING:
            try:
                kept = make()
            except ProdserverError as e:
                kept = e
            self._pairs.append((key, kept))
        if isinstance(kept, ProdserverError):
            raise kept
        return kept


class ProcessHandler:
    """Every process of the setting, each step of each built on first use and kept."""

    def __init__(self) -> None:
        self._configs: _Kept[conf.ProcessConfig] = _Kept()
        self._resolved: _Kept[registry.ResolvedBackend] = _Kept()
        self._backends: _Kept[BaseProcessBackend] = _Kept()
        self._prepared: _Kept[PreparedProcess] = _Kept()
        # The configuration of each process this run prepared first: what the checks check.
        self._started: dict[str, conf.ProcessConfig] = {}

    def names(self) -> list[str]:
        """The processes of the setting, in its order."""
        return list(conf.processes_setting())

    def config(self, name: str | None = None) -> conf.ProcessConfig:
        """The validated entry of ``name`` (the first process without one)."""
        return self._configs.get(name, lambda: conf.get_process(name))

    def resolved(self, config: conf.ProcessConfig) -> registry.ResolvedBackend:
        """What the process's BACKEND resolves to, worded for the process if it fails."""
        return self._resolved.get(config[:2], lambda: conf.resolved(config))

    def kind(self, name: str) -> str | None:
        """The kind of the process's backend, None when it cannot be told."""
        try:
            return self.resolved(self.config(name)).backend_class.kind
        except ProdserverError:
            return None  # the start, --list and the checks report why

    def select(self, name: str | None, kind: str | None) -> conf.ProcessConfig:
        """The process ``name``; without one, the first process (of ``kind`` if given)."""
        if name is not None or kind is None:
            return self.config(name)
        for candidate in self.names():
            if self.kind(candidate) == kind:
                return self.config(candidate)
        raise UnknownProcess(
            f"No process in {conf.SETTING} has a {kind} backend that can be loaded. "
            f"Run 'manage.py prodserver --list' to see each process and its backend."
        )

    def with_environment(
        self,
        config: conf.ProcessConfig,
        environ: Mapping[str, str] | None = None,
        assigned: environment.AssignedPort | None = None,
    ) -> conf.ProcessConfig:
        """``conf.with_environment``, with the backend class this handler resolved."""
        return conf.with_environment(config, environ, assigned, self.resolved(config))

    def backend(self, config: conf.ProcessConfig) -> BaseProcessBackend:
        """The backend built from ``config``, its keys checked, but not its arguments."""
        return self._backends.get(
            _key(config), lambda: conf.load_backend(config, self.resolved(config))
        )

    def prepare(self, config: conf.ProcessConfig) -> PreparedProcess:
        """The backend for ``config`` and its validated arguments: everything short of a start."""
        self._started.setdefault(config.name, config)

        def make() -> PreparedProcess:
            backend = self.backend(config)
            return PreparedProcess(config, backend, conf.prepare_args(config, backend))

        prepared = self._prepared.get(_key(config), make)
        # The caller's own list: the one kept stays as it was built.
        return prepared._replace(config=config, args=list(prepared.args))

    def run_config(self, name: str) -> conf.ProcessConfig:
        """The configuration of ``name`` as this run starts it or, if the run does not start
        it, as the setting writes it."""
        return self._started.get(name) or self.config(name)

    def __getitem__(self, name: str) -> PreparedProcess:
        """The process ``name`` prepared as this run starts it (``run_config``)."""
        return self.prepare(self.run_config(name))


def _key(config: conf.ProcessConfig) -> tuple[object, ...]:
    return tuple(config[:3])  # name, backend, entry: ``sources`` only describe the entry


_CURRENT: ContextVar[ProcessHandler | None] = ContextVar("process_handler", default=None)


@contextlib.contextmanager
def for_this_run() -> Iterator[ProcessHandler]:
    """Within this block, ``current()`` is one handler: each process is built once."""
    handler = ProcessHandler()
    token = _CURRENT.set(handler)
    try:
        yield handler
    finally:
        _CURRENT.reset(token)


def current() -> ProcessHandler:
    """The handler of the command run in progress, or a new one outside any."""
    return _CURRENT.get() or ProcessHandler()


class PlannedProcess(NamedTuple):
    """A process that passed validation, ready to start as a child."""

    config: conf.ProcessConfig  # with the environment applied: what the child will run
    backend: BaseProcessBackend
    args: list[str]
    #: The environment the child starts with: this one, with ``PORT`` set to its own port.
    environ: Mapping[str, str]


class Plan(NamedTuple):
    processes: list[PlannedProcess]
    errors: list[ProdserverError]  # one per process that cannot start


def plan(
    names: Sequence[str],
    kinds: Sequence[str] | None = None,
    environ: Mapping[str, str] | None = None,
) -> Plan:
    """Validate the processes ``names``, of ``kinds`` if given.

    Without names, every process of ``kinds`` is planned, or, without kinds, every process but
    the development servers (``manage.py devserver`` runs those). Every process is checked as a
    single start checks it; the errors of all of them are collected, so that one run names
    every bad process.
    """
    handler = current()
    environ = dict(os.environ if environ is None else environ)
    errors: list[ProdserverError] = []
    configs: list[conf.ProcessConfig] = []
    setting = handler.names()
    wanted = list(dict.fromkeys(names)) or setting
    # In setting order, which gives the ports; names the setting lacks are reported last.
    for name in [*(n for n in setting if n in wanted), *(n for n in wanted if n not in setting)]:
        try:
            configs.append(handler.config(name))
        except ProdserverError as e:
            errors.append(e)
    if not names:  # --all: what cannot be resolved is kept, to be reported
        configs = [config for config in configs if _in_all(handler.kind(config.name), kinds)]
    ports = _assigned_ports(handler, configs, environ)
    planned = []
    for config in configs:
        child_environ = dict(environ)
        assigned = ports.get(config.name)
        if assigned is not None:
            child_environ[environment.PORT] = str(assigned.port)
        try:
            applied, backend, args = handler.prepare(
                handler.with_environment(config, child_environ, assigned)
            )
            if kinds is not None and backend.kind not in kinds:
                raise WrongProcessKind(
                    f"Process {config.name!r} runs a {backend.kind} (backend "
                    f"{config.backend!r}), not a {kinds[0]}."
                )
            backend.check_can_start()
        except ProdserverError as e:
            errors.append(e)
            continue
        planned.append(PlannedProcess(applied, backend, args, child_environ))
    return Plan(planned, errors)


def _in_all(kind: str | None, kinds: Sequence[str] | None) -> bool:
    return kind is None or (kind != "dev" and (kinds is None or kind in kinds))


def _assigned_ports(
    handler: ProcessHandler,
    configs: Sequence[conf.ProcessConfig],
    environ: Mapping[str, str],
) -> dict[str, environment.AssignedPort]:
    """The port of each server process that sets none, in setting order (foreman's rule)."""
    servers = []
    for config in configs:
        if handler.kind(config.name) != "server":
            continue
        options = handler.resolved(config).backend_class.platform_options
        if options is not None:
            args = config.entry.get("ARGS")
            servers.append((config.name, environment.sets_port(args, options)))
    try:
        return environment.ports_for_several(servers, environ)
    except ProdserverError:
        return {}  # a bad $PORT: each server that needs it reports it
