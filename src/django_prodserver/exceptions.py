"""The errors django-prodserver raises for a configuration it cannot run.

Every one is an ``ImproperlyConfigured``, carries one line of text that says what is wrong and how
to fix it, and is raised ``from`` its cause. The command turns them into ``CommandError``; the
system checks turn them into check messages.
"""

from __future__ import annotations

import re
from collections.abc import Sequence

from django.core.exceptions import ImproperlyConfigured


def one_line(error: BaseException) -> str:
    """``"Type: message"`` of an exception, its line breaks folded: a cause inside a message."""
    return re.sub(r"\s*\n\s*", " ", f"{type(error).__name__}: {error}".strip())


def or_list(names: Sequence[str]) -> str:
    """``'a'``, ``'a' or 'b'``, ``'a', 'b' or 'c'``: choices offered in a message."""
    quoted = [repr(name) for name in names]
    return quoted[0] if len(quoted) == 1 else ", ".join(quoted[:-1]) + " or " + quoted[-1]


class ProdserverError(ImproperlyConfigured):
    """Base class: a setting that django-prodserver cannot act on."""

    #: The id ``manage.py check`` reports this error under.
    check_id = "prodserver.E000"
    #: False for a problem that should not stop ``manage.py check``, such as a server package
    #: that is installed only in the image that runs that process.
    is_error = True

    def __init__(self, message: str) -> None:
        # One line, always: a cause's text may span several.
        self.message = re.sub(r"\s*\n\s*", " ", message.strip())
        super().__init__(self.message)

    def in_process(self, process: str) -> ProdserverError:
        """The same error, worded for the process whose setting caused it."""
        error = type(self).__new__(type(self))
        ProdserverError.__init__(error, f"Process {process!r}: {self.message}")
        error.__cause__ = self.__cause__
        return error


class InvalidProcessConfig(ProdserverError):
    """``PRODUCTION_PROCESSES`` or one of its entries has the wrong shape."""


class SettingNotAMapping(InvalidProcessConfig):
    check_id = "prodserver.E001"


class NoProcesses(InvalidProcessConfig):
    check_id = "prodserver.E002"


class EntryNotAMapping(InvalidProcessConfig):
    check_id = "prodserver.E003"


class MissingBackendKey(InvalidProcessConfig):
    check_id = "prodserver.E004"


class InvalidArgsType(InvalidProcessConfig):
    check_id = "prodserver.E006"


class UnknownEntryKey(InvalidProcessConfig):
    check_id = "prodserver.E007"


class UnknownProcess(InvalidProcessConfig):
    """A process name on the command line that the setting does not define."""


class WrongProcessKind(InvalidProcessConfig):
    """``manage.py server`` asked to start a worker, or ``worker`` a server."""


class InvalidOverride(InvalidProcessConfig):
    """A ``--set OPTION=VALUE`` that cannot apply."""


class InvalidApplication(InvalidProcessConfig):
    """WSGI_APPLICATION or ASGI_APPLICATION does not lead to an application."""

    check_id = "prodserver.E009"


class BackendNotFound(ProdserverError):
    """A ``BACKEND`` names no alias, module or class that exists."""

    check_id = "prodserver.E005"


class BackendDependencyMissing(ProdserverError):
    """A backend exists, but a package it needs is not installed."""

    check_id = "prodserver.W001"
    is_error = False


class BackendImportFailed(ProdserverError):
    """A backend module raised while being imported: the plugin itself is broken."""

    check_id = "prodserver.E005"


class InvalidBackend(ProdserverError):
    """A ``BACKEND`` resolved to something that is not a backend class."""

    check_id = "prodserver.E005"


class BackendConflict(ProdserverError):
    """Two distributions register the same alias."""

    check_id = "prodserver.E005"


class InvalidBackendArgs(ProdserverError):
    """A backend rejected an option or value in ``ARGS``."""

    check_id = "prodserver.E008"
