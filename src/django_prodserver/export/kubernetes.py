"""Kubernetes manifests: per process a Deployment, and a Service for a server.

The container runs ``python manage.py prodserver NAME`` in the image's working directory, with
``PORT`` set to the port the Service targets. A server is probed on its ``HEALTHCHECK`` path
(with a ``Host`` that ``ALLOWED_HOSTS`` accepts), or on its TCP port without one. On a stop,
the ``preStop`` pause lets the endpoints controller take the pod out of the Service before the
server starts draining; ``terminationGracePeriodSeconds`` covers the pause, the backend's
graceful timeout and a margin. Resource requests grow with the worker processes.
"""

from __future__ import annotations

import ipaddress
import json
import re
import signal
from collections.abc import Sequence
from typing import Any

from .. import environment, utils
from ..exceptions import ExportFailed
from ._processes import ExportContext, ExportedProcess

#: The port the container listens on (through $PORT) unless ARGS sets one.
CONTAINER_PORT = 8000
#: The environment each process starts with in its container: the processes are prepared with
#: it, by the same rule as at a start (environment.py: PORT applies where ARGS set no port).
ENVIRONMENT = {environment.PORT: str(CONTAINER_PORT)}
#: Seconds between the stop and the stop signal, for endpoints to drop the pod.
PRESTOP_SECONDS = 5
#: Requests per worker process, and for the main process (from docs/performance.md's
#: footprint: a Django worker holds about 30 to 40 MB of its own).
CPU_PER_WORKER_MILLI = 250
MEMORY_PER_WORKER_MI = 64
MEMORY_MAIN_MI = 64
_IMAGE = re.compile(r"[^\s\0]+")


def render(processes: Sequence[ExportedProcess], context: ExportContext) -> dict[str, str]:
    image = context.image
    if image is None or not _IMAGE.fullmatch(image):
        shown = "" if image is None else f" ({image!r} is not an image name)"
        raise ExportFailed(
            f"--export kubernetes needs --image, the container image that holds the project"
            f"{shown}, such as --image registry.example.com/mysite:1.0."
        )
    return {
        f"{process.resource}.yaml": "---\n".join(
            to_yaml(document) for document in manifests(process, context, image)
        )
        for process in processes
    }


def manifests(process: ExportedProcess, context: ExportContext, image: str) -> list[dict[str, Any]]:
    labels = {
        "app.kubernetes.io/name": context.project.name,
        "app.kubernetes.io/component": process.resource[len(context.project.name) + 1 :],
    }
    container: dict[str, Any] = {
        "name": process.resource,
        "image": image,
        "command": ["python", "manage.py", "prodserver", process.name],
        "env": [{"name": "DJANGO_SETTINGS_MODULE", "value": context.project.settings_module}],
    }
    grace = process.stop_seconds
    stop_signal = process.backend.stop_signal
    if stop_signal != signal.SIGTERM:
        context.notes.append(
            f"Process {process.name!r} stops gracefully on {stop_signal.name}, but Kubernetes "
            f"sends SIGTERM unless the image says otherwise: build its image with "
            f"'STOPSIGNAL {stop_signal.name}'."
        )
    documents: list[dict[str, Any]] = []
    if process.kind == "server":
        port = served_port(process)
        container["env"].append({"name": "PORT", "value": str(port)})
        container["ports"] = [{"name": "http", "containerPort": port}]
        container.update(probes(process.backend.healthcheck()))
        container["lifecycle"] = {"preStop": {"sleep": {"seconds": PRESTOP_SECONDS}}}
        grace += PRESTOP_SECONDS
    workers = process.backend.worker_processes(process.args)
    container["resources"] = {
        "requests": {
            "cpu": f"{CPU_PER_WORKER_MILLI * workers}m",
            "memory": f"{MEMORY_MAIN_MI + MEMORY_PER_WORKER_MI * workers}Mi",
        }
    }
    documents.append(
        {
            "apiVersion": "apps/v1",
            "kind": "Deployment",
            "metadata": {"name": process.resource, "labels": labels},
            "spec": {
                "replicas": 1,
                "selector": {"matchLabels": labels},
                "template": {
                    "metadata": {"labels": labels},
                    "spec": {
                        "terminationGracePeriodSeconds": grace,
                        "containers": [container],
                    },
                },
            },
        }
    )
    if process.kind == "server":
        documents.append(
            {
                "apiVersion": "v1",
                "kind": "Service",
                "metadata": {"name": process.resource, "labels": labels},
                "spec": {
                    "selector": labels,
                    "ports": [{"name": "http", "port": 80, "targetPort": "http"}],
                },
            }
        )
    return documents


def probes(path: str | None) -> dict[str, Any]:
    """Readiness, liveness and start-up probes: HTTP on the HEALTHCHECK path, or TCP."""
    if path:
        check: dict[str, Any] = {
            "httpGet": {
                "path": path,
                "port": "http",
                "httpHeaders": [{"name": "Host", "value": utils.healthcheck_host()}],
            }
        }
    else:
        check = {"tcpSocket": {"port": "http"}}
    return {
        # Up to a minute to start (migrations elsewhere, imports, the warm-up request).
        "startupProbe": {**check, "periodSeconds": 2, "failureThreshold": 30},
        "readinessProbe": {**check, "periodSeconds": 5, "failureThreshold": 2},
        "livenessProbe": {**check, "periodSeconds": 10, "failureThreshold": 3},
    }


def served_port(process: ExportedProcess) -> int:
    """The TCP port the server listens on in the container, whose ``PORT`` is
    ``CONTAINER_PORT``; refused if a Service cannot reach it."""
    address = process.backend.listen_address(process.args)
    where = f"Process {process.name!r}"
    if address is None:
        raise ExportFailed(
            f"{where} listens on no TCP port (a Unix socket or an inherited descriptor), so a "
            f"Service cannot reach it; set a TCP address in its ARGS."
        )
    host, port = address
    if _is_loopback(host):
        raise ExportFailed(
            f"{where} listens on {host}:{port}, inside its pod only: neither the Service nor "
            f"the probes can reach it. Leave the address out of ARGS (the server then listens "
            f"on 0.0.0.0:$PORT), or set the host to 0.0.0.0."
        )
    return port


def _is_loopback(host: str) -> bool:
    if host == "localhost":
        return True
    try:
        return ipaddress.ip_address(host).is_loopback
    except ValueError:
        return False


# -- YAML --------------------------------------------------------------------------------------

_PLAIN = re.compile(r"[A-Za-z/][A-Za-z0-9_./-]*")
_YAML_WORDS = frozenset({"true", "false", "yes", "no", "on", "off", "null", "y", "n"})


def scalar(value: object) -> str:
    if isinstance(value, bool):
        return "true" if value else "false"
    if isinstance(value, int):
        return str(value)
    text = str(value)
    if _PLAIN.fullmatch(text) and text.lower() not in _YAML_WORDS:
        return text
    return json.dumps(text)  # a JSON string is a YAML double-quoted scalar


def to_yaml(value: Any) -> str:
    """Block-style YAML of nested dicts, lists, strings and numbers (what manifests hold)."""
    return "\n".join(_lines(value, 0)) + "\n"


def _lines(value: Any, indent: int) -> list[str]:
    pad = "  " * indent
    if isinstance(value, dict):
        lines = []
        for key, item in value.items():
            if isinstance(item, (dict, list)) and item:
                lines.append(f"{pad}{scalar(key)}:")
                lines += _lines(item, indent + 1)
            else:
                lines.append(f"{pad}{scalar(key)}: {_inline(item)}")
        return lines
    if isinstance(value, list):
        lines = []
        for item in value:
            nested = _lines(item, indent + 1)
            lines.append(f"{pad}- {nested[0].lstrip()}")
            lines += nested[1:]
        return lines
    return [pad + scalar(value)]


def _inline(value: Any) -> str:
    if isinstance(value, dict):
        return "{}"
    if isinstance(value, list):
        return "[]"
    return scalar(value)
