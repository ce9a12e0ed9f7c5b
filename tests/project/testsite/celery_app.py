"""A Celery application for the worker tests, configured from the Django settings.

Its tasks leave files behind, so a test sees that a task ran without a result backend.
"""

import time
from pathlib import Path

from celery import Celery

app = Celery("testsite")
app.config_from_object("django.conf:settings", namespace="CELERY")


@app.task(name="testsite.write_file")
def write_file(path, text):
    Path(path).write_text(text)
    return text


@app.task(name="testsite.slow_write_file")
def slow_write_file(directory, seconds):
    """Mark its start, take ``seconds``, then mark its end: shows a warm shutdown."""
    Path(directory, "started").write_text("started")
    time.sleep(seconds)
    Path(directory, "finished").write_text("finished")
