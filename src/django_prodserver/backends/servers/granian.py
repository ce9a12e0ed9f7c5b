"""django-prodserver 3.0's path of the Granian backends; they live in ``backends.granian``."""

from ..granian import GranianASGIServer, GranianServerBase, GranianWSGIServer

__all__ = ["GranianASGIServer", "GranianServerBase", "GranianWSGIServer"]
