"""The report's start-up sections: time to the first 200, its phases, the warm-up."""

from __future__ import annotations

from pathlib import Path
from typing import TYPE_CHECKING

from ..harness.stats import median, spread
from ..startup import phases, warmup
from .markdown import by_launcher, drawn_chart, ms, ms_fine, ratio, table

if TYPE_CHECKING:
    from ..run_results import Results


def startup_chart(results: Results, directory: Path | None) -> str:
    categories = [pair.kind for pair in results.startup]
    value = {
        (pair.kind, launcher): pair.median(launcher) * 1000
        for pair in results.startup
        for launcher in ("prodserver", "cli")
    }
    workers = results.startup[0].workers
    return drawn_chart(
        directory,
        "startup",
        "Milliseconds from launch to the first response, prodserver against each server's CLI",
        title=f"Launch to first HTTP 200, {workers} workers (median)",
        unit="milliseconds (less is better)",
        categories=categories,
        series=by_launcher(categories, value),
    )


def startup_summary(results: Results) -> list[str]:
    pair = next((p for p in results.startup if p.kind == "granian-wsgi"), None)
    if pair is None:
        return []
    why = (
        "its workers are forked with the application already imported, where each of the "
        "CLI's imports it"
        if pair.ratio < 1
        else "the system checks and the import of the application before forking cost that"
    )
    return [
        f"- **Start-up**: the first response comes {ms(pair.median('prodserver'))} after launch "
        f"with Granian WSGI ({pair.workers} workers), against {ms(pair.median('cli'))} with "
        f"Granian's CLI (ratio {ratio(pair.ratio)}): {why}."
    ]


def warmup_summary(results: Results) -> list[str]:
    found = {(r.kind, r.mode): r for r in results.first_requests}
    if ("granian-wsgi", "none") not in found:
        return []
    cold, cheap, page = (found["granian-wsgi", mode] for mode in warmup.MODES)
    return [
        f"- **Warm-up**: the first request to a Granian WSGI worker for a page that renders a "
        f"template took {ms_fine(cold.first_median)} after a start, "
        f"{ms_fine(cheap.first_median)} with `HEALTHCHECK` on the cheap `/healthz/` view and "
        f"{ms_fine(page.first_median)} with the page itself as `HEALTHCHECK` (a steady-state "
        f"request: {ms_fine(cold.steady_median)})."
    ]


def startup_section(results: Results, directory: Path | None = None) -> str:
    rows = []
    for pair in results.startup:
        low, high = spread([a / b for a, b in zip(pair.seconds["prodserver"], pair.seconds["cli"])])
        rows.append(
            [
                pair.kind,
                pair.workers,
                ms(pair.median("prodserver")),
                ms(pair.median("cli")),
                ratio(pair.ratio),
                f"{ratio(low)} to {ratio(high)}",
                len(pair.seconds["cli"]),
            ]
        )
    commands = [
        f"- {pair.kind}: `{pair.commands['prodserver']}`; own CLI: `{pair.commands['cli']}`"
        for pair in results.startup
    ]
    return (
        "## 1. Start-up\n\n"
        "Seconds from launching the process to the first HTTP 200 on `/` (polled every 10 ms). "
        "prodserver runs Django's system checks and, for Granian, imports the application before "
        "forking; the CLIs import it in each worker.\n\n"
        + startup_chart(results, directory)
        + table(
            ["server", "workers", "prodserver", "own CLI", "ratio", "pair ratios", "pairs"], rows
        )
        + "\n\nCommands:\n\n"
        + "\n".join(commands)
        + "\n\n"
        + startup_phases_section(results)
    )


def startup_phases_section(results: Results) -> str:
    if not results.startup_phases:
        return ""
    found = results.startup_phases
    rows: list[list[object]] = [
        [row, *(ms(times.median(row)) for times in found)] for row in phases.ROWS
    ]
    rows.append(["**prodserver, launch to first 200**", *(ms(t.prodserver_total) for t in found)])
    rows.append(["**own CLI, launch to first 200**", *(ms(median(t.cli)) for t in found)])
    rounds = len(found[0].cli)
    return (
        "### Where prodserver's start-up time goes\n\n"
        f"A profile of the start-up, phase by phase ({rounds} more rounds, {found[0].workers} "
        "workers, the same settings and commands as above). prodserver runs under "
        "`benchmarks/startup/phase_probe.py`, which timestamps `django.setup()`, loading the "
        "backend and validating ARGS, the system checks and the pre-flight import of the "
        "application in the main process; "
        f'"{phases.SERVER_START}" is the rest, from the last of those to the first '
        "200. Medians per phase (so the phases need not add up to the total, a median of "
        "sums); the CLI is timed in the same rounds. Granian's workers are forked from the "
        "main process with Django and the application already imported; gunicorn's fork too, "
        "but import the application themselves (the main process imports it in a short-lived "
        "child, so that an import error stops everything); uvicorn spawns fresh interpreters "
        "that set Django up again, so for uvicorn every phase before its own start is added "
        "to the time its CLI takes.\n\n"
        + table(["phase", *(times.kind for times in found)], rows)
        + "\n"
    )


def warmup_section(results: Results) -> str:
    by_mode = {(found.kind, found.mode): found for found in results.first_requests}
    workers = results.first_requests[0].workers
    page = warmup.PATH
    rows = []
    for kind in dict.fromkeys(found.kind for found in results.first_requests):
        cold, cheap, same = (by_mode[kind, mode] for mode in warmup.MODES)
        rows.append(
            [
                kind,
                cold.workers,
                ms_fine(cold.first_median),
                f"{ms_fine(cheap.first_median)} ({ratio(cheap.first_median / cold.first_median)})",
                f"{ms_fine(same.first_median)} ({ratio(same.first_median / cold.first_median)})",
                ms_fine(cold.steady_median),
                " / ".join(str(len(found.first)) for found in (cold, cheap, same)),
            ]
        )
    return (
        "## 7. First request after a start: the HEALTHCHECK warm-up\n\n"
        f"Each round starts each server three times through prodserver with {workers} workers, "
        f'in rotating order: without `HEALTHCHECK`, with `"HEALTHCHECK": "/healthz/"` (the '
        f"example's cheap view) and with the measured page `{page}` as `HEALTHCHECK`. Once the "
        f"port accepts and {warmup.SETTLE_SECONDS:.0f} s have passed, fresh connections "
        f"ask for `{page}` (a template render) until every worker has answered (a benchmark "
        f"middleware names the worker's PID); each worker's first answer is its first request, "
        f"the later ones are the steady state. Milliseconds from connecting to the last byte, "
        f"medians; in brackets the ratio to no warm-up.\n\n"
        + table(
            [
                "server",
                "workers",
                "first request, no warm-up",
                "HEALTHCHECK /healthz/",
                f"HEALTHCHECK {page}",
                "steady state",
                "first requests measured",
            ],
            rows,
        )
        + "\n\nA warm-up saves what its request loads: a view that renders no template leaves "
        "loading the templates to the first visitor of a page that renders them. Granian's "
        "workers share one listening socket, and sequential connections from one client are "
        "mostly accepted by the same worker: fewer first requests are measured than workers "
        "started (tests/integration/test_warmup.py shows that every Granian worker starts "
        "warm).\n"
    )
