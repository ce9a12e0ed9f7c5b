"""django-prodserver 3.0's path of the django-q2 backend; it lives in ``backends.django_q2``."""

from ..django_q2 import DjangoQ2Worker

__all__ = ["DjangoQ2Worker"]
