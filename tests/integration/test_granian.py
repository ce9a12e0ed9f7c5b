"""Granian for real: ``manage.py prodserver`` in a subprocess, spoken to over loopback."""

from __future__ import annotations

import os
import re
import shutil
import signal
import socket
import ssl
import subprocess
import sys
import threading
import time
from importlib import metadata
from pathlib import Path
from typing import Any

import pytest

from django_prodserver.backends.granian import DJANGO_WSGI_BLOCKING_THREADS

from .conftest import StartServer
from .harness import (
    PROJECT_DIR,
    Response,
    ServerProcess,
    free_port,
    run_manage,
    subprocess_env,
    wait_for_granian_workers_started,
    write_settings,
)

pytestmark = pytest.mark.integration

GRANIAN_2 = int(metadata.version("granian").split(".")[0]) >= 2
SERVES_STATIC_FILES = tuple(int(p) for p in metadata.version("granian").split(".")[:2]) >= (2, 3)

WSGI_BACKENDS = ["granian-wsgi", "django_prodserver.backends.granian.GranianWSGIServer"]
ASGI_BACKENDS = ["granian-asgi", "django_prodserver.backends.granian.GranianASGIServer"]
ALL_BACKENDS = WSGI_BACKENDS + ASGI_BACKENDS
#: Requests in flight when the stop signal arrives; every one must get its whole response.
IN_FLIGHT = 5


def web(backend: str, **args: Any) -> dict[str, Any]:
    # Now and then a Granian worker does not exit on SIGTERM after serving (a 1.x WSGI worker
    # often, its own CLI too; 2.8 once in a CI run): prodserver kills it after 30 s, the test
    # after a few, not to wait for the bound that test_a_worker_that_does_not_stop_... checks.
    args.setdefault("workers-kill-timeout", 5)
    return {"web": {"BACKEND": backend, "ARGS": {"host": "127.0.0.1", "port": "{port}", **args}}}


def wait_exit(server: ServerProcess, timeout: float = 10) -> int:
    try:
        return server.proc.wait(timeout=timeout)
    except subprocess.TimeoutExpired:
        raise AssertionError(f"server still running after {timeout}s:\n{server.output}") from None


@pytest.mark.parametrize("backend", ALL_BACKENDS)
def test_two_workers_answer(start_server: StartServer, backend: str) -> None:
    server = start_server(web(backend, workers=2, http="1", backlog=256))
    assert server.wait_ready().body == "Hello from testsite"
    pids = {server.get("/pid/").body for _ in range(6)}
    assert all(pid.isdigit() and int(pid) != server.proc.pid for pid in pids)
    assert "worker-2" in server.output
    # Plain Django has no lifespan support: the no-lifespan interface must not try it.
    assert "Lifespan" not in server.output
    assert server.stop() == 0


@pytest.mark.parametrize("backend", ["granian-wsgi", "granian-asgi"])
def test_a_worker_that_does_not_stop_is_killed_after_30_seconds(
    start_server: StartServer, backend: str
) -> None:
    # Granian's own default waits for such a worker for ever; ARGS here leaves prodserver's bound.
    args = {"host": "127.0.0.1", "port": "{port}", "workers": 2}
    server = start_server({"web": {"BACKEND": backend, "ARGS": args}})
    server.wait_ready()
    wait_for_granian_workers_started(server, 2)
    stuck = int(re.findall(r"Spawning worker-1 with pid: (\d+)", server.output, re.I)[0])
    os.kill(stuck, signal.SIGSTOP)  # a worker that cannot act on its SIGTERM
    sent = time.monotonic()
    assert server.stop(timeout=60) == 0
    assert 29 < time.monotonic() - sent < 60, server.output
    # Granian 1.x numbers the worker from 0 in this line.
    killed = f"Killing worker-{1 if GRANIAN_2 else 0} after it refused to gracefully stop"
    assert f"[WARNING] {killed}\n" in server.output
    with pytest.raises(ProcessLookupError):
        os.kill(stuck, 0)


@pytest.mark.skipif(
    not GRANIAN_2,
    reason="Granian 1.x cuts requests in flight at SIGTERM (its own CLI too), and a WSGI worker "
    "with one in flight does not exit until workers-kill-timeout",
)
@pytest.mark.parametrize("sig", [signal.SIGTERM, signal.SIGINT], ids=["SIGTERM", "SIGINT"])
@pytest.mark.parametrize("backend", ALL_BACKENDS)
def test_stop_signal_lets_the_requests_in_flight_finish(
    start_server: StartServer, backend: str, sig: int
) -> None:
    # Threads, so that one WSGI worker serves all the requests at once; ASGI runs each
    # request's view in a thread of its own.
    server = start_server(web(backend, threads=8) if backend in WSGI_BACKENDS else web(backend))
    server.wait_ready()
    responses: list[Response] = []
    requests = [
        threading.Thread(target=lambda: responses.append(server.get("/slow/?seconds=2")))
        for _ in range(IN_FLIGHT)
    ]
    for request in requests:
        request.start()
    time.sleep(0.8)  # every request has reached the view
    assert server.stop(sig, timeout=15) == 0
    for request in requests:
        request.join(timeout=15)
    assert [(r.status, r.body) for r in responses] == [(200, "slow response done")] * IN_FLIGHT


def pkcs8_pem(private_key_pem: bytes) -> bytes:
    # Granian reads PKCS#8 keys; trustme writes the traditional format.
    from cryptography.hazmat.primitives import serialization

    key = serialization.load_pem_private_key(private_key_pem, password=None)
    return key.private_bytes(
        serialization.Encoding.PEM,
        serialization.PrivateFormat.PKCS8,
        serialization.NoEncryption(),
    )


@pytest.mark.parametrize("backend", ["granian-wsgi", "granian-asgi"])
def test_https(start_server: StartServer, tmp_path: Path, backend: str) -> None:
    trustme = pytest.importorskip("trustme")
    ca = trustme.CA()
    issued = ca.issue_cert("127.0.0.1")
    cert, key = tmp_path / "cert.pem", tmp_path / "key.pem"
    cert.write_bytes(b"".join(blob.bytes() for blob in issued.cert_chain_pems))
    key.write_bytes(pkcs8_pem(issued.private_key_pem.bytes()))
    args = {"ssl-certificate": str(cert), "ssl_keyfile": key}
    server = start_server(web(backend, **args), scheme="https")
    context = ssl.create_default_context()
    ca.configure_trust(context)
    assert server.wait_ready(context=context).body == "Hello from testsite"
    assert server.stop(timeout=15) == 0


@pytest.mark.parametrize("backend", ["granian-wsgi", "granian-asgi"])
def test_url_path_prefix(start_server: StartServer, backend: str) -> None:
    server = start_server(web(backend, **{"url-path-prefix": "/app"}))
    # Granian 2.x strips the prefix from requests that carry it. Granian 1.x's WSGI expects
    # a proxy to have stripped it already and only sets SCRIPT_NAME.
    path = "/paths/" if backend == "granian-wsgi" and not GRANIAN_2 else "/app/paths/"
    server.wait_ready(path)
    # What an application relies on: its views are reached, and Django knows the prefix as
    # its script name, so reverse() and redirects include it.
    assert server.get(path).body == "/app/paths/ /paths/"
    assert server.stop() == 0


def slow_requests_at_once(server: ServerProcess, count: int, seconds: float) -> float:
    """Send ``count`` requests to the slow view at once; all must succeed. Returns the seconds."""
    responses: list[Response] = []
    requests = [
        threading.Thread(target=lambda: responses.append(server.get(f"/slow/?seconds={seconds}")))
        for _ in range(count)
    ]
    started = time.monotonic()
    for request in requests:
        request.start()
    for request in requests:
        request.join(timeout=15)
    elapsed = time.monotonic() - started
    assert [r.status for r in responses] == [200] * count
    return elapsed


def test_threads_on_wsgi_serve_requests_concurrently(start_server: StartServer) -> None:
    server = start_server(web("granian-wsgi", workers=1, threads=2))
    server.wait_ready()
    elapsed = slow_requests_at_once(server, 2, 1.5)
    assert elapsed < 2.8, f"two 1.5 s requests took {elapsed:.1f}s: not served in parallel"
    assert server.stop() == 0


def test_wsgi_worker_runs_a_bounded_number_of_views_at_once_by_default(
    start_server: StartServer,
) -> None:
    # Granian's own default would run all 16 at once (and open 16 database connections).
    threads = DJANGO_WSGI_BLOCKING_THREADS  # 8, or 2 x CPUs + 1 on up to 3 CPUs
    server = start_server(web("granian-wsgi", workers=1))
    server.wait_ready()
    elapsed = slow_requests_at_once(server, 16, 0.5)
    # 16 half-second views through `threads` threads take this many turns at least.
    turns = -(-16 // threads)
    assert elapsed >= turns * 0.5 - 0.05, (
        f"16 requests took {elapsed:.2f}s: more than {threads} ran at once"
    )
    assert server.stop() == 0
    # Within Granian's bound of 2 x CPUs + 1 threads: a vanilla start prints no warning.
    assert "Python threads" not in server.output, server.output


def test_preload_off_still_serves(start_server: StartServer) -> None:
    processes = web("granian-wsgi", workers=2)
    processes["web"]["PRELOAD"] = False
    server = start_server(processes)
    assert server.wait_ready().body == "Hello from testsite"
    # Each spawned worker sets Django up on its own; on a loaded machine the second may still
    # be doing so when the stop arrives, and Granian waits for it.
    assert server.stop(timeout=30) == 0


@pytest.mark.parametrize(
    ("backend", "setting"),
    [("granian-wsgi", "WSGI_APPLICATION"), ("granian-asgi", "ASGI_APPLICATION")],
)
def test_application_import_error_stops_before_workers(
    start_server: StartServer, tmp_path: Path, backend: str, setting: str
) -> None:
    (tmp_path / "broken_app.py").write_text("import module_that_does_not_exist\n")
    server = start_server(web(backend), extra_settings=f"{setting} = 'broken_app.application'")
    assert wait_exit(server) != 0
    assert (
        "CommandError: Process 'web': the application 'broken_app:application' failed to "
        "import: ModuleNotFoundError: No module named 'module_that_does_not_exist'"
    ) in server.output
    assert "Spawning worker" not in server.output
    assert "Traceback" not in server.output


def test_port_in_use(start_server: StartServer) -> None:
    port = free_port()
    with socket.socket() as occupant:
        occupant.bind(("127.0.0.1", port))
        occupant.listen()
        server = start_server(web("granian-wsgi", port=port))
        assert wait_exit(server) != 0
    assert (
        f"CommandError: Process 'web': cannot listen on 127.0.0.1:{port}: Address already in "
        f"use. Is another server using it?"
    ) in server.output
    assert "Traceback" not in server.output


def test_dry_run_prints_the_call(start_server: StartServer) -> None:
    processes = {"web": {"BACKEND": "granian-wsgi", "ARGS": {"port": "{port}", "workers": 2}}}
    server = start_server(processes, extra_args=("--dry-run",))
    assert wait_exit(server) == 0
    assert (
        f"Granian('testsite.wsgi:application', interface='wsgi', port={server.port}, "
        f"workers=2, blocking_threads={DJANGO_WSGI_BLOCKING_THREADS}, "
        f"respawn_failed_workers=True, workers_kill_timeout=30)"
        ".serve(target_loader=load_application)"
    ) in server.output


class CopiedProjectServer(ServerProcess):
    """``manage.py prodserver`` run from a copy of the test project, which a test may edit."""

    def __init__(self, directory: Path, project: Path, name: str, port: int) -> None:
        self.port = port
        self.scheme = "http"
        self.log_path = directory / "server.log"
        self._log = self.log_path.open("w")
        command = [
            sys.executable,
            str(project / "manage.py"),
            "prodserver",
            name,
            "--settings=prodserver_test_settings",
            f"--pythonpath={directory}",
        ]
        self.proc = subprocess.Popen(
            command,
            cwd=project,
            env=subprocess_env(),
            stdout=self._log,
            stderr=subprocess.STDOUT,
            start_new_session=True,
        )


@pytest.fixture
def copied_project(tmp_path: Path) -> Path:
    project = tmp_path / "project"
    shutil.copytree(
        PROJECT_DIR, project, ignore=shutil.ignore_patterns("__pycache__", "db.sqlite3")
    )
    return project


@pytest.mark.parametrize("backend", ["granian-wsgi", "granian-asgi"])
def test_reload_serves_an_edited_view(tmp_path: Path, copied_project: Path, backend: str) -> None:
    pytest.importorskip("watchfiles")
    port = free_port()
    write_settings(tmp_path, {"web": {"BACKEND": backend, "ARGS": {"port": port, "reload": True}}})
    server = CopiedProjectServer(tmp_path, copied_project, "web", port)
    try:
        assert server.wait_ready().body == "Hello from testsite"
        views = copied_project / "testsite" / "views.py"
        views.write_text(views.read_text().replace("Hello from testsite", "Hello, reloaded"))
        deadline = time.monotonic() + 30
        body = ""
        while time.monotonic() < deadline and body != "Hello, reloaded":
            time.sleep(0.5)
            try:
                body = server.get("/", timeout=5).body
            except OSError:
                continue  # the workers are being replaced
        assert body == "Hello, reloaded", server.output
        assert server.stop(timeout=15) == 0
        assert "panic" not in server.output
    finally:
        server.kill()


def test_reload_stops_cleanly_every_time(start_server: StartServer, tmp_path: Path) -> None:
    # Spawned ASGI workers that finalized their interpreter aborted with a Rust panic on
    # SIGTERM in about one stop of three; four stops in a row would show it.
    pytest.importorskip("watchfiles")
    watched = tmp_path / "watched"
    watched.mkdir()
    for _ in range(4):
        server = start_server(
            web("granian-asgi", workers=2, reload=True, **{"reload-paths": [str(watched)]})
        )
        assert server.wait_ready().body == "Hello from testsite"
        assert server.stop(timeout=15) == 0
        assert "panic" not in server.output, server.output
        if GRANIAN_2:  # Granian 1.x logs no line when a worker has stopped
            assert server.output.count("Stopped worker") == 2, server.output


@pytest.mark.skipif(not SERVES_STATIC_FILES, reason="Granian serves static files from 2.3 on")
def test_static_serves_collected_files_and_django_the_rest(
    start_server: StartServer, tmp_path: Path
) -> None:
    static_root = tmp_path / "staticfiles"
    extra = f"STATIC_ROOT = {str(static_root)!r}\nSTATIC_URL = 'static/'\n"
    write_settings(tmp_path, {}, extra)
    collected = run_manage(tmp_path, "collectstatic", "--noinput", "-v", "0")
    assert collected.returncode == 0, collected.stderr
    processes = web("granian-wsgi")
    processes["web"]["STATIC"] = True
    server = start_server(processes, extra_settings=extra)
    assert server.wait_ready("/").body == "Hello from testsite"
    css = server.get("/static/admin/css/base.css")
    assert css.status == 200
    assert css.body == (static_root / "admin" / "css" / "base.css").read_text()
    assert "max-age" in css.headers.get("cache-control", "")
    assert server.get("/static/admin/css/missing.css").status == 404
    assert server.stop() == 0
