"""Find backends and resolve a ``BACKEND`` string to a backend class.

A ``BACKEND`` is one of:

- an alias, the name of an entry point in the ``django_prodserver.backends`` group
  (``"gunicorn"``, ``"granian-asgi"``, or one a third-party package registers);
- a dotted path, ``"pkg.module.Class"``, the older form;
- ``"pkg.module:Class"``, the form entry points themselves use.

Only aliases need the installed distributions' metadata. It is read lazily, at most once per
process, and only the backend that an alias resolves to is imported: a broken plugin cannot affect
a project that does not use it.
"""

from __future__ import annotations

import difflib
import functools
import importlib
import re
import sys
from collections.abc import Iterable, Sequence
from typing import TYPE_CHECKING, Any, NamedTuple

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

if TYPE_CHECKING:
    from .backends.base import BaseServerBackend

ENTRY_POINT_GROUP = "django_prodserver.backends"


class BackendSpec(NamedTuple):
    """One entry point of the group, as its distribution declares it."""

    alias: str
    target: str  # "module:attr"
    extras: tuple[str, ...]
    distribution: str
    version: str

    @property
    def origin(self) -> str:
        return f"{self.target} from {self.distribution} {self.version}"

    def install_hint(self) -> str | None:
        if not self.extras:
            return None
        return f'pip install "{self.distribution}[{",".join(self.extras)}]"'


class ResolvedBackend(NamedTuple):
    """What a ``BACKEND`` string resolved to."""

    backend_class: type[BaseServerBackend]
    alias: str | None  # None for a dotted path
    spec: BackendSpec | None


class DiscoveryProblem(NamedTuple):
    """A distribution whose entry points could not be read."""

    distribution: str
    error: str


class Discovery(NamedTuple):
    specs: tuple[BackendSpec, ...]
    problems: tuple[DiscoveryProblem, ...]


def _canonical_name(name: str) -> str:
    return re.sub(r"[-_.]+", "-", name).lower()


def _extras(entry_point_value: str) -> tuple[str, ...]:
    # EntryPoint.extras splits on word characters, turning "[django-tasks]" into two extras.
    match = re.search(r"\[([^\]]*)\]\s*$", entry_point_value)
    return tuple(e.strip() for e in match.group(1).split(",") if e.strip()) if match else ()


def _backend_specs(dist: Any) -> list[BackendSpec]:
    name = dist.metadata["Name"]
    return [
        BackendSpec(
            alias=ep.name,
            target=f"{ep.module}:{ep.attr}",
            extras=_extras(ep.value),
            distribution=name,
            version=dist.version,
        )
        for ep in dist.entry_points
        if ep.group == ENTRY_POINT_GROUP
    ]


def discover_in(distributions: Iterable[Any]) -> Discovery:
    """The backend entry points of ``distributions``, deduplicated and sorted."""
    specs: list[BackendSpec] = []
    problems: list[DiscoveryProblem] = []
    seen: set[str] = set()
    for dist in distributions:
        # Reading entry_points.txt as text first skips parsing every other distribution's
        # metadata, the bulk of the cost in a large environment.
        text = dist.read_text("entry_points.txt")
        if not text or f"[{ENTRY_POINT_GROUP}]" not in text:
            continue
        try:
            name = dist.metadata["Name"]
            # The same distribution can be seen twice (lib and lib64 on sys.path, a stale
            # .egg-info in the project directory). The first one on sys.path is the one Python
            # imports, so it wins, and the copy is not a conflict.
            if _canonical_name(name) in seen:
                continue
            seen.add(_canonical_name(name))
            specs.extend(_backend_specs(dist))
        except Exception as e:  # broken metadata must not break other backends
            problems.append(DiscoveryProblem(str(getattr(dist, "_path", "?")), one_line(e)))
    return Discovery(tuple(sorted(specs)), tuple(problems))


def _distributions() -> Iterable[Any]:
    # Imported here, not at module level: importing importlib.metadata costs more than the rest
    # of this package, and projects whose BACKENDs are dotted paths never need it.
    if sys.version_info >= (3, 10):
        from importlib import metadata
    else:  # pragma: no cover - Python 3.9's lacks Distribution.name and EntryPoint.extras
        import importlib_metadata as metadata
    return metadata.distributions()


@functools.cache
def discover() -> Discovery:
    """Every backend registered in the current environment, read once per process."""
    return discover_in(_distributions())


def _specs_for(alias: str) -> list[BackendSpec]:
    return [spec for spec in discover().specs if spec.alias == alias]


def _is_alias(backend: str) -> bool:
    return "." not in backend and ":" not in backend


def _split_target(backend: str) -> tuple[str, str]:
    if ":" in backend:
        module_name, _, attr = backend.partition(":")
    else:
        module_name, _, attr = backend.rpartition(".")
    return module_name, attr


def resolve(backend: str) -> ResolvedBackend:
    """Resolve a ``BACKEND`` string to its backend class, or raise a ``ProdserverError``."""
    if not isinstance(backend, str) or not backend.strip():
        raise BackendNotFound(
            f"BACKEND must be a backend alias or a dotted path to a backend class, not {backend!r}."
        )
    if not _is_alias(backend):
        module_name, attr = _split_target(backend)
        if not module_name or not attr:
            raise BackendNotFound(
                f"BACKEND {backend!r} is not a valid dotted path: "
                f"write it as 'package.module.Class' or 'package.module:Class'."
            )
        return ResolvedBackend(_load(backend, module_name, attr, spec=None), None, None)

    specs = _specs_for(backend)
    if not specs:
        raise BackendNotFound(_unknown_alias_message(backend))
    if len(specs) > 1:
        raise BackendConflict(_conflict_message(backend, specs))
    spec = specs[0]
    module_name, attr = _split_target(spec.target)
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
) -> type[BaseServerBackend]:
    try:
        module = importlib.import_module(module_name)
    except ModuleNotFoundError as e:
        # Either the backend's own module is missing, or a module it imports is. Only the first
        # is a wrong BACKEND; the second is a package to install.
        missing = e.name or ""
        if module_name == missing or module_name.startswith(missing + "."):
            raise _module_missing(backend, module_name, spec) from e
        raise _dependency_missing(backend, missing, spec) from e
    except Exception as e:
        raise BackendImportFailed(
            f"{_described(backend, spec)} failed to import: {one_line(e)}"
        ) from e

    try:
        backend_class = getattr(module, attr)
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


def _dependency_missing(
    backend: str, missing: str, spec: BackendSpec | None
) -> BackendDependencyMissing:
    # A dotted path to a registered backend gets the same install hint as its alias.
    if spec is None:
        module_name, attr = _split_target(backend)
        matching = [s for s in discover().specs if s.target == f"{module_name}:{attr}"]
        spec = matching[0] if matching else None
    hint = spec.install_hint() if spec else None
    fix = f"Install it with: {hint}" if hint else "Install the package that provides it."
    return BackendDependencyMissing(
        f"BACKEND {backend!r} needs the module {missing!r}, which is not installed. {fix}"
    )


def _check_backend_class(backend: str, candidate: object, spec: BackendSpec | None) -> None:
    from .backends.base import BaseServerBackend

    if isinstance(candidate, type) and issubclass(candidate, BaseServerBackend):
        return
    if isinstance(candidate, type):
        what = f"the class {candidate.__module__}.{candidate.__qualname__}"
    else:
        what = f"a {type(candidate).__name__} object"
    raise InvalidBackend(
        f"{_described(backend, spec)} is not a backend class: it is {what}. A backend must be "
        f"a subclass of django_prodserver.backends.base.BaseServerBackend."
    )


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
    conflicting = {alias for alias in _aliases() if len(_specs_for(alias)) > 1}
    for spec in discover().specs:
        kind = None
        if spec.alias in conflicting:
            status = "conflict"
            detail = _conflict_message(spec.alias, _specs_for(spec.alias))
        else:
            module_name, attr = _split_target(spec.target)
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


def _aliases() -> set[str]:
    return {spec.alias for spec in discover().specs}
