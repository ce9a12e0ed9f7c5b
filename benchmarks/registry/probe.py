"""Time one registry operation in this fresh interpreter; print the figures as JSON.

    python benchmarks/registry/probe.py resolve-alias|resolve-dotted|describe

Run with DJANGO_SETTINGS_MODULE set, from the project directory.
"""

from __future__ import annotations

import json
import sys
import time

ALIAS = "waitress"
DOTTED = (
    "django_prodserver.backends.waitress.WaitressServer",
    "django_prodserver.backends.waitress:WaitressServer",
)


def probe(mode: str) -> dict[str, object]:
    import django

    django.setup()  # as in manage.py: not part of the figure

    from django_prodserver import entry_points, registry

    scans = 0
    scan = entry_points._distributions

    def counted() -> object:
        nonlocal scans
        scans += 1
        return scan()

    entry_points._distributions = counted  # type: ignore[assignment]
    started = time.perf_counter()
    if mode == "resolve-alias":
        registry.resolve(ALIAS)
        registry.resolve(ALIAS)  # the second lookup must not scan again
    elif mode == "resolve-dotted":
        for path in DOTTED:
            registry.resolve(path)
    else:
        registry.describe_backends()
    seconds = time.perf_counter() - started
    from importlib import metadata

    return {
        "seconds": seconds,
        "scans": scans,
        "distributions": sum(1 for _ in metadata.distributions()),
    }


if __name__ == "__main__":
    print(json.dumps(probe(sys.argv[1])))
