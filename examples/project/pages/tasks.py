from django_tasks import task

from .models import Greeting


@task()
def add_greeting(text: str) -> int:
    """Run by the `worker` process: python manage.py prodserver worker."""
    return Greeting.objects.create(text=text).pk
