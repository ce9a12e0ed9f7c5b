"""3.0's shared base of the ``server`` and ``worker`` commands, for a project's own command.

django-prodserver 3.0 let a command subclass ``BaseProcessCommand`` and pick the processes it
starts by ``backend_base_class``; this release's commands pick them by ``kind``, which a subclass
gets from its ``backend_base_class``.
"""

from __future__ import annotations

from typing import Any, ClassVar

from ..backends.base import BaseProcessBackend
from .commands.prodserver import Command as ProdserverCommand


class BaseProcessCommand(ProdserverCommand):
    #: What 3.0 called the kind of process in its messages; this release names kinds itself.
    process_label: ClassVar[str] = "process"
    #: The processes this command starts: those whose backend subclasses this class.
    backend_base_class: ClassVar[type[BaseProcessBackend]] = BaseProcessBackend

    def __init_subclass__(cls, **kwargs: Any) -> None:
        super().__init_subclass__(**kwargs)
        if "kind" not in cls.__dict__:
            base = cls.backend_base_class
            cls.kind = None if base is BaseProcessBackend else base.kind


__all__ = ["BaseProcessCommand"]
