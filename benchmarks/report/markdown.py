"""The Markdown every section of the report is built from: tables, figures, charts."""

from __future__ import annotations

import math
from collections.abc import Iterable, Sequence
from pathlib import Path

from django_prodserver.backends.granian import DJANGO_WSGI_BLOCKING_THREADS

from . import charts

LAUNCHER_NAMES = {"prodserver": "prodserver", "cli": "own CLI"}
THREADS = DJANGO_WSGI_BLOCKING_THREADS  # prodserver's blocking threads per Granian WSGI worker
CHARTS = "charts"  # the charts' directory, beside the report


def table(header: Sequence[str], rows: Iterable[Sequence[object]]) -> str:
    lines = ["| " + " | ".join(header) + " |", "|" + "---|" * len(header)]
    lines += ["| " + " | ".join(str(cell) for cell in row) + " |" for row in rows]
    return "\n".join(lines)


def ms(seconds: float) -> str:
    return "n/a" if math.isnan(seconds) else f"{seconds * 1000:,.0f} ms"


def ms_fine(seconds: float) -> str:
    return "n/a" if math.isnan(seconds) else f"{seconds * 1000:,.2f} ms"


def mb(kb: float) -> str:
    return "n/a" if math.isnan(kb) else f"{kb / 1024:,.1f}"


def ratio(value: float) -> str:
    return "n/a" if math.isnan(value) else f"{value:.3f}"


def rps(value: float) -> str:
    return "n/a" if math.isnan(value) else f"{value:,.0f}"


def code(text: str) -> str:
    return f"`{text}`"


def drawn_chart(directory: Path | None, name: str, alt: str, **figures: object) -> str:
    """Draw one chart into ``directory`` and return the Markdown that shows it; "" without one."""
    if directory is None:
        return ""
    charts.grouped_bars(directory / f"{name}.svg", **figures)  # type: ignore[arg-type]
    return f"![{alt}]({CHARTS}/{name}.svg)\n\n"


def by_launcher(
    categories: Sequence[str], value: dict[tuple[str, str], float]
) -> dict[str, list[float]]:
    return {
        LAUNCHER_NAMES[launcher]: [
            value.get((category, launcher), math.nan) for category in categories
        ]
        for launcher in LAUNCHER_NAMES
        if any((category, launcher) in value for category in categories)
    }
