"""The base of the development servers that are ``runserver``-style management commands.

``ARGS`` are the command's options (``manage.py runserver --help``), checked by its own parser;
``ARGS['addrport']`` is its address argument (``"8000"``, ``"127.0.0.1:8000"``, ``"[::1]:8000"``).
The command runs in this process as ``manage.py runserver`` would run it: its reloader restarts
the ``manage.py`` command line that started it, system checks and banner included.
"""

from __future__ import annotations

import os
import re
from collections.abc import Mapping, Sequence
from typing import Any, ClassVar

from django.core.management.commands.runserver import naiveip_re

from .. import targets
from ..stop_signals import exit_zero_on_stop_signals
from ._management_command import DjangoCommandBackend
from .base import BaseDevServerBackend
from .preflight import check_addresses_free
from .ranges import port_problem

ADDRPORT = "addrport"
#: Set in the process a reloader starts to serve: Django's, werkzeug's.
RELOADER_CHILD = ("RUN_MAIN", "WERKZEUG_RUN_MAIN")


def _option_name(key: object) -> object:
    return key.lstrip("-").replace("-", "_") if isinstance(key, str) else key


class RunserverCommandBackend(DjangoCommandBackend, BaseDevServerBackend):
    """A development server started as a ``runserver``-style management command."""

    command_name = "runserver"
    settings_keys: ClassVar[frozenset[str]] = BaseDevServerBackend.settings_keys
    #: The package whose command runs, loaded even if it is not in INSTALLED_APPS; None: the
    #: app that provides ``command_name`` to ``manage.py``.
    command_package: ClassVar[str | None] = None
    #: ARGS keys (with underscores) that the command spells differently: key -> ARGS key or flag.
    renamed_keys: ClassVar[Mapping[str, str]] = {}
    #: "ASGI_APPLICATION" for a command that serves the ASGI application: it must be found
    #: (``targets``) before the start. None: the command finds its application itself.
    application_setting: ClassVar[str | None] = None

    def __init__(self, **entry: Any) -> None:
        super().__init__(**entry)
        self.addrport: object = None
        if isinstance(self.args_setting, Mapping):
            options = {}
            for key, value in self.args_setting.items():
                name = _option_name(key)
                if name == ADDRPORT:
                    self.addrport = value
                else:
                    options[self.renamed_keys.get(str(name), key)] = value
            # The address is the command's positional argument, not an option.
            self.args_setting = options

    def command_app(self) -> str:
        return self.command_package or super().command_app()

    def prep_server_args(self) -> list[str]:
        argv = super().prep_server_args()
        return argv if self.addrport is None else [self._addrport_text(), *argv]

    def _addrport_text(self) -> str:
        if isinstance(self.addrport, bool) or not isinstance(self.addrport, (str, int)):
            raise self.error(
                f"ARGS['addrport'] is {self.addrport!r}; it takes a port or an address:port, "
                f"such as '127.0.0.1:8000'."
            )
        text = str(self.addrport)
        match = re.match(naiveip_re, text)
        problem = port_problem(match["port"]) if match else None
        if match is None or problem:
            why = f": {problem}" if problem else ""
            raise self.error(
                f"ARGS['addrport'] is {self.addrport!r}, which {self.command_name} rejects{why}. "
                f"Give a port or an address:port, such as '127.0.0.1:8000'."
            )
        return text

    def check_args(self, args: Sequence[str]) -> None:
        self.allowed_in_production()
        super().check_args(args)
        if self.application_setting == "ASGI_APPLICATION":
            targets.asgi_target()

    def _listen_address(self, args: Sequence[str]) -> tuple[str, int]:
        """Where the command will listen: ``addrport``, or its default, 127.0.0.1:8000."""
        match = re.match(naiveip_re, self._addrport_text()) if self.addrport is not None else None
        default = "::1" if {"-6", "--ipv6"} & set(args) else "127.0.0.1"
        host = (match["addr"] if match and match["addr"] else default).strip("[]")
        return ("0.0.0.0" if host == "0" else host), int(match["port"] if match else 8000)

    def start_server(self, *args: str) -> None:
        # A busy port is one line here; daphne's runserver would go on running, not listening.
        # Not in a reloader's child: werkzeug's parent holds the socket the child inherits.
        if not any(os.environ.get(name) for name in RELOADER_CHILD):
            check_addresses_free(self, [self._listen_address(args)])
        # runserver dies of SIGTERM (status 143), which a process manager reads as a crash; the
        # reloader's process ends with status 0 instead, and its child with it.
        with exit_zero_on_stop_signals():
            super().start_server(*args)
