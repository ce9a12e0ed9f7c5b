"""Targets: importing a ``module:attribute``, and where the WSGI and ASGI applications are."""

from __future__ import annotations

from typing import Any

import pytest

from django_prodserver import targets
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


@pytest.mark.parametrize(
    "target", ["testsite.views:hello", "testsite.views.hello", "testsite:views.hello"]
)
def test_a_target_names_an_attribute_in_either_spelling(target: str) -> None:
    from testsite.views import hello

    assert targets.import_target(target) is hello


def test_an_attribute_path_is_followed() -> None:
    assert targets.import_target("testsite.views:hello.__name__") == "hello"


def test_a_missing_attribute_is_an_attribute_error() -> None:
    with pytest.raises(AttributeError) as caught:
        targets.import_target("testsite.views:nothing")
    assert str(caught.value) == "module 'testsite.views' has no attribute 'nothing'"


@pytest.mark.parametrize("module", ["testsite.nowhere", "nowhere_at_all.views"])
def test_module_not_found_when_the_module_or_a_package_above_it_is_missing(module: str) -> None:
    with pytest.raises(ModuleNotFoundError) as caught:
        targets.import_target(f"{module}:anything")
    assert targets.module_not_found(caught.value, module)


def test_a_module_that_imports_a_missing_package_is_found(
    tmp_path: Any, monkeypatch: pytest.MonkeyPatch
) -> None:
    (tmp_path / "needs_a_package.py").write_text("import package_nobody_installed\n")
    monkeypatch.syspath_prepend(str(tmp_path))
    with pytest.raises(ModuleNotFoundError) as caught:
        targets.import_target("needs_a_package:anything")
    assert caught.value.name == "package_nobody_installed"
    assert not targets.module_not_found(caught.value, "needs_a_package")


def wsgi_function(environ: object, start_response: object) -> list[bytes]:
    return []


async def asgi_function(scope: object, receive: object, send: object) -> None:
    pass


class ASGI2:
    """An ASGI 2 application: called with the scope, it returns the coroutine's owner."""

    def __init__(self, scope: object) -> None:
        self.scope = scope


def any_arguments(*args: object) -> None:
    pass


@pytest.mark.parametrize(
    ("application", "interface", "problem"),
    [
        (wsgi_function, "asgi", "it is a WSGI application, and this server calls an ASGI one"),
        (asgi_function, "wsgi", "it is an ASGI application, and this server calls a WSGI one"),
        (None, "wsgi", "it is None, of type NoneType, not an application"),
        ("x" * 50, "asgi", "it is an object of type str, not an application"),
    ],
)
def test_an_application_the_server_cannot_call_is_named(
    application: object, interface: str, problem: str
) -> None:
    setting = f"{interface.upper()}_APPLICATION"
    assert targets.interface_problem(application, interface) == (
        f"{problem}. Set {setting} to your project's {interface.upper()} application, such as "
        f"'mysite.{interface}.application'."
    )


@pytest.mark.parametrize(
    ("application", "interface"),
    [
        (wsgi_function, "wsgi"),
        (asgi_function, "asgi"),
        (ASGI2, "asgi"),  # one argument: not a WSGI application
        (any_arguments, "asgi"),  # a wrapper that passes anything on: cannot tell
        (min, "asgi"),  # a builtin: no signature to read
    ],
)
def test_what_may_be_an_application_of_the_interface_passes(
    application: object, interface: str
) -> None:
    assert targets.interface_problem(application, interface) is None


def test_the_project_s_own_applications_have_their_interfaces() -> None:
    assert targets.application_problem("testsite.wsgi:application", "wsgi") is None
    assert targets.application_problem("testsite.asgi:application", "asgi") is None
    assert targets.application_problem("testsite.wsgi:application", "asgi") == (
        "the application 'testsite.wsgi:application' cannot be served: it is a WSGI "
        "application, and this server calls an ASGI one. Set ASGI_APPLICATION to your "
        "project's ASGI application, such as 'mysite.asgi.application'."
    )
    assert targets.application_problem("testsite.nowhere:application", "asgi") == (
        "the application 'testsite.nowhere:application' failed to import: "
        "ModuleNotFoundError: No module named 'testsite.nowhere'"
    )


def test_a_stop_while_the_application_imports_stays_a_stop(
    tmp_path: Any, monkeypatch: pytest.MonkeyPatch
) -> None:
    (tmp_path / "stopped_app.py").write_text("raise KeyboardInterrupt\n")
    monkeypatch.syspath_prepend(str(tmp_path))
    with pytest.raises(KeyboardInterrupt):
        targets.application_problem("stopped_app:application", "wsgi")


def test_a_parent_package_that_fails_to_import_is_left_to_the_import(
    settings: SettingsWrapper, tmp_path: Any, monkeypatch: pytest.MonkeyPatch
) -> None:
    (tmp_path / "failing_site").mkdir()
    (tmp_path / "failing_site" / "__init__.py").write_text("raise RuntimeError('boom')\n")
    monkeypatch.syspath_prepend(str(tmp_path))
    settings.WSGI_APPLICATION = "failing_site.wsgi.application"
    # The target is given: importing it then reports the package's own error.
    assert wsgi_target() == "failing_site.wsgi:application"
