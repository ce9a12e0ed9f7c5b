"""A target from the benchmark brief and whether a measurement meets it."""

from __future__ import annotations

import math
import operator
from dataclasses import dataclass

_COMPARE = {"<=": operator.le, "<": operator.lt, ">=": operator.ge, ">": operator.gt}


@dataclass
class Target:
    name: str
    measured: float
    comparison: str  # one of _COMPARE
    limit: float
    detail: str = ""

    @property
    def met(self) -> bool:
        return not math.isnan(self.measured) and _COMPARE[self.comparison](
            self.measured, self.limit
        )

    def line(self) -> str:
        verdict = "met" if self.met else "NOT MET"
        limit = f"{self.comparison} {self.limit:g}"
        return f"{verdict}: {self.name} = {self.measured:.3f} (target {limit})"
