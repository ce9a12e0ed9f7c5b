"""Granian WSGI's blocking threads per worker: prodserver's default against 8 and 2, side by side.

prodserver gives each Granian WSGI worker ``min(8, 2 x CPUs + 1)`` blocking threads: Granian
warns at every start above 2 x CPUs + 1. This runs Granian WSGI through prodserver with each
pool size in turn, fresh processes every round (the order rotating), and reports per size:
requests/s over the same views as the throughput benchmark and the ratio to 8 threads, the
99th-percentile latency, failed requests, threads and private memory (USS) per worker after the
load (each thread holds its own database connection), and whether Granian printed its warning::

    python -m benchmarks.load.thread_pool --rounds 3 --seconds 10
"""

from __future__ import annotations

import argparse
import sys
import time
from dataclasses import dataclass, field

from django_prodserver.backends.granian import DJANGO_WSGI_BLOCKING_THREADS

from ..harness import process_memory
from ..harness.machine import load_average
from ..harness.processes import install_cleanup
from ..harness.project import ExampleProject
from ..harness.stats import median, pair_ratio
from ..harness.wrk import LoadResult, require_wrk
from . import soak
from .throughput import VIEWS

BEFORE = 8  # the default of django-prodserver 4.0's first releases, on any machine
GRANIAN_WARNING = "which seems quite high compared to the number of CPU cores available"
CONNECTIONS = 64
WORKERS = 2
WARMUP = 3


@dataclass
class PoolResult:
    threads: int
    loads: list[LoadResult] = field(default_factory=list)
    threads_per_worker: list[int] = field(default_factory=list)
    uss_kb_per_worker: list[int] = field(default_factory=list)
    warned: list[bool] = field(default_factory=list)

    def median_of(self, name: str) -> float:
        return median([getattr(load, name) for load in self.loads])


def measure_once(
    project: ExampleProject, threads: int, *, seconds: int, connections: int, workers: int
) -> tuple[LoadResult, list[process_memory.ProcessMemory], bool]:
    """One fresh server: its load, its workers after the load, and whether Granian warned."""
    started_at = time.time()
    result = soak.soak(
        project,
        "granian-wsgi",
        seconds=seconds,
        connections=connections,
        workers=workers,
        warmup=WARMUP,
        extra=(("threads", threads),),
    )
    logs = [log for log in project.logs.glob("*.log") if log.stat().st_mtime >= started_at]
    warned = any(GRANIAN_WARNING in log.read_text(errors="replace") for log in logs)
    return result.load, result.end, warned


def run(
    project: ExampleProject,
    sizes: list[int],
    *,
    rounds: int,
    seconds: int,
    connections: int = CONNECTIONS,
    workers: int = WORKERS,
) -> list[PoolResult]:
    results = {threads: PoolResult(threads) for threads in sizes}
    for index in range(rounds):
        order = sizes[index % len(sizes) :] + sizes[: index % len(sizes)]
        for threads in order:
            load, measured, warned = measure_once(
                project, threads, seconds=seconds, connections=connections, workers=workers
            )
            result = results[threads]
            result.loads.append(load)
            result.threads_per_worker += [process.threads for process in measured]
            result.uss_kb_per_worker += [process.uss_kb for process in measured]
            result.warned.append(warned)
            print(
                f"  round {index + 1}, {threads} threads: {load.requests_per_s:,.0f} req/s, "
                f"{load.failed} failed, warning {'yes' if warned else 'no'}",
                flush=True,
            )
    return [results[threads] for threads in sizes]


def _warned(warned: list[bool]) -> str:
    if all(warned):
        return "every start"
    return "some starts" if any(warned) else "none"


def table(results: list[PoolResult], *, workers: int, connections: int) -> str:
    before = next(result for result in results if result.threads == BEFORE)
    lines = [
        f"Granian WSGI via prodserver, {workers} workers, wrk c{connections}, views "
        f"{', '.join(VIEWS)}; medians of {len(before.loads)} rounds.",
        "",
        "| threads per worker | req/s | vs 8 threads | p99 | failed | threads per worker "
        "process | USS per worker | Granian's warning |",
        "|---|---|---|---|---|---|---|---|",
    ]
    for result in results:
        ratio = pair_ratio(
            [load.requests_per_s for load in result.loads],
            [load.requests_per_s for load in before.loads],
        )
        label = f"{result.threads}"
        if result.threads == DJANGO_WSGI_BLOCKING_THREADS:
            label += " (the default here)"
        elif result.threads == BEFORE:
            label += " (the default before)"
        lines.append(
            f"| {label} | {result.median_of('requests_per_s'):,.0f} | {ratio:.3f} | "
            f"{result.median_of('p99_ms'):.1f} ms | {sum(load.failed for load in result.loads)} | "
            f"{median(result.threads_per_worker):.0f} | "
            f"{median(result.uss_kb_per_worker) / 1024:.1f} MB | "
            f"{_warned(result.warned)} |"
        )
    return "\n".join(lines)


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--rounds", type=int, default=3, help="rounds, each size once (3)")
    parser.add_argument("--seconds", type=int, default=10, help="load time per server (10)")
    parser.add_argument("--connections", type=int, default=CONNECTIONS, help="wrk connections")
    parser.add_argument("--workers", type=int, default=WORKERS, help="Granian workers")
    options = parser.parse_args(argv)
    sizes = sorted({BEFORE, DJANGO_WSGI_BLOCKING_THREADS, 2}, reverse=True)
    require_wrk()
    install_cleanup()
    project = ExampleProject()
    print(f"load average before: {load_average()}", flush=True)
    try:
        project.migrate()
        results = run(
            project,
            sizes,
            rounds=options.rounds,
            seconds=options.seconds,
            connections=options.connections,
            workers=options.workers,
        )
    finally:
        project.cleanup()
    print(f"load average after: {load_average()}")
    print(table(results, workers=options.workers, connections=options.connections))
    return 0


if __name__ == "__main__":
    sys.exit(main())
