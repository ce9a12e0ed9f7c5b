"""Backends for command tests: they record the start instead of serving."""

from __future__ import annotations

from typing import ClassVar

from django_prodserver.backends.base import BaseServerBackend, BaseWorkerBackend


class RecordingServer(BaseServerBackend):
    program = "recording-server"
    started: ClassVar[list[tuple[str | None, tuple[str, ...]]]] = []

    def start_server(self, *args: str) -> None:
        self.started.append((self.process_name, args))


class RecordingWorker(BaseWorkerBackend):
    program = "recording-worker"
    started: ClassVar[list[tuple[str | None, tuple[str, ...]]]] = []

    def start_server(self, *args: str) -> None:
        self.started.append((self.process_name, args))
