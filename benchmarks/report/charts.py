"""The performance page's charts: SVG drawn by matplotlib from a run's figures.

Each function takes the figures the report's tables show and writes one chart; the report puts
it beside its table. Text stays text in the SVG (searchable, small) and the files are the same
for the same figures, so a run that changes nothing changes no chart.
"""

from __future__ import annotations

import math
from collections.abc import Sequence
from pathlib import Path

try:
    import matplotlib
except ModuleNotFoundError as e:  # the report cannot be written without its charts
    raise SystemExit('The charts need matplotlib: pip install -e ".[benchmarks]"') from e

matplotlib.use("Agg")  # no display: files only

import matplotlib.pyplot as plt

matplotlib.rcParams.update(
    {
        "svg.fonttype": "none",  # text as text
        "svg.hashsalt": "django-prodserver",  # the same element ids every run
        "font.family": "sans-serif",
        "font.size": 10,
        "axes.spines.top": False,
        "axes.spines.right": False,
    }
)

# One colour per launcher, the same in every chart; the page's own teal for prodserver.
COLOURS = {"prodserver": "#009485", "own CLI": "#9e9e9e"}
EXTRA_COLOURS = ("#4db6ac", "#b2dfdb", "#00695c")


def _save(figure: plt.Figure, path: Path) -> None:
    path.parent.mkdir(parents=True, exist_ok=True)
    figure.tight_layout()
    figure.savefig(path, format="svg", metadata={"Date": None})  # no timestamp in the file
    plt.close(figure)


def grouped_bars(
    path: Path,
    *,
    title: str,
    unit: str,
    categories: Sequence[str],
    series: dict[str, Sequence[float]],
    value_format: str = "{:,.0f}",
) -> None:
    """Horizontal bars, one group per category, one bar per series; NaN leaves a gap."""
    names = list(series)
    height = 0.8 / len(names)
    figure, axes = plt.subplots(figsize=(7.5, 0.55 * len(categories) * len(names) + 1.1))
    colours = [COLOURS.get(name, EXTRA_COLOURS[i % 3]) for i, name in enumerate(names)]
    largest = max((v for values in series.values() for v in values if not math.isnan(v)), default=1)
    for index, name in enumerate(names):
        positions = [c + (index - (len(names) - 1) / 2) * height for c in range(len(categories))]
        values = [0 if math.isnan(v) else v for v in series[name]]
        bars = axes.barh(positions, values, height=height * 0.9, label=name, color=colours[index])
        for bar, value in zip(bars, series[name]):
            if not math.isnan(value):
                axes.text(
                    bar.get_width() + largest * 0.01,
                    bar.get_y() + bar.get_height() / 2,
                    value_format.format(value),
                    va="center",
                    fontsize=8,
                )
    axes.set_yticks(range(len(categories)), list(categories))
    axes.invert_yaxis()  # the first category on top, as in the table
    axes.set_xlim(0, largest * 1.15)
    axes.set_xlabel(unit)
    axes.set_title(title, loc="left", fontsize=11)
    if len(names) > 1:
        axes.legend(frameon=False, loc="lower right", fontsize=8)
    _save(figure, path)
