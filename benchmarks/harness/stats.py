"""Medians and side-by-side ratios: on a shared, noisy machine only these are worth reporting."""

from __future__ import annotations

import statistics
from collections.abc import Sequence


def median(values: Sequence[float]) -> float:
    return statistics.median(values) if values else float("nan")


def pair_ratio(numerators: Sequence[float], denominators: Sequence[float]) -> float:
    """The median of per-pair ratios: each pair ran back to back, so drift cancels."""
    ratios = [a / b for a, b in zip(numerators, denominators) if b]
    return median(ratios)


def spread(values: Sequence[float]) -> tuple[float, float]:
    return (min(values), max(values)) if values else (float("nan"), float("nan"))
