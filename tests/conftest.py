from __future__ import annotations

from collections.abc import Iterator

import pytest

from django_prodserver import registry


@pytest.fixture(autouse=True)
def fresh_registry() -> Iterator[None]:
    """Each test sees the entry points as they are now, not as an earlier test left them."""
    registry.discover.cache_clear()
    yield
    registry.discover.cache_clear()
