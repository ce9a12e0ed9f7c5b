"""Start-up: seconds from launching a server to its first HTTP 200, prodserver against the CLI."""

from __future__ import annotations

from dataclasses import dataclass, field

from example_project import ExampleProject
from processes import free_port, start
from servers import ServerConfig, config
from stats import median, pair_ratio
from targets import Target

KINDS = ("granian-wsgi", "granian-asgi", "gunicorn", "uvicorn")
TARGET_RATIO = 1.15  # granian-wsgi through prodserver against Granian's own CLI


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
            f"start-up ratio, {pair.kind} via prodserver / Granian CLI ({pair.workers} workers)",
            pair.ratio,
            "<=",
            TARGET_RATIO,
        )
        for pair in pairs
        if pair.kind == "granian-wsgi"
    ]
