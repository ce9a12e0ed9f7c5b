"""django-prodserver 3.0's path of the gunicorn backend; it lives in ``backends.gunicorn``."""

from ..gunicorn import DjangoApplication, GunicornServer

__all__ = ["DjangoApplication", "GunicornServer"]
