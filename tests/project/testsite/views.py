import os
import time

from django.http import HttpResponse


def hello(request):
    return HttpResponse("Hello from testsite")


def slow(request):
    # A request still in flight when the server is told to stop.
    time.sleep(float(request.GET.get("seconds", "2")))
    return HttpResponse("slow response done")


def pid(request):
    return HttpResponse(str(os.getpid()))


def paths(request):
    # What Django saw of the URL: the full path and the part after the script prefix.
    return HttpResponse(f"{request.path} {request.path_info}")
