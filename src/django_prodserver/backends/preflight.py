"""What every server backend checks in the main process just before its server starts.

Settings can be right and the start still fail: the application raises on import, or another
process holds the port. Left to the servers, the first is a traceback per worker and, in the
servers that respawn workers, a crash loop; the second is a retry loop (gunicorn), a traceback
(waitress, uvicorn) or an error without the address (Granian). Checked here first, each is one
line naming the application or the address, and the process exits at once, before any worker.

- ``import_application`` imports the application, in this process or, for a server whose
  workers import it themselves, in a short-lived child process, and sends it the process's
  ``HEALTHCHECK`` request there (``warmup``): imported here, the application is then warm for
  every worker forked from this process;
- ``check_addresses_free`` binds each TCP address the server will listen on, and lets it go;
  ``check_unix_sockets`` checks each Unix socket's directory; ``check_start`` runs both for a
  ``StartPlan``, the start sequence of ``CommandLineBackend`` calls it;
- ``certificate_problem`` says why a TLS pair cannot be served (the sane ranges of numbers,
  and ``port_problem``, are in ``ranges``).

Like ``options``, this module imports no server package. Its names are public: a third-party
backend gets the same one-line errors by calling them.
"""

from __future__ import annotations

import dataclasses
import os
import socket
import ssl
import sys
from collections.abc import Iterable, Sequence
from pathlib import Path
from typing import Any

from .. import targets, warmup
from ..exceptions import one_line
from ..stop_signals import is_stop
from ..targets import import_target
from .base import BaseProcessBackend
from .ranges import port_problem

#: How much of an import error a child process reports back.
_MAX_ERROR_BYTES = 4000

#: Why a value holding a NUL character cannot work: no host, path or C string can hold one.
NUL_IN_VALUE = "it contains a NUL character ('\\x00'), which no host name or path can hold"


def import_application(backend: BaseProcessBackend, target: str, *, isolated: bool = False) -> Any:
    """Import the application ``target`` names, or raise one ``InvalidBackendArgs`` line.

    ``isolated``: import it in a forked child and keep this process's modules as they are, for a
    server whose workers import the application themselves (gunicorn without ``preload``, where
    SIGHUP reloads the code only if the main process has not imported it). Returns the
    application when imported here, None when isolated.

    Where it is imported, the application is checked to be callable with the interface the
    backend serves (``application_interface()``). With a ``HEALTHCHECK``, its request is then
    sent through the application; anything but 2xx raises ``WarmupFailure``.
    """
    path = backend.healthcheck()
    interface = backend.application_interface()
    if isolated and hasattr(os, "fork"):
        failure = _import_failure_in_child(target, path, interface)
    else:
        try:
            application = import_target(target)
        except BaseException as e:  # sys.exit() in the module too: a failed import, not a stop
            if is_stop(e):
                raise
            failure = one_line(e)
        else:
            _check_interface(backend, target, application, interface)
            warmup.warm_up(backend.process_name, application, path)
            return application
    if failure.startswith(_CANNOT_BE_SERVED):
        raise backend.error(
            f"the application {target!r} cannot be served: {failure[len(_CANNOT_BE_SERVED) :]}"
        )
    if failure.startswith(_WARMUP_FAILED):
        warmup.warm_up_failed(backend.process_name, failure[len(_WARMUP_FAILED) :])
    if failure:
        raise backend.error(f"the application {target!r} failed to import: {failure}")
    return None


_WARMUP_FAILED = "\0warm-up\0"  # marks a child's report of a failed warm-up request
_CANNOT_BE_SERVED = "\0i\0"  # marks a child's report of an application of the other interface


def _check_interface(
    backend: BaseProcessBackend, target: str, application: object, interface: str | None
) -> None:
    problem = interface and targets.interface_problem(application, interface)
    if problem:
        raise backend.error(f"the application {target!r} cannot be served: {problem}")


def _import_failure_in_child(
    target: str, healthcheck: str | None = None, interface: str | None = None
) -> str:
    """Import ``target`` in a forked child, check its ``interface`` and send it the
    ``healthcheck`` request; what went wrong, or "" if it imported (and answered 2xx)."""
    sys.stdout.flush()
    sys.stderr.flush()
    read_end, write_end = os.pipe()
    pid = os.fork()
    if pid == 0:  # pragma: no cover - the child; coverage does not follow it
        status = 0
        try:
            os.close(read_end)
            try:
                application = import_target(target)
            except BaseException as e:  # SystemExit from an application module too
                os.write(write_end, one_line(e).encode(errors="replace")[:_MAX_ERROR_BYTES])
            else:
                unfit = interface and targets.interface_problem(application, interface)
                problem = (
                    warmup.problem(application, healthcheck) if healthcheck and not unfit else None
                )
                if unfit or problem:
                    marked = _CANNOT_BE_SERVED + unfit if unfit else _WARMUP_FAILED + str(problem)
                    os.write(write_end, marked.encode(errors="replace")[:_MAX_ERROR_BYTES])
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
    backend: BaseProcessBackend, addresses: Iterable[tuple[str, int]], *, reuse_port: bool = False
) -> None:
    """Raise one line naming the first ``(host, port)`` that cannot be listened on.

    ``reuse_port``: the server sets ``SO_REUSEPORT``, so a port that other such sockets share is
    free for it too. Port 0 (any free port) is always free.
    """
    for host, port in addresses:
        if "\0" in host:
            raise backend.error(f"cannot listen on {_shown(host, port)}: {NUL_IN_VALUE}.")
        if port == 0:
            continue
        problem = port_problem(port)
        if problem:  # from a configuration file, or a server that does not check the range
            raise backend.error(f"cannot listen on {_shown(host, port)}: {problem}.")
        _check_resolvable(backend, host, port)
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


def _check_resolvable(backend: BaseProcessBackend, host: str, port: int) -> None:
    if not host:  # every interface
        return
    try:
        socket.getaddrinfo(host, port, type=socket.SOCK_STREAM, flags=socket.AI_PASSIVE)
    except (socket.gaierror, UnicodeError) as e:
        reason = e.strerror if isinstance(e, socket.gaierror) else str(e)
        raise backend.error(
            f"cannot listen on {_shown(host, port)}: the host {host!r} cannot be resolved "
            f"({reason}). Use an IP address, or a name this machine resolves."
        ) from e


def check_unix_sockets(backend: BaseProcessBackend, paths: Iterable[str]) -> None:
    """Raise one line naming the first Unix socket path that cannot be created: its directory
    is missing (the servers would end in a traceback), or the path holds a NUL character."""
    for path in paths:
        if "\0" in path:
            raise backend.error(f"cannot listen on the Unix socket {path!r}: {NUL_IN_VALUE}.")
        directory = Path(path).absolute().parent
        if not directory.is_dir():
            raise backend.error(
                f"cannot listen on the Unix socket {path!r}: the directory {str(directory)!r} does "
                f"not exist. Create it, or choose a path in an existing directory."
            )


def directory_problem(path: str) -> str | None:
    """Why a file cannot be created at ``path`` because its directory is missing, or None."""
    directory = Path(path).absolute().parent
    if directory.is_dir():
        return None
    return (
        f"the directory {str(directory)!r} does not exist. Create it, or choose a path in an "
        f"existing directory"
    )


@dataclasses.dataclass(frozen=True)
class StartPlan:
    """What one start of a server will do, as far as the pre-flight checks need to know.

    A backend reads it from the server's own parsed configuration, before anything binds.
    """

    #: The server's parsed configuration (a ``Config``, click's parameters, ``Adjustments``):
    #: what the backend's ``run()`` starts the server with.
    config: Any = None
    #: The TCP ``(host, port)`` addresses the server will listen on; none for sockets it
    #: inherits from a supervisor.
    addresses: Sequence[tuple[str, int]] = ()
    #: The Unix socket paths it will listen on.
    unix_sockets: Sequence[str] = ()
    #: Whether the server sets ``SO_REUSEPORT``: a port such sockets share is free for it.
    reuse_port: bool = False
    #: Whether the application is imported before the server starts.
    imports_application: bool = True
    #: Whether that import happens in a short-lived child, for a server whose workers import
    #: the application themselves (this process then stays free of it).
    isolated: bool = False


def check_start(backend: BaseProcessBackend, plan: StartPlan) -> None:
    """Every check of the addresses a start will listen on: one line for the first problem.

    The start sequence of ``CommandLineBackend`` calls it, after the arguments were checked and
    before the application is imported: each check added here applies to every such server.
    """
    check_addresses_free(backend, plan.addresses, reuse_port=plan.reuse_port)
    check_unix_sockets(backend, plan.unix_sockets)


class _NoPassword(Exception):
    """The key is encrypted and no password is given."""


def certificate_problem(
    certificate: str | os.PathLike[str], key: str | os.PathLike[str] | None, password: Any = None
) -> str | None:
    """Why a server could not load this certificate and key, or None. Reads both files."""
    asked = []

    def give_password() -> Any:
        # Without a callable, OpenSSL prompts on the terminal for an encrypted key's password.
        asked.append(True)
        if not password:
            raise _NoPassword
        return password

    context = ssl.SSLContext(ssl.PROTOCOL_TLS_SERVER)
    files = f"{os.fspath(certificate)!r}" + (f" and key {os.fspath(key)!r}" if key else "")
    try:
        context.load_cert_chain(certificate, key or None, give_password)
    except _NoPassword:
        return (
            f"the certificate {files} cannot be loaded: the key is encrypted and no password "
            f"is given; give its password, or decrypt it (openssl pkey -in KEY -out PLAIN_KEY)"
        )
    except (ssl.SSLError, OSError) as e:
        if asked and isinstance(e, ssl.SSLError) and e.reason != "KEY_VALUES_MISMATCH":
            reason = "the password given does not decrypt the key"
        elif isinstance(e, ssl.SSLError) and "PEM lib" in str(e):
            reason = "they are not a PEM certificate and key (OpenSSL: PEM lib)"
        else:
            reason = e.strerror if isinstance(e, OSError) and e.strerror else str(e)
        return f"the certificate {files} cannot be loaded: {reason}"
    return None


def inherits_sockets() -> bool:
    """Whether a supervisor (systemd socket activation) handed this process its sockets."""
    return bool(os.environ.get("LISTEN_FDS"))
