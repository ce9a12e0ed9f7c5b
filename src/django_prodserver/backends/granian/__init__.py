"""Granian, started in this process through its Python API: ``granian-wsgi`` and ``granian-asgi``.

The backend in modules of one job each:

- ``versions``: the installed Granian, and what differs between the releases supported;
- ``options``: ARGS to Granian's command line, parsed by Granian, to ``Granian()`` arguments;
- ``interfaces``: which interface serves the project, by the backend's alias;
- ``checks``: what Granian would reject only after starting, rejected before;
- ``static``: the entry's ``STATIC``, Django's static files served by Granian;
- ``workers``: the worker processes: thread pool size, preloaded application, reload;
- ``server``: the backend classes.

The names below are this module's since django-prodserver 2.x; BACKEND paths such as
``django_prodserver.backends.granian.GranianWSGIServer`` keep working.
"""

from __future__ import annotations

# Imported first on purpose: without Granian this import fails here, in the module a BACKEND
# names, and the registry turns that into 'pip install "django-prodserver[granian]"'.
from granian import Granian  # isort: skip

from .interfaces import ASGI_INTERFACES, DJANGO_INTERFACES, INTERFACES_BY_ALIAS, WSGI_INTERFACES
from .server import (
    GranianASGIServer,
    GranianCall,
    GranianServer,
    GranianServerBase,
    GranianWSGIServer,
)
from .versions import (
    GRANIAN_PARAMETERS,
    GRANIAN_VERSION,
    SERVES_STATIC_FILES,
    missing_option_message,
    renames_for,
)
from .workers import (
    _PRELOADED,
    DJANGO_WSGI_BLOCKING_THREADS,
    ExitLikeAForkedWorker,
    django_wsgi_blocking_threads,
    import_target,
    load_application,
)

__all__ = [
    "ASGI_INTERFACES",
    "DJANGO_INTERFACES",
    "DJANGO_WSGI_BLOCKING_THREADS",
    "GRANIAN_PARAMETERS",
    "GRANIAN_VERSION",
    "INTERFACES_BY_ALIAS",
    "SERVES_STATIC_FILES",
    "WSGI_INTERFACES",
    "_PRELOADED",
    "ExitLikeAForkedWorker",
    "Granian",
    "GranianASGIServer",
    "GranianCall",
    "GranianServer",
    "GranianServerBase",
    "GranianWSGIServer",
    "django_wsgi_blocking_threads",
    "import_target",
    "load_application",
    "missing_option_message",
    "renames_for",
]
