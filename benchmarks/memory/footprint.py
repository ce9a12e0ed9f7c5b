"""Memory of every server, started by prodserver and by its own command line: after warm-up,
and again after a full garbage collection in every worker."""

from __future__ import annotations

import time
from dataclasses import dataclass, field
from pathlib import Path

from ..harness import process_memory
from ..harness.processes import free_port, running
from ..harness.project import ExampleProject
from ..harness.servers import KINDS, LAUNCHERS, ServerConfig, config
from ..harness.stats import median
from ..harness.targets import Target
from ..harness.wrk import run_wrk, write_all_views_script, wrk_command
from ..load.throughput import VIEWS
from . import collect

WORKER_USS_RATIO = 0.35  # prodserver's per-worker private memory against the CLI's
COPIED_ON_WRITE = (
    "a forked worker's private memory is mostly pages it inherited and then wrote to (every "
    "reference count it changes writes to its object's page), plus its own requests' data: "
    "freezing the collector's view of them, as prodserver does, cannot keep those shared."
)
# (server, "worker USS" (median) or "total PSS", after a full collection?, comparison, limit)
TARGETS = (
    ("granian-wsgi", "worker USS", False, "<=", WORKER_USS_RATIO),
    ("granian-wsgi", "total PSS", False, "<", 1.0),
    # The collector touches every object a worker inherited, unless the main process froze them.
    ("granian-wsgi", "worker USS", True, "<=", WORKER_USS_RATIO),
    ("gunicorn", "worker USS", True, "<=", 0.4),
    ("gunicorn", "total PSS", True, "<=", 0.75),
)
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
    processes: list[process_memory.ProcessMemory]  # after the warm-up
    # After a full gc.collect() in every worker (those in ``collected``), the same processes.
    collected_processes: list[process_memory.ProcessMemory] = field(default_factory=list)
    collected: list[int] = field(default_factory=list)  # pids that ran the collection

    def snapshot(self, after_collection: bool = False) -> list[process_memory.ProcessMemory]:
        return self.collected_processes if after_collection else self.processes

    def total(self, field: str, after_collection: bool = False) -> int:
        return sum(getattr(process, field) for process in self.snapshot(after_collection))

    def main(self, after_collection: bool = False) -> process_memory.ProcessMemory:
        return self.snapshot(after_collection)[0]

    def worker_median(self, field: str, after_collection: bool = False) -> float:
        workers = process_memory.workers(self.snapshot(after_collection))
        return median([getattr(process, field) for process in workers])

    @property
    def workers_collected(self) -> str:
        """How many of the workers ran the full collection, as "2 of 2"."""
        workers = {process.pid for process in process_memory.workers(self.processes)}
        return f"{len(workers & set(self.collected))} of {len(workers)}"


def _footprint(
    project: ExampleProject, server: ServerConfig, warmup: int, script: Path
) -> Footprint:
    port = free_port()
    with running([(server.label, server.launch(project, port), port)], project.logs) as started:
        url = f"http://127.0.0.1:{port}/"
        connections = CONNECTIONS_PER_WORKER * server.workers
        run_wrk(wrk_command(url, warmup, connections, script=script, new_connections=True), warmup)
        time.sleep(SETTLE_SECONDS)
        processes = process_memory.measure(started[0].pid)
        workers = {process.pid for process in process_memory.workers(processes)}
        collected = collect.in_every_worker(port, workers)
        time.sleep(SETTLE_SECONDS)
        after = process_memory.measure(started[0].pid)
    return Footprint(
        server.kind.key,
        server.launcher,
        server.workers,
        server.command(),
        processes,
        after,
        sorted(collected),
    )


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
                f"total PSS {footprint.total('pss_kb') / 1024:.1f} MB; after a full "
                f"collection in {footprint.workers_collected} workers: "
                f"{footprint.worker_median('uss_kb', True) / 1024:.1f} MB, "
                f"{footprint.total('pss_kb', True) / 1024:.1f} MB",
                flush=True,
            )
    return found


def find(footprints: list[Footprint], kind: str, launcher: str) -> Footprint | None:
    return next((f for f in footprints if (f.kind, f.launcher) == (kind, launcher)), None)


def _ratio(ours: Footprint, theirs: Footprint, measure: str, after_collection: bool) -> float:
    if measure == "worker USS":
        return ours.worker_median("uss_kb", after_collection) / theirs.worker_median(
            "uss_kb", after_collection
        )
    return ours.total("pss_kb", after_collection) / theirs.total("pss_kb", after_collection)


def targets(footprints: list[Footprint]) -> list[Target]:
    found = []
    for kind, measure, after_collection, comparison, limit in TARGETS:
        ours, theirs = find(footprints, kind, "prodserver"), find(footprints, kind, "cli")
        if ours is None or theirs is None:
            continue
        when = ", after a full collection in every worker" if after_collection else ""
        found.append(
            Target(
                f"{measure} ratio, {kind} via prodserver / its own CLI "
                f"({ours.workers} workers{when})",
                _ratio(ours, theirs, measure, after_collection),
                comparison,
                limit,
                COPIED_ON_WRITE,
            )
        )
    return found
