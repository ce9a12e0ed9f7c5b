"""CPU time a server's processes have used, from ``/proc/PID/stat`` (Linux only).

Requests/s on a shared machine depends on what else runs; the CPU time a server spends per
request depends far less on it, so it tells whether two launchers do the same work per request.
"""

from __future__ import annotations

import os

from .process_memory import PROC, command_line, descendants, is_helper

CLOCK_TICKS = os.sysconf("SC_CLK_TCK")


def cpu_seconds(pid: int) -> float:
    """User plus system CPU seconds of one process, all its threads included."""
    stat = (PROC / str(pid) / "stat").read_text()
    # The command name (field 2) may hold spaces; the fields after it are space-separated.
    fields = stat.rsplit(")", 1)[1].split()
    utime, stime = int(fields[11]), int(fields[12])  # fields 14 and 15 of proc(5)
    return (utime + stime) / CLOCK_TICKS


def tree_cpu_seconds(pid: int) -> float:
    """CPU seconds of ``pid`` and every process below it that is still running."""
    total = 0.0
    for process in [pid, *descendants(pid)]:
        try:
            total += cpu_seconds(process)
        except (FileNotFoundError, ProcessLookupError):  # it exited meanwhile
            continue
    return total


def worker_cpu_seconds(pid: int) -> dict[int, float]:
    """CPU seconds of each worker below ``pid`` (not multiprocessing's helpers), by pid."""
    found = {}
    for process in descendants(pid):
        try:
            if not is_helper(command_line(process)):
                found[process] = cpu_seconds(process)
        except (FileNotFoundError, ProcessLookupError):  # it exited meanwhile
            continue
    return found
