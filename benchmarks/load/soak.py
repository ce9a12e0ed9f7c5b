"""Soak: Granian through prodserver under steady load, with no failed request and flat memory.

Also a stand-alone check for CI, exiting 1 if a target fails::

    python -m benchmarks.load.soak --seconds 10
"""

from __future__ import annotations

import argparse
import sys
import time
from dataclasses import dataclass
from typing import Any

from ..harness import process_memory
from ..harness.processes import free_port, install_cleanup, start
from ..harness.project import ExampleProject
from ..harness.servers import config
from ..harness.targets import Target
from ..harness.wrk import LoadResult, require_wrk, run_wrk, write_all_views_script, wrk_command
from . import throughput
from .throughput import VIEWS

KINDS = ("granian-wsgi", "granian-asgi")
# The full run also soaks Granian WSGI with Granian's own thread pool, which keeps growing through
# the soak (see throughput.GRANIAN_POOL), for comparison.
GRANIAN_POOL = throughput.GRANIAN_POOL
CONNECTIONS = 64
WORKERS = 2
WARMUP = 20  # seconds of each warm-up phase before the first memory sample
USS_GROWTH_LIMIT = 0.10
WRK_TIMEOUT = 5  # seconds; a slower response counts as failed (wrk's default is 2)


@dataclass
class SoakResult:
    label: str  # the server, its launcher and options
    options: str  # options added to the defaults; "" for none
    workers: int
    seconds: int
    connections: int
    command: str
    load: LoadResult
    start: list[process_memory.ProcessMemory]  # workers after warm-up
    end: list[process_memory.ProcessMemory]  # workers at the end
    exit_status: int | None  # after SIGTERM

    @property
    def start_uss_kb(self) -> dict[int, int]:
        return {process.pid: process.uss_kb for process in self.start}

    @property
    def end_uss_kb(self) -> dict[int, int]:
        return {process.pid: process.uss_kb for process in self.end}

    @property
    def uss_growth(self) -> float:
        """The largest relative growth of any worker that lived through the whole soak."""
        common = self.start_uss_kb.keys() & self.end_uss_kb.keys()
        if not common:
            return float("nan")
        return max(self.end_uss_kb[pid] / self.start_uss_kb[pid] - 1 for pid in common)

    @property
    def workers_replaced(self) -> int:
        return len(self.start_uss_kb.keys() - self.end_uss_kb.keys())


def soak(
    project: ExampleProject,
    kind: str,
    *,
    seconds: int,
    connections: int,
    workers: int,
    warmup: int,
    extra: tuple[tuple[str, Any], ...] = (),
) -> SoakResult:
    server = config(kind, "prodserver", workers, extra)
    port = free_port()
    script = write_all_views_script(project.root, list(VIEWS))
    url = f"http://127.0.0.1:{port}/"
    running = start(server.label, server.launch(project, port), port, project.logs)
    try:
        running.wait_ready()
        # A new connection per request, so that every worker is warmed: kept-alive connections
        # stay with the worker that accepted them, and a cold worker would "grow" in the soak.
        warm = wrk_command(url, warmup, connections, script=script, new_connections=True)
        run_wrk(warm, warmup)
        # Then the soak's own load for as long: a worker that holds more kept-alive connections
        # than it had requests at once before grows to a new high-water mark, once (measured:
        # an ASGI worker 24 -> 27 MB in the first 45 s, then flat for 45 s more).
        argv = wrk_command(url, seconds, connections, script=script, timeout=WRK_TIMEOUT)
        run_wrk(wrk_command(url, warmup, connections, script=script, timeout=WRK_TIMEOUT), warmup)
        time.sleep(0.5)
        start_workers = process_memory.workers(process_memory.measure(running.pid))
        load = run_wrk(argv, seconds)
        time.sleep(0.5)
        end_workers = process_memory.workers(process_memory.measure(running.pid))
    finally:
        exit_status = running.stop()
    return SoakResult(
        server.label,
        server.options,
        workers,
        seconds,
        connections,
        server.command(),
        load,
        start_workers,
        end_workers,
        exit_status,
    )


def targets(results: list[SoakResult]) -> list[Target]:
    found = []
    for result in results:
        where = f"{result.label}, {result.seconds}s at c{result.connections}"
        found.append(Target(f"soak failed requests, {where}", result.load.failed, "<=", 0))
        found.append(
            Target(f"soak worker USS growth, {where}", result.uss_growth, "<", USS_GROWTH_LIMIT)
        )
    return found


def run(
    project: ExampleProject,
    *,
    seconds: int,
    connections: int = CONNECTIONS,
    workers: int = WORKERS,
    warmup: int = WARMUP,
    kinds: tuple[str, ...] = KINDS,
    extra: tuple[tuple[str, Any], ...] = (),
) -> list[SoakResult]:
    results = []
    for kind in kinds:
        result = soak(
            project,
            kind,
            seconds=seconds,
            connections=connections,
            workers=workers,
            warmup=warmup,
            extra=extra,
        )
        print(
            f"  soak {result.label}: {result.load.requests} requests, {result.load.failed} failed, "
            f"worker USS growth {result.uss_growth:+.1%}, exit {result.exit_status}",
            flush=True,
        )
        results.append(result)
    return results


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--seconds", type=int, default=60, help="load time per server (60)")
    parser.add_argument("--connections", type=int, default=CONNECTIONS, help="wrk connections")
    parser.add_argument("--workers", type=int, default=WORKERS, help="Granian workers")
    parser.add_argument("--warmup", type=int, default=WARMUP, help="warm-up seconds")
    parser.add_argument(
        "--kind", action="append", choices=KINDS, help="soak only this backend (repeatable)"
    )
    parser.add_argument(
        "--set",
        action="append",
        default=[],
        metavar="OPTION=VALUE",
        help="one more Granian option in ARGS, e.g. --set threads=16; an empty value is None, "
        "Granian's own default (repeatable)",
    )
    options = parser.parse_args(argv)
    if any("=" not in item for item in options.set):
        parser.error("--set takes OPTION=VALUE")
    extra = tuple(
        (key, value or None) for key, _, value in (item.partition("=") for item in options.set)
    )
    require_wrk()
    install_cleanup()
    project = ExampleProject()
    try:
        project.migrate()
        results = run(
            project,
            seconds=options.seconds,
            connections=options.connections,
            workers=options.workers,
            warmup=options.warmup,
            kinds=tuple(options.kind or KINDS),
            extra=extra,
        )
    finally:
        project.cleanup()
    checked = targets(results)
    for target in checked:
        print(target.line())
    return 0 if all(target.met for target in checked) else 1


if __name__ == "__main__":
    sys.exit(main())
