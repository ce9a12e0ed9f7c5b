"""What every server backend checks in the main process just before its server starts.

Settings can be right and the start still fail: the application raises on import, or another
process holds the port. Left to the servers, the first is a traceback per worker and, in the
servers that respawn workers, a crash loop; the second is a retry loop (gunicorn), a traceback
(waitress, uvicorn) or an error without the address (Granian). Checked here first, each is one
line naming the application or the address, and the process exits at once, before any worker.

- ``import_application`` imports the application, in this process or, for a server whose
  workers import it themselves, in a short-lived child process;
- ``check_addresses_free`` binds each TCP address the server will listen on, and lets it go.

Like ``_options``, this module imports no server package.
"""

from __future__ import annotations

import importlib
import os
import socket
import ssl
import sys
from collections.abc import Iterable
from typing import Any

from ..exceptions import one_line
from .base import BaseServerBackend

#: How much of an import error a child process reports back.
_MAX_ERROR_BYTES = 4000
_PORTS = range(0, 65536)


def import_target(target: str) -> Any:
    """The object a ``module:attribute.path`` target names."""
    module_name, _, attribute = target.partition(":")
    found: Any = importlib.import_module(module_name)
    for part in attribute.split("."):
        found = getattr(found, part)
    return found


def import_application(backend: BaseServerBackend, target: str, *, isolated: bool = False) -> Any:
    """Import the application ``target`` names, or raise one ``InvalidBackendArgs`` line.

    ``isolated``: import it in a forked child and keep this process's modules as they are, for a
    server whose workers import the application themselves (gunicorn without ``preload``, where
    SIGHUP reloads the code only if the main process has not imported it). Returns the
    application when imported here, None when isolated.
    """
    if isolated and hasattr(os, "fork"):
        failure = _import_failure_in_child(target)
    else:
        try:
            return import_target(target)
        except Exception as e:
            failure = one_line(e)
    if failure:
        raise backend.error(f"the application {target!r} failed to import: {failure}")
    return None


def _import_failure_in_child(target: str) -> str:
    """Import ``target`` in a forked child; what went wrong, or "" if it imported."""
    sys.stdout.flush()
    sys.stderr.flush()
    read_end, write_end = os.pipe()
    pid = os.fork()
    if pid == 0:  # pragma: no cover - the child; coverage does not follow it
        status = 0
        try:
            os.close(read_end)
            try:
                import_target(target)
            except BaseException as e:  # SystemExit from an application module too
                os.write(write_end, one_line(e).encode(errors="replace")[:_MAX_ERROR_BYTES])
        except BaseException:
            status = 1
        finally:
            # No atexit handlers, no finalizers: the parent's files and connections stay intact.
            os._exit(status)
    os.close(write_end)
    with os.fdopen(read_end, "rb") as pipe:
        report = pipe.read().decode(errors="replace")
    _, status = os.waitpid(pid, 0)
    if not report and status != 0:
        return "the import ended its process"
    return report


def _shown(host: str, port: int) -> str:
    return f"[{host}]:{port}" if ":" in host else f"{host}:{port}"


def check_addresses_free(
    backend: BaseServerBackend, addresses: Iterable[tuple[str, int]], *, reuse_port: bool = False
) -> None:
    """Raise one line naming the first ``(host, port)`` that cannot be listened on.

    ``reuse_port``: the server sets ``SO_REUSEPORT``, so a port that other such sockets share is
    free for it too. Port 0 (any free port) is always free.
    """
    for host, port in addresses:
        if port == 0:
            continue
        problem = port_problem(port)
        if problem:  # from a configuration file, or a server that does not check the range
            raise backend.error(f"cannot listen on {_shown(host, port)}: {problem}.")
        family = socket.AF_INET6 if ":" in host else socket.AF_INET
        with socket.socket(family, socket.SOCK_STREAM) as probe:
            probe.setsockopt(socket.SOL_SOCKET, socket.SO_REUSEADDR, 1)
            if reuse_port and hasattr(socket, "SO_REUSEPORT"):
                probe.setsockopt(socket.SOL_SOCKET, socket.SO_REUSEPORT, 1)
            try:
                probe.bind((host, port))
            except OSError as e:
                reason = e.strerror or str(e)
                raise backend.error(
                    f"cannot listen on {_shown(host, port)}: {reason}. Is another server using it?"
                ) from e


def port_problem(port: object) -> str | None:
    """Why ``port`` is not a TCP port number, or None."""
    try:
        number = int(str(port))
    except ValueError:
        return f"{port!r} is not a port number"
    if number not in _PORTS:
        return f"a port is a number from 0 to 65535, not {number}"
    return None


def certificate_problem(
    certificate: str | os.PathLike[str], key: str | os.PathLike[str] | None, password: Any = None
) -> str | None:
    """Why a server could not load this certificate and key, or None. Reads both files."""
    context = ssl.SSLContext(ssl.PROTOCOL_TLS_SERVER)
    try:
        context.load_cert_chain(certificate, key or None, password or None)
    except (ssl.SSLError, OSError) as e:
        files = f"{os.fspath(certificate)!r}" + (f" and key {os.fspath(key)!r}" if key else "")
        reason = e.strerror if isinstance(e, OSError) and e.strerror else str(e)
        return f"the certificate {files} cannot be loaded: {reason}"
    return None


def inherits_sockets() -> bool:
    """Whether a supervisor (systemd socket activation) handed this process its sockets."""
    return bool(os.environ.get("LISTEN_FDS"))
