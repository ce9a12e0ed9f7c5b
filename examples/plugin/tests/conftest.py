"""Django settings for the unit tests: just enough for django-prodserver to find the application."""

from __future__ import annotations

import django
from django.conf import settings


def pytest_configure() -> None:
    settings.configure(
        INSTALLED_APPS=["django_prodserver"],
        WSGI_APPLICATION="wsgi_app.application",
        PRODUCTION_PROCESSES={"web": {"BACKEND": "cheroot"}},
    )
    django.setup()
