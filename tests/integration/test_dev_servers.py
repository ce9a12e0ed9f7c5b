"""The development servers started for real by ``manage.py devserver NAME``, and ``devserver``
without a configured name behaving as ``runserver``, as it always has."""

from __future__ import annotations

import re
import signal
from pathlib import Path

import pytest

from .conftest import StartServer
from .harness import run_manage, write_settings

pytestmark = pytest.mark.integration

HELLO = "Hello from testsite"
DEBUG_ON = "DEBUG = True\n"

DEV_SERVERS = {
    # The reloader on, as developers run it: its process is the one stopped.
    "runserver": {"BACKEND": "runserver", "ARGS": {"addrport": "127.0.0.1:{port}"}},
    "runserver-plus": {
        "BACKEND": "runserver-plus",
        # The stat reloader: watchdog's would watch every installed package.
        "ARGS": {"addrport": "127.0.0.1:{port}", "reloader_type": "stat"},
    },
    "daphne-runserver": {
        "BACKEND": "daphne-runserver",
        "ARGS": {"addrport": "127.0.0.1:{port}", "noreload": True},
    },
}


@pytest.mark.parametrize("backend", list(DEV_SERVERS))
def test_devserver_name_starts_the_configured_development_server(
    start_server: StartServer, backend: str
) -> None:
    server = start_server(
        {"dev": DEV_SERVERS[backend]}, name="dev", extra_settings=DEBUG_ON, command="devserver"
    )
    response = server.wait_ready()
    assert (response.status, response.body) == (200, HELLO), server.output
    assert server.stop() == 0, server.output
    with pytest.raises(OSError):  # the reloader's child, which served, has stopped too
        server.get(timeout=2)
    # Once: not again in the process the reloader restarts.
    assert server.output.count(f"Starting process 'dev' with backend '{backend}'.") == 1
    assert "Traceback" not in server.output


def test_sigint_stops_a_development_server_and_its_reloader_with_status_0(
    start_server: StartServer,
) -> None:
    server = start_server(
        {"dev": DEV_SERVERS["runserver"]}, name="dev", extra_settings=DEBUG_ON, command="devserver"
    )
    assert server.wait_ready().status == 200, server.output
    assert server.stop(signal.SIGINT) == 0, server.output
    assert "Traceback" not in server.output
    with pytest.raises(OSError):  # the reloader's child, which served, has stopped too
        server.get(timeout=2)


def test_devserver_without_a_name_is_runserver(start_server: StartServer) -> None:
    server = start_server(
        {"web": {"BACKEND": "gunicorn"}},
        name="127.0.0.1:{port}",
        extra_settings=DEBUG_ON,
        extra_args=("--noreload",),
        command="devserver",
    )
    response = server.wait_ready()
    assert (response.status, response.body) == (200, HELLO), server.output
    # Django 6.1 says "Starting WSGI development server at"; earlier releases leave out WSGI.
    assert re.search(r"Starting (WSGI )?development server at http://127\.0\.0\.1:", server.output)
    assert "Starting process" not in server.output


@pytest.mark.parametrize("backend", list(DEV_SERVERS))
def test_a_development_server_refuses_to_start_with_debug_off(tmp_path: Path, backend: str) -> None:
    write_settings(tmp_path, {"dev": {"BACKEND": backend}})
    for command in ("devserver", "prodserver"):
        result = run_manage(tmp_path, command, "dev")
        assert result.returncode == 1
        assert result.stdout == ""
        assert result.stderr == (
            f"CommandError: Process 'dev': {backend!r} is a development server and DEBUG is "
            f"False. Develop with DEBUG = True, or set 'ALLOW_IN_PRODUCTION': True in its entry "
            f"to start it anyway.\n"
        )


def test_allow_in_production_starts_it_with_debug_off(start_server: StartServer) -> None:
    args = {"addrport": "127.0.0.1:{port}", "noreload": True}
    entry = {"BACKEND": "runserver", "ARGS": args, "ALLOW_IN_PRODUCTION": True}
    server = start_server({"dev": entry}, name="dev", command="devserver")
    response = server.wait_ready()
    assert (response.status, response.body) == (200, HELLO), server.output
    assert server.stop() == 0, server.output


@pytest.mark.parametrize("key", ["cert_file", "output"])
def test_a_nul_byte_in_runserver_plus_args_is_one_line(tmp_path: Path, key: str) -> None:
    # runserver_plus opens these files only once serving, failing there with a traceback.
    flag = "--" + key.replace("_", "-")
    entry = {"BACKEND": "runserver-plus", "ARGS": {"addrport": "127.0.0.1:8000", key: "a\x00"}}
    write_settings(tmp_path, {"dev": entry}, DEBUG_ON)
    for command in (("devserver", "dev"), ("prodserver", "dev", "--dry-run")):
        result = run_manage(tmp_path, *command)
        assert (result.returncode, result.stdout, result.stderr) == (
            1,
            "",
            f"CommandError: Process 'dev': the argument '{flag}=a\\x00' built from ARGS holds "
            f"a NUL byte, which no command line can carry; remove it from ARGS.\n",
        )


@pytest.mark.parametrize(
    ("args", "message"),
    [
        (
            ("dev", "--noreload"),
            "CommandError: devserver dev starts process 'dev' with the options of its ARGS; set "
            "--noreload there instead of on the command line.\n",
        ),
        (
            ("web",),
            "CommandError: Process 'web' runs a server (backend 'gunicorn'), not a development "
            "server: start it with 'manage.py server web' or 'manage.py prodserver web'.\n",
        ),
    ],
)
def test_devserver_name_mistakes_are_one_line(
    tmp_path: Path, args: tuple[str, ...], message: str
) -> None:
    processes = {"dev": {"BACKEND": "runserver"}, "web": {"BACKEND": "gunicorn"}}
    write_settings(tmp_path, processes, DEBUG_ON)
    result = run_manage(tmp_path, "devserver", *args)
    assert (result.returncode, result.stdout, result.stderr) == (1, "", message)
