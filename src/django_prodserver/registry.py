"""Resolve a ``BACKEND`` string to a backend class, and describe every registered backend.

A ``BACKEND`` is one of:

- an alias, the name of an entry point in the ``django_prodserver.backends`` group
  (``"gunicorn"``, ``"granian-asgi"``, or one a third-party package registers; see
  ``entry_points``);
- a dotted path, ``"pkg.module.Class"``, the older form;
- ``"pkg.module:Class"``, the form entry points themselves use.

Only the backend that a ``BACKEND`` names is imported: a broken plugin cannot affect a project
that does not use it.
"""

from __future__ import annotations

import difflib
import importlib
import inspect
import sys
from collections.abc import Sequence
from traceback import walk_tb
from typing import TYPE_CHECKING, NamedTuple

from . import targets
from .entry_points import BackendSpec, aliases, discover, specs_for
from .exceptions import (
    BackendConflict,
    BackendDependencyMissing,
    BackendImportFailed,
    BackendNotFound,
    InvalidBackend,
    ProdserverError,
    one_line,
    or_list,
)
from .stop_signals import is_stop

if TYPE_CHECKING:
    from .backends.base import BaseProcessBackend


class ResolvedBackend(NamedTuple):
    """What a ``BACKEND`` string resolved to."""

    backend_class: type[BaseProcessBackend]
    alias: str | None  # None for a dotted path
    spec: BackendSpec | None


def _is_alias(backend: str) -> bool:
    return "." not in backend and ":" not in backend


def resolve(backend: str) -> ResolvedBackend:
    """Resolve a ``BACKEND`` string to its backend class, or raise a ``ProdserverError``."""
    if not isinstance(backend, str) or not backend.strip():
        raise BackendNotFound(
            f"BACKEND must be a backend alias or a dotted path to a backend class, not {backend!r}."
        )
    if not _is_alias(backend):
        module_name, attr = targets.split(backend)
        if not module_name or not attr:
            raise BackendNotFound(
                f"BACKEND {backend!r} is not a valid dotted path: "
                f"write it as 'package.module.Class' or 'package.module:Class'."
            )
        return ResolvedBackend(_load(backend, module_name, attr, spec=None), None, None)

    specs = specs_for(backend)
    if not specs:
        raise BackendNotFound(_unknown_alias_message(backend))
    if len(specs) > 1:
        raise BackendConflict(_conflict_message(backend, specs))
    spec = specs[0]
    module_name, attr = targets.split(spec.target)
    return ResolvedBackend(_load(backend, module_name, attr, spec=spec), backend, spec)


def _unknown_alias_message(alias: str) -> str:
    known = sorted({spec.alias for spec in discover().specs})
    close = difflib.get_close_matches(alias, known, n=3, cutoff=0.6)
    suggestion = f" Did you mean {or_list(close)}?" if close else ""
    listing = ", ".join(known) if known else "none are installed"
    return (
        f"BACKEND {alias!r} is not a known backend alias.{suggestion} "
        f"Known aliases: {listing}. "
        f"A dotted path to a backend class, such as 'myproject.backends.MyServer', also works."
    )


def _conflict_message(alias: str, specs: Sequence[BackendSpec]) -> str:
    registrations = "; ".join(
        f"{spec.distribution} {spec.version} ({spec.target})" for spec in specs
    )
    return (
        f"BACKEND {alias!r} is registered by more than one distribution: {registrations}. "
        f"Set BACKEND to the dotted path of the one you want, such as {specs[0].target!r}."
    )


def _described(backend: str, spec: BackendSpec | None) -> str:
    return f"BACKEND {backend!r} ({spec.origin})" if spec else f"BACKEND {backend!r}"


def _load(
    backend: str, module_name: str, attr: str, spec: BackendSpec | None
) -> type[BaseProcessBackend]:
    try:
        module = importlib.import_module(module_name)
    except ModuleNotFoundError as e:
        # Either the backend's own module is missing, or a module it imports is. Only the first
        # is a wrong BACKEND; the second is a package to install.
        if targets.module_not_found(e, module_name):
            raise _module_missing(backend, module_name, spec) from e
        raise _dependency_missing(backend, e.name or "", spec, _importer(e)) from e
    except BaseException as e:  # sys.exit() in a module too: a failed import, not a stop
        if is_stop(e):
            raise
        raise BackendImportFailed(
            f"{_described(backend, spec)} failed to import: {one_line(e)}"
        ) from e

    try:
        backend_class = targets.attribute_of(module, attr)
    except AttributeError as e:
        close = difflib.get_close_matches(attr, dir(module), n=1)
        suggestion = f" Did you mean {close[0]!r}?" if close else ""
        error_class = BackendImportFailed if spec else BackendNotFound
        raise error_class(
            f"{_described(backend, spec)} cannot be loaded: module {module_name!r} "
            f"has no attribute {attr!r}.{suggestion}"
        ) from e

    _check_backend_class(backend, backend_class, spec)
    return backend_class  # type: ignore[no-any-return]


def _module_missing(backend: str, module_name: str, spec: BackendSpec | None) -> ProdserverError:
    if spec:
        # The distribution is installed but its module is not: stale or broken metadata.
        return BackendImportFailed(
            f"{_described(backend, spec)} failed to import: there is no module "
            f"{module_name!r}. Reinstall {spec.distribution}."
        )
    return BackendNotFound(
        f"BACKEND {backend!r} cannot be imported: there is no module named {module_name!r}. "
        f"Check the spelling, or use a backend alias (manage.py prodserver --list-backends)."
    )


def _importer(error: ModuleNotFoundError) -> str | None:
    """The built-in backend module whose import failed: the innermost one in the traceback."""
    names = [frame.f_globals.get("__name__", "") for frame, _ in walk_tb(error.__traceback__)]
    ours = [name for name in names if name.startswith("django_prodserver.backends.")]
    return ours[-1] if ours else None


def _dependency_missing(
    backend: str, missing: str, spec: BackendSpec | None, importer: str | None
) -> BackendDependencyMissing:
    # A dotted path to a registered backend gets the same install hint as its alias; so does
    # another class of a registered backend's module (granian's GranianWSGIServer, say), and a
    # module that re-exports one (3.0's backends.servers.flower re-exports celery_flower's).
    module_name, attr = targets.split(backend)
    hint = spec.install_hint() if spec else _module_install_hint(module_name, attr)
    if hint is None and importer is not None:
        hint = _module_install_hint(importer, attr)
    fix = f"Install it with: {hint}" if hint else "Install the package that provides it."
    return BackendDependencyMissing(
        f"BACKEND {backend!r} needs the module {missing!r}, which is not installed. {fix}"
    )


def _module_install_hint(module_name: str, attr: str) -> str | None:
    specs = discover().specs
    exact = [s for s in specs if s.target == f"{module_name}:{attr}"]
    if exact:
        return exact[0].install_hint()
    hints = {s.install_hint() for s in specs if targets.split(s.target)[0] == module_name}
    return hints.pop() if len(hints) == 1 else None


def _check_backend_class(backend: str, candidate: object, spec: BackendSpec | None) -> None:
    from .backends.base import BaseProcessBackend

    if isinstance(candidate, type) and issubclass(candidate, BaseProcessBackend):
        return
    if isinstance(candidate, type):
        what = f"the class {candidate.__module__}.{candidate.__qualname__}"
    else:
        what = f"a {type(candidate).__name__} object"
    raise InvalidBackend(
        f"{_described(backend, spec)} is not a backend class: it is {what}. A backend must be "
        f"a subclass of django_prodserver.backends.base.BaseServerBackend or BaseWorkerBackend."
    )


def left_to_subclasses(backend_class: type[BaseProcessBackend]) -> list[str]:
    """What a base class leaves for its subclasses to do, which a backend has done: implement
    ``start_server()`` and each method marked ``@abc.abstractmethod`` ("name()"), set each class
    attribute it declares without a value (``name: ClassVar[...]``)."""
    from .backends.base import BaseProcessBackend

    if backend_class.start_server is BaseProcessBackend.start_server:
        return ["start_server()"]
    methods = [
        f"{name}()"
        for name in dir(backend_class)
        if getattr(getattr(backend_class, name, None), "__isabstractmethod__", False)
    ]
    declared: dict[str, None] = {}
    for klass in reversed(backend_class.__mro__):
        for name, kind in _annotations(klass).items():
            if "ClassVar" in str(kind):
                declared[name] = None
    return methods + [name for name in declared if not hasattr(backend_class, name)]


def _annotations(klass: type) -> dict[str, object]:
    if sys.version_info >= (3, 10):
        return inspect.get_annotations(klass)
    return klass.__dict__.get("__annotations__", {})  # pragma: no cover  # noqa: RUF063


class BackendInfo(NamedTuple):
    """One row of ``--list-backends``."""

    alias: str
    kind: str | None
    target: str
    distribution: str
    version: str
    status: str  # "ok", "missing dependency", "broken", "not a backend", "conflict"
    detail: str  # what to do, or the one-line error; empty when ok


_STATUS_BY_ERROR: dict[type[ProdserverError], str] = {
    BackendDependencyMissing: "missing dependency",
    BackendImportFailed: "broken",
    BackendNotFound: "broken",
    InvalidBackend: "not a backend",
}


def describe_backends() -> list[BackendInfo]:
    """Every registered backend with its status. Imports each one to learn it."""
    rows = []
    conflicting = {alias for alias in aliases() if len(specs_for(alias)) > 1}
    for spec in discover().specs:
        kind = None
        if spec.alias in conflicting:
            status = "conflict"
            detail = _conflict_message(spec.alias, specs_for(spec.alias))
        else:
            module_name, attr = targets.split(spec.target)
            try:
                kind = _load(spec.alias, module_name, attr, spec).kind
                status, detail = "ok", ""
            except ProdserverError as e:
                status, detail = _STATUS_BY_ERROR[type(e)], e.message
        rows.append(
            BackendInfo(
                spec.alias, kind, spec.target, spec.distribution, spec.version, status, detail
            )
        )
    for problem in discover().problems:
        rows.append(BackendInfo("?", None, "?", problem.distribution, "?", "broken", problem.error))
    return rows
