"""Start-up: seconds from launching a server to its first HTTP 200, prodserver against the CLI."""

from __future__ import annotations

from dataclasses import dataclass, field

from ..harness.processes import free_port, start
from ..harness.project import ExampleProject
from ..harness.servers import ServerConfig, config
from ..harness.stats import median, pair_ratio
from ..harness.targets import Target

KINDS = ("granian-wsgi", "granian-asgi", "gunicorn", "uvicorn")
# Start-up through prodserver against the server's own CLI. Granian's workers are forked with
# Django and the application loaded, so no slower; gunicorn's workers import the application
# themselves after the fork; uvicorn's are spawned interpreters that set Django up again, so the
# main process's set-up and checks come on top of the CLI's whole start.
TARGET_RATIOS = {"granian-wsgi": 1.0, "granian-asgi": 1.0, "gunicorn": 1.05, "uvicorn": 1.15}
NOT_MET = {
    "uvicorn": "uvicorn spawns its workers, and each sets Django up again: everything prodserver's "
    "main process does first (manage.py, django.setup(), validation, the system checks; see the "
    "phases below) comes on top of the CLI's whole start.",
}
TIMING_NOISE = (
    "start-up times on this shared machine vary from round to round (see the pair ratios in "
    "section 1 and the load averages above)."
)


@dataclass
class StartupPair:
    kind: str
    workers: int
    commands: dict[str, str]  # launcher -> command
    seconds: dict[str, list[float]] = field(default_factory=lambda: {"prodserver": [], "cli": []})

    @property
    def ratio(self) -> float:
        return pair_ratio(self.seconds["prodserver"], self.seconds["cli"])

    def median(self, launcher: str) -> float:
        return median(self.seconds[launcher])


def time_to_first_200(project: ExampleProject, server: ServerConfig, port: int) -> float:
    running = start(server.label, server.launch(project, port), port, project.logs)
    try:
        return running.wait_ready("/")
    finally:
        running.stop()


def measure(project: ExampleProject, rounds: int, workers: int) -> list[StartupPair]:
    """Interleaved: each round starts prodserver and the CLI back to back, in alternating order."""
    pairs = [
        StartupPair(
            kind,
            workers,
            {
                launcher: config(kind, launcher, workers).command()
                for launcher in ("prodserver", "cli")
            },
        )
        for kind in KINDS
    ]
    for round_index in range(rounds):
        for pair in pairs:
            order = ("prodserver", "cli") if round_index % 2 == 0 else ("cli", "prodserver")
            for launcher in order:
                server = config(pair.kind, launcher, workers)
                seconds = time_to_first_200(project, server, free_port())
                pair.seconds[launcher].append(seconds)
                print(f"  start-up {server.label}: {seconds:.3f}s", flush=True)
    return pairs


def targets(pairs: list[StartupPair]) -> list[Target]:
    return [
        Target(
            f"start-up ratio, {pair.kind} via prodserver / its own CLI ({pair.workers} workers)",
            pair.ratio,
            "<=",
            TARGET_RATIOS[pair.kind],
            NOT_MET.get(
                pair.kind,
                f"prodserver sets Django up and runs the system checks "
                f"before the server starts; {TIMING_NOISE}",
            ),
        )
        for pair in pairs
        if pair.kind in TARGET_RATIOS
    ]
