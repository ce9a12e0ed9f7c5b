"""Where the WSGI and ASGI applications are found."""

from __future__ import annotations

from typing import Any

import pytest

from django_prodserver.exceptions import InvalidApplication
from django_prodserver.targets import asgi_target, wsgi_target

SettingsWrapper = Any


def test_wsgi_target_from_wsgi_application(settings: SettingsWrapper) -> None:
    settings.WSGI_APPLICATION = "testsite.wsgi.application"
    assert wsgi_target() == "testsite.wsgi:application"


def test_asgi_target_prefers_asgi_application(settings: SettingsWrapper) -> None:
    settings.ASGI_APPLICATION = "testsite.views.application"
    assert asgi_target() == "testsite.views:application"


def test_startproject_layout_needs_no_asgi_setting(settings: SettingsWrapper) -> None:
    # django-admin startproject writes testsite/asgi.py but no ASGI_APPLICATION.
    settings.WSGI_APPLICATION = "testsite.wsgi.application"
    assert not hasattr(settings, "ASGI_APPLICATION")
    assert asgi_target() == "testsite.asgi:application"


@pytest.mark.parametrize(
    ("setting", "value", "function", "message"),
    [
        (
            "WSGI_APPLICATION",
            None,
            wsgi_target,
            "WSGI_APPLICATION is not set; set it to your project's WSGI application, such as "
            "'mysite.wsgi.application'.",
        ),
        (
            "WSGI_APPLICATION",
            "application",
            wsgi_target,
            "WSGI_APPLICATION = 'application' is not a dotted path such as "
            "'mysite.wsgi.application'.",
        ),
        (
            "WSGI_APPLICATION",
            "nope.wsgi.application",
            wsgi_target,
            "WSGI_APPLICATION = 'nope.wsgi.application', but there is no module 'nope.wsgi'. "
            "Set it to your project's application, such as 'mysite.wsgi.application'.",
        ),
        (
            "ASGI_APPLICATION",
            "testsite.no_such_module.application",
            asgi_target,
            "ASGI_APPLICATION = 'testsite.no_such_module.application', but there is no module "
            "'testsite.no_such_module'. Set it to your project's application, such as "
            "'mysite.wsgi.application'.",
        ),
        (
            "ASGI_APPLICATION",
            "application",
            asgi_target,
            "ASGI_APPLICATION = 'application' is not a dotted path such as "
            "'mysite.wsgi.application'.",
        ),
    ],
)
def test_bad_application_settings(
    settings: SettingsWrapper, setting: str, value: str | None, function: Any, message: str
) -> None:
    setattr(settings, setting, value)
    with pytest.raises(InvalidApplication) as excinfo:
        function()
    assert str(excinfo.value) == message


@pytest.mark.parametrize(
    ("wsgi", "candidate"),
    [
        ("nowhere_project.wsgi.application", "nowhere_project.asgi"),
        ("wsgi.application", "asgi"),
        (None, "asgi"),
    ],
)
def test_no_asgi_module_beside_wsgi(
    settings: SettingsWrapper, wsgi: str | None, candidate: str
) -> None:
    settings.WSGI_APPLICATION = wsgi
    with pytest.raises(InvalidApplication) as excinfo:
        asgi_target()
    assert str(excinfo.value) == (
        f"No ASGI application: ASGI_APPLICATION is not set and there is no module "
        f"{candidate!r} beside WSGI_APPLICATION. Set ASGI_APPLICATION, such as "
        f"'mysite.asgi.application'."
    )
