"""Start production web servers and task workers with ``manage.py prodserver NAME``."""

__version__ = "4.0.0"
