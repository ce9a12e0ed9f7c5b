"""django-prodserver 3.0's path of the Daphne development server; it lives in
``backends.daphne_runserver``."""

from ..daphne_runserver import DaphneRunserver

__all__ = ["DaphneRunserver"]
