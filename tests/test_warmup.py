"""``HEALTHCHECK`` in settings, and the warm-up request through real WSGI and ASGI applications.

tests/integration/test_warmup.py starts the servers.
"""

from __future__ import annotations

from typing import Any

import pytest
from django.core.handlers.asgi import ASGIHandler
from django.core.handlers.wsgi import WSGIHandler
from django.http import HttpResponse

from django_prodserver import conf, utils, warmup
from django_prodserver.exceptions import InvalidHealthcheck, WarmupFailure

SettingsWrapper = Any


@pytest.fixture(autouse=True)
def views(settings: SettingsWrapper) -> None:
    settings.ROOT_URLCONF = __name__
    settings.ALLOWED_HOSTS = ["app.example.com"]


def ok(request: Any) -> HttpResponse:
    return HttpResponse(f"ok {request.get_host()} {request.GET.get('q', '')}\nmore")


def broken(request: Any) -> HttpResponse:
    raise RuntimeError("the view is broken")


def long_line(request: Any) -> HttpResponse:
    return HttpResponse("x" * 500)


def empty(request: Any) -> HttpResponse:
    return HttpResponse("", status=int(request.GET.get("status", "500")))


from django.urls import path  # noqa: E402 - after the views it routes

urlpatterns = [
    path("ok/", ok),
    path("broken/", broken),
    path("long/", long_line),
    path("empty/", empty),
]


@pytest.mark.parametrize("handler", [WSGIHandler, ASGIHandler])
def test_the_request_goes_through_the_application_with_an_allowed_host(handler: type) -> None:
    application = handler()
    assert warmup.problem(application, "/ok/?q=1") is None
    if handler is ASGIHandler:
        assert warmup.request_asgi(application, "/ok/?q=1") == (200, "ok app.example.com 1")


@pytest.mark.parametrize("handler", [WSGIHandler, ASGIHandler])
def test_a_view_that_fails_is_the_status_and_first_line(handler: type) -> None:
    # Django answers an exception in a view with its 500 page, as it would to a visitor.
    assert warmup.problem(handler(), "/broken/") == (
        "the warm-up request for HEALTHCHECK '/broken/' answered 500 Internal Server Error, not "
        "2xx: '<!doctype html>'. Fix that view, or point HEALTHCHECK at a path that answers 2xx."
    )


def test_a_long_first_line_is_cut_and_an_empty_body_said() -> None:
    with pytest.raises(WarmupFailure) as caught:
        utils.wsgi_healthcheck(WSGIHandler(), "/long/", ok_status=201)
    assert (caught.value.status, caught.value.first_line) == (200, "x" * 117 + "...")
    assert warmup.problem(WSGIHandler(), "/empty/?status=599") == (
        "the warm-up request for HEALTHCHECK '/empty/?status=599' answered 599, not 2xx with "
        "an empty body. Fix that view, or point HEALTHCHECK at a path that answers 2xx."
    )


def test_an_application_that_raises_is_one_line() -> None:
    def application(environ: Any, start_response: Any) -> Any:
        raise ConnectionError("database unreachable\nat startup")

    assert warmup.problem(application, "/ok/") == (
        "the warm-up request for HEALTHCHECK '/ok/' raised ConnectionError: database "
        "unreachable at startup. Fix that view, or point HEALTHCHECK at a path that answers 2xx."
    )


def test_an_asgi_application_that_never_answers_is_a_500() -> None:
    async def application(scope: Any, receive: Any, send: Any) -> None:
        await receive()

    assert warmup.request_asgi(application, "/") == (500, "")


def test_a_wsgi_body_that_can_be_closed_is_closed() -> None:
    closed: list[bool] = []

    class Body(list[bytes]):
        def close(self) -> None:
            closed.append(True)

    def application(environ: Any, start_response: Any) -> Any:
        start_response("204 No Content", [])
        return Body([b""])

    assert warmup.problem(application, "/") is None
    assert closed == [True]


def test_warm_up_raises_one_line_for_the_process() -> None:
    with pytest.raises(WarmupFailure) as caught:
        warmup.warm_up("web", WSGIHandler(), "/empty/?status=404")
    assert str(caught.value) == (
        "Process 'web': the warm-up request for HEALTHCHECK '/empty/?status=404' answered 404 "
        "Not Found, not 2xx with an empty body. Fix that view, or point HEALTHCHECK at a path "
        "that answers 2xx."
    )
    warmup.warm_up("web", WSGIHandler(), None)  # no HEALTHCHECK: nothing sent


@pytest.mark.parametrize(
    ("allowed", "host"),
    [
        (["app.example.com", "other"], "app.example.com"),
        ([".example.com"], "example.example.com"),
        (["*"], "testserver"),
        ([], "localhost"),
    ],
)
def test_the_host_is_the_first_that_allowed_hosts_accepts(
    settings: SettingsWrapper, allowed: list[str], host: str
) -> None:
    settings.ALLOWED_HOSTS = allowed
    assert utils.healthcheck_host() == host


@pytest.mark.parametrize(
    ("value", "message"),
    [
        (5, "HEALTHCHECK must be a URL path such as '/healthz/', not int 5."),
        (None, "HEALTHCHECK must be a URL path such as '/healthz/', not NoneType None."),
        (
            "healthz/",
            "HEALTHCHECK is 'healthz/'; it must be a path of this site starting with one '/', "
            "such as '/healthz/'.",
        ),
        (
            "//cdn.example.com/x",
            "HEALTHCHECK is '//cdn.example.com/x'; it must be a path of this site starting with "
            "one '/', such as '/healthz/'.",
        ),
        (
            "http://example.com/healthz/",
            "HEALTHCHECK is 'http://example.com/healthz/'; it must be a path of this site "
            "starting with one '/', such as '/healthz/'.",
        ),
        (
            "/health z/",
            "HEALTHCHECK is '/health z/'; a URL path holds no spaces or control characters "
            "(percent-encode them).",
        ),
        (
            "/healthz/\x00",
            "HEALTHCHECK is '/healthz/\\x00'; a URL path holds no spaces or control characters "
            "(percent-encode them).",
        ),
    ],
)
def test_a_healthcheck_that_is_not_a_path_is_one_line(
    settings: SettingsWrapper, value: object, message: str
) -> None:
    settings.PRODUCTION_PROCESSES = {"web": {"BACKEND": "waitress", "HEALTHCHECK": value}}
    with pytest.raises(InvalidHealthcheck) as caught:
        conf.prepare(conf.get_process("web"))
    assert str(caught.value) == f"Process 'web': {message}"


def test_a_worker_with_a_healthcheck_is_refused(settings: SettingsWrapper) -> None:
    settings.PRODUCTION_PROCESSES = {
        "worker": {"BACKEND": "tests.fake_backends.RecordingWorker", "HEALTHCHECK": "/healthz/"}
    }
    with pytest.raises(InvalidHealthcheck) as caught:
        conf.prepare(conf.get_process("worker"))
    assert str(caught.value) == (
        "Process 'worker': HEALTHCHECK is for servers, but backend "
        "'tests.fake_backends.RecordingWorker' runs a worker, which answers no HTTP request. "
        "Remove HEALTHCHECK from its entry."
    )


def test_a_misspelt_healthcheck_key_is_suggested(settings: SettingsWrapper) -> None:
    settings.PRODUCTION_PROCESSES = {"web": {"BACKEND": "waitress", "HEALTHCHEK": "/healthz/"}}
    with pytest.raises(Exception) as caught:
        conf.prepare(conf.get_process("web"))
    assert str(caught.value) == (
        "Process 'web': unknown key 'HEALTHCHEK' in its entry. Did you mean 'HEALTHCHECK'? "
        "Backend 'waitress' reads: ARGS, BACKEND, HEALTHCHECK."
    )


def test_a_valid_healthcheck_is_the_backends() -> None:
    backend, _ = conf.prepare(
        conf.ProcessConfig("web", "waitress", {"BACKEND": "waitress", "HEALTHCHECK": "/ok/"})
    )
    assert backend.healthcheck() == "/ok/"


def test_dry_run_of_flower_says_its_healthcheck_feeds_the_probes_only(
    settings: SettingsWrapper,
) -> None:
    from io import StringIO

    from django.core.management import call_command

    settings.PRODUCTION_PROCESSES = {
        "flower": {
            "BACKEND": "celery-flower",
            "APP": "testsite.celery_app.app",
            "HEALTHCHECK": "/healthcheck",
        }
    }
    out = StringIO()
    call_command("prodserver", "flower", "--dry-run", stdout=out)
    assert out.getvalue().splitlines()[-1] == (
        "HEALTHCHECK /healthcheck is for the exported probes only: this server does not serve "
        "the project's application, so nothing is requested before it starts."
    )


def test_a_development_server_with_a_healthcheck_is_refused(settings: SettingsWrapper) -> None:
    settings.PRODUCTION_PROCESSES = {"dev": {"BACKEND": "runserver", "HEALTHCHECK": "/healthz/"}}
    with pytest.raises(InvalidHealthcheck) as caught:
        conf.prepare(conf.get_process("dev"))
    assert str(caught.value) == (
        "Process 'dev': HEALTHCHECK is for production servers, and backend 'runserver' is a "
        "development server. Remove HEALTHCHECK from its entry."
    )


def test_a_backend_written_for_3_0_may_have_a_healthcheck(settings: SettingsWrapper) -> None:
    from django_prodserver.checks import check_production_processes

    settings.PRODUCTION_PROCESSES = {
        "web": {"BACKEND": "tests.test_warmup.UndeclaredServer", "HEALTHCHECK": "/ok/"}
    }
    assert check_production_processes() == []
    backend, _ = conf.prepare(conf.get_process("web"))
    assert backend.healthcheck() == "/ok/"


from django_prodserver.backends.base import BaseServerBackend  # noqa: E402


class UndeclaredServer(BaseServerBackend):
    """A server backend as 3.0 wrote them: no settings_keys."""

    def start_server(self, *args: str) -> None:
        pass


def plain_wsgi_application(environ: Any, start_response: Any) -> Any:
    # A WSGI application with a list for body (nothing to close), answering the status asked.
    status = environ["QUERY_STRING"].partition("=")[2] or "200"
    start_response(f"{status} Whatever", [])
    return [b"\n", b"plain answer\n"]


def test_a_plain_wsgi_application_is_sent_the_request_too() -> None:
    assert warmup.problem(plain_wsgi_application, "/") is None
    assert warmup.problem(plain_wsgi_application, "/?status=502") == (
        "the warm-up request for HEALTHCHECK '/?status=502' answered 502 Bad Gateway, not 2xx: "
        "'plain answer'. Fix that view, or point HEALTHCHECK at a path that answers 2xx."
    )
    warmup.warm_up("web", plain_wsgi_application, "/")  # 2xx: nothing raised


def test_an_asgi_answer_in_several_messages_is_read_whole() -> None:
    async def application(scope: Any, receive: Any, send: Any) -> None:
        await receive()
        await send({"type": "http.response.start", "status": 200, "headers": []})
        await send({"type": "http.response.body", "body": b"\n", "more_body": True})
        await send({"type": "http.response.zerocopysend", "file": None})  # an extension
        await send({"type": "http.response.body", "body": b"done\n"})

    assert warmup.request_asgi(application, "/?q=1") == (200, "done")


def test_the_dry_run_line_names_the_request() -> None:
    assert warmup.describe("/healthz/") == (
        "Before serving: GET /healthz/ through the application (Host: app.example.com); "
        "anything but 2xx stops the start."
    )


def test_a_failed_request_in_the_child_that_tries_the_import_is_one_line() -> None:
    from django_prodserver.backends.preflight import import_application

    backend, _ = conf.prepare(
        conf.ProcessConfig(
            "web", "waitress", {"BACKEND": "waitress", "HEALTHCHECK": "/?status=500"}
        )
    )
    with pytest.raises(WarmupFailure) as caught:
        import_application(backend, f"{__name__}:plain_wsgi_application", isolated=True)
    assert str(caught.value) == (
        "Process 'web': the warm-up request for HEALTHCHECK '/?status=500' answered 500 "
        "Internal Server Error, not 2xx: 'plain answer'. Fix that view, or point HEALTHCHECK at "
        "a path that answers 2xx."
    )
    healthy, _ = conf.prepare(
        conf.ProcessConfig("web", "waitress", {"BACKEND": "waitress", "HEALTHCHECK": "/"})
    )
    assert import_application(healthy, f"{__name__}:plain_wsgi_application", isolated=True) is None
