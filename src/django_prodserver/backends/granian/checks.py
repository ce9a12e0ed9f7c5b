"""What Granian would reject only after starting, or not at all, rejected before it starts.

Granian's command line checks types, lower bounds and choices; these checks add what it leaves to
its workers (which fail one by one, in a crash loop or a Rust panic of many lines) or lets pass:
HTTPS files that do not load, a key the installed Granian cannot read, packages an option needs,
a Unix socket in a missing directory, values too large to mean anything, and ``GRANIAN_*``
variables that only Granian's own command reads.
"""

from __future__ import annotations

import importlib.util
import shlex
import sys
from collections.abc import Mapping
from pathlib import Path
from typing import Any

from granian.cli import cli as granian_cli

from ...redact import shown
from ..base import BaseProcessBackend
from ..preflight import certificate_problem, check_unix_sockets
from ..ranges import BACKLOG, CONNECTIONS, COUNT, SECONDS, Bound, bound_problem, port_problem
from . import versions
from .options import Origins, origin_key

#: The sane range of each number Granian leaves unbounded above (its parser checks the lower
#: bounds): larger values make it start a million processes, or overflow in a worker (backlog
#: 10**12 is an OverflowError there). The shared ranges of every backend, where one applies.
BOUNDS = {
    **dict.fromkeys(
        ["workers", "blocking_threads", "runtime_threads", "runtime_blocking_threads"], COUNT
    ),
    "backlog": BACKLOG,
    "backpressure": CONNECTIONS,
    **dict.fromkeys(["respawn_interval", "workers_lifetime", "http2_keep_alive_timeout"], SECONDS),
    "metrics_port": Bound(0, 65535),
    # A cache lifetime: a year is the usual one for collected static files.
    "static_path_expires": Bound(0, 365 * 24 * 3600),
}
#: Any other number must fit the 32-bit integer Granian's Rust side takes.
ANY_NUMBER = Bound(0, 2**31 - 1)


def environment_warnings(backend: BaseProcessBackend, environ: Mapping[str, str]) -> list[str]:
    """A warning for each ``GRANIAN_*`` variable of Granian's command line that is set.

    The ``granian`` command reads them; this backend starts Granian through its Python API,
    which does not, and takes its options from ARGS alone (and PORT and WEB_CONCURRENCY).
    """
    flags = {
        f"GRANIAN_{str(param.name).upper()}": param.opts[0]
        for param in granian_cli.params
        if param.name != "version"
    }
    where = f"Process {backend.process_name!r}: " if backend.process_name else ""
    warnings = []
    for variable in sorted(name for name in environ if name in flags):
        flag = flags[variable]
        if flag.startswith("--"):
            fix = f"set {flag[2:]!r} in ARGS instead"
        else:  # the application argument
            fix = "the application comes from WSGI_APPLICATION or ASGI_APPLICATION"
        warnings.append(
            f"{where}{variable} is set, but only the granian command reads it; prodserver "
            f"starts Granian with the options of ARGS, so it has no effect: {fix}, and unset "
            f"{variable}."
        )
    return warnings


def check_combination(
    backend: BaseProcessBackend, kwargs: dict[str, Any], origins: Origins
) -> None:
    """What Granian would reject only after starting, or not at all, rejected now."""
    _check_ssl(backend, kwargs, origins)
    _check_uds(backend, kwargs)
    threads = kwargs.get("blocking_threads", 1)
    if (
        versions.SINGLE_BLOCKING_THREAD_OUTSIDE_WSGI
        and kwargs["interface"] != "wsgi"
        and threads > 1
    ):
        key = origin_key(origins, "blocking_threads", "--blocking-threads")
        raise backend.error(
            f"ARGS[{key!r}] is {threads}, but Granian {versions.GRANIAN_VERSION} runs ASGI with "
            f"one blocking thread per worker. Use more 'workers', or BACKEND 'granian-wsgi'."
        )
    for keyword, (module, hint) in versions.OPTIONAL_PACKAGES.items():
        if kwargs.get(keyword) and importlib.util.find_spec(module) is None:
            option = keyword.replace("_", "-")
            raise backend.error(
                f"Granian's {option!r} option needs the {module!r} package, which is not "
                f"installed. Install it with: {hint}"
            )
    _check_loop(backend, kwargs.get("loop"), origins)


def check_ranges(backend: BaseProcessBackend, given: dict[str, Any], origins: Origins) -> None:
    """Reject a number Granian cannot use; ``given`` is the options its parser accepted."""
    params = {param.name: param for param in granian_cli.params}
    for name, value in given.items():
        if isinstance(value, bool) or not isinstance(value, (int, float)):
            continue
        if name == "port":  # in the words every backend uses for a port
            problem = port_problem(value)
        else:
            bound = BOUNDS.get(name, ANY_NUMBER)
            smallest = getattr(params[name].type, "min", None)  # Granian's own lower bound
            if smallest is not None:
                bound = Bound(max(smallest, bound.low), bound.high)
            problem = bound_problem(value, bound)
        if problem:
            key = origin_key(origins, name, params[name].opts[0])
            raise backend.error(f"ARGS[{key!r}] is {value!r}, which is out of range: {problem}.")


def _check_ssl(backend: BaseProcessBackend, kwargs: dict[str, Any], origins: Origins) -> None:
    cert, key = kwargs.get("ssl_cert"), kwargs.get("ssl_key")
    if cert is None and key is None:
        return
    if cert is None or key is None:
        missing = "ssl-certificate" if cert is None else "ssl-keyfile"
        # Granian would silently serve plain HTTP.
        raise backend.error(
            f"HTTPS needs both 'ssl-certificate' and 'ssl-keyfile'; set {missing!r}."
        )
    password = kwargs.get("ssl_key_password")
    problem = certificate_problem(cert, key, password)
    if problem:
        raise backend.error(problem + ".")
    if password:
        _check_encrypted_key(backend, Path(key), password, origins)


def _check_encrypted_key(
    backend: BaseProcessBackend, key: Path, password: object, origins: Origins
) -> None:
    # With a password, Granian reads only a PKCS#8 "ENCRYPTED PRIVATE KEY"; anything else, or
    # any such key on 2.8, Python's ssl accepts and each worker then fails on ("Invalid key").
    option = origin_key(origins, "ssl_keyfile_password", "--ssl-keyfile-password")
    pem = key.read_bytes()
    if b"-----BEGIN ENCRYPTED PRIVATE KEY-----" not in pem:
        if b"Proc-Type: 4,ENCRYPTED" not in pem:  # an OpenSSL-encrypted PKCS#1 or SEC1 key
            raise backend.error(
                f"ARGS[{option!r}] is {shown(option, password)!r}, but the key {str(key)!r} "
                f"has no password, and Granian would fail to read it. Remove ARGS[{option!r}]."
            )
        raise backend.error(
            f"Granian reads a password-protected key only as PKCS#8 ('BEGIN ENCRYPTED PRIVATE "
            f"KEY'), and {str(key)!r} is not. Convert it: openssl pkcs8 -topk8 -in "
            f"{shlex.quote(str(key))} -out NEW_KEY"
        )
    if not versions.READS_ENCRYPTED_KEYS:
        raise backend.error(
            f"Granian {versions.GRANIAN_VERSION} cannot read a password-protected key: each "
            f"worker would fail with 'Invalid key'. Remove the password (openssl pkey -in "
            f"{shlex.quote(str(key))} -out NEW_KEY) and ARGS[{option!r}], or install "
            f"'granian<2.8'."
        )


def _check_uds(backend: BaseProcessBackend, kwargs: dict[str, Any]) -> None:
    # Granian would fail in its worker, with 141 lines of traceback.
    if kwargs.get("uds") is not None:
        check_unix_sockets(backend, [str(kwargs["uds"])])


def _check_loop(backend: BaseProcessBackend, loop: Any, origins: Origins) -> None:
    # Granian would start, and each worker die with "'uvloop' implementation not available".
    if loop not in versions.LOOP_PACKAGES or importlib.util.find_spec(loop) is not None:
        return
    key = origin_key(origins, "loop", "--loop")
    if loop == "winloop" and sys.platform != "win32":
        raise backend.error(
            f"ARGS[{key!r}] is 'winloop', the event loop for Windows. On this system use "
            f"'uvloop' or 'rloop', or leave {key!r} at 'auto'."
        )
    raise backend.error(
        f"ARGS[{key!r}] is {loop!r}: Granian's {loop!r} event loop needs the {loop!r} "
        f"package, which is not installed. Install it with: {versions.LOOP_PACKAGES[loop]}, or "
        f"leave {key!r} at 'auto'."
    )
