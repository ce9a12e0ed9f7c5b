"""What ``--list`` shows: each configured process, its backend, its kind and whether it would
start; and the plain-text table ``--list`` and ``--list-backends`` print their rows in.

``--list-backends`` describes the installed backends (``registry.describe_backends``); both
work on broken settings, which is when they are needed.
"""

from __future__ import annotations

from collections.abc import Sequence
from typing import NamedTuple

from .exceptions import ProdserverError
from .processes import ProcessHandler


class ProcessInfo(NamedTuple):
    """One row of ``--list``."""

    name: str
    backend: str | None  # None when the entry has no usable BACKEND
    kind: str | None  # None when the backend cannot be built
    status: str  # "ok" or "error"
    detail: str  # the one-line error; empty when ok


def describe_processes(handler: ProcessHandler, kind: str | None = None) -> list[ProcessInfo]:
    """Every process of the setting, validated as a start would validate it; with ``kind``,
    the processes of that kind and those whose kind cannot be told."""
    rows = []
    for name in handler.names():
        backend = found_kind = None
        status, detail = "ok", ""
        try:
            config = handler.config(name)
            backend = config.backend
            found_kind = handler.backend(config).kind
            # Valid means the start would pass validation: ARGS too, not only BACKEND.
            handler.prepare(config)
        except ProdserverError as e:
            status, detail = "error", e.message
        if kind is None or found_kind in (kind, None):
            rows.append(ProcessInfo(name, backend, found_kind, status, detail))
    return rows


def table(header: Sequence[str], rows: Sequence[Sequence[str]]) -> list[str]:
    """The lines of a table, its columns aligned; the last column holds free text, and is not
    padded."""
    widths = [max(len(row[i]) for row in [header, *rows]) for i in range(len(header) - 1)]
    return [
        "  ".join([*(cell.ljust(width) for cell, width in zip(row, widths)), row[-1]])
        for row in [header, *rows]
    ]
