"""Benchmark prodserver against the servers' own command lines; write docs/performance.md.

    python -m benchmarks.run              the full run (about 20 minutes on 2 cores)
    python -m benchmarks.run --quick      a smoke run (about 3 minutes), written elsewhere
    python -m benchmarks.run --render benchmarks/results/latest.json
                                          the report and charts again from a run's raw figures

Run from the repository's root. Needs wrk on PATH, Linux (/proc) and the package installed with
its server extras.
"""

from __future__ import annotations

import argparse
import dataclasses
import json
import sys
import time
from pathlib import Path

from .harness import machine
from .harness.processes import install_cleanup
from .harness.project import REPO_DIR, ExampleProject
from .harness.wrk import require_wrk
from .load import request_path, soak, throughput
from .memory import footprint
from .registry import import_cost, lookup_cost
from .report import markdown, page
from .run_results import Results, load_results
from .startup import first_200, phases, warmup

SECTIONS = ("startup", "throughput", "memory", "registry", "soak", "warmup")
DEFAULT_OUTPUT = REPO_DIR / "docs" / "performance.md"
QUICK_OUTPUT = REPO_DIR / "benchmarks" / "results" / "performance-quick.md"
RAW_OUTPUT = REPO_DIR / "benchmarks" / "results" / "latest.json"
SHOWN_OPTIONS = (
    "duration",
    "rounds",
    "timing_rounds",
    "connections",
    "workers",
    "startup_workers",
    "memory_workers",
    "soak",
    "sections",
)


def parse_options(argv: list[str] | None) -> argparse.Namespace:
    parser = argparse.ArgumentParser(
        description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter
    )
    parser.add_argument("--duration", type=int, default=2, help="seconds per wrk load (2)")
    parser.add_argument(
        "--rounds", type=int, default=6, help="interleaved rounds of load per server and view (6)"
    )
    parser.add_argument(
        "--timing-rounds",
        type=int,
        default=5,
        help="interleaved rounds of start-up, registry and import timings (5)",
    )
    parser.add_argument("--connections", type=int, default=32, help="wrk connections (32)")
    parser.add_argument(
        "--workers", default="1,2", help="worker counts for throughput, comma-separated (1,2)"
    )
    parser.add_argument(
        "--startup-workers", type=int, default=2, help="workers for start-up timing (2)"
    )
    parser.add_argument(
        "--memory-workers", type=int, default=4, help="workers for memory figures (4)"
    )
    parser.add_argument(
        "--soak", type=int, default=60, metavar="SECONDS", help="soak time per server (60)"
    )
    parser.add_argument("--quick", action="store_true", help="a fast smoke run")
    parser.add_argument(
        "--only", action="append", choices=SECTIONS, help="run only this section (repeatable)"
    )
    parser.add_argument("--output", type=Path, help=f"Markdown report ({DEFAULT_OUTPUT})")
    parser.add_argument(
        "--render",
        type=Path,
        metavar="RAW_JSON",
        help="measure nothing: write the report and its charts from the raw figures of a run",
    )
    parser.add_argument(
        "--keep-temp", action="store_true", help="keep the temporary project and server logs"
    )
    options = parser.parse_args(argv)
    if options.quick:
        options.duration, options.rounds, options.timing_rounds, options.soak = 1, 1, 2, 5
    options.output = options.output or (QUICK_OUTPUT if options.quick else DEFAULT_OUTPUT)
    options.worker_counts = [int(n) for n in options.workers.split(",")]
    options.sections = options.only or list(SECTIONS)
    return options


def run(options: argparse.Namespace, results: Results, project: ExampleProject) -> None:
    def section(name: str) -> bool:
        if name not in options.sections:
            return False
        results.load_averages[name] = machine.load_average()
        print(f"{name} (load average {results.load_averages[name]})", flush=True)
        return True

    if section("startup"):
        results.startup = first_200.measure(project, options.timing_rounds, options.startup_workers)
        results.targets += first_200.targets(results.startup)
        results.startup_phases = phases.measure(
            project, options.timing_rounds, options.startup_workers
        )
    if section("throughput"):
        results.throughput, commands = throughput.measure(
            project,
            worker_counts=options.worker_counts,
            rounds=options.rounds,
            duration=options.duration,
            connections=options.connections,
        )
        results.commands.update(commands)
        results.targets += throughput.targets(results.throughput, options.worker_counts)
        results.request_path = request_path.measure(project)
    if section("memory"):
        results.footprints = footprint.measure(
            project, options.memory_workers, max(options.duration, 2)
        )
        results.targets += footprint.targets(results.footprints)
    if section("registry"):
        results.registry = lookup_cost.measure(project, options.timing_rounds)
        results.imports = import_cost.measure(project, options.timing_rounds)
        results.help_modules = import_cost.modules_loaded_by_help(project)
    if section("soak"):
        results.soak = soak.run(project, seconds=options.soak)
        results.targets += soak.targets(results.soak)
        for kind, extra in soak.GRANIAN_POOL:  # for comparison only: targets are for defaults
            results.soak += soak.run(project, seconds=options.soak, kinds=(kind,), extra=extra)
    if section("warmup"):
        # Twice the timing rounds: Granian's shared socket lets fewer first requests be measured.
        results.first_requests = warmup.measure(
            project, 2 * options.timing_rounds, options.startup_workers
        )
    results.load_averages["end"] = machine.load_average()


def main(argv: list[str] | None = None) -> int:
    options = parse_options(argv)
    if options.render:
        results = load_results(options.render)
        options.output.write_text(page.render(results, options.output.parent / markdown.CHARTS))
        print(f"Wrote {options.output} from {options.render}")
        return 0
    require_wrk()
    install_cleanup()
    started = time.monotonic()
    shown = {key: getattr(options, key) for key in SHOWN_OPTIONS}
    results = Results(
        command="python -m benchmarks.run " + " ".join(sys.argv[1:] if argv is None else argv),
        options={key: str(value) for key, value in shown.items()},
        machine=machine.describe(REPO_DIR),
    )
    project = ExampleProject(keep=options.keep_temp)
    try:
        project.migrate()
        run(options, results, project)
    finally:
        project.cleanup()
        if options.keep_temp:
            print(f"Temporary project and logs kept in {project.root}")
    results.seconds = time.monotonic() - started
    # A smoke run or a partial one must not replace the raw figures behind docs/performance.md.
    raw = RAW_OUTPUT if options.output == DEFAULT_OUTPUT else options.output.with_suffix(".json")
    raw.parent.mkdir(parents=True, exist_ok=True)
    raw.write_text(json.dumps(dataclasses.asdict(results), indent=1, default=str))
    options.output.parent.mkdir(parents=True, exist_ok=True)
    options.output.write_text(page.render(results, options.output.parent / markdown.CHARTS))
    print(f"\nWrote {options.output} ({results.seconds / 60:.1f} min); raw figures: {raw}")
    for target in results.targets:
        print(target.line())
    return 0


if __name__ == "__main__":
    sys.exit(main())
