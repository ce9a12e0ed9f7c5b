"""The report's memory sections: each server's footprint, before and after a collection."""

from __future__ import annotations

from pathlib import Path
from typing import TYPE_CHECKING

from ..harness import process_memory
from ..harness.stats import median, spread
from ..memory.footprint import Footprint, find
from .markdown import LAUNCHER_NAMES, THREADS, by_launcher, drawn_chart, mb, ratio, table

if TYPE_CHECKING:
    from ..run_results import Results


def _worker_uss_kb(found: Footprint) -> float:
    # A server without worker processes (waitress) serves from its main process.
    return (
        found.worker_median("uss_kb")
        if process_memory.workers(found.processes)
        else found.main().uss_kb
    )


def memory_chart(results: Results, directory: Path | None) -> str:
    categories: list[str] = []
    value: dict[tuple[str, str], float] = {}
    for found in results.footprints:
        if found.kind not in categories:
            categories.append(found.kind)
        value[(found.kind, found.launcher)] = _worker_uss_kb(found) / 1024
    return drawn_chart(
        directory,
        "memory",
        "Private memory (USS) per worker process, prodserver against each server's CLI",
        title="Private memory per worker (USS, median; waitress: its one process)",
        unit="MB (less is better)",
        categories=categories,
        series=by_launcher(categories, value),
        value_format="{:,.1f}",
    )


def memory_summary(results: Results) -> list[str]:
    ours = find(results.footprints, "granian-wsgi", "prodserver")
    theirs = find(results.footprints, "granian-wsgi", "cli")
    if not (ours and theirs):
        return []
    return [
        f"- **Memory**: each Granian WSGI worker holds {mb(ours.worker_median('uss_kb'))} MB of "
        f"its own (USS), against {mb(theirs.worker_median('uss_kb'))} MB when Granian's CLI "
        f"loads the application in every worker: prodserver forks the workers with Django "
        f"already loaded, so they share it. {ours.workers} workers in all: "
        f"{mb(ours.total('pss_kb'))} MB against {mb(theirs.total('pss_kb'))} MB (PSS)."
    ]


def _footprint_row(found: Footprint) -> list[object]:
    workers = process_memory.workers(found.processes)
    main = found.main()
    if workers:
        low, high = spread([process.uss_kb for process in workers])
        worker_uss = f"{mb(found.worker_median('uss_kb'))} ({mb(low)} to {mb(high)})"
        threads = f"{median([process.threads for process in workers]):.0f}"
    else:
        worker_uss, threads = "(in main)", str(main.threads)
    return [
        found.kind,
        LAUNCHER_NAMES[found.launcher],
        len(workers) or "none",
        f"{mb(main.uss_kb)} / {mb(main.pss_kb)} / {mb(main.rss_kb)}",
        worker_uss,
        f"{mb(found.worker_median('pss_kb'))} / {mb(found.worker_median('rss_kb'))}"
        if workers
        else "",
        threads,
        mb(found.total("uss_kb")),
        mb(found.total("pss_kb")),
    ]


def _collected_row(found: Footprint) -> list[object]:
    workers = process_memory.workers(found.collected_processes)
    if workers:
        low, high = spread([process.uss_kb for process in workers])
        worker_uss = f"{mb(found.worker_median('uss_kb', True))} ({mb(low)} to {mb(high)})"
        before = mb(found.worker_median("uss_kb"))
    else:
        worker_uss, before = "(in main)", mb(found.main().uss_kb)
    return [
        found.kind,
        LAUNCHER_NAMES[found.launcher],
        found.workers_collected if workers else "main",
        mb(found.main(True).uss_kb),
        before,
        worker_uss,
        mb(found.total("uss_kb", True)),
        mb(found.total("pss_kb")),
        mb(found.total("pss_kb", True)),
    ]


def collected_memory_section(results: Results) -> str:
    found = [footprint for footprint in results.footprints if footprint.collected_processes]
    if not found:
        return ""
    lines = []
    for kind in ("granian-wsgi", "gunicorn", "uvicorn-wsgi"):
        ours, theirs = find(found, kind, "prodserver"), find(found, kind, "cli")
        if ours and theirs:
            uss = [f.worker_median("uss_kb", True) for f in (ours, theirs)]
            pss = [f.total("pss_kb", True) for f in (ours, theirs)]
            lines.append(
                f"- {kind}: per-worker USS {mb(uss[0])} MB through prodserver against "
                f"{mb(uss[1])} MB with its own CLI (ratio {ratio(uss[0] / uss[1])}); total PSS "
                f"{mb(pss[0])} MB against {mb(pss[1])} MB (ratio {ratio(pss[0] / pss[1])})."
            )
    return (
        "### After a full garbage collection in every worker\n\n"
        "The same servers, measured again after each worker ran `gc.collect()` (the benchmark's "
        "URLconf, not the example's, has a view that runs it, requested in bursts on new "
        'connections until every worker has answered; "collected" counts the workers that '
        "did). A forked worker shares the pages its main process filled until something writes "
        "to them, and a full collection writes to the header of every object it visits: "
        "figures taken before any full collection flatter every forking server. prodserver's "
        "Granian and gunicorn main processes freeze their objects (`gc.freeze()`) before they "
        "fork, so the collector leaves them alone; what their workers still hold privately is "
        "mostly pages that reference counting wrote to, and their own requests' data. uvicorn "
        "spawns fresh interpreters, which share little with their main process either way.\n\n"
        + table(
            [
                "server",
                "started by",
                "collected",
                "main USS",
                "worker USS median, before",
                "after (range)",
                "total USS after",
                "total PSS before",
                "total PSS after",
            ],
            [_collected_row(footprint) for footprint in found],
        )
        + "\n\n"
        + "\n".join(lines)
        + "\n"
    )


def memory_section(results: Results, directory: Path | None = None) -> str:
    footprints = results.footprints
    rows = [_footprint_row(found) for found in footprints]
    lines = []
    ours, theirs = (
        find(footprints, "granian-wsgi", "prodserver"),
        find(footprints, "granian-wsgi", "cli"),
    )
    if ours and theirs:
        our_uss, their_uss = ours.worker_median("uss_kb"), theirs.worker_median("uss_kb")
        lines.append(
            f"granian-wsgi, {ours.workers} workers: per-worker USS {mb(our_uss)} MB through "
            f"prodserver against {mb(their_uss)} MB with the CLI (ratio "
            f"{ratio(our_uss / their_uss)}); total PSS {mb(ours.total('pss_kb'))} MB against "
            f"{mb(theirs.total('pss_kb'))} MB."
        )
    for kind in ("uvicorn", "uvicorn-wsgi"):
        ours, theirs = find(footprints, kind, "prodserver"), find(footprints, kind, "cli")
        if ours and theirs:
            lines.append(
                f"\n{kind}: main process USS {mb(ours.main().uss_kb)} MB through prodserver "
                f"against {mb(theirs.main().uss_kb)} MB with its own CLI: its workers are "
                "spawned, and the main process keeps the Django that `manage.py`, the system "
                "checks and the pre-flight checks loaded (the application itself is imported in "
                "a short-lived child)."
            )
    workers = footprints[0].workers if footprints else 0
    return (
        "## 4. Memory\n\n"
        f"MB read from `/proc/PID/smaps_rollup` of the main process and each of its descendants, "
        f"asked for {workers} workers, after a warm-up of wrk over all three views. USS = "
        "Private_Clean + Private_Dirty (what the process alone holds), PSS = shared pages divided "
        "among the processes that map them (sums to the real footprint), RSS counts shared pages "
        'in full. "helper" processes (uvicorn\'s multiprocessing resource tracker) count in the '
        "totals only. Workers' threads: each thread that ran a Django view holds its own database "
        "connection; prodserver and the CLI run Granian WSGI with "
        f"{THREADS} blocking threads per worker.\n\n"
        + memory_chart(results, directory)
        + table(
            [
                "server",
                "started by",
                "workers",
                "main USS / PSS / RSS",
                "worker USS median (range)",
                "worker PSS / RSS median",
                "threads per worker",
                "total USS",
                "total PSS",
            ],
            rows,
        )
        + "\n\n"
        + "\n".join(lines)
        + "\n\n"
        + collected_memory_section(results)
        + "\nCommands:\n\n"
        + "\n".join(
            f"- {found.kind}, {LAUNCHER_NAMES[found.launcher]}: `{found.command}`"
            for found in footprints
        )
        + "\n"
    )
