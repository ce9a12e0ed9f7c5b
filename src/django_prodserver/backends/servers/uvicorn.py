"""django-prodserver 3.0's path of the uvicorn backends; they live in ``backends.uvicorn``."""

from ..uvicorn import UvicornServer, UvicornWSGIServer

__all__ = ["UvicornServer", "UvicornWSGIServer"]
