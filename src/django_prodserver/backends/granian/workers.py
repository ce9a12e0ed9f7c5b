"""Granian's worker processes as this package runs them: their size, their application, reload.

Granian's main process forks (or spawns) the workers that serve. This module holds what they
inherit: the default size of a WSGI worker's thread pool, the application the main process
imported for them (``load_application``), and the spawned worker of a reload
(``ExitLikeAForkedWorker``).
"""

from __future__ import annotations

import logging
import multiprocessing
import os
import sys
from typing import Any

from ...targets import import_target
from ..base import DEFAULT_GRACEFUL_TIMEOUT

__all__ = ["import_target"]  # re-exported: load_application's workers use it


def django_wsgi_blocking_threads(cpus: int) -> int:
    """Blocking threads per WSGI worker unless ARGS says otherwise, on a machine of ``cpus``.

    Granian's own default is about backlog / workers / 2 (512 with one worker), started on
    demand: under load a Django worker grows to hundreds of threads, each holding its own
    database connection and memory. Eight keeps connections countable (workers x 8) and served
    as fast as 4 or 16 in benchmarks/soak.py. Granian warns at every start above 2 x CPUs + 1
    threads, so up to 3 CPUs it is that instead: as fast as 8 in benchmarks/thread_pool.py.
    """
    return min(8, 2 * cpus + 1)


# Granian compares with multiprocessing.cpu_count() too.
DJANGO_WSGI_BLOCKING_THREADS = django_wsgi_blocking_threads(multiprocessing.cpu_count())
# ARGS options that size the pool: any of them, even set to None, leaves Granian's own rule.
POOL_OPTIONS = ("blocking_threads", "backpressure")

# Options this package sets unless ARGS does: Granian's "respawn-failed-workers" is off, so one
# worker killed (by the OOM killer, say) ends the whole server and the other workers' requests;
# a production server replaces it, as gunicorn and uvicorn do. ARGS {..: False} turns it off.
# Granian joins a worker that ignores SIGTERM for ever unless "workers-kill-timeout" is set
# (a worker's own thread, a kept-alive client, or a lost signal: upstream #293, #548, #875; seen
# here in a CI run, an idle WSGI worker after serving): a stop is bounded as gunicorn's is.
PRODUCTION_DEFAULTS = {
    "respawn_failed_workers": True,
    "workers_kill_timeout": int(DEFAULT_GRACEFUL_TIMEOUT),
}

# Applications imported by the main process before Granian forks its workers.
_PRELOADED: dict[str, Any] = {}


def load_application(target: str) -> Any:
    """Granian's ``target_loader``: the application the main process imported before forking.

    A worker started with ``spawn`` or ``forkserver`` begins with an empty dict and imports it.
    """
    if target not in _PRELOADED:
        _PRELOADED[target] = import_target(target)
    return _PRELOADED[target]


# Granian's own worker function for each interface, the one serve() picks by default.
SPAWNERS = {
    "wsgi": "_spawn_wsgi_worker",
    "asginl": "_spawn_asgi_worker",
    "asgi": "_spawn_asgi_lifespan_worker",
}


class ExitLikeAForkedWorker:
    """A spawned worker's target that ends its process as a forked worker's does: os._exit().

    A forked multiprocessing child leaves with os._exit(); a spawned one returns to its own
    interpreter, which then finalizes. Granian's Rust threads can still call into Python while
    it does, and the worker aborts with "panic in a function that cannot unwind" (seen on
    SIGTERM under reload, ASGI, several times in ten). Ending without finalizing, after
    flushing what the worker printed, is what a forked worker has always done.
    """

    def __init__(self, worker: Any) -> None:
        self.worker = worker  # pickled by reference: a function of Granian's server class

    def __call__(self, *args: Any, **kwargs: Any) -> None:
        try:
            self.worker(*args, **kwargs)
            status = 0
        except SystemExit as e:
            status = e.code if isinstance(e.code, int) else 1
        logging.shutdown()
        for stream in (sys.stdout, sys.stderr):
            stream.flush()
        os._exit(status)
