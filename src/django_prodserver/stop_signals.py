"""SIGTERM and SIGINT, the two signals that ask a process of this package to stop.

The backends and the ``--all`` supervisor both install handlers for them; this module lives
outside ``backends`` so that the supervisor can use it without importing backend code.
"""

from __future__ import annotations

import contextlib
import signal
from collections.abc import Callable, Iterable, Iterator
from types import FrameType

STOP_SIGNALS = (signal.SIGTERM, signal.SIGINT)


class StopRequested(SystemExit):
    """A stop signal's exit (``exit_zero_on_stop_signals``): a stop, wherever it lands, not code
    that failed."""


def is_stop(error: BaseException) -> bool:
    """Whether ``error`` is a stop (Ctrl-C's ``KeyboardInterrupt``, a stop signal's exit) rather
    than a failure: an import that calls ``sys.exit()`` failed, and is reported as such."""
    return isinstance(error, (KeyboardInterrupt, StopRequested))


@contextlib.contextmanager
def stop_signals_handled(
    handler: Callable[[int, FrameType | None], object],
    signals: Iterable[signal.Signals] = STOP_SIGNALS,
) -> Iterator[None]:
    """While inside, ``signals`` (SIGTERM and SIGINT) call ``handler``; the previous handlers
    return after."""
    previous = {sig: signal.signal(sig, handler) for sig in signals}
    try:
        yield
    finally:
        for sig, previous_handler in previous.items():
            signal.signal(sig, previous_handler)


@contextlib.contextmanager
def exit_zero_on_stop_signals(
    signals: Iterable[signal.Signals] = STOP_SIGNALS,
) -> Iterator[None]:
    """While inside, ``signals`` (SIGTERM and SIGINT) end the process with status 0.

    A server that shuts down gracefully and then re-raises the signal (uvicorn does, to report
    how it ended) would otherwise end with 143 or a KeyboardInterrupt; a supervisor reads that as
    a crash. Signals arriving before the server has installed its own handlers stop it too.
    """

    def exit_zero(signum: int, frame: FrameType | None) -> None:
        raise StopRequested(0)

    with stop_signals_handled(exit_zero, signals):
        yield
