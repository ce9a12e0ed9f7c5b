"""The application the ``hypercorn`` backend has Hypercorn load: the project's ASGI application,
with the lifespan protocol answered for plain Django.

Hypercorn always sends the ASGI lifespan events. Django's ``ASGIHandler`` raises on them, and
Hypercorn then logs "ASGI Framework Lifespan error, continuing without Lifespan support" at
every start of every worker. When the project's application is Django's own handler, this
wrapper answers startup and shutdown itself (there is nothing to run); any other application,
one that may implement lifespan, receives the events as Hypercorn sends them.

Hypercorn's workers are separate processes that import this module by name, so the application
is found here from the settings, exactly as the backend finds it (``DJANGO_SETTINGS_MODULE`` and
``sys.path`` reach the workers as they do any ``multiprocessing`` child).
"""

from __future__ import annotations

from typing import Any, Callable

from django.core.handlers.asgi import ASGIHandler

from .. import targets

Receive = Callable[[], Any]
Send = Callable[[dict[str, Any]], Any]


async def answer_lifespan(receive: Receive, send: Send) -> None:
    """Complete lifespan startup and shutdown for an application that has nothing to run."""
    while True:
        message = await receive()
        if message["type"] == "lifespan.startup":
            await send({"type": "lifespan.startup.complete"})
        elif message["type"] == "lifespan.shutdown":
            await send({"type": "lifespan.shutdown.complete"})
            return


class LifespanAnswered:
    """``app``, with the lifespan protocol answered when ``app`` is Django's ASGI handler."""

    def __init__(self, app: Any) -> None:
        self.app = app

    async def __call__(self, scope: dict[str, Any], receive: Receive, send: Send) -> None:
        if scope["type"] == "lifespan" and isinstance(self.app, ASGIHandler):
            await answer_lifespan(receive, send)
        else:
            await self.app(scope, receive, send)


def project_application() -> LifespanAnswered:
    return LifespanAnswered(targets.import_target(targets.asgi_target()))


application = project_application()
