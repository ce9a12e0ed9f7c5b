from __future__ import annotations

import socket
from collections.abc import Iterator

import pytest

from django_prodserver import registry


@pytest.fixture(autouse=True)
def fresh_registry() -> Iterator[None]:
    """Each test sees the entry points as they are now, not as an earlier test left them."""
    registry.discover.cache_clear()
    yield
    registry.discover.cache_clear()


# The ports the servers listen on by default: gunicorn, uvicorn, Granian, Hypercorn and daphne
# 8000, waitress 8080, Flower 5555. A developer's own runserver or mkdocs serve often holds one.
DEFAULT_PORTS = (8000, 8080, 5555)


@pytest.fixture(autouse=True, scope="session")
def default_ports_taken() -> Iterator[None]:
    """The suite runs with the servers' default ports busy: no test may need one to be free.

    A port that something else already holds is just as busy, and is left alone.
    """
    held = []
    # IPv6 loopback too, where the machine has it: a server given "::1" and no port binds there.
    for family, host in ((socket.AF_INET, "127.0.0.1"), (socket.AF_INET6, "::1")):
        for port in DEFAULT_PORTS:
            try:
                sock = socket.socket(family, socket.SOCK_STREAM)
            except OSError:  # no IPv6 here
                break
            try:
                sock.bind((host, port))
                sock.listen()
            except OSError:
                sock.close()
                continue
            held.append(sock)
    yield
    for sock in held:
        sock.close()


@pytest.fixture(autouse=True)
def no_platform_variables(monkeypatch: pytest.MonkeyPatch) -> None:
    """PORT and WEB_CONCURRENCY change what a server is given: a test sets them when it means to."""
    monkeypatch.delenv("PORT", raising=False)
    monkeypatch.delenv("WEB_CONCURRENCY", raising=False)
