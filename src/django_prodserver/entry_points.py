"""The backends installed distributions register: entry points of the
``django_prodserver.backends`` group, each an alias for a backend class.

Only aliases need the installed distributions' metadata. It is read lazily, at most once per
process; a distribution whose metadata is broken is reported, and the others still work.
"""

from __future__ import annotations

import functools
import re
import sys
from collections.abc import Iterable
from typing import Any, NamedTuple

from .exceptions import one_line

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


def _backend_specs(dist: Any, name: str, version: str) -> list[BackendSpec]:
    return [
        BackendSpec(
            alias=ep.name,
            target=f"{ep.module}:{ep.attr}",
            extras=_extras(ep.value),
            distribution=name,
            version=version,
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
            # Parsed once: dist.metadata and dist.version parse the whole METADATA file (with
            # the long description) on every access, once per backend this package registers.
            metadata = dist.metadata
            name = metadata["Name"]
            # The same distribution can be seen twice (lib and lib64 on sys.path, a stale
            # .egg-info in the project directory). The first one on sys.path is the one Python
            # imports, so it wins, and the copy is not a conflict.
            if _canonical_name(name) in seen:
                continue
            seen.add(_canonical_name(name))
            specs.extend(_backend_specs(dist, name, metadata["Version"]))
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


def specs_for(alias: str) -> list[BackendSpec]:
    """The registrations of ``alias``: one, or several that conflict."""
    return [spec for spec in discover().specs if spec.alias == alias]


def aliases() -> set[str]:
    """Every registered alias."""
    return {spec.alias for spec in discover().specs}
