"""Memory after warm-up of every server, started by prodserver and by its own command line."""

from __future__ import annotations

import time
from dataclasses import dataclass
from pathlib import Path

import memory
from example_project import ExampleProject
from load import run_wrk, write_all_views_script, wrk_command
from processes import free_port, running
from servers import KINDS, LAUNCHERS, ServerConfig, config
from stats import median
from targets import Target
from throughput import VIEWS

WORKER_USS_RATIO = 0.5  # prodserver's per-worker private memory against the CLI's
SETTLE_SECONDS = 0.5  # let the last responses finish before reading memory
# Warm-up load: a new connection per request, so that every worker gets a share, and two
# connections per worker, so that Granian's on-demand thread pools stay alike from run to run
# (at 32 connections one worker may start 10 threads and another 130, each with private memory).
CONNECTIONS_PER_WORKER = 2


@dataclass
class Footprint:
    kind: str
    launcher: str
    workers: int
    command: str
    processes: list[memory.ProcessMemory]

    def total(self, field: str) -> int:
        return sum(getattr(process, field) for process in self.processes)

    def main(self) -> memory.ProcessMemory:
        return self.processes[0]

    def worker_median(self, field: str) -> float:
        return median([getattr(process, field) for process in memory.workers(self.processes)])


def _footprint(
    project: ExampleProject, server: ServerConfig, warmup: int, script: Path
) -> Footprint:
    port = free_port()
    with running([(server.label, server.launch(project, port), port)], project.logs) as started:
        url = f"http://127.0.0.1:{port}/"
        connections = CONNECTIONS_PER_WORKER * server.workers
        run_wrk(wrk_command(url, warmup, connections, script=script, new_connections=True), warmup)
        time.sleep(SETTLE_SECONDS)
        processes = memory.measure(started[0].pid)
    return Footprint(server.kind.key, server.launcher, server.workers, server.command(), processes)


def measure(project: ExampleProject, workers: int, warmup: int) -> list[Footprint]:
    script = write_all_views_script(project.root, list(VIEWS))
    found = []
    for kind in KINDS:
        for launcher in LAUNCHERS:
            server = config(kind, launcher, workers)
            footprint = _footprint(project, server, warmup, script)
            found.append(footprint)
            print(
                f"  memory {server.label}: worker USS median "
                f"{footprint.worker_median('uss_kb') / 1024:.1f} MB, "
                f"total PSS {footprint.total('pss_kb') / 1024:.1f} MB",
                flush=True,
            )
    return found


def find(footprints: list[Footprint], kind: str, launcher: str) -> Footprint | None:
    return next((f for f in footprints if (f.kind, f.launcher) == (kind, launcher)), None)


def targets(footprints: list[Footprint]) -> list[Target]:
    ours, theirs = (
        find(footprints, "granian-wsgi", "prodserver"),
        find(footprints, "granian-wsgi", "cli"),
    )
    if ours is None or theirs is None:
        return []
    workers = ours.workers
    return [
        Target(
            f"per-worker USS ratio, granian-wsgi via prodserver / Granian CLI ({workers} workers)",
            ours.worker_median("uss_kb") / theirs.worker_median("uss_kb"),
            "<=",
            WORKER_USS_RATIO,
        ),
        Target(
            f"total PSS ratio, granian-wsgi via prodserver / Granian CLI ({workers} workers)",
            ours.total("pss_kb") / theirs.total("pss_kb"),
            "<",
            1.0,
        ),
    ]
