"""Backends for command tests: they record the start instead of serving."""

from __future__ import annotations

from collections.abc import Sequence
from typing import Any, ClassVar

from django_prodserver.backends.base import BaseProcessBackend, BaseServerBackend, BaseWorkerBackend
from django_prodserver.environment import PlatformOptions


class RecordingServer(BaseServerBackend):
    program = "recording-server"
    started: ClassVar[list[tuple[str | None, tuple[str, ...]]]] = []

    def start_server(self, *args: str) -> None:
        self.started.append((self.process_name, args))


class WSGIServer(RecordingServer):
    """A server of the project's WSGI application, which ``--dry-run`` imports and checks."""

    def application_interface(self) -> str:
        return "wsgi"


class RecordingWorker(BaseWorkerBackend):
    program = "recording-worker"
    started: ClassVar[list[tuple[str | None, tuple[str, ...]]]] = []

    def start_server(self, *args: str) -> None:
        self.started.append((self.process_name, args))


class Counting(BaseProcessBackend):
    """Counts, per process, the backends built and the arguments built and checked: what a
    command run must do once for each process it touches."""

    counts: ClassVar[dict[str | None, list[str]]] = {}

    def __init__(self, **entry: Any) -> None:
        super().__init__(**entry)
        self.counts.setdefault(self.process_name, []).append("__init__")

    def prep_server_args(self) -> list[str]:
        self.counts.setdefault(self.process_name, []).append("prep_server_args")
        return super().prep_server_args()

    def check_args(self, args: Sequence[str]) -> None:
        self.counts.setdefault(self.process_name, []).append("check_args")


class CountingServer(Counting, RecordingServer):
    """A server with $PORT and $WEB_CONCURRENCY, which change its ARGS at a start."""

    platform_options = PlatformOptions(
        port="port",
        address_flags=frozenset({"--port"}),
        host="host",
        host_flags=frozenset({"--host"}),
        workers="workers",
        workers_flags=frozenset({"--workers"}),
    )

    def listen_address(self, args: Sequence[str]) -> tuple[str, int] | None:
        options = dict(arg[2:].partition("=")[::2] for arg in args)
        return (options.get("host", "0.0.0.0"), int(options["port"])) if "port" in options else None


class CountingWorker(Counting, RecordingWorker):
    pass
