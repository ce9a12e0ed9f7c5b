"""django_prodserver.utils: the helpers django-prodserver 3.0 offered custom backends."""

from __future__ import annotations

from typing import Any

import pytest
from django.core.signals import request_finished
from django.core.wsgi import get_wsgi_application

from django_prodserver.exceptions import InvalidApplication, ProdserverError
from django_prodserver.utils import (
    WarmupFailure,
    asgi_app_name,
    wsgi_app_name,
    wsgi_healthcheck,
)

SettingsWrapper = Any

pytestmark = pytest.mark.urls("tests.healthcheck_urls")


def test_wsgi_app_name_is_a_module_attribute_target(settings: SettingsWrapper) -> None:
    settings.WSGI_APPLICATION = "testsite.wsgi.application"
    assert wsgi_app_name() == "testsite.wsgi:application"


def test_asgi_app_name_prefers_asgi_application(settings: SettingsWrapper) -> None:
    settings.ASGI_APPLICATION = "testsite.asgi.application"
    assert asgi_app_name() == "testsite.asgi:application"


def test_asgi_app_name_falls_back_to_the_asgi_module_beside_wsgi(
    settings: SettingsWrapper,
) -> None:
    # A startproject project has mysite/asgi.py but no ASGI_APPLICATION; 3.0 failed on it.
    settings.WSGI_APPLICATION = "testsite.wsgi.application"
    assert not hasattr(settings, "ASGI_APPLICATION")
    assert asgi_app_name() == "testsite.asgi:application"


def test_wsgi_app_name_reports_a_missing_module(settings: SettingsWrapper) -> None:
    settings.WSGI_APPLICATION = "nope.wsgi.application"
    with pytest.raises(InvalidApplication) as caught:
        wsgi_app_name()
    assert caught.value.message == (
        "WSGI_APPLICATION = 'nope.wsgi.application', but there is no module 'nope.wsgi'. "
        "Set it to your project's application, such as 'mysite.wsgi.application'."
    )


def test_warmup_failure_is_an_exception_a_3_0_backend_can_catch() -> None:
    assert issubclass(WarmupFailure, ProdserverError)
    assert issubclass(WarmupFailure, Exception)


def test_healthcheck_passes_when_the_url_answers_200() -> None:
    assert wsgi_healthcheck(get_wsgi_application(), "/health/") is None


def test_healthcheck_closes_the_response_as_a_server_would() -> None:
    finished: list[object] = []

    def record(sender: object, **kwargs: object) -> None:
        finished.append(sender)

    request_finished.connect(record)
    try:
        wsgi_healthcheck(get_wsgi_application(), "/health/")
    finally:
        request_finished.disconnect(record)
    assert len(finished) == 1


@pytest.mark.parametrize(
    ("url", "ok_status", "message"),
    [
        (
            "/missing/",
            200,
            "The warm-up request GET /missing/ answered with status 404, not 200. Check that "
            "the URL exists and answers without logging in.",
        ),
        (
            "/broken/",
            200,
            "The warm-up request GET /broken/ answered with status 500, not 200. Check that "
            "the URL exists and answers without logging in.",
        ),
        (
            "/health/",
            204,
            "The warm-up request GET /health/ answered with status 200, not 204. Check that "
            "the URL exists and answers without logging in.",
        ),
    ],
)
def test_healthcheck_fails_on_any_other_status(url: str, ok_status: int, message: str) -> None:
    with pytest.raises(WarmupFailure) as caught:
        wsgi_healthcheck(get_wsgi_application(), url, ok_status=ok_status)
    assert caught.value.message == message


def test_healthcheck_takes_the_status_it_is_told_is_healthy() -> None:
    wsgi_healthcheck(get_wsgi_application(), "/empty/", ok_status=204)


@pytest.mark.parametrize("allowed_hosts", [["*"], [".example.com"], ["www.example.org", "x"]])
def test_healthcheck_sends_a_host_that_allowed_hosts_accepts(
    settings: SettingsWrapper, allowed_hosts: list[str]
) -> None:
    # A Host header ALLOWED_HOSTS rejects makes Django answer 400, failing the warm-up.
    settings.ALLOWED_HOSTS = allowed_hosts
    wsgi_healthcheck(get_wsgi_application(), "/health/")


def test_healthcheck_without_allowed_hosts_fails_as_the_server_would(
    settings: SettingsWrapper,
) -> None:
    # DEBUG False and no ALLOWED_HOSTS: Django rejects every host, so the warm-up must fail.
    settings.ALLOWED_HOSTS = []
    with pytest.raises(WarmupFailure) as caught:
        wsgi_healthcheck(get_wsgi_application(), "/health/")
    assert caught.value.message == (
        "The warm-up request GET /health/ answered with status 400, not 200. Check that the "
        "URL exists and answers without logging in."
    )


@pytest.mark.parametrize("url", ["health/", "", None, 42])
def test_healthcheck_rejects_a_url_that_is_not_a_path(url: Any) -> None:
    with pytest.raises(WarmupFailure) as caught:
        wsgi_healthcheck(get_wsgi_application(), url)
    assert caught.value.message == (
        f"The warm-up URL must be a path starting with '/', such as '/health/', not {url!r}."
    )


def test_healthcheck_calls_any_wsgi_application_and_tells_what_it_answered() -> None:
    # An application wrapped by middleware of its own (WhiteNoise, say) has no get_response.
    handler = get_wsgi_application()

    def wrapped(environ: Any, start_response: Any) -> Any:
        return handler(environ, start_response)

    wsgi_healthcheck(wrapped, "/health/", ok_status=range(200, 300))
    with pytest.raises(WarmupFailure) as caught:
        wsgi_healthcheck(wrapped, "/missing/", ok_status=range(200, 300))
    assert (caught.value.status, caught.value.first_line) == (404, "<!doctype html>")
