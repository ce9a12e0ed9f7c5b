"""django-prodserver 3.0's path of the Flower backend; it lives in ``backends.celery_flower``."""

from ..celery_flower import CeleryFlower

__all__ = ["CeleryFlower"]
