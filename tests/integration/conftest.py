from __future__ import annotations

from collections.abc import Iterator
from pathlib import Path
from typing import Any, Callable

import pytest

from .harness import ServerProcess, free_port, write_settings

StartServer = Callable[..., ServerProcess]


@pytest.fixture
def start_server(tmp_path: Path) -> Iterator[StartServer]:
    """Start ``manage.py prodserver NAME`` with the given processes; killed at teardown.

    ``processes`` may use the placeholder ``{port}`` in any string; it is replaced by a free
    loopback port, which the returned ``ServerProcess`` knows.
    """
    started: list[ServerProcess] = []

    def start(
        processes: dict[str, Any],
        name: str = "web",
        extra_settings: str = "",
        extra_args: tuple[str, ...] = (),
        scheme: str = "http",
    ) -> ServerProcess:
        port = free_port()
        write_settings(tmp_path, _with_port(processes, port), extra_settings)
        server = ServerProcess(tmp_path, ["prodserver", name, *extra_args], port, scheme)
        started.append(server)
        return server

    yield start
    for server in started:
        server.kill()


def _with_port(value: Any, port: int) -> Any:
    if isinstance(value, str):
        return value.replace("{port}", str(port))
    if isinstance(value, dict):
        return {key: _with_port(item, port) for key, item in value.items()}
    if isinstance(value, (list, tuple)):
        return type(value)(_with_port(item, port) for item in value)
    return value
