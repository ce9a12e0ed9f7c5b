"""gunicorn's application class, as the gunicorn backend runs it, and the hooks it adds.

``DjangoGunicornApplication`` reads its configuration from the argv it is given (not
``sys.argv``), and adds three hooks to gunicorn's own: SIGINT is as graceful as SIGTERM, the
arbiter freezes its objects before each fork, and each worker sends the ``HEALTHCHECK`` request
through its application. ``backends.gunicorn`` explains why.
"""

from __future__ import annotations

import argparse
import gc
import os
import signal
from collections.abc import Sequence
from typing import Any

from .. import warmup
from ..environment import WEB_CONCURRENCY, valid_workers

# gunicorn reads WEB_CONCURRENCY with int() when gunicorn.config is imported: "1e3" would fail
# the import, even when ARGS set the workers. environment.py gives a valid value to --workers
# and reports a bad one as one line, where it is used; gunicorn's own reading is not needed.
_hidden_concurrency = os.environ.pop(WEB_CONCURRENCY, None)
if _hidden_concurrency is not None and valid_workers(_hidden_concurrency):
    os.environ[WEB_CONCURRENCY] = _hidden_concurrency
try:
    from gunicorn.app.wsgiapp import WSGIApplication
    from gunicorn.config import Config
    from gunicorn.util import parse_address
finally:
    if _hidden_concurrency is not None:
        os.environ[WEB_CONCURRENCY] = _hidden_concurrency

__all__ = [
    "Config",
    "DjangoGunicornApplication",
    "frozen_before_fork",
    "graceful_on_sigint",
    "parse_address",
    "warm_up_each_worker",
]

PROGRAM = "gunicorn"
USAGE = "%(prog)s [OPTIONS] [APP_MODULE]"


class _ConfigFromArgv(Config):  # type: ignore[misc]  # gunicorn ships no type hints
    """gunicorn's ``Config``, whose parser reads the given argv rather than ``sys.argv``.

    ``Application.load_config()`` calls ``parser.parse_args()`` with no arguments, which reads
    ``sys.argv``: the ``manage.py prodserver`` command line, Django's own options included.
    Everything else it does (gunicorn.conf.py, ``--config``, ``GUNICORN_CMD_ARGS``) is kept.
    """

    def __init__(self, argv: Sequence[str], usage: str | None, prog: str | None) -> None:
        super().__init__(usage, prog=prog)
        self.argv = list(argv)

    def parser(self) -> argparse.ArgumentParser:
        parser: argparse.ArgumentParser = super().parser()
        parser.allow_abbrev = False  # as in strict_parser(), which checked these arguments
        parse_args = parser.parse_args
        argv = self.argv

        def parse_given_argv(
            args: Sequence[str] | None = None, namespace: argparse.Namespace | None = None
        ) -> argparse.Namespace:
            return parse_args(argv if args is None else args, namespace)

        parser.parse_args = parse_given_argv  # type: ignore[method-assign,assignment]
        return parser


class DjangoGunicornApplication(WSGIApplication):  # type: ignore[misc]
    """gunicorn's WSGI application, configured from ``argv`` (options, then APP_MODULE)."""

    def __init__(self, argv: Sequence[str], healthcheck: str | None = None) -> None:
        self.argv = list(argv)
        self.healthcheck = healthcheck
        super().__init__(USAGE, prog=PROGRAM)

    def load_default_config(self) -> None:
        self.cfg = _ConfigFromArgv(self.argv, self.usage, prog=self.prog)

    def load_config(self) -> None:
        super().load_config()
        graceful_on_sigint(self.cfg)
        frozen_before_fork(self.cfg)
        if self.healthcheck and not self.cfg.preload_app:
            warm_up_each_worker(self.cfg, self.healthcheck)


def warm_up_each_worker(config: Config, path: str) -> None:
    """Send the HEALTHCHECK request through each worker's application once it has loaded it.

    With ``preload``, the workers are forked from the main process after its warm-up instead.
    """
    post_worker_init = config.post_worker_init

    def post_worker_init_then_warm_up(worker: Any) -> None:
        post_worker_init(worker)
        problem = warmup.problem(worker.wsgi, path)
        if problem:  # the main process had it answer 2xx: log it, and serve
            worker.log.warning("Worker %s: %s", worker.pid, problem)

    config.set("post_worker_init", post_worker_init_then_warm_up)


def graceful_on_sigint(config: Config) -> None:
    """Make SIGINT stop the arbiter and its workers as SIGTERM does, keeping the user's hooks."""
    when_ready = config.when_ready
    post_worker_init = config.post_worker_init

    def when_ready_then_graceful(arbiter: Any) -> None:
        # The arbiter dispatches a queued signal to handle_<name>: SIGINT now takes the
        # graceful path of SIGTERM instead of stopping the workers at once.
        arbiter.handle_int = arbiter.handle_term
        when_ready(arbiter)

    def post_worker_init_then_graceful(worker: Any) -> None:
        # A Ctrl-C reaches the workers too (the whole process group): finish the requests.
        signal.signal(signal.SIGINT, worker.handle_exit)
        post_worker_init(worker)

    config.set("when_ready", when_ready_then_graceful)
    config.set("post_worker_init", post_worker_init_then_graceful)


def frozen_before_fork(config: Config) -> None:
    """Collect, then freeze, the master's objects just before each fork, after the user's hook.

    A worker's first full collection would otherwise write to the header of every object it
    inherited, copying each page the master shares with it (per-worker memory went from 8 to 21
    MB). Frozen objects are never traversed, so the pages stay shared. Before every fork, not
    once: a worker that replaces one (after ``max_requests``, a crash or SIGHUP) shares the
    same way, and the collection then only visits what the master allocated since the last one.
    The application is still imported by each worker, so SIGHUP still reloads the code.
    """
    pre_fork = config.pre_fork

    def pre_fork_then_freeze(arbiter: Any, worker: Any) -> None:
        pre_fork(arbiter, worker)
        # After the user's hook, so that whatever it made is frozen too: the fork comes next.
        gc.collect()
        gc.freeze()

    config.set("pre_fork", pre_fork_then_freeze)
