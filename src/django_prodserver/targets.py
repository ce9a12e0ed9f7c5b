"""Where the project's WSGI and ASGI applications live, as ``module:attribute`` targets."""

from __future__ import annotations

import importlib.util

from django.conf import settings

from .exceptions import InvalidApplication


def _module_exists(module_name: str) -> bool:
    """Whether ``module_name`` can be found, without running it (its parent packages run)."""
    try:
        return importlib.util.find_spec(module_name) is not None
    except ModuleNotFoundError:  # a parent package is missing
        return False
    except Exception:  # a parent package that fails to import: the import itself reports it
        return True


def _as_target(dotted: str, setting: str) -> str:
    module_name, _, attr = dotted.rpartition(".")
    if not module_name:
        raise InvalidApplication(
            f"{setting} = {dotted!r} is not a dotted path such as 'mysite.wsgi.application'."
        )
    if not _module_exists(module_name):
        raise InvalidApplication(
            f"{setting} = {dotted!r}, but there is no module {module_name!r}. Set it to your "
            f"project's application, such as 'mysite.wsgi.application'."
        )
    return f"{module_name}:{attr}"


def wsgi_target() -> str:
    """``WSGI_APPLICATION`` as a ``module:attribute`` target."""
    dotted = getattr(settings, "WSGI_APPLICATION", None)
    if not dotted:
        raise InvalidApplication(
            "WSGI_APPLICATION is not set; set it to your project's WSGI application, "
            "such as 'mysite.wsgi.application'."
        )
    return _as_target(dotted, "WSGI_APPLICATION")


def asgi_target() -> str:
    """``ASGI_APPLICATION`` as a target, or the ``asgi`` module beside the WSGI one.

    ``django-admin startproject`` writes ``mysite/asgi.py`` but no ``ASGI_APPLICATION``
    setting, so the sibling module is the project's ASGI application.
    """
    dotted = getattr(settings, "ASGI_APPLICATION", None)
    if dotted:
        return _as_target(dotted, "ASGI_APPLICATION")
    wsgi_module = getattr(settings, "WSGI_APPLICATION", None) or ""
    package = wsgi_module.rpartition(".")[0].rpartition(".")[0]
    candidate = f"{package}.asgi" if package else "asgi"
    if not _module_exists(candidate):
        raise InvalidApplication(
            f"No ASGI application: ASGI_APPLICATION is not set and there is no module "
            f"{candidate!r} beside WSGI_APPLICATION. Set ASGI_APPLICATION, such as "
            f"'mysite.asgi.application'."
        )
    return f"{candidate}:application"
