"""A server entry's ``HEALTHCHECK`` path: checked in settings, requested once before serving.

``"HEALTHCHECK": "/healthz/"`` names a cheap view of the project. Before the server accepts
traffic, the process that holds the application sends one request for that path through it (no
socket involved), with a ``Host`` that ``ALLOWED_HOSTS`` accepts: the URLconf, the middleware
and the view are loaded then, not by the first visitor, and a view that does not answer 2xx
stops the start. A WSGI application gets the request through ``utils.wsgi_healthcheck()``, an
ASGI one through the ASGI protocol. The exported Kubernetes probes request the same path.
"""

from __future__ import annotations

import asyncio
import gc
import threading
from collections.abc import Mapping
from http import HTTPStatus
from typing import Any, NamedTuple

from asgiref.sync import async_to_sync

try:  # asgiref 3.7+, which also knows functions marked with markcoroutinefunction()
    from asgiref.sync import iscoroutinefunction
except ImportError:  # pragma: no cover - Django 4.2 allows asgiref 3.6
    from inspect import iscoroutinefunction

from . import utils
from .exceptions import InvalidHealthcheck, WarmupFailure, one_line

KEY = "HEALTHCHECK"
HEALTHY = range(200, 300)


def describe(path: str, warms_up: bool = True) -> str:
    """What ``--dry-run`` says about the warm-up."""
    if not warms_up:
        return (
            f"{KEY} {path} is for the exported probes only: this server does not serve the "
            f"project's application, so nothing is requested before it starts."
        )
    return (
        f"Before serving: GET {path} through the application (Host: "
        f"{utils.healthcheck_host()}); anything but 2xx stops the start."
    )


def healthcheck_path(process: str, entry: Mapping[str, Any], kind: str) -> str | None:
    """The entry's ``HEALTHCHECK`` path, or None; one line naming the mistake otherwise."""
    if KEY not in entry:
        return None
    path = entry[KEY]
    where = f"Process {process!r}: {KEY}"
    backend = entry.get("BACKEND")
    if kind == "dev":
        raise InvalidHealthcheck(
            f"{where} is for production servers, and backend {backend!r} is a development "
            f"server. Remove {KEY} from its entry."
        )
    if kind != "server":
        raise InvalidHealthcheck(
            f"{where} is for servers, but backend {backend!r} runs a {kind}, which answers no "
            f"HTTP request. Remove {KEY} from its entry."
        )
    if not isinstance(path, str):
        raise InvalidHealthcheck(
            f"{where} must be a URL path such as '/healthz/', not {type(path).__name__} {path!r}."
        )
    if not path.startswith("/") or path.startswith("//"):
        raise InvalidHealthcheck(
            f"{where} is {path!r}; it must be a path of this site starting with one '/', "
            f"such as '/healthz/'."
        )
    if any(char.isspace() or not char.isprintable() for char in path):
        raise InvalidHealthcheck(
            f"{where} is {path!r}; a URL path holds no spaces or control characters "
            f"(percent-encode them)."
        )
    return path


class HealthResponse(NamedTuple):
    status: int
    first_line: str


def request_asgi(application: Any, path: str) -> HealthResponse:
    """Send GET ``path`` through an ASGI application, as a server would."""
    raw_path, _, query = path.partition("?")
    scope = {
        "type": "http",
        "asgi": {"version": "3.0", "spec_version": "2.3"},
        "http_version": "1.1",
        "method": "GET",
        "scheme": "http",
        "path": raw_path,
        "raw_path": raw_path.encode(),
        "query_string": query.encode(),
        "root_path": "",
        "headers": [(b"host", utils.healthcheck_host().encode())],
        "client": ("127.0.0.1", 0),
        "server": (utils.healthcheck_host(), 80),
    }
    status: list[int] = []
    body: list[bytes] = []
    received: list[bool] = []
    done: list[asyncio.Event] = []  # made in the event loop that runs the request

    def response_done() -> asyncio.Event:
        if not done:
            done.append(asyncio.Event())
        return done[0]

    async def receive() -> dict[str, Any]:
        if not received:
            received.append(True)
            return {"type": "http.request", "body": b"", "more_body": False}
        # Asked again (Django listens for a disconnect): the client leaves once answered.
        await response_done().wait()
        return {"type": "http.disconnect"}

    async def send(message: dict[str, Any]) -> None:
        if message["type"] == "http.response.start":
            status.append(int(message["status"]))
        elif message["type"] == "http.response.body":
            body.append(message.get("body", b""))
            if not message.get("more_body", False):
                response_done().set()

    # Through async_to_sync, Django runs the view in this thread, as a server's worker would
    # run it in its own; asyncio.run() would start asgiref's thread for it, which a worker
    # forked afterwards would believe it has.
    threads = set(threading.enumerate())
    async_to_sync(application)(scope, receive, send)
    gc.collect()  # lets asgiref's event-loop thread end, so that no thread is left to fork
    for thread in set(threading.enumerate()) - threads:
        thread.join(timeout=2)
    return HealthResponse(status[0] if status else 500, utils.first_line(b"".join(body)))


def is_asgi(application: Any) -> bool:
    """Whether ``application`` is called the ASGI way (a coroutine function or object)."""
    # An instance is ASGI when its class's __call__ is a coroutine function.
    return iscoroutinefunction(application) or iscoroutinefunction(type(application).__call__)


def problem(application: Any, path: str) -> str | None:
    """Why the warm-up request for ``path`` failed, or None when it answered 2xx."""
    try:
        if is_asgi(application):
            response = request_asgi(application, path)
            if response.status in HEALTHY:
                return None
        else:
            utils.wsgi_healthcheck(application, path, ok_status=HEALTHY)
            return None
    except WarmupFailure as e:
        response = HealthResponse(e.status or 0, e.first_line)
    except Exception as e:
        return (
            f"the warm-up request for {KEY} {path!r} raised {one_line(e)}. Fix that view, or "
            f"point {KEY} at a path that answers 2xx."
        )
    return failure(path, response)


def warm_up(process: str | None, application: Any, path: str | None) -> None:
    """Send the warm-up request, or raise ``WarmupFailure``; nothing to do without a path."""
    if path is None:
        return
    text = problem(application, path)
    if text:
        warm_up_failed(process, text)


def warm_up_failed(process: str | None, text: str) -> None:
    """Raise the one line of a failed warm-up."""
    raise WarmupFailure(f"Process {process!r}: {text}" if process else text)


def failure(path: str, response: HealthResponse) -> str:
    """The end of the line a failed warm-up gives, after ``Process 'web': ``."""
    try:
        phrase = f" {HTTPStatus(response.status).phrase}"
    except ValueError:
        phrase = ""
    shown = f": {response.first_line!r}" if response.first_line else " with an empty body"
    return (
        f"the warm-up request for {KEY} {path!r} answered {response.status}{phrase}, not 2xx"
        f"{shown}. Fix that view, or point {KEY} at a path that answers 2xx."
    )
