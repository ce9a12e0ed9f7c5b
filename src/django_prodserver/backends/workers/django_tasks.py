"""django-prodserver 3.0's path of the django-tasks backend; it lives in
``backends.django_tasks``."""

from ..django_tasks import DjangoTasksWorker

__all__ = ["DjangoTasksWorker"]
