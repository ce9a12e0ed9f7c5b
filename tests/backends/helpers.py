"""Building one backend as the command does, and running its checks, for the unit tests."""

from __future__ import annotations

from typing import Any, Generic, TypeVar

import pytest

from django_prodserver.backends.base import BaseServerBackend
from django_prodserver.exceptions import InvalidBackendArgs

Backend = TypeVar("Backend", bound=BaseServerBackend)


class BackendUnderTest(Generic[Backend]):
    """A backend class with its alias and process name, as PRODUCTION_PROCESSES would give."""

    def __init__(self, backend_class: type[Backend], alias: str, process: str = "web") -> None:
        self.backend_class = backend_class
        self.alias = alias
        self.process = process

    def server(self, args: Any = None, **entry: Any) -> Backend:
        if args is not None:
            entry["ARGS"] = args
        return self.backend_class(
            alias=self.alias, process_name=self.process, BACKEND=self.alias, **entry
        )

    def checked_argv(self, args: Any) -> list[str]:
        """The arguments ``args`` become, after the backend's own checks accepted them."""
        backend = self.server(args)
        argv = backend.prep_server_args()
        backend.check_args(argv)
        return argv

    def error_for(self, args: Any) -> str:
        """The one-line message the backend's checks give for ``args``."""
        backend = self.server(args)
        with pytest.raises(InvalidBackendArgs) as caught:
            backend.check_args(backend.prep_server_args())
        return caught.value.message
