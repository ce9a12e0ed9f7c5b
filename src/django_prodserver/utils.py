"""Helpers for writing a backend: the project's application targets and a warm-up request.

django-prodserver 3.0 shipped this module; its names and signatures are kept so that custom
backends written against 3.0 import them unchanged.

- ``wsgi_app_name()`` and ``asgi_app_name()``: ``WSGI_APPLICATION`` and the ASGI application as
  ``module:attribute`` targets, the form every server takes;
- ``wsgi_healthcheck(app, url, ok_status=200)``: one request through a Django WSGI handler (or
  any WSGI application), raising ``WarmupFailure`` unless it answers ``ok_status``. The
  ``HEALTHCHECK`` warm-up (``warmup``) sends its WSGI request through it.
"""

from __future__ import annotations

import io
from collections.abc import Container
from typing import Any

from django.conf import settings

from . import targets
from .exceptions import WarmupFailure

__all__ = ["WarmupFailure", "asgi_app_name", "wsgi_app_name", "wsgi_healthcheck"]

_SHOWN_CHARS = 120  # of a failed response's first line


def wsgi_app_name() -> str:
    """``WSGI_APPLICATION`` as ``module:attribute``: ``"mysite.wsgi:application"``.

    Raises ``InvalidApplication`` when the setting is missing or names no module.
    """
    return targets.wsgi_target()


def asgi_app_name() -> str:
    """The ASGI application as ``module:attribute``.

    ``ASGI_APPLICATION`` when set, otherwise the ``asgi`` module beside ``WSGI_APPLICATION``
    (what ``django-admin startproject`` writes). Raises ``InvalidApplication`` when neither exists.
    """
    return targets.asgi_target()


def healthcheck_host() -> str:
    """A ``Host`` header that ``ALLOWED_HOSTS`` accepts: its first entry, made a real name.

    ``"*"`` gives ``testserver``, ``".example.com"`` gives ``example.example.com``; without
    ``ALLOWED_HOSTS``, ``localhost``, which Django allows when ``DEBUG`` is on. The warm-up
    request and the exported Kubernetes probes send it.
    """
    allowed = getattr(settings, "ALLOWED_HOSTS", None) or []
    if not allowed:
        return "localhost"
    host = str(allowed[0])
    if host == "*":
        return "testserver"
    if host.startswith("."):  # ".example.com" allows any subdomain
        return "example" + host
    return host


def wsgi_healthcheck(app: Any, url: str, ok_status: int | Container[int] = 200) -> None:
    """Send ``GET url`` through ``app`` and raise ``WarmupFailure`` unless it answers ``ok_status``.

    ``app`` is a Django WSGI handler (what ``get_wsgi_application()`` returns): the request goes
    through its middleware and URLconf in this process, without a socket. Any other WSGI
    application (one wrapped by WhiteNoise, say) is called as a server would call it. The
    ``Host`` header is ``healthcheck_host()``, so host validation passes. ``ok_status`` may also
    be a collection of statuses, such as ``range(200, 300)``. The ``WarmupFailure`` carries the
    ``status`` and the ``first_line`` of the body.
    """
    if not isinstance(url, str) or not url.startswith("/"):
        raise WarmupFailure(
            f"The warm-up URL must be a path starting with '/', such as '/health/', not {url!r}."
        )
    status, body = _response(app, url)
    healthy = status == ok_status if isinstance(ok_status, int) else status in ok_status
    if not healthy:
        raise WarmupFailure(
            f"The warm-up request GET {url} answered with status {status}, not {ok_status}. "
            f"Check that the URL exists and answers without logging in.",
            status=status,
            first_line=first_line(body),
        )


def _response(app: Any, url: str) -> tuple[int, bytes]:
    """The status and body of ``GET url`` sent through ``app``."""
    # Imported here: conf (and so every manage.py command) imports this module, django.test
    # is needed only for a warm-up.
    from django.test import RequestFactory

    request = RequestFactory().get(url, HTTP_HOST=healthcheck_host())
    if hasattr(app, "get_response"):  # a Django handler: its middleware and URLconf directly
        response = app.get_response(request)
        try:
            return response.status_code, b"" if response.streaming else response.content
        finally:
            response.close()  # what a server does after a response: request_finished runs
    environ = {**request.environ, "wsgi.input": io.BytesIO(b"")}
    started: list[str] = []

    def start_response(status: str, headers: Any, exc_info: Any = None) -> Any:
        started.append(status)
        return lambda data: None

    chunks = app(environ, start_response)
    try:
        body = b"".join(chunks)
    finally:
        if hasattr(chunks, "close"):
            chunks.close()
    return int(started[0].split()[0]), body


def first_line(body: bytes) -> str:
    """The first line of ``body`` that holds text, shortened to 120 characters."""
    for line in body.decode(errors="replace").splitlines():
        if line.strip():
            text = line.strip()
            return text if len(text) <= _SHOWN_CHARS else text[: _SHOWN_CHARS - 3] + "..."
    return ""
