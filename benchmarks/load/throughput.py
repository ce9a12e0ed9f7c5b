"""Requests/s and latency per view, every server running side by side, measured in turns.

All servers of one worker count run at once; each round starts them afresh and loads each view
on each server in turn, so a burst of noise from the shared machine falls on neighbours in time,
and prodserver and the CLI of the same server always run back to back (order alternating between
rounds).
"""

from __future__ import annotations

from dataclasses import dataclass, field

from ..harness.process_cpu import tree_cpu_seconds, worker_cpu_seconds
from ..harness.processes import Server, free_port, running
from ..harness.project import ExampleProject
from ..harness.servers import ServerConfig, config
from ..harness.stats import median, pair_ratio
from ..harness.targets import Target
from ..harness.wrk import LoadResult, run_wrk, write_all_views_script, wrk_command

VIEWS = ("/", "/template/", "/db/")
GRANIAN_KINDS = ("granian-wsgi", "granian-asgi")
# Also measured against their own CLI: with several workers uvicorn's own command leaves
# TCP_NODELAY off on accepted connections, which prodserver's backend sets.
UVICORN_KINDS = ("uvicorn", "uvicorn-wsgi")
PAIRED_KINDS = (*GRANIAN_KINDS, *UVICORN_KINDS)
OTHER_KINDS = ("gunicorn", "waitress")
# Granian WSGI with Granian's own thread pool rather than prodserver's 8 threads per worker: it
# grows on demand up to backlog / workers / 2 threads (256 with 2 workers), each with its own
# Django DB connection. For comparison: what prodserver's default buys.
GRANIAN_POOL = (("granian-wsgi", (("threads", None),)),)
TARGET_RATIO = 0.99  # prodserver's Granian throughput against Granian's own CLI
# (server, workers, lowest req/s ratio against its own CLI)
NAMED_TARGETS = (
    # Without TCP_NODELAY, uvicorn's own workers wait ~40 ms for each delayed ACK.
    ("uvicorn-wsgi", 2, 2.0),
)
WARMUP_SECONDS = 1  # opens the connections and starts the threads before each round
NOISE = (
    "the same server runs in both; requests/s of back-to-back loads on this shared 2-core "
    "machine vary by more than this (see the middle half and the CPU ratio in section 2)."
)
DELAYED_ACKS = (
    "the CLI's keep-alive responses wait ~40 ms for delayed ACKs and prodserver's do not; how "
    "many requests/s that costs depends on how long the views keep the CPU busy on this shared "
    "machine (compare p50 in section 2), and when one worker takes every connection (the "
    "workers serving column), the second adds nothing to either side."
)
SERVING_SHARE = 0.05  # a worker with less of the workers' CPU time than this barely served


@dataclass
class Sample:
    kind: str
    launcher: str
    workers: int
    options: str  # options added to the defaults; "" for none
    view: str
    round: int
    result: LoadResult
    cpu_s: float  # CPU seconds the server's processes used during the load
    # CPU seconds each worker used during the load, busiest first: how the load was shared.
    worker_cpu_s: list[float] = field(default_factory=list)

    @property
    def cpu_us_per_request(self) -> float:
        return self.cpu_s / self.result.requests * 1e6 if self.result.requests else float("nan")

    @property
    def workers_serving(self) -> int:
        """Workers that did at least ``SERVING_SHARE`` of the workers' CPU work in this load."""
        total = sum(self.worker_cpu_s)
        return sum(1 for seconds in self.worker_cpu_s if total and seconds >= SERVING_SHARE * total)

    @property
    def busiest_worker_share(self) -> float:
        total = sum(self.worker_cpu_s)
        return self.worker_cpu_s[0] / total if total else float("nan")


@dataclass(frozen=True)
class Row:
    """One server of the tables: samples with the same kind, launcher and options."""

    kind: str
    launcher: str
    options: str = ""


def server_groups(workers: int) -> list[list[ServerConfig]]:
    """Granian and uvicorn through prodserver paired with their CLI; the other servers through
    prodserver."""
    groups = [
        [config(kind, "prodserver", workers), config(kind, "cli", workers)]
        for kind in GRANIAN_KINDS
    ]
    groups += [[config(kind, "prodserver", workers, extra)] for kind, extra in GRANIAN_POOL]
    groups += [
        [config(kind, "prodserver", workers), config(kind, "cli", workers)]
        for kind in UVICORN_KINDS
    ]
    for kind in OTHER_KINDS:
        server = config(kind, "prodserver", workers)
        # waitress is one process whatever the worker count: measured once, with 1.
        if server.kind.forks_workers or workers == 1:
            groups.append([server])
    return groups


def _measure_once(
    server: ServerConfig, process: Server, view: str, duration: int, connections: int
) -> tuple[LoadResult, float, list[float]]:
    url = f"http://127.0.0.1:{process.port}{view}"
    cpu_before = tree_cpu_seconds(process.pid)
    workers_before = worker_cpu_seconds(process.pid)
    result = run_wrk(wrk_command(url, duration, connections), duration)
    cpu_s = tree_cpu_seconds(process.pid) - cpu_before
    workers_after = worker_cpu_seconds(process.pid)
    # A worker that started or was replaced during the load is left out.
    shared = workers_after.keys() & workers_before.keys()
    per_worker = sorted((workers_after[pid] - workers_before[pid] for pid in shared), reverse=True)
    print(
        f"  {server.label} {view}: {result.requests_per_s:,.0f} req/s, "
        f"p50 {result.p50_ms:.1f} ms, p99 {result.p99_ms:.1f} ms, failed {result.failed}, "
        f"{cpu_s / max(result.requests, 1) * 1e6:.0f} us CPU/request, workers' CPU "
        + "/".join(f"{seconds:.2f}" for seconds in per_worker)
        + " s",
        flush=True,
    )
    return result, cpu_s, per_worker


def measure(
    project: ExampleProject,
    *,
    worker_counts: list[int],
    rounds: int,
    duration: int,
    connections: int,
) -> tuple[list[Sample], dict[str, str]]:
    """The samples, and the command of every server and load as the report shows them."""
    samples: list[Sample] = []
    commands: dict[str, str] = {}
    warmup_script = write_all_views_script(project.root, list(VIEWS))
    for workers in worker_counts:
        groups = server_groups(workers)
        configs = [server for group in groups for server in group]
        commands.update({server.label: server.command() for server in configs})
        for round_index in range(rounds):
            # Fresh processes every round: a server's speed also depends on where its processes
            # and memory happen to land, which would otherwise bias one side for a whole run.
            ports = {server.label: free_port() for server in configs}
            launches = [
                (s.label, s.launch(project, ports[s.label]), ports[s.label]) for s in configs
            ]
            with running(launches, project.logs) as started:
                processes = {process.label: process for process in started}
                for process in started:
                    url = f"http://127.0.0.1:{process.port}/"
                    warmup = wrk_command(url, WARMUP_SECONDS, connections, script=warmup_script)
                    run_wrk(warmup, WARMUP_SECONDS)
                for view in VIEWS:
                    for group in groups:
                        for server in group if round_index % 2 == 0 else group[::-1]:
                            result, cpu_s, per_worker = _measure_once(
                                server, processes[server.label], view, duration, connections
                            )
                            samples.append(
                                Sample(
                                    server.kind.key,
                                    server.launcher,
                                    workers,
                                    server.options,
                                    view,
                                    round_index,
                                    result,
                                    cpu_s,
                                    per_worker,
                                )
                            )
    commands["wrk"] = " ".join(wrk_command("http://127.0.0.1:$PORT/VIEW", duration, connections))
    return samples, commands


def rows(samples: list[Sample], workers: int) -> list[Row]:
    """The servers measured with ``workers``, in the order they ran."""
    found: list[Row] = []
    for sample in samples:
        row = Row(sample.kind, sample.launcher, sample.options)
        if sample.workers == workers and row not in found:
            found.append(row)
    return found


def select_samples(
    samples: list[Sample], row: Row, workers: int, view: str | None = None
) -> list[Sample]:
    """The samples of ``row`` (for one view, or all), ordered by round then view."""
    return [
        s
        for s in sorted(samples, key=lambda s: (s.round, VIEWS.index(s.view)))
        if Row(s.kind, s.launcher, s.options) == row
        and s.workers == workers
        and view in (None, s.view)
    ]


def select(
    samples: list[Sample], row: Row, workers: int, view: str | None = None
) -> list[LoadResult]:
    """The results of ``row`` (for one view, or all), ordered by round then view."""
    return [s.result for s in select_samples(samples, row, workers, view)]


def cpu_over_cli(samples: list[Sample], kind: str, workers: int) -> list[float]:
    """prodserver / CLI CPU time per request of each back-to-back pair, over every view."""
    ours = select_samples(samples, Row(kind, "prodserver"), workers)
    theirs = select_samples(samples, Row(kind, "cli"), workers)
    return [
        a.cpu_us_per_request / b.cpu_us_per_request
        for a, b in zip(ours, theirs)
        if b.cpu_us_per_request > 0
    ]


def median_of(results: list[LoadResult], field: str) -> float:
    return median([getattr(result, field) for result in results])


def pair_ratios(
    samples: list[Sample], kind: str, workers: int, view: str | None = None
) -> list[float]:
    """prodserver / CLI requests/s of each back-to-back pair."""
    ours = select(samples, Row(kind, "prodserver"), workers, view)
    theirs = select(samples, Row(kind, "cli"), workers, view)
    return [a.requests_per_s / b.requests_per_s for a, b in zip(ours, theirs) if b.requests_per_s]


def prodserver_over_cli(
    samples: list[Sample], kind: str, workers: int, view: str | None = None
) -> float:
    """The median of the pair ratios; with no view, pooled over every view and round."""
    ours = select(samples, Row(kind, "prodserver"), workers, view)
    theirs = select(samples, Row(kind, "cli"), workers, view)
    return pair_ratio([r.requests_per_s for r in ours], [r.requests_per_s for r in theirs])


def targets(samples: list[Sample], worker_counts: list[int]) -> list[Target]:
    found = [
        Target(
            f"req/s ratio, {kind} via prodserver / Granian CLI, {workers} worker(s), all views",
            prodserver_over_cli(samples, kind, workers),
            ">=",
            TARGET_RATIO,
            NOISE,
        )
        for kind in GRANIAN_KINDS
        for workers in worker_counts
    ]
    for kind, workers, limit in NAMED_TARGETS:
        if workers in worker_counts:
            found.append(
                Target(
                    f"req/s ratio, {kind} via prodserver / its own CLI, {workers} workers, "
                    "all views",
                    prodserver_over_cli(samples, kind, workers),
                    ">=",
                    limit,
                    DELAYED_ACKS,
                )
            )
    return found
