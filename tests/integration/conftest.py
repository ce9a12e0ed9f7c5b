from __future__ import annotations

from collections.abc import Iterator
from pathlib import Path
from typing import Any, Callable

import pytest

from .harness import ServerProcess, free_port, write_settings

StartServer = Callable[..., ServerProcess]


@pytest.fixture
def start_server(tmp_path: Path) -> Iterator[StartServer]:
    """Start ``manage.py prodserver NAME`` (or ``command``) with the given processes; killed at
    teardown.

    ``processes``, ``name`` and ``env`` may use the placeholder ``{port}`` in any string; it is
    replaced by a free loopback port, which the returned ``ServerProcess`` knows. ``name`` may be
    several names, or ``--all``.
    """
    started: list[ServerProcess] = []

    def start(
        processes: dict[str, Any],
        name: str = "web",
        extra_settings: str = "",
        extra_args: tuple[str, ...] = (),
        scheme: str = "http",
        *,
        command: str = "prodserver",
        env: dict[str, str] | None = None,
    ) -> ServerProcess:
        port = free_port()
        write_settings(tmp_path, _with_port(processes, port), extra_settings)
        argv = [command, *_with_port(name, port).split(), *extra_args]
        server = ServerProcess(tmp_path, argv, port, scheme, _with_port(env or {}, port))
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
