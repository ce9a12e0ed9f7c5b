"""django-prodserver 3.0's module paths for the task worker backends.

Each module re-exports the backend of its flat module (``backends.celery`` and so on), where the
code lives; both paths name the same class.
"""
