"""The report's sections under load: throughput, the request path, ASGI, the soak."""

from __future__ import annotations

import math
import statistics
from pathlib import Path
from typing import TYPE_CHECKING

from ..harness.stats import median
from ..load import request_path, soak, throughput
from .markdown import LAUNCHER_NAMES, THREADS, by_launcher, code, drawn_chart, mb, ratio, rps, table

if TYPE_CHECKING:
    from ..run_results import Results


def _mean_rps(samples: list[throughput.Sample], row: throughput.Row, workers: int) -> float:
    """The mean over the views of each view's median req/s: one figure per server."""
    per_view = [
        throughput.median_of(throughput.select(samples, row, workers, view), "requests_per_s")
        for view in throughput.VIEWS
    ]
    return statistics.fmean(per_view) if all(not math.isnan(v) for v in per_view) else math.nan


def throughput_chart(results: Results, workers: int, directory: Path | None) -> str:
    samples = results.throughput
    value: dict[tuple[str, str], float] = {}
    categories: list[str] = []
    for row in throughput.rows(samples, workers):
        category = _row_name(row)
        if category not in categories:
            categories.append(category)
        value[(category, row.launcher)] = _mean_rps(samples, row, workers)
    plural = "s" if workers > 1 else ""
    return drawn_chart(
        directory,
        f"throughput-{workers}-worker{plural}",
        f"Requests per second with {workers} worker{plural}, each server started by prodserver "
        "and by its own CLI",
        title=f"Requests/s, {workers} worker{plural} (mean over the three views)",
        unit="requests per second (more is better)",
        categories=categories,
        series=by_launcher(categories, value),
    )


def _times(value: float) -> str:
    return "n/a" if math.isnan(value) else f"{value:.1f} times"


UVICORN_SCALES = 1.3  # 2 workers' req/s over 1 worker's above which uvicorn is said to scale


def throughput_summary(results: Results) -> list[str]:
    samples = results.throughput
    if not samples:
        return []
    ours = throughput.Row("granian-wsgi", "prodserver")
    compared = []
    for kind in throughput.OTHER_KINDS:
        other = throughput.Row(kind, "prodserver")
        # The largest worker count both ran with (waitress runs with 1 only).
        counts = [
            w
            for w in sorted({s.workers for s in samples}, reverse=True)
            if other in throughput.rows(samples, w) and ours in throughput.rows(samples, w)
        ]
        if counts:
            ratio_ = _mean_rps(samples, ours, counts[0]) / _mean_rps(samples, other, counts[0])
            compared.append(f"{_times(ratio_)} {kind} ({counts[0]}w)")
    workers = max(s.workers for s in samples)
    kept = throughput.prodserver_over_cli(samples, "granian-wsgi", workers)
    lines = [
        f"- **Throughput**: Granian WSGI started by prodserver served "
        f"{rps(_mean_rps(samples, ours, workers))} requests/s with {workers} workers, "
        f"{', '.join(compared)}, each also started by prodserver (mean over the three views). "
        f"That is {ratio(kept)} times the throughput of Granian's own CLI with the same "
        f"options (the target: at least {throughput.TARGET_RATIO}).",
    ]
    scaling = _scaling(samples, "uvicorn")
    if scaling is not None and scaling[1] < UVICORN_SCALES:
        lines.append(
            f"- uvicorn does not scale with `workers` here: with {scaling[0]} workers it served "
            f"{ratio(scaling[1])} times its 1-worker rate (Granian WSGI: "
            f"{ratio(_scaling(samples, 'granian-wsgi', scaling[0])[1])}). Under keep-alive load "
            "one uvicorn worker accepts nearly every connection, with its own CLI too: see the "
            "[Uvicorn page](backends/uvicorn.md#workers-and-keep-alive-connections)."
        )
    return lines


def _scaling(
    samples: list[throughput.Sample], kind: str, workers: int | None = None
) -> tuple[int, float] | None:
    """The most workers ``kind`` ran with, and its req/s there over its req/s with 1."""
    row = throughput.Row(kind, "prodserver")
    counts = sorted(w for w in {s.workers for s in samples} if row in throughput.rows(samples, w))
    if len(counts) < 2 or counts[0] != 1:
        return None
    most = workers or counts[-1]
    return most, _mean_rps(samples, row, most) / _mean_rps(samples, row, 1)


def _row_name(row: throughput.Row) -> str:
    return f"{row.kind} ({row.options})" if row.options else row.kind


def _load_cells(samples: list[throughput.Sample], row: throughput.Row, workers: int) -> list[str]:
    cells = []
    for view in throughput.VIEWS:
        results = throughput.select(samples, row, workers, view)
        p50, p99 = (throughput.median_of(results, name) for name in ("p50_ms", "p99_ms"))
        cells += [rps(throughput.median_of(results, "requests_per_s")), f"{p50:.1f} / {p99:.1f}"]
    failed = sum(result.failed for result in throughput.select(samples, row, workers))
    cells.append(str(failed))
    if workers > 1:
        cells.append(_serving_cell(throughput.select_samples(samples, row, workers)))
    return cells


def _serving_cell(samples: list[throughput.Sample]) -> str:
    """How many workers served the loads (median), and the busiest one's share of their CPU."""
    measured = [sample for sample in samples if sample.worker_cpu_s]
    if not measured:
        return "n/a"
    serving = median([sample.workers_serving for sample in measured])
    share = median([sample.busiest_worker_share for sample in measured])
    return f"{serving:.0f} of {len(measured[0].worker_cpu_s)} ({share:.0%})"


def _ratio_rows(samples: list[throughput.Sample], worker_counts: list[int]) -> list[list[object]]:
    rows: list[list[object]] = []
    limits = {(kind, workers): limit for kind, workers, limit in throughput.NAMED_TARGETS}
    for kind in throughput.PAIRED_KINDS:
        for workers in worker_counts:
            per_view = [
                ratio(throughput.prodserver_over_cli(samples, kind, workers, view))
                for view in throughput.VIEWS
            ]
            pooled = throughput.pair_ratios(samples, kind, workers)
            if not pooled:
                continue
            quartiles = statistics.quantiles(pooled, n=4) if len(pooled) > 1 else pooled * 3
            value = throughput.prodserver_over_cli(samples, kind, workers)
            limit = limits.get((kind, workers))
            if limit is None and kind in throughput.GRANIAN_KINDS:
                limit = throughput.TARGET_RATIO
            verdict = (
                "-"
                if limit is None
                else f"≥ {limit:g}: " + ("met" if value >= limit else "**not met**")
            )
            cpu_us = [
                median(
                    [
                        sample.cpu_us_per_request
                        for sample in throughput.select_samples(
                            samples, throughput.Row(kind, launcher), workers
                        )
                    ]
                )
                for launcher in ("prodserver", "cli")
            ]
            rows.append(
                [
                    kind,
                    workers,
                    *per_view,
                    f"**{ratio(value)}**",
                    f"{ratio(quartiles[0])} to {ratio(quartiles[2])}",
                    len(pooled),
                    verdict,
                    f"{cpu_us[0]:,.0f} / {cpu_us[1]:,.0f}",
                    ratio(median(throughput.cpu_over_cli(samples, kind, workers))),
                ]
            )
    return rows


def throughput_section(results: Results, directory: Path | None = None) -> str:
    samples = results.throughput
    worker_counts = sorted({sample.workers for sample in samples})
    parts = [
        "## 2. Throughput and latency\n\n"
        "wrk with one thread and keep-alive connections (command below); req/s and p50 / p99 "
        'latency (ms) are medians over rounds; "failed" sums wrk\'s non-2xx responses and '
        "socket errors over all rounds. uvicorn runs with `--no-access-log` (the others log no "
        "requests by default). waitress is one process with 4 threads whatever the worker "
        "count, so it appears with 1 worker only. prodserver runs Granian WSGI with "
        f"{THREADS} blocking threads per worker, and the CLI gets `--blocking-threads {THREADS}` "
        "to match; the row with "
        "`threads=None` is prodserver with Granian's own pool, which grows on demand to "
        '`backlog / workers / 2` threads. With several workers, "workers serving" is how '
        "many of them did at least "
        f"{throughput.SERVING_SHARE:.0%} of the workers' CPU work during a load (the CPU time of "
        "each worker from `/proc/PID/stat`, median over loads), and the share of the busiest: "
        "the kernel hands a burst of keep-alive connections to whichever worker accepts first, "
        "and a worker that took them all serves alone. uvicorn with 2 workers serves "
        "keep-alive load mostly from one of its processes, with its own CLI too, so its "
        "2-worker figures stay close to its 1-worker ones (see the "
        "[Uvicorn page](backends/uvicorn.md#workers-and-keep-alive-connections)).\n"
    ]
    header = ["server", "started by"]
    for view in throughput.VIEWS:
        header += [f"`{view}` req/s", "p50 / p99"]
    header.append("failed")
    for workers in worker_counts:
        table_rows = [
            [_row_name(row), LAUNCHER_NAMES[row.launcher], *_load_cells(samples, row, workers)]
            for row in throughput.rows(samples, workers)
        ]
        title = f"### {workers} worker{'s' if workers > 1 else ''}"
        chart = throughput_chart(results, workers, directory)
        served = [*header, "workers serving (busiest's CPU share)"] if workers > 1 else header
        parts.append(f"{title}\n\n{chart}{table(served, table_rows)}\n")
    ratio_header = [
        "server",
        "workers",
        *(f"`{view}`" for view in throughput.VIEWS),
        "all views",
        "middle half",
        "pairs",
        "target",
        "CPU µs per request, prodserver / CLI",
        "CPU ratio",
    ]
    parts.append(
        "### Granian and uvicorn: prodserver against their own CLI\n\n"
        "Requests/s through prodserver divided by requests/s of the CLI, the median of the "
        "back-to-back pairs, per view and pooled over all views (the target: for Granian at "
        f"least {throughput.TARGET_RATIO}, prodserver adds nothing to a request; for "
        "uvicorn-wsgi with 2 workers at least 2, the cost of the delayed ACKs that uvicorn's own "
        'command leaves on its accepted connections); "middle half" is the interquartile range '
        "of the pooled "
        "pair ratios, a measure of this machine's noise. The CPU columns profile the same runs: "
        "the CPU time of the server's processes (main and workers, from `/proc/PID/stat`) "
        "during each load, divided by the requests served, as medians and as the median of the "
        "pair ratios. It is the work each launcher's server does per request, which other "
        "load on the machine disturbs far less than requests/s.\n\n"
        + table(ratio_header, _ratio_rows(samples, worker_counts))
        + "\n"
    )
    parts.append(request_path_section(results))
    return "\n".join(part for part in parts if part)


def request_path_section(results: Results) -> str:
    if not results.request_path:
        return ""
    by_launcher = {counts.launcher: counts for counts in results.request_path}
    ours, theirs = by_launcher["prodserver"], by_launcher["cli"]
    rows = []
    for view in throughput.VIEWS:
        steady = [counts.calls[view][request_path.WARMUP_REQUESTS :] for counts in (ours, theirs)]
        rows.append(
            [
                code(view),
                *(f"{counts.median(view):,.0f}" for counts in (ours, theirs)),
                *(f"{min(calls):,} to {max(calls):,}" for calls in steady),
                *(f"{counts.calls[view][0]:,}" for counts in (ours, theirs)),
            ]
        )
    header = [
        "view",
        "prodserver",
        "own CLI",
        "prodserver, range",
        "own CLI, range",
        "first request, prodserver",
        "first request, own CLI",
    ]
    return (
        "### The request path, profiled\n\n"
        "Python function calls per request, counted by `cProfile` around the application call "
        "(`benchmarks/load/profiled_wsgi.py` wraps the example's WSGI application), in one Granian "
        "WSGI worker with one blocking thread, started by prodserver and by Granian's CLI. "
        f"Each view is requested {request_path.WARMUP_REQUESTS + request_path.REQUESTS} times; "
        f"the first {request_path.WARMUP_REQUESTS} warm up and are left out of the median and "
        "range. Equal counts mean that both run the same Python per request: prodserver adds "
        "nothing to the request path. ASGI is not counted this way (a request's work is spread "
        "over the event loop and a thread); the CPU columns above cover it. "
        "The first request is cheaper through prodserver because the main process imported "
        "the application before forking.\n\n"
        + table(header, rows)
        + "\n\nCommands:\n\n"
        + "\n".join(f"- {counts.launcher}: `{counts.command}`" for counts in (ours, theirs))
        + "\n"
    )


def asgi_section(results: Results) -> str:
    samples = results.throughput
    worker_counts = sorted({sample.workers for sample in samples})
    pairs = [("Granian", "granian-wsgi", "granian-asgi"), ("uvicorn", "uvicorn-wsgi", "uvicorn")]
    rows = []
    for workers in worker_counts:
        for view in throughput.VIEWS:
            row: list[object] = [workers, code(view)]
            for _, wsgi, asgi in pairs:
                wsgi_rps, asgi_rps = (
                    throughput.median_of(
                        throughput.select(
                            samples, throughput.Row(kind, "prodserver"), workers, view
                        ),
                        "requests_per_s",
                    )
                    for kind in (wsgi, asgi)
                )
                row += [rps(wsgi_rps), rps(asgi_rps), ratio(asgi_rps / wsgi_rps)]
            rows.append(row)
    header = ["workers", "view"]
    for name, _, _ in pairs:
        header += [f"{name} WSGI req/s", f"{name} ASGI req/s", "ASGI / WSGI"]
    return (
        "## 3. Plain Django on WSGI against ASGI\n\n"
        "The same sync views on the same server, started by prodserver with default options "
        "(figures from the tables above; latency there too). Under ASGI, Django runs each sync "
        "view and each sync middleware through `sync_to_async`, one thread hop each, which is "
        "where the difference comes from.\n\n" + table(header, rows) + "\n"
    )


def soak_section(results: Results) -> str:
    rows = []
    notes = []
    for result in results.soak:
        start_uss = sum(p.uss_kb for p in result.start)
        end_uss = sum(p.uss_kb for p in result.end)
        start_threads = "+".join(str(p.threads) for p in result.start)
        end_threads = "+".join(str(p.threads) for p in result.end)
        rows.append(
            [
                result.label,
                f"{result.seconds} s",
                result.connections,
                f"{result.load.requests:,}",
                rps(result.load.requests_per_s),
                f"{result.load.p50_ms:.1f} / {result.load.p99_ms:.1f}",
                result.load.failed,
                f"{mb(start_uss)} to {mb(end_uss)}",
                f"{result.uss_growth:+.1%}",
                f"{start_threads} to {end_threads}",
                result.workers_replaced,
                result.exit_status,
            ]
        )
        if end_threads != start_threads:
            notes.append(
                f"- {result.label}: worker threads went from {start_threads} to {end_threads} "
                "during the soak."
            )
    commands = [f"- {result.label}: `{result.command}`" for result in results.soak]
    return (
        "## 6. Soak\n\n"
        f"Each server started by prodserver, warmed up for {soak.WARMUP} s with a new connection "
        "per request (so that every worker is warmed), then for "
        f"{soak.WARMUP} s more with the soak's own kept-alive load (so that every worker has "
        "reached its high-water mark of requests at once), then loaded with wrk cycling "
        "through all three views (`--timeout 5s`: a slower response counts as failed). "
        "Worker USS is sampled after the warm-up and at the end; growth is that of the worker "
        "that grew most. After the load the server gets SIGTERM; its exit status is shown. The "
        "targets apply to the default options; the row with `threads=None` (Granian's own "
        "thread pool instead of prodserver's "
        f"{THREADS} threads per WSGI worker) is there for "
        "comparison.\n\n"
        + table(
            [
                "server",
                "load",
                "connections",
                "requests",
                "req/s",
                "p50 / p99 ms",
                "failed",
                "workers' USS MB",
                "worst worker growth",
                "threads per worker",
                "workers replaced",
                "exit status",
            ],
            rows,
        )
        + "\n\n"
        + "\n".join(notes + ([""] if notes else []) + ["Commands:", "", *commands])
        + "\n"
    )


def commands_section(results: Results) -> str:
    if not results.commands:
        return ""
    lines = [f"- {label}: `{command}`" for label, command in results.commands.items()]
    return "## Commands used for throughput\n\n" + "\n".join(lines) + "\n"
