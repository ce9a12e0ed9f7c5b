"""What every export format needs to know about the project and each of its processes.

Each process is validated as ``manage.py prodserver NAME --dry-run`` validates it, and every bad
one is reported (one line each) before any file is written.
"""

from __future__ import annotations

import os
import re
import sys
from collections.abc import Mapping, Sequence
from pathlib import Path
from typing import NamedTuple

from django.conf import settings

from .. import processes
from ..backends.base import BaseProcessBackend
from ..exceptions import ExportFailed, ProdserverError

#: Kinds a deployment runs; any other (a development server) is refused.
DEPLOYED_KINDS = ("server", "worker")
#: Seconds a supervisor waits beyond the backend's graceful timeout before it kills the process.
STOP_MARGIN = 5
_NAME = re.compile(r"[a-z0-9]([-a-z0-9]*[a-z0-9])?")
_NAME_RULE = "names are lowercased, and '_' and '.' become '-'"
#: The longest Kubernetes name (a DNS label); unit names follow the same rule.
MAX_NAME = 63


class ExportedProcess(NamedTuple):
    name: str  # the key in PRODUCTION_PROCESSES
    resource: str  # the unit or Kubernetes name: PROJECT-NAME, converted
    kind: str
    backend: BaseProcessBackend
    args: list[str]

    @property
    def stop_seconds(self) -> int:
        """Whole seconds a supervisor should allow for the stop: the drain and a margin."""
        return int(-(-self.backend.graceful_timeout() // 1)) + STOP_MARGIN


class Project(NamedTuple):
    name: str  # converted like a process name
    manage_py: Path
    settings_module: str
    python: str


class ExportContext(NamedTuple):
    project: Project
    output: Path | None  # the folder written to; None: standard output
    working_dir: Path  # where the command runs
    image: str | None  # --image, for Kubernetes
    notes: list[str]  # what the files cannot say, for the command to print beside them


def converted(name: str) -> str:
    return name.lower().replace("_", "-").replace(".", "-")


def project() -> Project:
    """The project the processes belong to: its name, its manage.py, its settings."""
    wsgi = str(getattr(settings, "WSGI_APPLICATION", "") or "")
    # SETTINGS_MODULE is None under override_settings(); the variable then still tells.
    module = settings.SETTINGS_MODULE or os.environ.get("DJANGO_SETTINGS_MODULE", "")
    package = (wsgi or module).split(".")[0]
    name = converted(package)
    if not _NAME.fullmatch(name) or not name[0].isalpha():
        raise ExportFailed(
            f"The project's package {package!r} (from WSGI_APPLICATION or the settings module) "
            f"gives no usable prefix for unit and Kubernetes names: {_NAME_RULE}, and the "
            f"result must start with a letter and hold only letters, digits and '-'."
        )
    # Absolute, but not resolved: a virtual environment's python is a symlink that must stay.
    python = os.path.abspath(sys.executable)  # noqa: PTH100 - resolve() would follow the link
    return Project(name, _manage_py(), module, python)


def _manage_py() -> Path:
    script = Path(sys.argv[0])
    if script.name == "manage.py" and script.is_file():
        return script.resolve()
    base_dir = getattr(settings, "BASE_DIR", None)
    if base_dir and (Path(base_dir) / "manage.py").is_file():
        return (Path(base_dir) / "manage.py").resolve()
    raise ExportFailed(
        "--export writes commands that run the project's manage.py, which was not found: run "
        "it as 'python manage.py prodserver --export ...', or set BASE_DIR to the folder that "
        "holds manage.py."
    )


def collect(
    names: Sequence[str] | None,
    project_name: str,
    environ: Mapping[str, str] | None = None,
) -> list[ExportedProcess]:
    """Every process (or those named), validated, with ``environ`` applied if given (the
    platform's variables where the files run); raises one line per bad process."""
    handler = processes.current()
    chosen = list(names) if names else handler.names()
    exported: list[ExportedProcess] = []
    problems: list[str] = []
    for name in chosen:
        try:
            exported.append(_exported(handler, name, project_name, environ))
        except ProdserverError as e:
            problems.append(e.message)
    by_resource: dict[str, str] = {}
    for process in exported:
        other = by_resource.setdefault(process.resource, process.name)
        if other != process.name:
            problems.append(
                f"Processes {other!r} and {process.name!r} both become {process.resource!r} "
                f"({_NAME_RULE}); rename one of them."
            )
    if problems:
        raise ExportFailed(*problems)
    return exported


def _exported(
    handler: processes.ProcessHandler,
    name: str,
    project_name: str,
    environ: Mapping[str, str] | None,
) -> ExportedProcess:
    config = handler.config(name)
    if environ is not None:
        config = handler.with_environment(config, environ)
    _, backend, args = handler.prepare(config)
    if backend.kind not in DEPLOYED_KINDS:
        what = "a development server" if backend.kind == "dev" else f"of kind {backend.kind!r}"
        raise ExportFailed(
            f"Process {name!r} is {what} (backend {config.backend!r}), which is not exported: "
            f"export the server and worker processes only."
        )
    resource = f"{project_name}-{converted(name)}"
    if not _NAME.fullmatch(resource) or len(resource) > MAX_NAME:
        raise ExportFailed(
            f"Process {name!r}: its name gives {resource!r}, which is not a unit or Kubernetes "
            f"name ({_NAME_RULE}; the result must hold only lowercase letters, digits and '-', "
            f"at most {MAX_NAME} characters with the prefix {project_name + '-'!r}). Rename "
            f"the process, such as {_suggested(name)!r}."
        )
    return ExportedProcess(name, resource, backend.kind, backend, args)


def _suggested(name: str) -> str:
    words = re.findall(r"[a-z0-9]+", converted(name))
    return "-".join(words)[:20] or "web"
