"""systemd units: one ``PROJECT-NAME.service`` per process.

``ExecStart`` runs the interpreter that ran the export (the project's virtual environment) on
the project's ``manage.py``. systemd sends ``KillSignal`` to the main process only
(``KillMode=mixed``): the server forwards the stop to its workers and drains, and anything left
after ``TimeoutStopSec`` (the backend's graceful timeout and a margin) is killed.
"""

from __future__ import annotations

from collections.abc import Sequence

from ..exceptions import ExportFailed
from ._processes import ExportContext, ExportedProcess

_UNSAFE = ("\n", "\r", "\0")


def quoted(word: str) -> str:
    """``word`` as one argument of a systemd command line or a setting value."""
    if any(char in word for char in _UNSAFE):
        raise ExportFailed(
            f"{word!r} holds a line break or NUL byte, which a systemd unit cannot hold; "
            f"move the project or its virtual environment to a plain path."
        )
    escaped = word.replace("%", "%%").replace("$", "$$")  # specifiers and variables
    if any(char in escaped for char in " \t\"'\\;"):
        return '"' + escaped.replace("\\", "\\\\").replace('"', '\\"') + '"'
    return escaped


def render(processes: Sequence[ExportedProcess], context: ExportContext) -> dict[str, str]:
    return {f"{process.resource}.service": unit(process, context) for process in processes}


def unit(process: ExportedProcess, context: ExportContext) -> str:
    project = context.project
    command = [project.python, str(project.manage_py), "prodserver", process.name]
    what = "web server" if process.kind == "server" else "worker"
    environment = f"DJANGO_SETTINGS_MODULE={project.settings_module}"
    return "\n".join(
        [
            "[Unit]",
            f"Description={project.name} {process.name} ({what}, {process.backend.alias or ''})",
            "After=network-online.target",
            "Wants=network-online.target",
            "",
            "[Service]",
            "Type=exec",
            "# User=www-data: the account that runs the site; root is systemd's default.",
            f"WorkingDirectory={quoted(str(project.manage_py.parent))}",
            f"Environment={quoted(environment)}",
            "Environment=PYTHONUNBUFFERED=1",
            f"ExecStart={' '.join(quoted(word) for word in command)}",
            f"KillSignal={process.backend.stop_signal.name}",
            "KillMode=mixed",
            f"TimeoutStopSec={process.stop_seconds}",
            "Restart=on-failure",
            "RestartSec=2",
            "",
            "[Install]",
            "WantedBy=multi-user.target",
            "",
        ]
    )
