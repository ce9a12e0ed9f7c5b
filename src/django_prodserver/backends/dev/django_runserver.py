"""django-prodserver 3.0's path of the runserver backend; it lives in
``backends.django_runserver``."""

from ..django_runserver import DjangoRunserver

__all__ = ["DjangoRunserver"]
