"""django-prodserver 3.0's module paths for the development server backends.

Each module re-exports the backend of its flat module (``backends.django_runserver``,
``backends.werkzeug``, ``backends.daphne_runserver``), where the code lives.
"""
