"""What having ``django_prodserver`` in ``INSTALLED_APPS`` costs every Django process.

Each command runs in a fresh interpreter, once with the example's settings (the app installed) and
once with the same settings minus the app, in alternating order; the figure is the median of the
per-pair ratios.
"""

from __future__ import annotations

import re
import sys
import time
from dataclasses import dataclass, field

from ..harness.processes import run_bounded
from ..harness.project import BASE_SETTINGS, EXAMPLE_DIR, WITHOUT_APP_SETTINGS, ExampleProject
from ..harness.stats import median, pair_ratio

COMMANDS = {
    'python -c "import django_prodserver"': [sys.executable, "-c", "import django_prodserver"],
    'python -c "import django; django.setup()"': [
        sys.executable,
        "-c",
        "import django; django.setup()",
    ],
    "python manage.py help": [sys.executable, "manage.py", "help"],
}
VARIANTS = {"with the app": BASE_SETTINGS, "without the app": WITHOUT_APP_SETTINGS}
TIMEOUT = 120


@dataclass
class ImportCost:
    command: str
    seconds: dict[str, list[float]] = field(
        default_factory=lambda: {variant: [] for variant in VARIANTS}
    )

    @property
    def ratio(self) -> float:
        return pair_ratio(self.seconds["with the app"], self.seconds["without the app"])

    def median(self, variant: str) -> float:
        return median(self.seconds[variant])


def _timed(argv: list[str], project: ExampleProject, settings: str) -> float:
    started = time.perf_counter()
    done = run_bounded(argv, TIMEOUT, EXAMPLE_DIR, project.env(settings))
    seconds = time.perf_counter() - started
    if done.returncode != 0:
        raise RuntimeError(f"{' '.join(argv)} failed:\n{done.stderr}")
    return seconds


def measure(project: ExampleProject, rounds: int) -> list[ImportCost]:
    costs = [ImportCost(command) for command in COMMANDS]
    for round_index in range(rounds):
        for cost in costs:
            variants = list(VARIANTS.items())
            for variant, settings in variants if round_index % 2 == 0 else variants[::-1]:
                cost.seconds[variant].append(_timed(COMMANDS[cost.command], project, settings))
    return costs


def modules_loaded_by_help(project: ExampleProject) -> dict[str, list[str]]:
    """Per variant, the modules of this package and importlib.metadata that ``help`` imports."""
    wanted = re.compile(r"^(django_prodserver(\..*)?|importlib\.metadata)$")
    loaded = {}
    for variant, settings in VARIANTS.items():
        argv = [sys.executable, "-X", "importtime", "manage.py", "help"]
        done = run_bounded(argv, TIMEOUT, EXAMPLE_DIR, project.env(settings))
        # -X importtime writes "import time: self | cumulative | module" lines to stderr.
        modules = [line.rsplit("|", 1)[-1].strip() for line in done.stderr.splitlines()]
        loaded[variant] = [module for module in modules if wanted.match(module)]
    return loaded
