"""Daphne's ASGI development server: Daphne's ``runserver`` command.

``ARGS`` are the options of Daphne's ``runserver`` (runserver's own, plus ``http_timeout``,
``websocket_handshake_timeout`` and the WebSocket size limits). The command is loaded from
Daphne whether or not ``daphne`` is in ``INSTALLED_APPS``. It serves ``ASGI_APPLICATION``, or
the ``asgi`` module beside ``WSGI_APPLICATION`` when that setting is absent (as in a
``startproject`` project).
"""

from __future__ import annotations

from collections.abc import Mapping
from typing import ClassVar

import daphne  # noqa: F401 - a missing Daphne becomes an install hint in the registry
from django.conf import settings

from .. import targets
from ._runserver import RunserverCommandBackend


class DaphneRunserver(RunserverCommandBackend):
    """Daphne's ``manage.py runserver``, configured in ``PRODUCTION_PROCESSES``."""

    program = "runserver"
    command_package = "daphne"
    # Daphne spells these two with underscores: "http_timeout" must not become --http-timeout.
    renamed_keys: ClassVar[Mapping[str, str]] = {
        "http_timeout": "--http_timeout",
        "websocket_handshake_timeout": "--websocket_handshake_timeout",
    }
    application_setting: ClassVar[str | None] = "ASGI_APPLICATION"

    def start_server(self, *args: str) -> None:
        if not getattr(settings, "ASGI_APPLICATION", None):
            # Daphne's command reads the setting itself; the targets' fallback fills it in.
            settings.ASGI_APPLICATION = targets.asgi_target().replace(":", ".")
        super().start_server(*args)
