"""How an option is named: one ARGS key or flag may be written several ways.

``"max_requests"``, ``"max-requests"``, ``"--max_requests"`` and ``"--max-requests"`` are the
same option; every place that compares options (``--set``, the platform's variables, the checks,
the backends' own tables) folds them the same way here.
"""

from __future__ import annotations


def option_name(key: str) -> str:
    """The option ``key`` names, without dashes in front and with ``-`` between words:
    ``"--max_requests"`` -> ``"max-requests"``."""
    return key.lstrip("-").replace("_", "-")


def same_option(first: str, second: str) -> bool:
    """Whether two keys or flags name the same option."""
    return option_name(first) == option_name(second)
