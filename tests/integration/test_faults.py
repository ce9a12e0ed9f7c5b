"""Faults a running deployment meets, injected into real servers on loopback.

- a worker killed with SIGKILL is replaced, where the server replaces workers, and the server
  keeps answering;
- with only a port set, every server listens on loopback alone;
- secret values never reach --dry-run, --list or an error message;
- ``check --deploy`` warns about DEBUG and development options.

Stop signals with requests in flight, a broken application and a busy port are in
test_web_servers.py, test_granian.py and test_bad_inputs.py.
"""

from __future__ import annotations

import os
import shutil
import signal
import socket
import subprocess
import sys
import time
from pathlib import Path
from typing import Any

import pytest

from .conftest import StartServer
from .harness import ServerProcess, run_manage, write_settings

pytestmark = pytest.mark.integration

HELLO = "Hello from testsite"


def worker_pids(server: ServerProcess) -> set[int]:
    """The PIDs of the server's worker processes: the children of the manage.py process."""
    children = Path(f"/proc/{server.proc.pid}/task/{server.proc.pid}/children")
    return {int(pid) for pid in children.read_text().split()}


def wait_for(condition: Any, server: ServerProcess, timeout: float = 20) -> Any:
    deadline = time.monotonic() + timeout
    while time.monotonic() < deadline:
        value = condition()
        if value:
            return value
        assert server.proc.poll() is None, server.output
        time.sleep(0.2)
    raise AssertionError(f"not within {timeout}s:\n{server.output}")


def at_least_two(pids: set[int]) -> set[int] | None:
    return pids if len(pids) >= 2 else None


RESPAWNING = {
    "granian-wsgi": {
        "BACKEND": "granian-wsgi",
        "ARGS": {"port": "{port}", "workers": 2, "respawn-failed-workers": True},
    },
    "gunicorn": {"BACKEND": "gunicorn", "ARGS": {"bind": "127.0.0.1:{port}", "workers": 2}},
}


@pytest.mark.skipif(not Path("/proc/self/task").exists(), reason="needs Linux's /proc")
@pytest.mark.parametrize("backend", list(RESPAWNING))
def test_a_worker_killed_with_sigkill_is_replaced(start_server: StartServer, backend: str) -> None:
    server = start_server({"web": RESPAWNING[backend]})
    assert server.wait_ready().body == HELLO
    workers = wait_for(lambda: at_least_two(worker_pids(server)), server)
    victim = int(server.get("/pid/").body)
    assert victim in workers

    os.kill(victim, signal.SIGKILL)

    replaced = wait_for(lambda: at_least_two(worker_pids(server) - {victim}), server)
    assert len(replaced - workers) >= 1, server.output
    answers = [server.get("/", timeout=10) for _ in range(10)]
    assert [(a.status, a.body) for a in answers] == [(200, HELLO)] * 10
    assert server.stop() == 0, server.output


def non_loopback_address() -> str | None:
    with socket.socket(socket.AF_INET, socket.SOCK_DGRAM) as probe:
        try:
            probe.connect(("10.255.255.255", 1))  # UDP: sends nothing, picks the route
        except OSError:
            return None
        address = str(probe.getsockname()[0])
    return None if address.startswith("127.") else address


ONLY_A_PORT = {
    "granian-wsgi": {"port": "{port}"},
    "granian-asgi": {"port": "{port}"},
    "uvicorn": {"port": "{port}"},
    "uvicorn-wsgi": {"port": "{port}"},
    "waitress": {"port": "{port}"},
}


@pytest.mark.parametrize("backend", list(ONLY_A_PORT))
def test_only_a_port_listens_on_loopback_only(start_server: StartServer, backend: str) -> None:
    address = non_loopback_address()
    if address is None:
        pytest.skip("this machine has no address besides loopback")
    server = start_server({"web": {"BACKEND": backend, "ARGS": ONLY_A_PORT[backend]}})
    assert server.wait_ready().body == HELLO
    with socket.socket() as outside:
        outside.settimeout(2)
        assert outside.connect_ex((address, server.port)) != 0, f"reachable on {address}"
    assert server.stop() == 0, server.output


SECRET = "hunter2-secret-value"


@pytest.fixture
def certificate(tmp_path: Path) -> tuple[Path, Path]:
    trustme = pytest.importorskip("trustme")
    issued = trustme.CA().issue_cert("127.0.0.1")
    cert, key = tmp_path / "cert.pem", tmp_path / "key.pem"
    cert.write_bytes(b"".join(blob.bytes() for blob in issued.cert_chain_pems))
    key.write_bytes(issued.private_key_pem.bytes())
    return cert, key


def test_dry_run_masks_secret_values(tmp_path: Path, certificate: tuple[Path, Path]) -> None:
    cert, key = certificate
    args = {"ssl_certfile": str(cert), "ssl_keyfile": str(key), "ssl_keyfile_password": SECRET}
    write_settings(tmp_path, {"web": {"BACKEND": "uvicorn", "ARGS": args}})

    result = run_manage(tmp_path, "prodserver", "web", "--dry-run")

    assert result.returncode == 0, result.stderr
    assert "--ssl-keyfile-password=***" in result.stdout
    assert SECRET not in result.stdout + result.stderr


def test_granian_dry_run_masks_secret_values(
    tmp_path: Path, certificate: tuple[Path, Path]
) -> None:
    cert, key = certificate
    args = {"ssl-certificate": str(cert), "ssl-keyfile": str(key), "ssl-keyfile-password": SECRET}
    write_settings(tmp_path, {"web": {"BACKEND": "granian-wsgi", "ARGS": args}})

    result = run_manage(tmp_path, "prodserver", "web", "--dry-run")

    assert SECRET not in result.stdout + result.stderr
    assert "ssl_key_password='***'" in result.stdout or "***" in result.stderr


BAD_SECRETS: dict[str, Any] = {
    "uvicorn": {"BACKEND": "uvicorn", "ARGS": {"ssl_keyfile_password": SECRET}},
    "granian": {"BACKEND": "granian-wsgi", "ARGS": {"ssl-keyfile-password": [SECRET, "x"]}},
    "celery": {
        "BACKEND": "celery-worker",
        "APP": "testsite.celery_app.app",
        "ARGS": {"broker_password": SECRET},
    },
    "django-tasks-list": {"BACKEND": "django-tasks", "ARGS": [f"--api-token={SECRET}"]},
}


@pytest.mark.parametrize("case", list(BAD_SECRETS))
def test_errors_and_list_mask_secret_values(tmp_path: Path, case: str) -> None:
    write_settings(tmp_path, {"web": BAD_SECRETS[case]}, "CELERY_BROKER_URL = 'memory://'\n")

    started = run_manage(tmp_path, "prodserver", "web")
    listed = run_manage(tmp_path, "prodserver", "--list", "--no-color")
    checked = run_manage(tmp_path, "check")

    assert started.returncode == 1
    assert started.stderr.startswith("CommandError: Process 'web': ")
    assert "error: Process 'web': " in listed.stdout
    for result in (started, listed, checked):
        assert SECRET not in result.stdout + result.stderr


def test_check_deploy_warns_about_debug_and_development_options(tmp_path: Path) -> None:
    processes = {
        "web": {"BACKEND": "uvicorn", "ARGS": {"reload": True}},
        "old": {"BACKEND": "gunicorn", "ARGS": {"reload": True}},
        "granian": {"BACKEND": "granian-wsgi", "ARGS": {"reload": True}},
        "fine": {"BACKEND": "waitress", "ARGS": {"port": 8123}},
    }
    write_settings(tmp_path, processes, "DEBUG = True\n")

    result = run_manage(tmp_path, "check", "--deploy")
    output = result.stdout + result.stderr

    assert "(prodserver.W002) DEBUG is True while PRODUCTION_PROCESSES is set" in output
    for name in ("web", "old", "granian"):
        assert f"(prodserver.W003) Process {name!r}: ARGS['reload'] is a development option" in (
            output
        )
    assert "Process 'fine'" not in output
    assert "Traceback" not in output


SOAK = Path(__file__).resolve().parents[2] / "benchmarks" / "soak.py"


@pytest.mark.skipif(not SOAK.exists(), reason="benchmarks/soak.py is not in this checkout")
@pytest.mark.skipif(shutil.which("wrk") is None, reason="the soak test drives load with wrk")
@pytest.mark.parametrize("kind", ["granian-wsgi", "granian-asgi"])
def test_soak_for_ten_seconds(kind: str) -> None:
    # The benchmark suite's soak, CI-sized: steady load and not one failed request. The memory
    # target is judged on the 60 s soak of the full run (docs/performance.md): in a 10 s window
    # on a busy machine a preloaded ASGI worker once grew 20% (the 60 s soak shows about 5%),
    # a start-up effect rather than a leak, so the growth is printed here but not asserted.
    result = subprocess.run(
        [sys.executable, str(SOAK), "--seconds", "10", "--kind", kind],
        cwd=SOAK.parent,
        capture_output=True,
        text=True,
        timeout=180,
        check=False,
    )
    output = result.stdout + result.stderr
    assert f"met: soak failed requests, {kind} " in output, output[-3000:]
    assert " 0 failed, " in output and ", exit 0" in output, output[-3000:]
    assert "Traceback" not in output, output[-3000:]
