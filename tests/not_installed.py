"""Make packages look uninstalled for one test, without uninstalling them."""

from __future__ import annotations

import sys
from collections.abc import Sequence
from typing import Any

import pytest


class _Hiding:
    """A meta-path finder that finds nothing for the hidden packages and delegates the rest."""

    def __init__(self, finder: Any, hidden: frozenset[str]) -> None:
        self.finder = finder
        self.hidden = hidden

    def find_spec(self, fullname: str, *args: Any) -> Any:
        if fullname.split(".", maxsplit=1)[0] in self.hidden:
            return None
        find_spec = getattr(self.finder, "find_spec", None)
        return find_spec(fullname, *args) if find_spec else None

    def __getattr__(self, name: str) -> Any:
        return getattr(self.finder, name)


def hide_packages(monkeypatch: pytest.MonkeyPatch, packages: Sequence[str]) -> None:
    """``import pkg`` raises ModuleNotFoundError and ``find_spec(pkg)`` is None, as when absent.

    Modules already imported from them are taken out of ``sys.modules`` until the test ends.
    """
    hidden = frozenset(packages)
    for name in list(sys.modules):
        if name.split(".", maxsplit=1)[0] in hidden:
            monkeypatch.delitem(sys.modules, name)
    monkeypatch.setattr(sys, "meta_path", [_Hiding(finder, hidden) for finder in sys.meta_path])
