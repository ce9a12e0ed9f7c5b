"""The benchmark suite's registry section, run for real: a refactor of the registry once left
its probe patching a function that had moved, and the full run died 30 minutes in."""

from __future__ import annotations

import sys
from pathlib import Path

import pytest

pytestmark = pytest.mark.integration

REPO_DIR = Path(__file__).resolve().parents[2]


@pytest.mark.skipif(
    not (REPO_DIR / "benchmarks" / "run.py").exists(), reason="benchmarks/ is not in this checkout"
)
def test_the_registry_section_scans_metadata_once_for_an_alias_and_never_for_a_path(
    monkeypatch: pytest.MonkeyPatch,
) -> None:
    monkeypatch.syspath_prepend(str(REPO_DIR))
    monkeypatch.delitem(sys.modules, "benchmarks", raising=False)
    from benchmarks.harness.project import ExampleProject
    from benchmarks.registry import lookup_cost

    project = ExampleProject()
    try:
        costs = lookup_cost.measure(project, 1)
    finally:
        project.cleanup()
    assert [cost.size for cost in costs] == [0, 10, 100, 1000]
    # However many distributions are installed: the lookups the registry promises (registry.py).
    for cost in costs:
        assert cost.scans == {"resolve-alias": 1, "resolve-dotted": 0, "describe": 1}, cost
