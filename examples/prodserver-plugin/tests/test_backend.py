"""The backend without a server: how ARGS become Cheroot's options, and what is refused."""

from __future__ import annotations

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
        ({"threds": 4}, "Process 'web': cheroot rejects ARGS: unrecognized arguments: --threds=4."),
        (
            {"threads": "many"},
            "Process 'web': cheroot rejects ARGS: argument --threads: invalid int value: 'many'.",
        ),
        ({"threads": 0}, "Process 'web': ARGS['threads'] must be 1 or more."),
        # No abbreviations: a typo that prefixes an option does not set it.
        ({"max": 4}, "Process 'web': cheroot rejects ARGS: unrecognized arguments: --max=4."),
        (
            ["mysite.wsgi:application"],
            "Process 'web': cheroot rejects ARGS: unrecognized arguments: mysite.wsgi:application.",
        ),
    ],
)
def test_bad_args_are_one_line(args: Any, message: str) -> None:
    with pytest.raises(InvalidBackendArgs) as caught:
        check(args)
    assert caught.value.message == message


def test_dry_run_shows_the_application() -> None:
    server = backend({"bind": "127.0.0.1:8001"})
    assert server.describe_start(server.prep_server_args()) == (
        "cheroot --bind=127.0.0.1:8001 wsgi_app:application"
    )
