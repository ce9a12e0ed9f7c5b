"""The errors django-prodserver raises for a configuration it cannot run.

Every one is an ``ImproperlyConfigured``, carries one line of text that says what is wrong and how
to fix it, and is raised ``from`` its cause. The command turns them into ``CommandError``; the
system checks turn them into check messages.
"""

from __future__ import annotations

import re
from collections.abc import Sequence

from django.core.exceptions import ImproperlyConfigured

from .redact import redact_text


def one_line(error: BaseException | str) -> str:
    """A text on one line, its runs of white space folded into one space, to quote a cause or a
    program's output inside a message; an exception as ``"Type: message"``."""
    text = f"{type(error).__name__}: {error}" if isinstance(error, BaseException) else error
    return " ".join(text.split())


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

    def __init_subclass__(
        cls, check_id: str | None = None, is_error: bool | None = None, **kwargs: object
    ) -> None:
        # class BackendNotFound(ProdserverError, check_id="prodserver.E005"): an error's id and
        # level are written where it is named.
        super().__init_subclass__(**kwargs)
        if check_id is not None:
            cls.check_id = check_id
        if is_error is not None:
            cls.is_error = is_error

    def __init__(self, message: str) -> None:
        # One line, always: a cause's text may span several. Whatever it quotes (a value, a
        # server's own error) is shown with its secrets masked: a URL's password, ...
        self.message = redact_text(re.sub(r"\s*\n\s*", " ", message.strip()))
        super().__init__(self.message)

    def in_process(self, process: str) -> ProdserverError:
        """The same error, worded for the process whose setting caused it."""
        error = type(self).__new__(type(self))
        ProdserverError.__init__(error, f"Process {process!r}: {self.message}")
        error.__cause__ = self.__cause__
        return error


class InvalidProcessConfig(ProdserverError):
    """``PRODUCTION_PROCESSES`` or one of its entries has the wrong shape."""


class SettingNotAMapping(InvalidProcessConfig, check_id="prodserver.E001"):
    """The setting is not a dict, or one of its keys is not a process name."""


class NoProcesses(InvalidProcessConfig, check_id="prodserver.E002"):
    """The setting is missing or empty, or has no process of the kind a command starts."""


class EntryNotAMapping(InvalidProcessConfig, check_id="prodserver.E003"):
    """A process's entry is not a dict."""


class MissingBackendKey(InvalidProcessConfig, check_id="prodserver.E004"):
    """An entry has no ``BACKEND``, or one that is not a non-empty string."""


class InvalidArgsType(InvalidProcessConfig, check_id="prodserver.E006"):
    """``ARGS`` is neither a dict, a string nor a list of strings."""


class UnknownEntryKey(InvalidProcessConfig, check_id="prodserver.E007"):
    """An entry has a key its backend does not read."""


class UnknownProcess(InvalidProcessConfig):
    """A process name on the command line that the setting does not define."""


class WrongProcessKind(InvalidProcessConfig):
    """``manage.py server`` asked to start a worker, or ``worker`` a server."""


class DevelopmentServerRefused(InvalidProcessConfig):
    """A development server asked to start while ``DEBUG`` is False."""


class InvalidOverride(InvalidProcessConfig):
    """A ``--set OPTION=VALUE`` that cannot apply."""


class InvalidEnvironment(InvalidProcessConfig):
    """``PORT`` or ``WEB_CONCURRENCY`` holds a value a server cannot use (at start only: the
    system checks do not read the environment a process will start in)."""


class InvalidApplication(InvalidProcessConfig, check_id="prodserver.E009"):
    """WSGI_APPLICATION or ASGI_APPLICATION does not lead to an application."""


class InvalidHealthcheck(InvalidProcessConfig, check_id="prodserver.E011"):
    """A ``HEALTHCHECK`` that is not a path of the site, or is set on a worker."""


class ExportFailed(ProdserverError):
    """``--export`` cannot write its files: a format, a directory or a name it cannot use, or
    processes that do not validate (one line each, in ``lines``)."""

    def __init__(self, message: str, *more: str) -> None:
        super().__init__(message)
        self.lines = [self.message, *(ProdserverError(line).message for line in more)]


class BackendNotFound(ProdserverError, check_id="prodserver.E005"):
    """A ``BACKEND`` names no alias, module or class that exists."""


class BackendDependencyMissing(ProdserverError, check_id="prodserver.W001", is_error=False):
    """A backend exists, but a package it needs is not installed."""


class BackendImportFailed(ProdserverError, check_id="prodserver.E005"):
    """A backend module raised while being imported: the plugin itself is broken."""


class InvalidBackend(ProdserverError, check_id="prodserver.E005"):
    """A ``BACKEND`` resolved to something that is not a backend class, or to a base class."""


class BackendConflict(ProdserverError, check_id="prodserver.E005"):
    """Two distributions register the same alias."""


class InvalidBackendArgs(ProdserverError, check_id="prodserver.E008"):
    """A backend rejected an option or value in ``ARGS``."""


class WarmupFailure(ProdserverError, check_id="prodserver.E010"):
    """A warm-up request through the application did not get the expected status: the
    ``HEALTHCHECK`` request before serving, or ``utils.wsgi_healthcheck()``.

    ``django_prodserver.utils`` re-exports it, where django-prodserver 3.0 defined it. ``status``
    and ``first_line`` tell what the application answered, when it answered.
    """

    def __init__(self, message: str, status: int | None = None, first_line: str = "") -> None:
        super().__init__(message)
        self.status = status
        self.first_line = first_line
