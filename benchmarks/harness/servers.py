"""The servers under test, each started two ways with the same options.

``prodserver``: ``python manage.py prodserver web`` with ``PRODUCTION_PROCESSES["web"]`` set.
``cli``: the server's own command line (``python -m granian ...``) on the same application, run
from ``examples/project/`` with ``DJANGO_SETTINGS_MODULE`` set, as its documentation
describes.
"""

from __future__ import annotations

import shlex
import sys
from collections.abc import Callable
from dataclasses import dataclass
from typing import Any, Union

from django_prodserver.backends.granian import DJANGO_WSGI_BLOCKING_THREADS

from .processes import Launch
from .project import EXAMPLE_DIR, ExampleProject

Port = Union[int, str]  # a str only for the "$PORT" shown in the report
HOST = "127.0.0.1"
WSGI_TARGET = "exampleproject.wsgi:application"
ASGI_TARGET = "exampleproject.asgi:application"


@dataclass(frozen=True)
class ServerKind:
    key: str  # the prodserver alias
    description: str
    prodserver_args: Callable[[Port, int], dict[str, Any]]
    cli_args: Callable[[Port, int], list[str]]  # after ``python -m``
    forks_workers: bool = True  # False: one process whatever the worker count


def _granian(interface: str, target: str) -> Callable[[Port, int], list[str]]:
    # prodserver's own default for WSGI, given to the CLI too: the same options on both sides.
    pool = ["--blocking-threads", str(DJANGO_WSGI_BLOCKING_THREADS)] if interface == "wsgi" else []

    def cli(port: Port, workers: int) -> list[str]:
        return [
            *("granian", "--interface", interface, "--host", HOST, "--port", str(port)),
            *("--workers", str(workers), *pool, target),
        ]

    return cli


def _uvicorn(interface: str | None, target: str) -> Callable[[Port, int], list[str]]:
    def cli(port: Port, workers: int) -> list[str]:
        chosen = ["--interface", interface] if interface else []
        return [
            *("uvicorn", "--host", HOST, "--port", str(port), "--workers", str(workers)),
            *("--no-access-log", *chosen, target),
        ]

    return cli


def _host_port_workers(port: Port, workers: int) -> dict[str, Any]:
    return {"host": HOST, "port": port, "workers": workers}


KINDS: dict[str, ServerKind] = {
    kind.key: kind
    for kind in [
        ServerKind(
            "granian-wsgi",
            "Granian, WSGI",
            _host_port_workers,
            _granian("wsgi", WSGI_TARGET),
        ),
        ServerKind(
            "granian-asgi",
            "Granian, ASGI without lifespan (asginl)",
            _host_port_workers,
            _granian("asginl", ASGI_TARGET),
        ),
        ServerKind(
            "gunicorn",
            "gunicorn, sync workers",
            lambda port, workers: {"bind": f"{HOST}:{port}", "workers": workers},
            # prodserver turns gunicorn's control socket off; the CLI gets the same option.
            lambda port, workers: [
                *("gunicorn", "--bind", f"{HOST}:{port}", "--workers", str(workers)),
                *("--no-control-socket", WSGI_TARGET),
            ],
        ),
        ServerKind(
            "uvicorn",
            "uvicorn, ASGI",
            # uvicorn logs every request by default, the others do not: off for a fair race.
            lambda port, workers: {**_host_port_workers(port, workers), "access_log": False},
            _uvicorn(None, ASGI_TARGET),
        ),
        ServerKind(
            "uvicorn-wsgi",
            "uvicorn, WSGI interface",
            lambda port, workers: {**_host_port_workers(port, workers), "access_log": False},
            _uvicorn("wsgi", WSGI_TARGET),
        ),
        ServerKind(
            "waitress",
            "waitress, 1 process, 4 threads",
            lambda port, workers: {"listen": f"{HOST}:{port}"},
            lambda port, workers: ["waitress", f"--listen={HOST}:{port}", WSGI_TARGET],
            forks_workers=False,
        ),
    ]
}

LAUNCHERS = ("prodserver", "cli")


@dataclass(frozen=True)
class ServerConfig:
    """One server to start: a kind, a launcher and a worker count."""

    kind: ServerKind
    launcher: str  # "prodserver" or "cli"
    workers: int
    extra: tuple[tuple[str, Any], ...] = ()  # more options, as ARGS keys and their values

    def _cli_args(self, port: Port) -> list[str]:
        *options, target = self.kind.cli_args(port, self.workers)
        given = [f"--{key}={value}" for key, value in self.extra if value is not None]
        return [*options, *given, target]

    @property
    def options(self) -> str:
        """The options added to the defaults, as the report shows them."""
        return ", ".join(f"{key}={value}" for key, value in self.extra)

    @property
    def label(self) -> str:
        via = "prodserver" if self.launcher == "prodserver" else "own CLI"
        options = f", {self.options}" if self.extra else ""
        return f"{self.kind.key} ({via}, {self.workers}w{options})"

    def processes(self, port: Port) -> dict[str, Any]:
        args = {**self.kind.prodserver_args(port, self.workers), **dict(self.extra)}
        return {"web": {"BACKEND": self.kind.key, "ARGS": args}}

    def launch(self, project: ExampleProject, port: int) -> Launch:
        if self.launcher == "prodserver":
            settings = project.settings_with(self.processes(port))
            argv = project.manage("prodserver", "web")
        else:
            settings = "bench_settings"
            argv = [sys.executable, "-m", *self._cli_args(port)]
        return Launch(argv, EXAMPLE_DIR, project.env(settings))

    def command(self) -> str:
        """The command as the report shows it, with ``$PORT`` for the port."""
        if self.launcher == "prodserver":
            setting = f"PRODUCTION_PROCESSES = {self.processes('$PORT')!r}"
            return f"{setting}; python manage.py prodserver web"
        return "python -m " + shlex.join(self._cli_args("$PORT"))


def config(
    key: str, launcher: str, workers: int, extra: tuple[tuple[str, Any], ...] = ()
) -> ServerConfig:
    return ServerConfig(KINDS[key], launcher, workers, extra)
