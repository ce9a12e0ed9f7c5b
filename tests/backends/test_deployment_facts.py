"""What each backend tells the export: where its server listens and how many workers serve.

Each is worked out by the server's own parser from the same argv ``start_server()`` gets.
tests/integration/test_export.py deploys them.
"""

from __future__ import annotations

from typing import Any

import pytest

from django_prodserver import conf
from django_prodserver.backends.granian import GRANIAN_PARAMETERS

APP = "testsite.celery_app.app"


def facts(backend: str, args: Any, **entry: Any) -> tuple[tuple[str, int] | None, int]:
    config = conf.ProcessConfig("web", backend, {"BACKEND": backend, "ARGS": args, **entry})
    prepared, argv = conf.prepare(config)
    return prepared.listen_address(argv), prepared.worker_processes(argv)


@pytest.mark.parametrize(
    ("backend", "args", "expected"),
    [
        ("granian-wsgi", {}, (("127.0.0.1", 8000), 1)),
        ("granian-asgi", {"host": "0.0.0.0", "port": 9000, "workers": 3}, (("0.0.0.0", 9000), 3)),
        ("gunicorn", {}, (("127.0.0.1", 8000), 1)),
        (
            "gunicorn",
            {"bind": ["0.0.0.0:9000", "[::1]:9001"], "workers": 4},
            (("0.0.0.0", 9000), 4),
        ),
        ("gunicorn", {"bind": "unix:/run/site.sock"}, (None, 1)),
        ("uvicorn", {}, (("127.0.0.1", 8000), 1)),
        ("uvicorn-wsgi", {"host": "::", "port": 9000, "workers": 2}, (("::", 9000), 2)),
        ("uvicorn", {"uds": "/run/site.sock"}, (None, 1)),
        ("waitress", {}, (("127.0.0.1", 8080), 1)),
        ("waitress", {"listen": "0.0.0.0:9000"}, (("0.0.0.0", 9000), 1)),
        ("waitress", {"unix_socket": "/run/site.sock"}, (None, 1)),
        ("daphne", {}, (("127.0.0.1", 8000), 1)),
        ("daphne", {"bind": "0.0.0.0", "port": 9000}, (("0.0.0.0", 9000), 1)),
        ("daphne", {"-u": "/run/site.sock"}, (None, 1)),
        ("hypercorn", {}, (("127.0.0.1", 8000), 1)),
        ("hypercorn", {"bind": "[::]:9000", "workers": 2}, (("::", 9000), 2)),
        ("hypercorn", {"bind": "0.0.0.0"}, (("0.0.0.0", 8000), 1)),
        ("hypercorn", {"bind": "unix:/run/site.sock"}, (None, 1)),
    ],
)
def test_listen_address_and_workers(backend: str, args: Any, expected: Any) -> None:
    assert facts(backend, args) == expected


@pytest.mark.skipif("uds" not in GRANIAN_PARAMETERS, reason="Granian 2.5 added 'uds'")
def test_granian_on_a_unix_socket_listens_on_no_port(tmp_path: Any) -> None:
    assert facts("granian-wsgi", {"uds": str(tmp_path / "site.sock")}) == (None, 1)


@pytest.mark.parametrize(
    ("args", "address"),
    [
        ({}, ("127.0.0.1", 5555)),
        ({"address": "0.0.0.0", "port": 5566}, ("0.0.0.0", 5566)),
        ({"unix_socket": "/run/flower.sock"}, None),
    ],
)
def test_flower_listen_address(args: Any, address: Any) -> None:
    assert facts("celery-flower", args, APP=APP) == (address, 1)


def test_a_worker_listens_nowhere_and_is_one_process() -> None:
    assert facts("tests.fake_backends.RecordingWorker", {}) == (None, 1)
