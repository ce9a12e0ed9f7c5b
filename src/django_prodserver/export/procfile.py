"""A ``Procfile`` (Heroku, Dokku, honcho, foreman): one line per process.

The platform starts each line in the folder that holds the Procfile, with its own ``python``:
``manage.py`` is named relative to that folder. Each line ``exec``s, so the platform's stop
signal reaches the server rather than a shell, which would exit at once and leave the server
draining unwatched. Heroku routes HTTP only to the process named ``web``, and gives it
``$PORT``.
"""

from __future__ import annotations

import os
import re
import shlex
from collections.abc import Sequence

from ..exceptions import ExportFailed
from ._processes import ExportContext, ExportedProcess

FILENAME = "Procfile"
_PROCESS_TYPE = re.compile(r"[A-Za-z0-9_-]+")


def render(processes: Sequence[ExportedProcess], context: ExportContext) -> dict[str, str]:
    bad = [process.name for process in processes if not _PROCESS_TYPE.fullmatch(process.name)]
    if bad:
        raise ExportFailed(
            *(
                f"Process {name!r}: a Procfile names a process with letters, digits, '-' and "
                f"'_' only. Rename the process, such as {re.sub('[^A-Za-z0-9_-]+', '-', name)!r}."
                for name in bad
            )
        )
    folder = context.output or context.working_dir
    manage_py = os.path.relpath(context.project.manage_py, folder)
    lines = [
        f"{process.name}: exec python {shlex.quote(manage_py)} prodserver {process.name}"
        for process in processes
    ]
    return {FILENAME: "\n".join(lines) + "\n"}
