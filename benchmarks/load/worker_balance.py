"""How a server's workers share keep-alive load: each worker's part of the CPU time under wrk.

uvicorn's workers share one listening socket, and under keep-alive load one of them accepts
nearly every connection, so ``workers: 2`` serves from one process; Granian and gunicorn spread
the connections. This starts each server with 2 workers, by prodserver and by its own CLI,
loads it with wrk (keep-alive connections, all opened at once) and prints each worker's share
of the CPU time its workers used during the load::

    python -m benchmarks.load.worker_balance --seconds 5
"""

from __future__ import annotations

import argparse
import sys
import time

from ..harness.machine import load_average
from ..harness.process_cpu import cpu_seconds
from ..harness.process_memory import measure, workers
from ..harness.processes import free_port, install_cleanup, running
from ..harness.project import ExampleProject
from ..harness.servers import config
from ..harness.wrk import require_wrk, run_wrk, wrk_command

KINDS = ("uvicorn", "granian-wsgi", "gunicorn")
LAUNCHERS = ("prodserver", "cli")
CONNECTIONS = 32
SETTLE = 5  # seconds between the first answer and the load


def shares(project: ExampleProject, kind: str, launcher: str, seconds: int) -> list[float]:
    """Each worker's part of the workers' CPU time during one load, largest first."""
    server = config(kind, launcher, 2)
    port = free_port()
    with running([(server.label, server.launch(project, port), port)], project.logs) as [started]:
        # Every worker has started and loaded the application by then, whoever answered first.
        time.sleep(SETTLE)
        pids = [process.pid for process in workers(measure(started.pid))]
        before = {pid: cpu_seconds(pid) for pid in pids}
        run_wrk(wrk_command(f"http://127.0.0.1:{port}/", seconds, CONNECTIONS), seconds)
        used = {pid: cpu_seconds(pid) - before[pid] for pid in pids}
    total = sum(used.values()) or 1.0
    return sorted((value / total for value in used.values()), reverse=True)


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--seconds", type=int, default=5, help="load time per server (5)")
    options = parser.parse_args(argv)
    require_wrk()
    install_cleanup()
    project = ExampleProject()
    print(f"load average before: {load_average()}")
    print(
        f"| server (2 workers, wrk c{CONNECTIONS} keep-alive) | started by | CPU share per worker |"
    )
    print("|---|---|---|")
    try:
        project.migrate()
        for kind in KINDS:
            for launcher in LAUNCHERS:
                found = shares(project, kind, launcher, options.seconds)
                shown = " / ".join(f"{share:.0%}" for share in found)
                name = "prodserver" if launcher == "prodserver" else "own CLI"
                print(f"| {kind} | {name} | {shown} |", flush=True)
    finally:
        project.cleanup()
    print(f"load average after: {load_average()}")
    return 0


if __name__ == "__main__":
    sys.exit(main())
