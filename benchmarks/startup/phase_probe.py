"""Run ``manage.py`` with a timestamp at each phase of prodserver's start-up.

Used by ``phases.py``: ``python phase_probe.py manage.py prodserver web``, with
``PHASES_FILE`` naming the file that receives one JSON line
``[pid, phase, event, monotonic seconds]`` per event. ``time.monotonic()`` reads CLOCK_MONOTONIC
on Linux, one clock for every process, so the launcher compares these with its own launch time.
The wrappers add a function call and a file append per event.
"""

from __future__ import annotations

import functools
import json
import os
import runpy
import sys
import time
from pathlib import Path
from typing import Any


def _mark(phase: str, event: str) -> None:
    with Path(os.environ["PHASES_FILE"]).open("a") as marks:
        marks.write(json.dumps([os.getpid(), phase, event, time.monotonic()]) + "\n")


def _timed(owner: Any, name: str, phase: str) -> None:
    original = getattr(owner, name)

    @functools.wraps(original)
    def timed(*args: Any, **kwargs: Any) -> Any:
        _mark(phase, "start")
        try:
            return original(*args, **kwargs)
        finally:
            _mark(phase, "end")

    setattr(owner, name, timed)


def main() -> None:
    _mark("python", "ready")
    import django
    from django.core import checks

    from django_prodserver import processes
    from django_prodserver.backends import preflight

    _timed(django, "setup", "django.setup()")
    # The process handler builds the backend and its arguments once per run.
    _timed(processes.ProcessHandler, "prepare", "backend loaded, ARGS validated")
    _timed(checks, "run_checks", "system checks")  # what BaseCommand.check() calls
    # import_application() calls one of these, in this process or in a forked child.
    _timed(preflight, "import_target", "application import")
    _timed(preflight, "_import_failure_in_child", "application import")
    sys.argv = sys.argv[1:]
    # As if manage.py had been run: its directory first on the path, not this one's.
    sys.path[0] = str(Path(sys.argv[0]).resolve().parent)
    runpy.run_path(sys.argv[0], run_name="__main__")


# Guarded: a worker started with "spawn" imports this file again, as __mp_main__.
if __name__ == "__main__":
    main()
