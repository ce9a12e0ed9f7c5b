"""What the request path costs in Python, counted: calls per request, prodserver against the CLI.

A profile for the throughput ratios: Granian WSGI with one worker and one blocking thread serves
``profiled_wsgi.application`` (the example's application under ``cProfile``), started by
prodserver and by Granian's CLI. Each view is requested in turn over fresh connections; the
first requests warm up caches and connections, and the median count of the rest is reported.
"""

from __future__ import annotations

import json
import shlex
import shutil
import sys
import urllib.request
from dataclasses import dataclass, field
from pathlib import Path

from ..harness.processes import Launch, free_port, start
from ..harness.project import EXAMPLE_DIR, ExampleProject
from ..harness.servers import HOST, KINDS
from ..harness.stats import median
from .throughput import VIEWS

PROFILED = Path(__file__).resolve().with_name("profiled_wsgi.py")
TARGET = "profiled_wsgi:application"
WSGI_SETTING = "WSGI_APPLICATION = 'profiled_wsgi.application'"
WARMUP_REQUESTS = 5
REQUESTS = 30  # per view, after the warm-up
LAUNCHERS = ("prodserver", "cli")


@dataclass
class CallCounts:
    launcher: str
    command: str
    calls: dict[str, list[int]] = field(default_factory=dict)  # view -> calls per request

    def median(self, view: str) -> float:
        return median(self.calls.get(view, [])[WARMUP_REQUESTS:])


def _get(port: int, path: str) -> bytes:
    with urllib.request.urlopen(f"http://{HOST}:{port}{path}", timeout=30) as response:
        return bytes(response.read())


def _processes(port: int | str) -> dict[str, object]:
    args = {**KINDS["granian-wsgi"].prodserver_args(port, 1), "threads": 1}
    return {"web": {"BACKEND": "granian-wsgi", "ARGS": args}}


def _cli_args(port: int | str) -> list[str]:
    return [
        *("granian", "--interface", "wsgi", "--host", HOST, "--port", str(port)),
        *("--workers", "1", "--blocking-threads", "1", TARGET),
    ]


def _launch(project: ExampleProject, launcher: str, port: int) -> tuple[Launch, str]:
    """How to start ``launcher`` on ``port``, and its command as the report shows it."""
    if launcher == "prodserver":
        settings = project.settings_with(_processes(port), WSGI_SETTING)
        shown = f"{WSGI_SETTING}; PRODUCTION_PROCESSES = {_processes('$PORT')!r}; "
        launch = Launch(project.manage("prodserver", "web"), EXAMPLE_DIR, project.env(settings))
        return launch, shown + "python manage.py prodserver web"
    launch = Launch([sys.executable, "-m", *_cli_args(port)], EXAMPLE_DIR, project.env())
    return launch, "python -m " + shlex.join(_cli_args("$PORT"))


def measure(project: ExampleProject) -> list[CallCounts]:
    shutil.copy(PROFILED, project.root)  # importable: the project's root is on PYTHONPATH
    found = []
    for launcher in LAUNCHERS:
        port = free_port()
        launch, shown = _launch(project, launcher, port)
        running = start(f"granian-wsgi ({launcher}, profiled)", launch, port, project.logs)
        try:
            running.wait_ready("/")
            for view in VIEWS:
                for _ in range(WARMUP_REQUESTS + REQUESTS):
                    _get(port, view)
            calls = json.loads(_get(port, "/__calls__"))
        finally:
            running.stop()
        counts = CallCounts(launcher, shown, {view: calls.get(view, []) for view in VIEWS})
        print(
            f"  calls per request, {launcher}: "
            + ", ".join(f"{view} {counts.median(view):.0f}" for view in VIEWS),
            flush=True,
        )
        found.append(counts)
    return found
