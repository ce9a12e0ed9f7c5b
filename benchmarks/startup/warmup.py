"""The first request each worker serves after a start, with and without the HEALTHCHECK warm-up.

Each round starts every server three times through prodserver, the same ARGS each time: without
``HEALTHCHECK``, with ``"HEALTHCHECK": "/healthz/"`` (the example's cheap view: the URLconf,
middleware and views are loaded) and with the measured page itself as ``HEALTHCHECK`` (its
template is loaded too), in rotating order. Once the port accepts connections and the workers
have had time to boot, fresh connections ask for ``/template/`` (a view that renders a
template) until every worker has answered; a middleware written for the benchmark names the
worker's PID in a header. The first answer of each worker is its first request; the later ones
give the steady state.
"""

from __future__ import annotations

import math
import socket
import time
from dataclasses import dataclass, field

from ..harness.processes import Server, ServerFailed, free_port, start
from ..harness.project import ExampleProject
from ..harness.servers import ServerConfig, config
from ..harness.stats import median

KINDS = ("granian-wsgi", "gunicorn")
PATH = "/template/"
#: Each mode's HEALTHCHECK: none, the cheap view, the measured page.
MODES = {"none": None, "healthz": "/healthz/", "page": PATH}
SETTLE_SECONDS = 2.0  # after the port accepts: the workers finish booting, on both sides alike
MAX_REQUESTS = 60
PID_HEADER = b"x-worker-pid"
MIDDLEWARE_MODULE = "bench_worker_pid"
MIDDLEWARE = '''"""Names the process that answered, for benchmarks/startup/warmup.py."""
import os


class WorkerPid:
    def __init__(self, get_response):
        self.get_response = get_response
        self.pid = str(os.getpid())

    def __call__(self, request):
        response = self.get_response(request)
        response["X-Worker-Pid"] = self.pid
        return response
'''


@dataclass
class FirstRequests:
    kind: str
    workers: int
    mode: str
    first: list[float] = field(default_factory=list)  # seconds, one per worker and start
    steady: list[float] = field(default_factory=list)  # later requests to the same workers
    missed: int = 0  # workers that no request reached

    @property
    def first_median(self) -> float:
        return median(self.first) if self.first else math.nan

    @property
    def steady_median(self) -> float:
        return median(self.steady) if self.steady else math.nan


def timed_get(port: int, path: str) -> tuple[float, int, str]:
    """Seconds for one GET on a fresh connection, from connecting to the last byte; the status
    and the PID of the worker that answered."""
    request = f"GET {path} HTTP/1.1\r\nHost: 127.0.0.1\r\nConnection: close\r\n\r\n".encode()
    started = time.perf_counter()
    with socket.create_connection(("127.0.0.1", port), timeout=30) as sock:
        sock.sendall(request)
        chunks = []
        while True:
            chunk = sock.recv(65536)
            if not chunk:
                break
            chunks.append(chunk)
    seconds = time.perf_counter() - started
    head = b"".join(chunks).split(b"\r\n\r\n", 1)[0].split(b"\r\n")
    status = int(head[0].split(b" ", 2)[1])
    headers = dict(line.split(b":", 1) for line in head[1:] if b":" in line)
    pid = {k.strip().lower(): v.strip() for k, v in headers.items()}.get(PID_HEADER, b"?")
    return seconds, status, pid.decode()


def wait_accepting(server: Server, timeout: float = 60) -> None:
    """Until the port accepts a connection; no request is sent, so no worker is warmed."""
    deadline = time.monotonic() + timeout
    while time.monotonic() < deadline:
        if server.proc.poll() is not None:
            raise ServerFailed(f"{server.label} exited:\n{server.output()}")
        try:
            socket.create_connection(("127.0.0.1", server.port), timeout=1).close()
            return
        except OSError:
            time.sleep(0.01)
    raise ServerFailed(f"{server.label} did not listen within {timeout}s:\n{server.output()}")


STEADY_PER_WORKER = 3  # later requests kept per worker and start


def one_start(project: ExampleProject, server: ServerConfig, into: FirstRequests) -> None:
    workers, mode = into.workers, into.mode
    port = free_port()
    processes = server.processes(port)
    if MODES[mode]:
        processes["web"]["HEALTHCHECK"] = MODES[mode]
    settings = project.settings_with(
        processes, f"MIDDLEWARE = [{MIDDLEWARE_MODULE + '.WorkerPid'!r}, *MIDDLEWARE]"
    )
    launch = server.launch(project, port)
    launch.env["DJANGO_SETTINGS_MODULE"] = settings
    running = start(f"{server.label} {mode}", launch, port, project.logs)
    try:
        wait_accepting(running)
        time.sleep(SETTLE_SECONDS)
        seen: set[str] = set()
        steady = 0
        for _ in range(MAX_REQUESTS):
            seconds, status, pid = timed_get(port, PATH)
            if status != 200:
                raise ServerFailed(f"{running.label}: {PATH} answered {status}")
            if pid in seen:
                into.steady.append(seconds)
                steady += 1
            else:
                seen.add(pid)
                into.first.append(seconds)
            if len(seen) == workers and steady >= STEADY_PER_WORKER * workers:
                break
        into.missed += workers - len(seen)
    finally:
        running.stop()


def measure(project: ExampleProject, rounds: int, workers: int) -> list[FirstRequests]:
    (project.root / f"{MIDDLEWARE_MODULE}.py").write_text(MIDDLEWARE)
    results = [FirstRequests(kind, workers, mode) for kind in KINDS for mode in MODES]
    for round_index in range(rounds):
        for kind in KINDS:
            shift = round_index % len(MODES)
            modes = list(MODES)
            for mode in modes[shift:] + modes[:shift]:
                found = next(r for r in results if (r.kind, r.mode) == (kind, mode))
                one_start(project, config(kind, "prodserver", workers), found)
                shown = ", ".join(f"{s * 1000:.1f} ms" for s in found.first[-workers:])
                print(f"  first request {kind} ({mode}): {shown}", flush=True)
    return results
