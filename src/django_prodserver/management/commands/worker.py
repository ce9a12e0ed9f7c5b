"""``manage.py worker [NAME]``: ``prodserver`` limited to task workers."""

from .prodserver import Command as ProdserverCommand


class Command(ProdserverCommand):
    help = (
        "Start a task worker configured in PRODUCTION_PROCESSES. Without NAME, the first process "
        "with a worker backend starts."
    )
    kind = "worker"
