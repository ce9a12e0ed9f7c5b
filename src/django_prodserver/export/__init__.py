"""``manage.py prodserver --export FORMAT``: deployment files written from the settings.

Each format is a module with ``render(processes, context)``, which returns file names and their
text, and, if its processes start with variables of their own, ``ENVIRONMENT``. Every process is
validated first; nothing is written unless all are exported.
"""

from __future__ import annotations

import difflib
import os
from collections.abc import Sequence
from pathlib import Path
from types import ModuleType

from ..exceptions import ExportFailed
from . import kubernetes, procfile, systemd
from ._processes import ExportContext, collect, project

FORMATS: dict[str, ModuleType] = {
    "procfile": procfile,
    "systemd": systemd,
    "kubernetes": kubernetes,
}


def render(
    format_name: str,
    names: Sequence[str] | None = None,
    output: Path | None = None,
    image: str | None = None,
    notes: list[str] | None = None,
) -> dict[str, str]:
    """The files ``format_name`` gives for the processes (all, or those named); ``notes``
    receives what the user must do that the files cannot say."""
    module = format_module(format_name)
    if output is not None:
        check_output(output)
    the_project = project()
    # A format whose processes start with variables of their own (Kubernetes' PORT) prepares
    # them with those; the others as the setting writes them.
    processes = collect(names, the_project.name, getattr(module, "ENVIRONMENT", None))
    context = ExportContext(the_project, output, Path.cwd(), image, [] if notes is None else notes)
    files: dict[str, str] = module.render(processes, context)
    return files


def format_module(format_name: str) -> ModuleType:
    if format_name in FORMATS:
        return FORMATS[format_name]
    close = difflib.get_close_matches(format_name.lower(), list(FORMATS), n=1, cutoff=0.5)
    hint = f" Did you mean {close[0]!r}?" if close else ""
    raise ExportFailed(
        f"--export {format_name!r} is not a format.{hint} Formats: {', '.join(FORMATS)}."
    )


def check_output(output: Path) -> None:
    if "\0" in str(output):
        raise ExportFailed(f"--output {str(output)!r} holds a NUL byte; name a folder.")
    if not output.is_dir():
        problem = "is not a folder" if output.exists() else "does not exist"
        raise ExportFailed(
            f"--output {str(output)!r} {problem}; create the folder first, or leave --output "
            f"out to print the files."
        )
    if not os.access(output, os.W_OK | os.X_OK):
        raise ExportFailed(
            f"--output {str(output)!r} cannot be written to by this user; choose another "
            f"folder, or leave --output out to print the files."
        )


def write(files: dict[str, str], output: Path) -> list[Path]:
    """Write ``files`` into ``output``; the paths written."""
    written = []
    for name, text in files.items():
        path = output / name
        try:
            path.write_text(text)
        except OSError as e:
            raise ExportFailed(f"Cannot write {str(path)!r}: {e.strerror or e}.") from e
        written.append(path)
    return written
