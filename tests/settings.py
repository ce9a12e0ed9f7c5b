"""Settings for the unit tests; the integration tests run tests/fixtures/project instead."""

SECRET_KEY = "unit-tests-only"
DEBUG = False
ALLOWED_HOSTS = ["127.0.0.1", "localhost"]
INSTALLED_APPS = [
    "django.contrib.contenttypes",
    "django.contrib.auth",
    "django_prodserver",
]
DATABASES = {"default": {"ENGINE": "django.db.backends.sqlite3", "NAME": ":memory:"}}
ROOT_URLCONF = "tests.urls"
WSGI_APPLICATION = "testsite.wsgi.application"
USE_TZ = True
DEFAULT_AUTO_FIELD = "django.db.models.BigAutoField"

PRODUCTION_PROCESSES = {
    "web": {"BACKEND": "gunicorn", "ARGS": {"bind": "127.0.0.1:8000"}},
}
