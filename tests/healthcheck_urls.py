"""A URLconf for the warm-up tests: views that answer what the test needs."""

from __future__ import annotations

from django.http import HttpRequest, HttpResponse
from django.urls import path


def healthy(request: HttpRequest) -> HttpResponse:
    return HttpResponse(f"ok from {request.get_host()}")


def no_content(request: HttpRequest) -> HttpResponse:
    return HttpResponse(status=204)


def broken(request: HttpRequest) -> HttpResponse:
    raise RuntimeError("the database is down")


urlpatterns = [
    path("health/", healthy),
    path("empty/", no_content),
    path("broken/", broken),
]
