"""An application a server cannot serve, in ``--dry-run`` and at a real start: one line, exit
status 1, nothing left listening. Each server backend, with an application module that calls
``sys.exit(0)``, one whose ``application`` is 42, and the other interface's Django handler."""

from __future__ import annotations

import socket
from pathlib import Path

import pytest

from .harness import free_port, run_manage, write_settings

pytestmark = pytest.mark.integration

# Each backend, the interface it serves, and how its ARGS set the address.
SERVERS = {
    "gunicorn": ("wsgi", lambda port: {"bind": f"127.0.0.1:{port}"}),
    "uvicorn": ("asgi", lambda port: {"host": "127.0.0.1", "port": port}),
    "uvicorn-wsgi": ("wsgi", lambda port: {"host": "127.0.0.1", "port": port}),
    "granian-wsgi": ("wsgi", lambda port: {"host": "127.0.0.1", "port": port}),
    "granian-asgi": ("asgi", lambda port: {"host": "127.0.0.1", "port": port}),
    "waitress": ("wsgi", lambda port: {"host": "127.0.0.1", "port": port}),
    "daphne": ("asgi", lambda port: {"bind": "127.0.0.1", "port": port}),
    "hypercorn": ("asgi", lambda port: {"bind": f"127.0.0.1:{port}"}),
}
OTHER = {"wsgi": "asgi", "asgi": "wsgi"}
DJANGO_HANDLER = (
    "from django.core.{0} import get_{0}_application\napplication = get_{0}_application()\n"
)
MODULES = {
    "exits": "import sys\nsys.exit(0)\n",
    "number": "application = 42\n",
    "wsgi": DJANGO_HANDLER.format("wsgi"),
    "asgi": DJANGO_HANDLER.format("asgi"),
}
# What is wrong with each module, and, for those that import, the fix for each interface.
PROBLEMS = {
    "exits": "failed to import: SystemExit: 0",
    "number": "cannot be served: it is 42, of type int, not an application.",
    "wsgi": "cannot be served: it is a WSGI application, and this server calls an ASGI one.",
    "asgi": "cannot be served: it is an ASGI application, and this server calls a WSGI one.",
}
FIXES = {
    "wsgi": " Set WSGI_APPLICATION to your project's WSGI application, such as "
    "'mysite.wsgi.application'.",
    "asgi": " Set ASGI_APPLICATION to your project's ASGI application, such as "
    "'mysite.asgi.application'.",
}


def expected(module: str, interface: str) -> str:
    fix = "" if module == "exits" else FIXES[interface]
    return f"the application 'app_{module}:application' {PROBLEMS[module]}{fix}"


@pytest.mark.parametrize("mode", ["--dry-run", "start"])
@pytest.mark.parametrize("problem", ["exits", "number", "other interface"])
@pytest.mark.parametrize("alias", list(SERVERS))
def test_an_application_the_server_cannot_serve_is_one_line_and_nothing_listens(
    tmp_path: Path, alias: str, problem: str, mode: str
) -> None:
    interface, address = SERVERS[alias]
    module = OTHER[interface] if problem == "other interface" else problem
    (tmp_path / f"app_{module}.py").write_text(MODULES[module])
    port = free_port()
    write_settings(
        tmp_path,
        {"web": {"BACKEND": alias, "ARGS": address(port)}},
        extra=f"WSGI_APPLICATION = 'app_{module}.application'\n"
        f"ASGI_APPLICATION = 'app_{module}.application'\n",
    )
    args = ["--dry-run"] if mode == "--dry-run" else []
    result = run_manage(tmp_path, "prodserver", "web", "--skip-checks", *args, timeout=60)
    assert (result.returncode, result.stderr) == (
        1,
        f"CommandError: Process 'web': {expected(module, interface)}\n",
    )
    with socket.socket() as probe:  # nothing was left listening
        probe.bind(("127.0.0.1", port))
