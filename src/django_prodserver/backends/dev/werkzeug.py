"""django-prodserver 3.0's path of the Werkzeug backend; it lives in ``backends.werkzeug``."""

from ..werkzeug import RunserverPlus, WerkzeugRunserver

__all__ = ["RunserverPlus", "WerkzeugRunserver"]
