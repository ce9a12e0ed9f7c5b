"""Every BACKEND path django-prodserver 2.x and 3.0 shipped names this release's backend."""

from __future__ import annotations

import importlib
import json
import warnings
from io import StringIO

import pytest
from django.core.management import call_command

import django_prodserver
from django_prodserver import registry

B = "django_prodserver.backends."

#: (old path, the real class as module:attribute)
UPSTREAM_PATHS = [
    # 3.0.0: split by kind
    (B + "servers.gunicorn.GunicornServer", "gunicorn:GunicornServer"),
    (B + "servers.gunicorn.DjangoApplication", "gunicorn:DjangoGunicornApplication"),
    (B + "servers.granian.GranianASGIServer", "granian:GranianASGIServer"),
    (B + "servers.granian.GranianWSGIServer", "granian:GranianWSGIServer"),
    (B + "servers.granian.GranianServerBase", "granian:GranianServer"),
    (B + "servers.waitress.WaitressServer", "waitress:WaitressServer"),
    (B + "servers.uvicorn.UvicornServer", "uvicorn:UvicornServer"),
    (B + "servers.uvicorn.UvicornWSGIServer", "uvicorn:UvicornWSGIServer"),
    (B + "servers.flower.CeleryFlower", "celery_flower:CeleryFlower"),
    (B + "workers.celery.CeleryWorker", "celery:CeleryWorker"),
    (B + "workers.celery.CeleryBeat", "celery:CeleryBeat"),
    (B + "workers.django_tasks.DjangoTasksWorker", "django_tasks:DjangoTasksWorker"),
    (B + "workers.django_q2.DjangoQ2Worker", "django_q2:DjangoQ2Worker"),
    (B + "dev.django_runserver.DjangoRunserver", "django_runserver:DjangoRunserver"),
    (B + "dev.werkzeug.WerkzeugRunserver", "werkzeug:WerkzeugRunserver"),
    (B + "dev.werkzeug.RunserverPlus", "werkzeug:RunserverPlus"),
    (B + "dev.daphne.DaphneRunserver", "daphne_runserver:DaphneRunserver"),
    # 3.0.0's flat modules for the development servers
    (B + "django_runserver.DjangoRunserver", "django_runserver:DjangoRunserver"),
    (B + "werkzeug.WerkzeugRunserver", "werkzeug:WerkzeugRunserver"),
    (B + "werkzeug.RunserverPlus", "werkzeug:RunserverPlus"),
    (B + "daphne.DaphneRunserver", "daphne_runserver:DaphneRunserver"),
    # 2.x (and 3.0's deprecated flat modules): the real modules
    (B + "gunicorn.GunicornServer", "gunicorn:GunicornServer"),
    (B + "gunicorn.DjangoApplication", "gunicorn:DjangoGunicornApplication"),
    (B + "granian.GranianASGIServer", "granian:GranianASGIServer"),
    (B + "granian.GranianWSGIServer", "granian:GranianWSGIServer"),
    (B + "granian.GranianServerBase", "granian:GranianServer"),
    (B + "waitress.WaitressServer", "waitress:WaitressServer"),
    (B + "uvicorn.UvicornServer", "uvicorn:UvicornServer"),
    (B + "uvicorn.UvicornWSGIServer", "uvicorn:UvicornWSGIServer"),
    (B + "celery.CeleryWorker", "celery:CeleryWorker"),
    (B + "celery.CeleryBeat", "celery:CeleryBeat"),
    (B + "django_tasks.DjangoTasksWorker", "django_tasks:DjangoTasksWorker"),
    (B + "django_q2.DjangoQ2Worker", "django_q2:DjangoQ2Worker"),
]


def _real(target: str) -> object:
    module, _, attr = target.partition(":")
    return getattr(importlib.import_module(B + module), attr)


@pytest.mark.parametrize(("path", "target"), UPSTREAM_PATHS)
def test_each_old_path_is_the_real_class_without_a_warning(path: str, target: str) -> None:
    module, _, attr = path.rpartition(".")
    with warnings.catch_warnings():
        warnings.simplefilter("error")
        found = getattr(importlib.import_module(module), attr)
    assert found is _real(target)


#: The backends among them: not gunicorn's application class, nor 2.x's Granian base class.
BACKEND_PATHS = [
    (path, target) for path, target in UPSTREAM_PATHS if not path.endswith(("Application", "Base"))
]


@pytest.mark.parametrize(("path", "target"), BACKEND_PATHS)
def test_each_old_backend_path_resolves_as_a_backend(path: str, target: str) -> None:
    assert registry.resolve(path).backend_class is _real(target)


def test_the_daphne_module_names_its_attributes_as_any_module() -> None:
    daphne = importlib.import_module(B + "daphne")
    with pytest.raises(AttributeError) as caught:
        daphne.DaphneRunservr  # noqa: B018
    assert str(caught.value) == (
        "module 'django_prodserver.backends.daphne' has no attribute 'DaphneRunservr'"
    )


def test_list_backends_shows_release_4_0_0_and_the_development_servers() -> None:
    out = StringIO()
    call_command("prodserver", "--list-backends", "--json", stdout=out)
    rows = {row["alias"]: row for row in json.loads(out.getvalue())}
    assert rows["runserver"] == {
        "alias": "runserver",
        "kind": "dev",
        "target": "django_prodserver.backends.django_runserver:DjangoRunserver",
        "distribution": "django-prodserver",
        "version": "4.0.0",  # after 3.0.0, which upgrading users have
        "status": "ok",
        "detail": "",
    }
    assert [rows[alias]["kind"] for alias in ("runserver-plus", "daphne-runserver")] == ["dev"] * 2
    assert django_prodserver.__version__ == "4.0.0"
