"""The backend without a server: how ARGS become Cheroot's options, and what is refused."""

from __future__ import annotations

import socket
from pathlib import Path
from typing import Any

import pytest
from prodserver_cheroot import CherootServer, server_options

from django_prodserver import registry
from django_prodserver.exceptions import InvalidBackendArgs


def backend(args: Any = None) -> CherootServer:
    entry: dict[str, Any] = {"BACKEND": "cheroot"}
    if args is not None:
        entry["ARGS"] = args
    return CherootServer(alias="cheroot", process_name="web", **entry)


def check(args: Any) -> list[str]:
    """What `manage.py prodserver` does before starting: ARGS to argv, then the check."""
    server = backend(args)
    argv = server.prep_server_args()
    server.check_args(argv)
    return argv


def test_the_alias_is_registered() -> None:
    resolved = registry.resolve("cheroot")
    assert resolved.backend_class is CherootServer
    assert resolved.spec is not None
    assert resolved.spec.distribution == "prodserver-cheroot"


def test_args_become_cheroot_options() -> None:
    argv = check({"bind": "127.0.0.1:8001", "threads": 4, "shutdown_timeout": 10})

    assert argv == ["--bind=127.0.0.1:8001", "--threads=4", "--shutdown-timeout=10"]
    assert server_options(argv) == {
        "bind_addr": ("127.0.0.1", 8001),
        "numthreads": 4,
        "shutdown_timeout": 10,
    }


def test_cheroots_default_bind() -> None:
    assert check(None) == []
    assert server_options([]) == {"bind_addr": ("::1", 8000)}


def test_a_unix_socket() -> None:
    assert server_options(check({"bind": "/run/web.sock"})) == {"bind_addr": "/run/web.sock"}


@pytest.mark.parametrize(
    ("args", "message"),
    [
        (
            {"threds": 4},
            "Process 'web': unknown cheroot option 'threds' in ARGS. Did you mean 'threads'?",
        ),
        (
            {"threads": "many"},
            "Process 'web': invalid value 'many' for cheroot option 'threads' in ARGS: invalid "
            "int value: 'many'.",
        ),
        (
            {"threads": 0},
            "Process 'web': invalid value 0 for cheroot option 'threads' in ARGS: it must be "
            "from 1 to 10000.",
        ),
        # No abbreviations: a typo that prefixes an option does not set it.
        (
            {"max": 4},
            "Process 'web': unknown cheroot option 'max' in ARGS. See 'cheroot --help' for the "
            "options it accepts.",
        ),
        (
            ["mysite.wsgi:application"],
            "Process 'web': unexpected argument 'mysite.wsgi:application' in ARGS: ARGS holds "
            "options only; the application comes from the WSGI_APPLICATION setting.",
        ),
    ],
)
def test_bad_args_are_one_line(args: Any, message: str) -> None:
    with pytest.raises(InvalidBackendArgs) as caught:
        check(args)
    assert caught.value.message == message


def test_a_busy_port_is_one_line_before_cheroot_starts() -> None:
    with socket.socket() as occupant:
        occupant.bind(("127.0.0.1", 0))
        occupant.listen()
        port = occupant.getsockname()[1]
        server = backend({"bind": f"127.0.0.1:{port}"})
        with pytest.raises(InvalidBackendArgs) as caught:
            server.start_server(*server.prep_server_args())
    assert caught.value.message == (
        f"Process 'web': cannot listen on 127.0.0.1:{port}: Address already in use. "
        f"Is another server using it?"
    )


def test_a_socket_in_a_missing_directory_is_one_line(tmp_path: Path) -> None:
    server = backend({"bind": f"{tmp_path}/run/web.sock"})
    with pytest.raises(InvalidBackendArgs) as caught:
        server.start_server(*server.prep_server_args())
    assert caught.value.message == (
        f"Process 'web': cannot listen on the Unix socket '{tmp_path}/run/web.sock': the "
        f"directory '{tmp_path}/run' does not exist. Create it, or choose a path in an existing "
        f"directory."
    )


def test_dry_run_shows_the_application() -> None:
    server = backend({"bind": "127.0.0.1:8001"})
    assert server.describe_start(server.prep_server_args()) == (
        "cheroot --bind=127.0.0.1:8001 wsgi_app:application"
    )
