"""The example's WSGI application under Python's profiler, counting the calls of each request.

Served by Granian through prodserver and by Granian's CLI (see ``request_path.py``): if both run
the same Python for a request, the counts are equal. ``GET /__calls__`` returns the count of
every request so far, by path, as JSON. Profiling starts and stops around each request in the
thread that serves it, so run it with one blocking thread.
"""

from __future__ import annotations

import cProfile
import json
import pstats
from collections.abc import Callable, Iterable
from typing import Any

from exampleproject.wsgi import application as django_application

CALLS_PATH = "/__calls__"
_calls: dict[str, list[int]] = {}


def application(environ: dict[str, Any], start_response: Callable[..., Any]) -> Iterable[bytes]:
    path = environ.get("PATH_INFO", "")
    if path == CALLS_PATH:
        body = json.dumps(_calls).encode()
        start_response("200 OK", [("Content-Type", "application/json")])
        return [body]
    profiler = cProfile.Profile()
    profiler.enable()
    try:
        response = django_application(environ, start_response)
        # The body and close() (Django's request_finished) belong to the request too.
        content = b"".join(response)
        close = getattr(response, "close", None)
        if close is not None:
            close()
    finally:
        profiler.disable()
    _calls.setdefault(path, []).append(pstats.Stats(profiler).total_calls)  # type: ignore[attr-defined]
    return [content]
