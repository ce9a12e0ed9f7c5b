"""Targets: ``module:attribute`` strings that name an object, and how to import one.

A target is ``"pkg.module:attribute"`` (the attribute may be a dotted path, as in
``"pkg.module:app.wsgi"``) or the older dotted form ``"pkg.module.attribute"``. Backends
(``BACKEND``), Celery applications (``APP``) and the project's WSGI and ASGI applications are
all named so, and imported here:

- ``import_target`` imports one: the module, then its attribute;
- ``module_not_found`` tells, of a ``ModuleNotFoundError``, whether the module itself (or a
  package above it) is missing, a wrong name, or a module that it imports, a package to
  install; uvicorn's importer draws the same line;
- ``wsgi_target`` and ``asgi_target`` give the project's applications as targets;
- ``interface_problem`` tells whether an application can be called as WSGI or ASGI, so that a
  server that would answer 500 to every request (``application = 42``, the WSGI handler named
  as ``ASGI_APPLICATION``) does not start.
"""

from __future__ import annotations

import importlib
import importlib.util
import inspect
from types import ModuleType
from typing import Any

from django.conf import settings

from .exceptions import InvalidApplication, one_line


def split(target: str) -> tuple[str, str]:
    """``"pkg.module:attr"`` or ``"pkg.module.attr"`` -> ``("pkg.module", "attr")``; either part
    is empty when the target does not have it."""
    if ":" in target:
        module_name, _, attribute = target.partition(":")
    else:
        module_name, _, attribute = target.rpartition(".")
    return module_name, attribute


def module_not_found(error: ModuleNotFoundError, module_name: str) -> bool:
    """Whether ``error``, raised importing ``module_name``, says that module itself (or a package
    above it) does not exist, rather than a module it imports."""
    missing = error.name or ""
    return module_name == missing or module_name.startswith(missing + ".")


def attribute_of(module: ModuleType, attribute: str) -> Any:
    """``module``'s ``attribute``, which may be a dotted path; ``AttributeError`` if missing."""
    found: Any = module
    for part in attribute.split("."):
        found = getattr(found, part)
    return found


def import_target(target: str) -> Any:
    """The object ``target`` names, imported. The module's own errors propagate as they are
    (``module_not_found`` tells a wrong name from a missing dependency); a missing attribute is
    an ``AttributeError``."""
    module_name, attribute = split(target)
    return attribute_of(importlib.import_module(module_name), attribute)


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


#: The setting of each interface's application, and an example of it.
_SETTINGS = {
    "wsgi": ("WSGI_APPLICATION", "'mysite.wsgi.application'"),
    "asgi": ("ASGI_APPLICATION", "'mysite.asgi.application'"),
}


def interface_problem(application: object, interface: str) -> str | None:
    """Why a server of ``interface`` ("wsgi" or "asgi") cannot call ``application``, or None.

    Only what is certain is refused: an object that is not callable, a coroutine function (an
    ASGI application) served as WSGI, and a plain function or handler of two arguments (a WSGI
    application) served as ASGI. An application whose signature cannot be read passes.
    """
    if not callable(application):
        problem = f"it is {_described(application)}, not an application"
    else:
        call = application if inspect.isroutine(application) else type(application).__call__
        asynchronous = inspect.iscoroutinefunction(call)
        if interface == "wsgi" and asynchronous:
            problem = "it is an ASGI application, and this server calls a WSGI one"
        elif interface == "asgi" and not asynchronous and _positional(application) == 2:
            problem = "it is a WSGI application, and this server calls an ASGI one"
        else:
            return None
    setting, example = _SETTINGS[interface]
    kind = interface.upper()
    return f"{problem}. Set {setting} to your project's {kind} application, such as {example}."


def _described(value: object) -> str:
    text = repr(value)
    kind = type(value).__name__
    return f"an object of type {kind}" if len(text) > 40 else f"{text}, of type {kind}"


def _positional(application: object) -> int | None:
    """How many positional arguments ``application`` takes, None if it takes any number."""
    try:
        parameters = inspect.signature(application).parameters.values()  # type: ignore[arg-type]
    except (TypeError, ValueError):  # a builtin or an extension type: nothing to tell
        return None
    kinds = [parameter.kind for parameter in parameters]
    if inspect.Parameter.VAR_POSITIONAL in kinds:
        return None
    positional = (inspect.Parameter.POSITIONAL_ONLY, inspect.Parameter.POSITIONAL_OR_KEYWORD)
    return sum(kind in positional for kind in kinds)


def application_problem(target: str, interface: str) -> str | None:
    """Why the application ``target`` names cannot be served over ``interface``: it does not
    import, or ``interface_problem``; None when it can."""
    try:
        application = import_target(target)
    except BaseException as e:  # sys.exit() in the module too: a failed import, not a stop
        from .stop_signals import is_stop

        if is_stop(e):
            raise
        return f"the application {target!r} failed to import: {one_line(e)}"
    problem = interface_problem(application, interface)
    return f"the application {target!r} cannot be served: {problem}" if problem else None


def project_application_problem(interface: str) -> str | None:
    """``application_problem`` of the project's application for ``interface``: the one
    ``WSGI_APPLICATION``, or ``ASGI_APPLICATION`` (``asgi_target``), names."""
    target = wsgi_target() if interface == "wsgi" else asgi_target()
    return application_problem(target, interface)
