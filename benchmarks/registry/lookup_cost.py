"""The cost of finding backends, with 10, 100 and 1,000 extra installed distributions.

Each figure comes from a fresh interpreter (the registry reads metadata at most once per
process). The distributions are synthetic ``*.dist-info`` folders on a temporary ``sys.path``
entry, added to those of the benchmark's own environment; ``probe.py`` takes the timings
inside each interpreter.
"""

from __future__ import annotations

import json
import os
import sys
import time
from dataclasses import dataclass, field
from pathlib import Path

from ..harness.processes import run_bounded
from ..harness.project import EXAMPLE_DIR, ExampleProject

SIZES = (0, 10, 100, 1000)
MODES = ("resolve-alias", "resolve-dotted", "describe")
PLUGIN_EVERY = 10  # one distribution in ten registers a backend...
OTHER_ENTRY_POINTS_EVERY = 3  # ...and one in three has entry points of other groups only


def make_distributions(directory: Path, count: int) -> Path:
    """A sys.path entry holding ``count`` synthetic installed distributions."""
    root = directory / f"distributions-{count}"
    root.mkdir()
    for index in range(count):
        info = root / f"synthetic_package_{index}-1.0.dist-info"
        info.mkdir()
        (info / "METADATA").write_text(
            f"Metadata-Version: 2.1\nName: synthetic-package-{index}\nVersion: 1.0\n"
            f"Summary: a synthetic distribution for the registry benchmark\n"
        )
        if index % PLUGIN_EVERY == 0:
            target = "django_prodserver.backends.waitress:WaitressServer [waitress]"
            (info / "entry_points.txt").write_text(
                f"[django_prodserver.backends]\nsynthetic-{index} = {target}\n"
            )
        elif index % OTHER_ENTRY_POINTS_EVERY == 0:
            (info / "entry_points.txt").write_text(
                f"[console_scripts]\nsynthetic-{index} = synthetic_package_{index}:main\n"
            )
    return root


@dataclass
class RegistryCost:
    size: int  # synthetic distributions added
    total_distributions: int  # as importlib.metadata sees them
    seconds: dict[str, list[float]] = field(default_factory=lambda: {mode: [] for mode in MODES})
    command_seconds: list[float] = field(
        default_factory=list
    )  # manage.py prodserver --list-backends
    scans: dict[str, int] = field(default_factory=dict)  # mode -> entry_points._distributions calls
    metadata_imported: dict[str, bool] = field(
        default_factory=dict
    )  # mode -> importlib.metadata loaded


PROBE = Path(__file__).with_name("probe.py")
PROBE_TIMEOUT = 120


def _env(project: ExampleProject, distributions: Path | None) -> dict[str, str]:
    # The probe is a script outside examples/project/: the project goes on the path explicitly.
    paths = [str(p) for p in (distributions, EXAMPLE_DIR) if p is not None]
    env = project.env()
    env["PYTHONPATH"] = os.pathsep.join([*paths, env["PYTHONPATH"]])
    return env


def _run_probe(project: ExampleProject, distributions: Path | None, mode: str) -> dict[str, object]:
    env = _env(project, distributions)
    done = run_bounded([sys.executable, str(PROBE), mode], PROBE_TIMEOUT, EXAMPLE_DIR, env)
    if done.returncode != 0:
        raise RuntimeError(f"registry probe {mode} failed:\n{done.stderr}")
    return json.loads(done.stdout.strip().splitlines()[-1])  # type: ignore[no-any-return]


def _time_list_backends(project: ExampleProject, distributions: Path | None) -> float:
    env = _env(project, distributions)
    started = time.perf_counter()
    done = run_bounded(
        project.manage("prodserver", "--list-backends"), PROBE_TIMEOUT, EXAMPLE_DIR, env
    )
    seconds = time.perf_counter() - started
    if done.returncode != 0:
        raise RuntimeError(f"--list-backends failed:\n{done.stderr}")
    return seconds


def measure(
    project: ExampleProject, rounds: int, sizes: tuple[int, ...] = SIZES
) -> list[RegistryCost]:
    """Interleaved: each round runs every size and mode once, in fresh interpreters."""
    paths = {size: make_distributions(project.root, size) if size else None for size in sizes}
    costs = {size: RegistryCost(size, 0) for size in sizes}
    for _ in range(rounds):
        for size in sizes:
            cost = costs[size]
            for mode in MODES:
                result = _run_probe(project, paths[size], mode)
                cost.seconds[mode].append(float(result["seconds"]))  # type: ignore[arg-type]
                cost.scans[mode] = int(result["scans"])  # type: ignore[call-overload]
                cost.total_distributions = int(result["distributions"])  # type: ignore[call-overload]
            cost.command_seconds.append(_time_list_backends(project, paths[size]))
        print(
            "  registry: "
            + ", ".join(
                f"{c.size}: describe {c.seconds['describe'][-1] * 1e3:.0f} ms"
                for c in costs.values()
            ),
            flush=True,
        )
    return list(costs.values())
