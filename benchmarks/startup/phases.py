"""Where prodserver's start-up time goes, phase by phase, beside the server's own CLI.

A profile of the start-up figures: prodserver runs under ``phase_probe.py``, which timestamps
Django's set-up, the system checks and the pre-flight import of the application in the main
process; what follows the last of them, up to the first HTTP 200, is the server's own start
(forking or spawning its workers). The CLI is timed from launch to its first 200, in the same
rounds, in alternating order.
"""

from __future__ import annotations

import json
from dataclasses import dataclass, field
from pathlib import Path

from ..harness.processes import Launch, free_port, start
from ..harness.project import EXAMPLE_DIR, ExampleProject
from ..harness.servers import config
from ..harness.stats import median
from .first_200 import time_to_first_200

KINDS = ("granian-wsgi", "gunicorn", "uvicorn")
PROBE = Path(__file__).resolve().with_name("phase_probe.py")
# The main process's phases, in the order they happen.
PHASES = ("django.setup()", "backend loaded, ARGS validated", "system checks", "application import")
STARTING_PYTHON = "starting Python"
BEFORE_SETUP = "manage.py, Django's command line, the settings"
COMMAND = "prodserver's command, between the phases"
SERVER_START = "the server's own start, to the first 200"
ROWS = (STARTING_PYTHON, BEFORE_SETUP, *PHASES, COMMAND, SERVER_START)


@dataclass
class PhaseTimes:
    kind: str
    workers: int
    prodserver: dict[str, list[float]] = field(default_factory=lambda: {row: [] for row in ROWS})
    cli: list[float] = field(default_factory=list)  # seconds from launch to the first 200

    def median(self, row: str) -> float:
        return median(self.prodserver[row])

    @property
    def prodserver_total(self) -> float:
        return median([sum(parts) for parts in zip(*(self.prodserver[row] for row in ROWS))])


Mark = tuple[int, str, str, float]  # pid, phase, "start" or "end" (or "ready"), seconds


def phases_of(marks: list[Mark], pid: int, launched: float, ready: float) -> dict[str, float]:
    """Seconds per row of ``ROWS``, from the main process's marks."""
    main = [(phase, event, at) for mark_pid, phase, event, at in marks if mark_pid == pid]
    spent = dict.fromkeys(ROWS, 0.0)
    opened: dict[str, float] = {}
    python_ready = last = launched
    first_phase: float | None = None
    for phase, event, at in main:
        if phase == "python":
            python_ready = last = at
        elif event == "start":
            opened[phase] = at
            first_phase = at if first_phase is None else first_phase
        else:
            spent[phase] += at - opened.pop(phase)
            last = at
    spent[STARTING_PYTHON] = python_ready - launched
    spent[BEFORE_SETUP] = (first_phase or python_ready) - python_ready
    phases = sum(spent[phase] for phase in PHASES)
    spent[COMMAND] = last - python_ready - spent[BEFORE_SETUP] - phases
    spent[SERVER_START] = ready - last
    return spent


def _prodserver_run(project: ExampleProject, kind: str, workers: int) -> dict[str, float]:
    server = config(kind, "prodserver", workers)
    port = free_port()
    marks_file = project.root / f"phases-{kind}-{port}.jsonl"
    env = project.env(project.settings_with(server.processes(port)), PHASES_FILE=str(marks_file))
    argv = [*project.manage("prodserver", "web")]
    launch = Launch([argv[0], str(PROBE), *argv[1:]], EXAMPLE_DIR, env)
    running = start(f"{server.label}, phases", launch, port, project.logs)
    try:
        ready = running.started_at + running.wait_ready("/")
    finally:
        running.stop()
    marks: list[Mark] = [
        (int(pid), str(phase), str(event), float(at))
        for pid, phase, event, at in map(json.loads, marks_file.read_text().splitlines())
    ]
    return phases_of(marks, running.pid, running.started_at, ready)


def measure(project: ExampleProject, rounds: int, workers: int) -> list[PhaseTimes]:
    found = [PhaseTimes(kind, workers) for kind in KINDS]
    for round_index in range(rounds):
        for times in found:
            runs = ("prodserver", "cli") if round_index % 2 == 0 else ("cli", "prodserver")
            for launcher in runs:
                if launcher == "cli":
                    cli = config(times.kind, "cli", workers)
                    times.cli.append(time_to_first_200(project, cli, free_port()))
                    continue
                for row, seconds in _prodserver_run(project, times.kind, workers).items():
                    times.prodserver[row].append(seconds)
        print(f"  start-up phases, round {round_index + 1} of {rounds}", flush=True)
    return found
