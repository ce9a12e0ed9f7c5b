"""The checks every server backend makes just before starting: the application, the port."""

from __future__ import annotations

import socket
import sys
from collections.abc import Iterator
from pathlib import Path

import pytest

from django_prodserver.backends import preflight, ranges
from django_prodserver.backends.base import BaseServerBackend
from django_prodserver.exceptions import InvalidBackendArgs


def backend() -> BaseServerBackend:
    return BaseServerBackend(process_name="web")


@pytest.fixture
def broken_module(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> Iterator[str]:
    (tmp_path / "preflight_broken.py").write_text("raise RuntimeError('boom\\nsecond line')\n")
    monkeypatch.syspath_prepend(str(tmp_path))
    yield "preflight_broken:application"
    sys.modules.pop("preflight_broken", None)


@pytest.mark.parametrize("isolated", [False, True])
def test_import_failure_is_one_line(broken_module: str, isolated: bool) -> None:
    with pytest.raises(InvalidBackendArgs) as caught:
        preflight.import_application(backend(), broken_module, isolated=isolated)
    assert caught.value.message == (
        "Process 'web': the application 'preflight_broken:application' failed to import: "
        "RuntimeError: boom second line"
    )


def test_isolated_import_leaves_this_process_alone() -> None:
    sys.modules.pop("testsite.wsgi", None)
    assert (
        preflight.import_application(backend(), "testsite.wsgi:application", isolated=True) is None
    )
    assert "testsite.wsgi" not in sys.modules


def test_import_here_returns_the_application() -> None:
    application = preflight.import_application(backend(), "testsite.wsgi:application")
    assert callable(application)


def test_a_missing_attribute_is_an_import_failure() -> None:
    with pytest.raises(InvalidBackendArgs) as caught:
        preflight.import_application(backend(), "testsite.wsgi:nothing", isolated=True)
    assert caught.value.message.endswith(
        "AttributeError: module 'testsite.wsgi' has no attribute 'nothing'"
    )


def test_busy_address_is_named() -> None:
    with socket.socket() as occupant:
        occupant.bind(("127.0.0.1", 0))
        occupant.listen()
        port = occupant.getsockname()[1]
        with pytest.raises(InvalidBackendArgs) as caught:
            preflight.check_addresses_free(backend(), [("127.0.0.1", port)])
    assert caught.value.message == (
        f"Process 'web': cannot listen on 127.0.0.1:{port}: Address already in use. "
        f"Is another server using it?"
    )


def test_free_addresses_and_port_0_pass() -> None:
    with socket.socket() as probe:
        probe.bind(("127.0.0.1", 0))
        port = probe.getsockname()[1]
    preflight.check_addresses_free(backend(), [("127.0.0.1", port), ("127.0.0.1", 0)])


def test_port_out_of_range_is_named() -> None:
    with pytest.raises(InvalidBackendArgs) as caught:
        preflight.check_addresses_free(backend(), [("::1", 70000)])
    assert caught.value.message == (
        "Process 'web': cannot listen on [::1]:70000: a port is a number from 0 to 65535, "
        "not 70000."
    )


@pytest.mark.parametrize(
    ("port", "problem"),
    [
        (8000, None),
        ("0", None),
        (65536, "a port is a number from 0 to 65535, not 65536"),
        (-1, "a port is a number from 0 to 65535, not -1"),
        ("http", "'http' is not a port number"),
    ],
)
def test_port_problem(port: object, problem: str | None) -> None:
    assert preflight.port_problem(port) == problem


def test_certificate_problem(tmp_path: Path) -> None:
    missing = tmp_path / "missing.pem"
    assert preflight.certificate_problem(missing, None) == (
        f"the certificate {str(missing)!r} cannot be loaded: No such file or directory"
    )
    trustme = pytest.importorskip("trustme")
    issued = trustme.CA().issue_cert("127.0.0.1")
    cert, key = tmp_path / "cert.pem", tmp_path / "key.pem"
    cert.write_bytes(b"".join(blob.bytes() for blob in issued.cert_chain_pems))
    key.write_bytes(issued.private_key_pem.bytes())
    assert preflight.certificate_problem(cert, key) is None


@pytest.fixture
def tls_files(tmp_path: Path) -> dict[str, Path]:
    trustme = pytest.importorskip("trustme")
    serialization = pytest.importorskip("cryptography.hazmat.primitives.serialization")
    issued = trustme.CA().issue_cert("127.0.0.1")
    key = serialization.load_pem_private_key(issued.private_key_pem.bytes(), password=None)
    encrypted = key.private_bytes(
        serialization.Encoding.PEM,
        serialization.PrivateFormat.PKCS8,
        serialization.BestAvailableEncryption(b"pa55word"),
    )
    files = {
        "cert": issued.cert_chain_pems[0].bytes(),
        "encrypted": encrypted,
        "junk": b"-----BEGIN CERTIFICATE-----\nnot base64\n-----END CERTIFICATE-----\n",
    }
    for name, data in files.items():
        (tmp_path / f"{name}.pem").write_bytes(data)
    return {name: tmp_path / f"{name}.pem" for name in files}


def test_an_encrypted_key_without_its_password_is_named_without_a_prompt(
    tls_files: dict[str, Path], capfd: pytest.CaptureFixture[str]
) -> None:
    cert, key = tls_files["cert"], tls_files["encrypted"]
    assert preflight.certificate_problem(cert, key) == (
        f"the certificate {str(cert)!r} and key {str(key)!r} cannot be loaded: the key is "
        "encrypted and no password is given; give its password, or decrypt it (openssl pkey "
        "-in KEY -out PLAIN_KEY)"
    )
    # OpenSSL's own fallback asks 'Enter PEM pass phrase:' on the terminal, and waits there.
    assert capfd.readouterr() == ("", "")
    assert preflight.certificate_problem(cert, key, "pa55word") is None


def test_a_wrong_password_and_a_file_that_is_no_pem_are_said_in_words(
    tls_files: dict[str, Path],
) -> None:
    cert, key, junk = tls_files["cert"], tls_files["encrypted"], tls_files["junk"]
    assert preflight.certificate_problem(cert, key, "hunter2") == (
        f"the certificate {str(cert)!r} and key {str(key)!r} cannot be loaded: the password "
        "given does not decrypt the key"
    )
    assert preflight.certificate_problem(junk, key, "pa55word") == (
        f"the certificate {str(junk)!r} and key {str(key)!r} cannot be loaded: they are not a "
        "PEM certificate and key (OpenSSL: PEM lib)"
    )


def test_inherited_sockets(monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.delenv("LISTEN_FDS", raising=False)
    assert not preflight.inherits_sockets()
    monkeypatch.setenv("LISTEN_FDS", "1")
    assert preflight.inherits_sockets()


def test_a_nul_character_in_a_host_is_named() -> None:
    with pytest.raises(InvalidBackendArgs) as caught:
        preflight.check_addresses_free(backend(), [("127.0.0.1\0", 8000)])
    assert caught.value.message == (
        "Process 'web': cannot listen on 127.0.0.1\0:8000: it contains a NUL character ('\\x00'), "
        "which no host name or path can hold."
    )


def resolver_error(host: str) -> str:
    """What this machine's resolver says about ``host`` (glibc, musl and Python word it alike
    only roughly)."""
    try:
        socket.getaddrinfo(host, 8000, type=socket.SOCK_STREAM, flags=socket.AI_PASSIVE)
    except socket.gaierror as e:
        return str(e.strerror)
    except UnicodeError as e:
        return str(e)
    raise AssertionError(f"{host!r} resolves here")


@pytest.mark.parametrize("host", ["no-such-host.invalid", "x" * 64 + ".example"])
def test_a_host_that_does_not_resolve_is_named(host: str) -> None:
    with pytest.raises(InvalidBackendArgs) as caught:
        preflight.check_addresses_free(backend(), [(host, 8000)])
    assert caught.value.message == (
        f"Process 'web': cannot listen on {host}:8000: the host {host!r} cannot be resolved "
        f"({resolver_error(host)}). Use an IP address, or a name this machine resolves."
    )


def test_the_empty_host_is_every_interface() -> None:
    with socket.socket() as probe:
        probe.bind(("127.0.0.1", 0))
        port = probe.getsockname()[1]
    preflight.check_addresses_free(backend(), [("", port)])


def test_a_unix_socket_in_a_missing_directory_is_named(tmp_path: Path) -> None:
    path = tmp_path / "missing" / "web.sock"
    with pytest.raises(InvalidBackendArgs) as caught:
        preflight.check_unix_sockets(backend(), [str(path)])
    assert caught.value.message == (
        f"Process 'web': cannot listen on the Unix socket {str(path)!r}: the directory "
        f"{str(path.parent)!r} does not exist. Create it, or choose a path in an existing "
        f"directory."
    )


def test_a_unix_socket_path_with_a_nul_character_is_named(tmp_path: Path) -> None:
    with pytest.raises(InvalidBackendArgs) as caught:
        preflight.check_unix_sockets(backend(), ["/tmp/web\0.sock"])
    assert caught.value.message == (
        "Process 'web': cannot listen on the Unix socket '/tmp/web\\x00.sock': it contains a NUL "
        "character ('\\x00'), which no host name or path can hold."
    )


def test_check_start_checks_the_addresses_then_the_sockets(tmp_path: Path) -> None:
    with socket.socket() as probe:
        probe.bind(("127.0.0.1", 0))
        port = probe.getsockname()[1]
    fine = preflight.StartPlan(addresses=[("127.0.0.1", port)], unix_sockets=[f"{tmp_path}/s"])
    preflight.check_start(backend(), fine)
    missing = preflight.StartPlan(unix_sockets=[f"{tmp_path}/missing/s"])
    with pytest.raises(InvalidBackendArgs) as caught:
        preflight.check_start(backend(), missing)
    assert caught.value.message == (
        f"Process 'web': cannot listen on the Unix socket '{tmp_path}/missing/s': the directory "
        f"'{tmp_path}/missing' does not exist. Create it, or choose a path in an existing "
        f"directory."
    )


@pytest.mark.parametrize(
    ("value", "bound", "problem"),
    [
        (1, ranges.COUNT, None),
        ("10000", ranges.COUNT, None),
        (10**6, ranges.COUNT, "it must be from 1 to 10000"),
        (0, ranges.COUNT, "it must be from 1 to 10000"),
        (10**12, ranges.BACKLOG, "it must be from 0 to 65535"),
        ("0.5", ranges.SECONDS, None),
        (10**20, ranges.SECONDS, "it must be from 0 to 604800"),
        ("nan", ranges.SECONDS, "it must be from 0 to 604800"),
        ("inf", ranges.CONNECTIONS, "it must be from 1 to 1000000"),
        (ranges.Bound(0.5, 2.5), None, None),
        ("many", ranges.COUNT, None),  # not a number: the server's parser says so
    ],
)
def test_bound_problem(value: object, bound: ranges.Bound | None, problem: str | None) -> None:
    if bound is None:  # a bound with fractions shows them
        assert ranges.bound_problem(3, value) == "it must be from 0.5 to 2.5"  # type: ignore[arg-type]
        return
    assert ranges.bound_problem(value, bound) == problem


def test_directory_problem(tmp_path: Path) -> None:
    assert preflight.directory_problem(str(tmp_path / "access.log")) is None
    assert preflight.directory_problem(str(tmp_path / "no" / "access.log")) == (
        f"the directory {str(tmp_path / 'no')!r} does not exist. Create it, or choose a path in "
        "an existing directory"
    )


@pytest.fixture
def applications(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> Iterator[str]:
    """A module of applications, right and wrong: its name."""
    (tmp_path / "preflight_apps.py").write_text(
        "import sys\n"
        "from django.core.asgi import get_asgi_application\n"
        "from django.core.wsgi import get_wsgi_application\n"
        "number = 42\n"
        "wsgi = get_wsgi_application()\n"
        "asgi = get_asgi_application()\n"
    )
    (tmp_path / "preflight_exits.py").write_text("import sys\nsys.exit(0)\n")
    monkeypatch.syspath_prepend(str(tmp_path))
    yield "preflight_apps"
    for module in ("preflight_apps", "preflight_exits"):
        sys.modules.pop(module, None)


class ASGIServer(BaseServerBackend):
    def application_interface(self) -> str:
        return "asgi"


class WSGIServer(BaseServerBackend):
    def application_interface(self) -> str:
        return "wsgi"


FIX = {
    "asgi": "Set ASGI_APPLICATION to your project's ASGI application, such as "
    "'mysite.asgi.application'.",
    "wsgi": "Set WSGI_APPLICATION to your project's WSGI application, such as "
    "'mysite.wsgi.application'.",
}


@pytest.mark.parametrize("isolated", [False, True])
@pytest.mark.parametrize(
    ("server", "attribute", "problem"),
    [
        (WSGIServer, "number", "it is 42, of type int, not an application."),
        (ASGIServer, "wsgi", "it is a WSGI application, and this server calls an ASGI one."),
        (WSGIServer, "asgi", "it is an ASGI application, and this server calls a WSGI one."),
    ],
)
def test_an_application_the_server_cannot_call_does_not_start(
    applications: str,
    isolated: bool,
    server: type[BaseServerBackend],
    attribute: str,
    problem: str,
) -> None:
    target = f"{applications}:{attribute}"
    interface = server(process_name="web").application_interface()
    with pytest.raises(InvalidBackendArgs) as caught:
        preflight.import_application(server(process_name="web"), target, isolated=isolated)
    assert caught.value.message == (
        f"Process 'web': the application {target!r} cannot be served: {problem} {FIX[interface]}"
    )


@pytest.mark.parametrize("isolated", [False, True])
def test_an_application_of_the_right_interface_is_served(applications: str, isolated: bool) -> None:
    for server, attribute in [(WSGIServer, "wsgi"), (ASGIServer, "asgi")]:
        target = f"{applications}:{attribute}"
        imported = preflight.import_application(server(), target, isolated=isolated)
        assert (imported is None) if isolated else callable(imported)


@pytest.mark.parametrize("isolated", [False, True])
def test_an_application_module_that_exits_failed_to_import(
    applications: str, isolated: bool
) -> None:
    with pytest.raises(InvalidBackendArgs) as caught:
        preflight.import_application(backend(), "preflight_exits:application", isolated=isolated)
    assert caught.value.message == (
        "Process 'web': the application 'preflight_exits:application' failed to import: "
        "SystemExit: 0"
    )


def test_a_stop_while_the_application_imports_stays_a_stop(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    from django_prodserver.stop_signals import StopRequested

    (tmp_path / "preflight_stopped.py").write_text(
        "from django_prodserver.stop_signals import StopRequested\nraise StopRequested(0)\n"
    )
    monkeypatch.syspath_prepend(str(tmp_path))
    with pytest.raises(StopRequested):
        preflight.import_application(backend(), "preflight_stopped:application")
