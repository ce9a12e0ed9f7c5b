"""Faults a running deployment meets, injected into real servers on loopback.

- a worker killed with SIGKILL is replaced, where the server replaces workers, and the server
  keeps answering;
- a stop signal with 20 two-second requests in flight (two workers where the server has them):
  every request gets its whole response, and the server exits 0;
- with only a port set, every server listens on loopback alone;
- secret values never reach --dry-run, --list or an error message;
- ``check --deploy`` warns about DEBUG and development options.

Stop signals with requests in flight, a broken application and a busy port are in
test_web_servers.py, test_granian.py and test_bad_inputs.py.
"""

from __future__ import annotations

import os
import re
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
from .harness import (
    Response,
    ServerProcess,
    child_processes,
    listening_addresses,
    run_manage,
    write_settings,
)
from .test_web_servers import answered, request_in_thread, stop_during_slow_requests

pytestmark = pytest.mark.integration

HELLO = "Hello from testsite"


def worker_pids(server: ServerProcess) -> set[int]:
    """The PIDs of the server's worker processes: the children of the manage.py process
    (multiprocessing's resource tracker, beside Hypercorn's workers, is not one)."""
    return set(child_processes(server.proc.pid))


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
    "hypercorn": {"BACKEND": "hypercorn", "ARGS": {"bind": "127.0.0.1:{port}", "workers": 2}},
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


REPO_DIR = Path(__file__).resolve().parents[2]
SOAK = REPO_DIR / "benchmarks" / "load" / "soak.py"


@pytest.mark.skipif(not SOAK.exists(), reason="benchmarks/load/soak.py is not in this checkout")
@pytest.mark.skipif(shutil.which("wrk") is None, reason="the soak test drives load with wrk")
@pytest.mark.parametrize("kind", ["granian-wsgi", "granian-asgi"])
def test_soak_for_ten_seconds(kind: str) -> None:
    # The benchmark suite's soak, CI-sized: steady load and not one failed request. The memory
    # target is judged on the 60 s soak of the full run (docs/performance.md): in a 10 s window
    # on a busy machine a preloaded ASGI worker once grew 20% (the 60 s soak shows about 5%),
    # a start-up effect rather than a leak, so the growth is printed here but not asserted.
    result = subprocess.run(
        [sys.executable, "-m", "benchmarks.load.soak", "--seconds", "10", "--kind", kind],
        cwd=REPO_DIR,
        capture_output=True,
        text=True,
        timeout=180,
        check=False,
    )
    output = result.stdout + result.stderr
    assert f"met: soak failed requests, {kind} " in output, output[-3000:]
    assert " 0 failed, " in output and ", exit 0" in output, output[-3000:]
    assert "Traceback" not in output, output[-3000:]


#: Requests in flight when a stop signal arrives, spread over the workers.
MANY_IN_FLIGHT = 20
DRAINING = {
    "hypercorn": {"BACKEND": "hypercorn", "ARGS": {"bind": "127.0.0.1:{port}", "workers": 2}},
    "daphne": {"BACKEND": "daphne", "ARGS": {"port": "{port}"}},  # one process
}
#: Servers whose SIGHUP is a graceful stop (Daphne cannot reload its code).
STOPPED_BY_SIGHUP = ["daphne"]


def start_draining(start_server: StartServer, backend: str) -> ServerProcess:
    server = start_server({"web": DRAINING[backend]})
    assert server.wait_ready().body == HELLO
    if backend == "hypercorn":  # both workers serving, so that both have requests in flight
        wait_for(lambda: at_least_two(worker_pids(server)), server)
        wait_for(lambda: server.output.count("Running on http://") >= 2, server)
    return server


@pytest.mark.parametrize("sig", [signal.SIGTERM, signal.SIGINT])
@pytest.mark.parametrize("backend", list(DRAINING))
def test_a_stop_signal_lets_twenty_requests_in_flight_finish(
    start_server: StartServer, backend: str, sig: int
) -> None:
    server = start_draining(start_server, backend)

    status, _, responses = stop_during_slow_requests(server, sig, count=MANY_IN_FLIGHT)

    assert answered(responses) == MANY_IN_FLIGHT, f"{responses}\n{server.output}"
    assert status == 0, server.output
    assert "Traceback" not in server.output


@pytest.mark.parametrize("sig", [signal.SIGTERM, signal.SIGINT])
def test_hypercorn_s_idle_worker_does_not_cut_off_the_busy_one(
    start_server: StartServer, sig: int
) -> None:
    # One request, two workers: the idle worker stops first. Hypercorn's own loop then
    # terminated the busy one, and the request got no response.
    server = start_draining(start_server, "hypercorn")

    status, _, responses = stop_during_slow_requests(server, sig, count=1)

    assert answered(responses) == 1, f"{responses}\n{server.output}"
    assert status == 0, server.output


@pytest.mark.parametrize("backend", list(DRAINING))
def test_sigterm_to_the_whole_process_group_lets_twenty_requests_finish(
    start_server: StartServer, backend: str
) -> None:
    # systemd's default (KillMode=control-group) signals every process of the service: Hypercorn's
    # workers, which died of it at once (0 of 20 completed), drain as the main process does.
    server = start_draining(start_server, backend)
    requests = [
        request_in_thread(lambda: server.get("/slow/?seconds=2", timeout=20))
        for _ in range(MANY_IN_FLIGHT)
    ]
    time.sleep(0.8)  # every request has reached the view

    os.killpg(server.proc.pid, signal.SIGTERM)
    status = server.proc.wait(timeout=15)
    for thread, _ in requests:
        thread.join(timeout=15)

    responses = [outcome[0] if outcome else None for _, outcome in requests]
    assert answered(responses) == MANY_IN_FLIGHT, f"{responses}\n{server.output}"
    assert status == 0, server.output


@pytest.mark.parametrize("backend", STOPPED_BY_SIGHUP)
def test_sighup_is_a_graceful_stop(start_server: StartServer, backend: str) -> None:
    server = start_draining(start_server, backend)

    status, _, responses = stop_during_slow_requests(server, signal.SIGHUP, count=MANY_IN_FLIGHT)

    assert answered(responses) == MANY_IN_FLIGHT, f"{responses}\n{server.output}"
    assert status == 0, server.output


#: Servers whose SIGHUP replaces the workers (new code), each with room for every request in
#: flight: two workers, and threads where a WSGI worker needs them to serve several at once.
RELOADING = {
    "hypercorn": DRAINING["hypercorn"],
    "gunicorn": {
        "BACKEND": "gunicorn",
        "ARGS": {"bind": "127.0.0.1:{port}", "workers": 2, "threads": 10},
    },
    "granian-wsgi": {
        "BACKEND": "granian-wsgi",
        "ARGS": {"port": "{port}", "workers": 2, "blocking-threads": 10},
    },
    "granian-asgi": {"BACKEND": "granian-asgi", "ARGS": {"port": "{port}", "workers": 2}},
    "uvicorn": {"BACKEND": "uvicorn", "ARGS": {"port": "{port}", "workers": 2}},
}


@pytest.mark.skipif(not Path("/proc/self/task").exists(), reason="needs Linux's /proc")
@pytest.mark.parametrize("backend", list(RELOADING))
def test_sighup_replaces_the_workers_after_they_drain(
    start_server: StartServer, backend: str
) -> None:
    server = start_server({"web": RELOADING[backend]})
    assert server.wait_ready().body == HELLO
    workers = wait_for(lambda: at_least_two(worker_pids(server)), server)
    if backend == "hypercorn":  # both workers serving, so that both have requests in flight
        wait_for(lambda: server.output.count("Running on http://") >= 2, server)
    requests = [
        request_in_thread(lambda: server.get("/slow/?seconds=2", timeout=20))
        for _ in range(MANY_IN_FLIGHT)
    ]
    time.sleep(0.8)  # every request has reached the view

    server.proc.send_signal(signal.SIGHUP)
    for thread, _ in requests:
        thread.join(timeout=15)

    responses = [outcome[0] if outcome else None for _, outcome in requests]
    assert answered(responses) == MANY_IN_FLIGHT, f"{responses}\n{server.output}"
    # Two new workers, and the two old ones gone (a helper process, such as multiprocessing's
    # resource tracker beside uvicorn's workers, stays in both sets).
    wait_for(lambda: at_least_two(worker_pids(server) - workers), server, timeout=40)
    wait_for(lambda: at_least_two(workers - worker_pids(server)), server, timeout=40)
    assert server.get("/", timeout=10).body == HELLO
    assert server.stop(timeout=30) == 0, server.output


@pytest.mark.skipif(not Path("/proc/self/task").exists(), reason="needs Linux's /proc")
def test_hypercorn_s_killed_worker_leaves_the_other_s_requests_alone(
    start_server: StartServer,
) -> None:
    server = start_draining(start_server, "hypercorn")
    requests = [
        request_in_thread(lambda: server.get("/slow/?seconds=2", timeout=20))
        for _ in range(MANY_IN_FLIGHT)
    ]
    time.sleep(0.8)
    victim = min(worker_pids(server))

    os.kill(victim, signal.SIGKILL)
    for thread, _ in requests:
        thread.join(timeout=15)

    responses = [outcome[0] if outcome else None for _, outcome in requests]
    # The killed worker's requests are lost with it; every one of the other worker's completes.
    lost = [response for response in responses if not isinstance(response, Response)]
    assert answered(responses) + len(lost) == MANY_IN_FLIGHT, f"{responses}\n{server.output}"
    assert 0 < answered(responses) < MANY_IN_FLIGHT, f"{responses}\n{server.output}"
    assert f"Hypercorn worker (pid {victim}) was killed by SIGKILL; starting a new one." in (
        server.output
    )
    wait_for(lambda: at_least_two(worker_pids(server) - {victim}), server)
    assert server.stop() == 0, server.output


# The application imports in the pre-flight check (a forked child of manage.py) and fails in
# Hypercorn's spawned workers: what the pre-flight check cannot see.
FAILS_IN_WORKERS = (
    "import multiprocessing\n"
    "if multiprocessing.parent_process() is not None:\n"
    "    raise RuntimeError('boom in a worker')\n"
    "from testsite.asgi import application\n"
)


def test_hypercorn_exits_non_zero_when_its_workers_fail_to_boot(
    start_server: StartServer, tmp_path: Path
) -> None:
    (tmp_path / "fails_in_workers.py").write_text(FAILS_IN_WORKERS)
    server = start_server(
        {"web": DRAINING["hypercorn"]},
        extra_settings="ASGI_APPLICATION = 'fails_in_workers.application'\n",
    )

    status = server.proc.wait(timeout=60)

    assert status == 1, server.output
    assert re.search(
        r"^Hypercorn worker \(pid \d+\) exited with status 1 before serving; stopping the "
        r"server\.$",
        server.output,
        re.MULTILINE,
    ), server.output
    assert listening_addresses(server.port) == set(), "a worker outlived the server"
