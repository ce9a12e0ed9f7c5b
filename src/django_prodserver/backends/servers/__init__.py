"""django-prodserver 3.0's module paths for the web server backends.

Each module re-exports the backend of its flat module (``backends.gunicorn`` and so on), where
the code lives; both paths name the same class. Aliases (``"BACKEND": "gunicorn"``) are the
shorter spelling.
"""
