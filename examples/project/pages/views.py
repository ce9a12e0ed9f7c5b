from django.http import HttpRequest, HttpResponse
from django.shortcuts import render

from .models import Greeting


def plain(request: HttpRequest) -> HttpResponse:
    return HttpResponse("Hello from django-prodserver's example project.\n")


def healthz(request: HttpRequest) -> HttpResponse:
    # What HEALTHCHECK requests before the server starts, and the Kubernetes probes after.
    return HttpResponse("ok\n")


def template(request: HttpRequest) -> HttpResponse:
    return render(request, "pages/template.html", {"items": range(20)})


def database(request: HttpRequest) -> HttpResponse:
    greeting = Greeting.objects.order_by("pk").first()
    return HttpResponse(f"{greeting}\n")
