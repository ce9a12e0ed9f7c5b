"""Granian against hostile input and a killed worker, for real: ``manage.py prodserver`` in a
subprocess, spoken to over loopback.

Each bad value runs twice, as ``--dry-run`` and as a real start: both must print the same one
line and exit 1 before anything listens. Left to Granian, these values end in a Rust panic in
every worker (a password-protected key on 2.8, 141 lines for a Unix socket in a missing
directory), an OverflowError in a worker (``backlog`` 10**12), or a million processes.
"""

from __future__ import annotations

import contextlib
import os
import signal
import socket
import ssl
import time
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import pytest

from django_prodserver.backends.granian import GRANIAN_VERSION, versions

from . import harness
from .conftest import StartServer
from .harness import ServerProcess, free_port, run_manage, write_settings
from .test_granian import web

pytestmark = pytest.mark.integration

GRANIAN = tuple(int(part) for part in GRANIAN_VERSION.split(".")[:2])
HAS_PROC = Path("/proc/self/task").exists()
PASSWORD = "s3cret"
WEB = "Process 'web': "


def run_both(tmp_path: Path, args: Any) -> list[tuple[int, str, str]]:
    """``--dry-run`` and a real start of a granian-wsgi process with ``args``."""
    port = free_port()
    args = {k: v.replace("{port}", str(port)) if isinstance(v, str) else v for k, v in args.items()}
    write_settings(tmp_path, {"web": {"BACKEND": "granian-wsgi", "ARGS": args}})
    results = []
    for mode in (["--dry-run"], []):
        result = run_manage(tmp_path, "prodserver", "web", *mode, timeout=30)
        results.append((result.returncode, result.stdout, result.stderr))
        assert harness.listening_addresses(port) == set()  # nothing started
    return results


def assert_refused(tmp_path: Path, args: Any, message: str) -> None:
    for returncode, stdout, stderr in run_both(tmp_path, args):
        assert (returncode, stdout, stderr) == (1, "", f"CommandError: {WEB}{message}\n")


TOO_LARGE = [
    ({"workers": 10**6}, "ARGS['workers'] is 1000000", "1 to 10000"),
    ({"backlog": 10**12}, "ARGS['backlog'] is 1000000000000", "128 to 65535"),
    (
        {"workers-lifetime": 10**20},
        "ARGS['workers-lifetime'] is 100000000000000000000",
        "60 to 604800",
    ),
    ({"respawn-interval": 10**20}, "ARGS['respawn-interval'] is 1e+20", "0 to 604800"),
    (
        {"http1-buffer-size": 10**20},
        "ARGS['http1-buffer-size'] is 100000000000000000000",
        "8192 to 2147483647",
    ),
]


@pytest.mark.parametrize(("args", "value", "accepted"), TOO_LARGE)
def test_a_number_too_large_is_one_line(
    tmp_path: Path, args: dict[str, Any], value: str, accepted: str
) -> None:
    assert_refused(
        tmp_path,
        {"host": "127.0.0.1", "port": "{port}", **args},
        f"{value}, which is out of range: it must be from {accepted}.",
    )


@pytest.mark.parametrize(
    ("args", "shown"),
    [
        ({"host": "127.0.0.1\0", "port": "{port}"}, "--host=127.0.0.1\0"),
        ({"port": "{port}", "access-log-fmt": "a\0b"}, "--access-log-fmt=a\0b"),
    ],
)
def test_a_nul_byte_is_one_line(tmp_path: Path, args: dict[str, Any], shown: str) -> None:
    assert_refused(
        tmp_path,
        args,
        f"the argument {shown!r} built from ARGS holds a NUL byte, which no command line can "
        f"carry; remove it from ARGS.",
    )


@pytest.mark.skipif(GRANIAN < (2, 5), reason="Unix sockets need Granian 2.5")
def test_a_unix_socket_in_a_missing_directory_is_one_line(tmp_path: Path) -> None:
    socket_path = tmp_path / "missing" / "web.sock"
    assert_refused(
        tmp_path,
        {"uds": str(socket_path)},
        f"cannot listen on the Unix socket '{socket_path}': the directory '{socket_path.parent}' "
        f"does not exist. Create it, or choose a path in an existing directory.",
    )


@pytest.fixture
def tls_files(tmp_path: Path) -> Iterator[tuple[Any, Path, dict[str, Path]]]:
    """A CA, a certificate for 127.0.0.1, and its key written three ways."""
    trustme = pytest.importorskip("trustme")
    from cryptography.hazmat.primitives import serialization

    ca = trustme.CA()
    issued = ca.issue_cert("127.0.0.1")
    cert = tmp_path / "cert.pem"
    cert.write_bytes(b"".join(blob.bytes() for blob in issued.cert_chain_pems))
    key = serialization.load_pem_private_key(issued.private_key_pem.bytes(), password=None)
    protected = serialization.BestAvailableEncryption(PASSWORD.encode())
    forms = {
        "pkcs8": (serialization.PrivateFormat.PKCS8, protected),
        "plain": (serialization.PrivateFormat.PKCS8, serialization.NoEncryption()),
    }
    keys = {}
    for name, (private_format, encryption) in forms.items():
        keys[name] = tmp_path / f"{name}.pem"
        keys[name].write_bytes(
            key.private_bytes(serialization.Encoding.PEM, private_format, encryption)
        )
    yield ca, cert, keys


def tls_args(cert: Path, key: Path) -> dict[str, Any]:
    return {
        "host": "127.0.0.1",
        "port": "{port}",
        "ssl-certificate": str(cert),
        "ssl-keyfile": str(key),
        "ssl-keyfile-password": PASSWORD,
    }


@pytest.mark.skipif(versions.READS_ENCRYPTED_KEYS, reason="this Granian reads encrypted keys")
def test_a_password_protected_key_granian_cannot_read_is_one_line(
    tmp_path: Path, tls_files: tuple[Any, Path, dict[str, Path]]
) -> None:
    _, cert, keys = tls_files
    assert_refused(
        tmp_path,
        tls_args(cert, keys["pkcs8"]),
        f"Granian {GRANIAN_VERSION} cannot read a password-protected key: each worker would "
        f"fail with 'Invalid key'. Remove the password (openssl pkey -in {keys['pkcs8']} -out "
        f"NEW_KEY) and ARGS['ssl-keyfile-password'], or install 'granian<2.8'.",
    )


@pytest.mark.skipif(not versions.READS_ENCRYPTED_KEYS, reason="this Granian cannot read them")
def test_a_password_protected_key_serves_where_granian_reads_it(
    start_server: StartServer, tls_files: tuple[Any, Path, dict[str, Path]]
) -> None:
    ca, cert, keys = tls_files
    server = start_server(web("granian-wsgi", **tls_args(cert, keys["pkcs8"])), scheme="https")
    context = ssl.create_default_context()
    ca.configure_trust(context)
    assert server.wait_ready(context=context).body == "Hello from testsite"
    assert server.stop(timeout=15) == 0


def test_a_password_for_a_key_without_one_is_one_line(
    tmp_path: Path, tls_files: tuple[Any, Path, dict[str, Path]]
) -> None:
    _, cert, keys = tls_files
    assert_refused(
        tmp_path,
        tls_args(cert, keys["plain"]),
        f"ARGS['ssl-keyfile-password'] is '***', but the key '{keys['plain']}' has no "
        f"password, and Granian would fail to read it. Remove ARGS['ssl-keyfile-password'].",
    )


WARNING = (
    "System check identified some issues:\n\nWARNINGS:\n?: (prodserver.W005) Process 'web': "
    "GRANIAN_WORKERS is set, but only the granian command reads it; prodserver starts Granian "
    "with the options of ARGS, so it has no effect: set 'workers' in ARGS instead, and unset "
    "GRANIAN_WORKERS.\n"
)
COUNTED = "\nSystem check identified 1 issue (0 silenced).\n"  # what `check` adds


def test_a_granian_variable_is_warned_about_in_dry_run_and_check(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    write_settings(tmp_path, {"web": {"BACKEND": "granian-wsgi", "ARGS": {"port": 8123}}})
    monkeypatch.setenv("GRANIAN_WORKERS", "4")  # run_manage passes this environment on
    dry_run = run_manage(tmp_path, "prodserver", "web", "--dry-run")
    check = run_manage(tmp_path, "check")
    assert (dry_run.returncode, check.returncode) == (0, 0)
    _, call, ignored, *_ = dry_run.stdout.splitlines()
    assert call.startswith("Granian(") and " workers=" not in call
    assert (ignored + "\n", dry_run.stderr) == (WARNING.split("?: (prodserver.W005) ")[1], "")
    assert check.stderr == WARNING + COUNTED


def test_a_granian_variable_is_warned_about_at_start(start_server: StartServer) -> None:
    server = start_server(web("granian-wsgi"), env={"GRANIAN_WORKERS": "4"})
    assert server.wait_ready().body == "Hello from testsite"
    assert server.output.startswith(WARNING + "Starting process 'web' with backend 'granian-wsgi'.")
    assert "worker-2" not in server.output  # one worker: Granian's default, not the variable's
    assert server.stop(timeout=15) == 0


# -- a worker killed with requests in flight ----------------------------------------------------


def worker_pids(server: ServerProcess) -> set[int]:
    return set(harness.child_processes(server.proc.pid))


def exactly_two(pids: set[int]) -> set[int] | None:
    return pids if len(pids) == 2 else None


def wait_for(condition: Any, server: ServerProcess, timeout: float = 20) -> Any:
    deadline = time.monotonic() + timeout
    while time.monotonic() < deadline:
        value = condition()
        if value:
            return value
        assert server.proc.poll() is None, server.output
        time.sleep(0.1)
    raise AssertionError(f"not within {timeout}s:\n{server.output}")


def slow_request(server: ServerProcess, seconds: float) -> socket.socket:
    client = socket.create_connection(("127.0.0.1", server.port), timeout=15)
    request = f"GET /slow/?seconds={seconds} HTTP/1.1\r\nHost: 127.0.0.1\r\nConnection: close"
    client.sendall(f"{request}\r\n\r\n".encode())
    return client


def holder(client: socket.socket, workers: set[int]) -> int | None:
    """The worker that accepted ``client``'s connection, once one has."""
    inode = harness._socket_inode(client.getpeername(), client.getsockname())
    for pid in workers:
        with contextlib.suppress(OSError):
            for fd in Path(f"/proc/{pid}/fd").iterdir():
                with contextlib.suppress(OSError):
                    if os.readlink(fd) == f"socket:[{inode}]":
                        return pid
    return None


def response_of(client: socket.socket) -> str:
    """The status line and body the server sent, or what became of the connection."""
    chunks = []
    try:
        while True:
            chunk = client.recv(65536)
            if not chunk:
                break
            chunks.append(chunk)
    except OSError as e:
        return type(e).__name__
    finally:
        client.close()
    head, _, body = b"".join(chunks).decode(errors="replace").partition("\r\n\r\n")
    return f"{head.splitlines()[0] if head else 'closed'} {body}"


def requests_on_both_workers(server: ServerProcess, workers: set[int]) -> dict[socket.socket, int]:
    """Slow requests in flight until each of ``workers`` serves at least one (at most 16)."""
    in_flight: dict[socket.socket, int] = {}
    while len(in_flight) < 16 and set(in_flight.values()) != workers:
        client = slow_request(server, 4)
        in_flight[client] = wait_for(lambda c=client: holder(c, workers), server, timeout=5)
    assert set(in_flight.values()) == workers, f"one worker took all {len(in_flight)} requests"
    return in_flight


@pytest.mark.skipif(not HAS_PROC, reason="needs Linux's /proc")
def test_a_worker_killed_with_requests_in_flight_is_replaced_by_default(
    start_server: StartServer,
) -> None:
    server = start_server(web("granian-wsgi", workers=2))  # no respawn option in ARGS
    assert server.wait_ready().body == "Hello from testsite"
    workers = wait_for(lambda: exactly_two(worker_pids(server)), server)
    in_flight = requests_on_both_workers(server, workers)
    victim = next(iter(in_flight.values()))

    os.kill(victim, signal.SIGKILL)

    survivors = [client for client, pid in in_flight.items() if pid != victim]
    answers = [response_of(client) for client in survivors]
    assert answers == ["HTTP/1.1 200 OK slow response done"] * len(survivors), server.output
    for client, pid in in_flight.items():
        if pid == victim:
            client.close()
    replaced = wait_for(lambda: exactly_two(worker_pids(server) - {victim}), server)
    assert victim not in replaced and len(replaced - workers) == 1
    assert [server.get("/", timeout=10).status for _ in range(10)] == [200] * 10
    assert server.proc.poll() is None
    assert server.stop(timeout=15) == 0, server.output


@pytest.mark.skipif(not HAS_PROC, reason="needs Linux's /proc")
def test_args_can_turn_respawning_off(start_server: StartServer) -> None:
    server = start_server(web("granian-wsgi", workers=2, **{"respawn-failed-workers": False}))
    assert server.wait_ready().body == "Hello from testsite"
    workers = wait_for(lambda: exactly_two(worker_pids(server)), server)

    os.kill(next(iter(workers)), signal.SIGKILL)

    # Granian's own behaviour without it: the whole server stops, with an error status.
    assert server.proc.wait(timeout=20) != 0, server.output
