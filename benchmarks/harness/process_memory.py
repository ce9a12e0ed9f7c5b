"""Memory of a server's processes, from ``/proc/PID/smaps_rollup`` (Linux only).

USS (Private_Clean + Private_Dirty) is what a process would give back if it exited; PSS splits
each shared page among the processes that map it, so PSS summed over a server's processes is
that server's real footprint; RSS counts shared pages in full for every process.
"""

from __future__ import annotations

from dataclasses import dataclass
from pathlib import Path

PROC = Path("/proc")


@dataclass
class ProcessMemory:
    pid: int
    role: str  # "main", "worker" or "helper"
    command: str
    uss_kb: int
    pss_kb: int
    rss_kb: int
    threads: int  # each Python thread adds a stack and, in Django, its own DB connection


def smaps_rollup(pid: int) -> dict[str, int]:
    """The kB figures of ``/proc/PID/smaps_rollup``."""
    figures: dict[str, int] = {}
    for line in (PROC / str(pid) / "smaps_rollup").read_text().splitlines()[1:]:
        name, _, rest = line.partition(":")
        parts = rest.split()
        if len(parts) == 2 and parts[1] == "kB":
            figures[name] = int(parts[0])
    return figures


def children(pid: int) -> list[int]:
    """Direct children of ``pid``, from every one of its threads' ``children`` lists."""
    found: list[int] = []
    for task in sorted((PROC / str(pid) / "task").iterdir()):
        try:
            found.extend(int(child) for child in (task / "children").read_text().split())
        except (FileNotFoundError, ProcessLookupError):  # the thread ended meanwhile
            continue
    return sorted(set(found))


def descendants(pid: int, limit: int = 256) -> list[int]:
    """Every process below ``pid``, breadth first (bounded: a fork bomb must not hang us)."""
    found: list[int] = []
    queue = [pid]
    while queue and len(found) < limit:
        for child in children(queue.pop(0)):
            found.append(child)
            queue.append(child)
    return found


def thread_count(pid: int) -> int:
    for line in (PROC / str(pid) / "status").read_text().splitlines():
        if line.startswith("Threads:"):
            return int(line.split()[1])
    return 0


def command_line(pid: int) -> str:
    raw = (PROC / str(pid) / "cmdline").read_bytes()
    return raw.replace(b"\0", b" ").decode(errors="replace").strip()


def is_helper(command: str) -> bool:
    # multiprocessing's helpers (uvicorn's spawn context starts a resource tracker) are part of
    # the footprint but not workers.
    helpers = ("resource_tracker", "forkserver", "semaphore_tracker")
    return any(helper in command for helper in helpers)


def _role(command: str) -> str:
    return "helper" if is_helper(command) else "worker"


def measure(pid: int) -> list[ProcessMemory]:
    """The main process and every descendant, main first."""
    measured = []
    for process in [pid, *descendants(pid)]:
        try:
            figures = smaps_rollup(process)
            command = command_line(process)
            threads = thread_count(process)
        except (FileNotFoundError, ProcessLookupError):  # exited between listing and reading
            continue
        measured.append(
            ProcessMemory(
                pid=process,
                role="main" if process == pid else _role(command),
                command=command,
                uss_kb=figures.get("Private_Clean", 0) + figures.get("Private_Dirty", 0),
                pss_kb=figures.get("Pss", 0),
                rss_kb=figures.get("Rss", 0),
                threads=threads,
            )
        )
    return measured


def workers(measured: list[ProcessMemory]) -> list[ProcessMemory]:
    return [process for process in measured if process.role == "worker"]
