"""Which Granian interface serves the project: chosen in one place, by the alias a backend is.

``granian-wsgi`` serves ``WSGI_APPLICATION`` over ``wsgi``; ``granian-asgi`` the ASGI application
over ``asginl``, or ``asgi`` when ARGS asks for it. The class names stand for those aliases
(``GranianWSGIServer.serves_alias``); the plain ``GranianServer`` reached by a dotted path has no
alias, and ARGS must name the interface.
"""

from __future__ import annotations

from ...exceptions import or_list
from ..base import BaseProcessBackend

# Interface families. Plain Django's ASGIHandler raises on the lifespan scope, so ASGI defaults
# to "asginl" (no lifespan); "asgi" stays available for a wrapper that implements lifespan.
ASGI_INTERFACES = ("asginl", "asgi")
WSGI_INTERFACES = ("wsgi",)
DJANGO_INTERFACES = (*WSGI_INTERFACES, *ASGI_INTERFACES)
#: The interfaces of each alias, the first being its default.
INTERFACES_BY_ALIAS = {"granian-asgi": ASGI_INTERFACES, "granian-wsgi": WSGI_INTERFACES}


def interface_served(
    backend: BaseProcessBackend, alias: str | None, requested: str | None, key: str
) -> str:
    """The interface ``backend``, standing for ``alias``, serves when ARGS[``key``] asks for
    ``requested`` (None: ARGS does not say)."""
    family = INTERFACES_BY_ALIAS.get(alias or "")
    if family is None:
        return _interface_without_family(backend, requested, key)
    if requested is None:
        return family[0]
    if requested not in family:
        other = "granian-wsgi" if family == ASGI_INTERFACES else "granian-asgi"
        raise backend.error(
            f"ARGS[{key!r}] is {requested!r}, but BACKEND {backend.backend_name!r} serves "
            f"{or_list(family)}. Remove ARGS[{key!r}], or use BACKEND {other!r}."
        )
    return requested


def _interface_without_family(backend: BaseProcessBackend, requested: str | None, key: str) -> str:
    if requested is None:
        raise backend.error(
            f"BACKEND {backend.backend_name!r} does not say which interface to serve. "
            f"Use BACKEND 'granian-wsgi' or 'granian-asgi', or set ARGS['interface'] "
            f"to 'wsgi', 'asginl' or 'asgi'."
        )
    if requested not in DJANGO_INTERFACES:
        raise backend.error(
            f"ARGS[{key!r}] is {requested!r}; Django is served over {or_list(DJANGO_INTERFACES)}."
        )
    return requested
