"""django-prodserver 3.0's path of the Celery backends; they live in ``backends.celery``."""

from ..celery import CeleryBeat, CeleryWorker

__all__ = ["CeleryBeat", "CeleryWorker"]
