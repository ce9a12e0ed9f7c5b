"""``manage.py server [NAME]``: ``prodserver`` limited to web servers."""

from .prodserver import Command as ProdserverCommand


class Command(ProdserverCommand):
    help = (
        "Start a web server configured in PRODUCTION_PROCESSES. Without NAME, the first process "
        "with a server backend starts."
    )
    kind = "server"
