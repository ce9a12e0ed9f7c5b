"""A full garbage collection in every worker of a running server, through the collect view.

A forked worker shares the pages its main process filled until something writes to them; the
garbage collector's first full collection writes to the header of every object it visits, so
memory measured before any full collection flatters every forking server. The benchmark's
URLconf has a view (``COLLECT_PATH``) that runs ``gc.collect()`` and answers with its pid;
requests in concurrent bursts on new connections reach every worker in a few rounds.
"""

from __future__ import annotations

import socket
from concurrent.futures import ThreadPoolExecutor

from ..harness.project import COLLECT_PATH

MAX_ROUNDS = 40  # bursts of requests before giving up on a worker that never accepts one
TIMEOUT = 30.0  # seconds for one response


def _served_by(port: int) -> int:
    """The pid of the worker that ran one collection, from the view's body."""
    request = (
        f"GET {COLLECT_PATH} HTTP/1.1\r\nHost: 127.0.0.1\r\nConnection: close\r\n\r\n".encode()
    )
    with socket.create_connection(("127.0.0.1", port), timeout=TIMEOUT) as sock:
        sock.sendall(request)
        response = b""
        while chunk := sock.recv(4096):
            response += chunk
    head, _, body = response.partition(b"\r\n\r\n")
    if not head.startswith(b"HTTP/1.1 200"):
        raise RuntimeError(f"{COLLECT_PATH} answered {head.splitlines()[:1]!r}")
    return int(body.strip())


def in_every_worker(port: int, worker_pids: set[int]) -> set[int]:
    """Run a full collection in each of ``worker_pids``; return the pids that ran one.

    With no worker (one process serves), the main process's pid is what answers.
    """
    burst = 2 * max(len(worker_pids), 1)
    collected: set[int] = set()
    with ThreadPoolExecutor(max_workers=burst) as pool:
        for _ in range(MAX_ROUNDS):
            collected.update(pool.map(lambda _: _served_by(port), range(burst)))
            if worker_pids <= collected:
                break
    return collected
