"""django-prodserver 3.0's path of the waitress backend; it lives in ``backends.waitress``."""

from ..waitress import WaitressServer

__all__ = ["WaitressServer"]
