"""Tasks for the django-tasks and django-q2 worker tests; each leaves a file behind."""

import time
from pathlib import Path

try:  # Django 6 has the tasks framework built in; before that, django-tasks provides it.
    from django.tasks import task
except ImportError:
    from django_tasks import task


@task()
def write_file(path, text):
    Path(path).write_text(text)
    return text


@task()
def slow_write_file(directory, seconds):
    """Mark its start, take ``seconds``, then mark its end: shows a warm shutdown."""
    Path(directory, "started").write_text("started")
    time.sleep(seconds)
    Path(directory, "finished").write_text("finished")
    return "finished"


def q2_write_file(path, text):
    """A plain function, as django-q2 runs them."""
    Path(path).write_text(text)
    return text


def q2_slow_write_file(directory, seconds):
    Path(directory, "started").write_text("started")
    time.sleep(seconds)
    Path(directory, "finished").write_text("finished")
    return "finished"
