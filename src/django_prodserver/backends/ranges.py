"""The sane ranges of the numbers a server's options take, and why a value is outside one.

A count of ``10**6`` workers or a timeout of ``10**20`` seconds passes every server's own parser,
then exhausts the machine or overflows a timer. Each backend names the range of each such option
(its ``bounds``); ``bound_problem`` and ``port_problem`` word what is wrong, for one line that
names the key and the value. ``preflight`` uses ``port_problem`` for the addresses it checks.
"""

from __future__ import annotations

import math
from typing import NamedTuple

_PORTS = range(0, 65536)


def port_problem(port: object) -> str | None:
    """Why ``port`` is not a TCP port number, or None."""
    try:
        number = int(str(port))
    except ValueError:
        return f"{port!r} is not a port number"
    if number not in _PORTS:
        return f"a port is a number from 0 to 65535, not {number}"
    return None


class Bound(NamedTuple):
    """The values a count or a number of seconds may sensibly take, both ends included."""

    low: float
    high: float


#: Processes or threads: far more than any machine has cores, far less than would exhaust one.
COUNT = Bound(1, 10_000)
#: Connections or requests one process serves at once.
CONNECTIONS = Bound(1, 1_000_000)
#: Connections the kernel queues before they are accepted (``listen()``'s backlog; Linux caps it
#: at ``net.core.somaxconn``, 4096 by default).
BACKLOG = Bound(0, 65_535)
#: Seconds: up to a week. Larger values mean "never" anyway, and overflow the servers' timers
#: (``10**20`` is an ``OverflowError``); the servers that have one take 0 for no limit.
SECONDS = Bound(0, 7 * 24 * 3600)


def _number_text(number: float) -> str:
    return str(int(number)) if float(number).is_integer() else str(number)


def bound_problem(value: object, bound: Bound) -> str | None:
    """Why ``value`` is outside ``bound``, or None; None too for a value that is no number
    (the server's own parser reports that)."""
    try:
        number = float(str(value))
    except ValueError:
        return None
    if not math.isnan(number) and bound.low <= number <= bound.high:
        return None
    return f"it must be from {_number_text(bound.low)} to {_number_text(bound.high)}"
