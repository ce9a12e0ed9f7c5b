"""The figures of one benchmark run: what ``run.py`` measures, ``report`` renders, and
``benchmarks/results/latest.json`` keeps between the two."""

from __future__ import annotations

import json
import typing
from dataclasses import dataclass, field, is_dataclass
from pathlib import Path
from typing import Any

from .harness.targets import Target
from .load import request_path, soak, throughput
from .memory import footprint
from .registry import import_cost, lookup_cost
from .startup import first_200, phases, warmup


@dataclass
class Results:
    command: str
    options: dict[str, Any]
    machine: dict[str, str]
    startup: list[first_200.StartupPair] = field(default_factory=list)
    startup_phases: list[phases.PhaseTimes] = field(default_factory=list)
    throughput: list[throughput.Sample] = field(default_factory=list)
    commands: dict[str, str] = field(default_factory=dict)  # label -> command, for the report
    request_path: list[request_path.CallCounts] = field(default_factory=list)
    footprints: list[footprint.Footprint] = field(default_factory=list)
    registry: list[lookup_cost.RegistryCost] = field(default_factory=list)
    imports: list[import_cost.ImportCost] = field(default_factory=list)
    help_modules: dict[str, list[str]] = field(default_factory=dict)
    soak: list[soak.SoakResult] = field(default_factory=list)
    first_requests: list[warmup.FirstRequests] = field(default_factory=list)
    targets: list[Target] = field(default_factory=list)
    load_averages: dict[str, str] = field(default_factory=dict)  # section -> when it started
    seconds: float = 0.0


def _rebuilt(kind: Any, data: Any) -> Any:
    """``data`` read back from JSON as the type ``kind`` that was written."""
    origin = typing.get_origin(kind)
    if is_dataclass(kind):
        hints = typing.get_type_hints(kind)
        return kind(**{name: _rebuilt(hints[name], value) for name, value in data.items()})
    if origin is list:
        (item,) = typing.get_args(kind)
        return [_rebuilt(item, value) for value in data]
    if origin is dict:
        _, item = typing.get_args(kind)
        return {key: _rebuilt(item, value) for key, value in data.items()}
    return data


def load_results(path: Path) -> Results:
    """The ``Results`` of a run, from the raw figures it wrote."""
    return typing.cast(Results, _rebuilt(Results, json.loads(path.read_text())))
