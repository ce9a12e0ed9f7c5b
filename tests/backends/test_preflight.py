"""The checks every server backend makes just before starting: the application, the port."""

from __future__ import annotations

import socket
import sys
from collections.abc import Iterator
from pathlib import Path

import pytest

from django_prodserver.backends import _preflight
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
        _preflight.import_application(backend(), broken_module, isolated=isolated)
    assert caught.value.message == (
        "Process 'web': the application 'preflight_broken:application' failed to import: "
        "RuntimeError: boom second line"
    )


def test_isolated_import_leaves_this_process_alone() -> None:
    sys.modules.pop("testsite.wsgi", None)
    assert (
        _preflight.import_application(backend(), "testsite.wsgi:application", isolated=True) is None
    )
    assert "testsite.wsgi" not in sys.modules


def test_import_here_returns_the_application() -> None:
    application = _preflight.import_application(backend(), "testsite.wsgi:application")
    assert callable(application)


def test_a_missing_attribute_is_an_import_failure() -> None:
    with pytest.raises(InvalidBackendArgs) as caught:
        _preflight.import_application(backend(), "testsite.wsgi:nothing", isolated=True)
    assert caught.value.message.endswith(
        "AttributeError: module 'testsite.wsgi' has no attribute 'nothing'"
    )


def test_busy_address_is_named() -> None:
    with socket.socket() as occupant:
        occupant.bind(("127.0.0.1", 0))
        occupant.listen()
        port = occupant.getsockname()[1]
        with pytest.raises(InvalidBackendArgs) as caught:
            _preflight.check_addresses_free(backend(), [("127.0.0.1", port)])
    assert caught.value.message == (
        f"Process 'web': cannot listen on 127.0.0.1:{port}: Address already in use. "
        f"Is another server using it?"
    )


def test_free_addresses_and_port_0_pass() -> None:
    with socket.socket() as probe:
        probe.bind(("127.0.0.1", 0))
        port = probe.getsockname()[1]
    _preflight.check_addresses_free(backend(), [("127.0.0.1", port), ("127.0.0.1", 0)])


def test_port_out_of_range_is_named() -> None:
    with pytest.raises(InvalidBackendArgs) as caught:
        _preflight.check_addresses_free(backend(), [("::1", 70000)])
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
    assert _preflight.port_problem(port) == problem


def test_certificate_problem(tmp_path: Path) -> None:
    missing = tmp_path / "missing.pem"
    assert _preflight.certificate_problem(missing, None) == (
        f"the certificate {str(missing)!r} cannot be loaded: No such file or directory"
    )
    trustme = pytest.importorskip("trustme")
    issued = trustme.CA().issue_cert("127.0.0.1")
    cert, key = tmp_path / "cert.pem", tmp_path / "key.pem"
    cert.write_bytes(b"".join(blob.bytes() for blob in issued.cert_chain_pems))
    key.write_bytes(issued.private_key_pem.bytes())
    assert _preflight.certificate_problem(cert, key) is None


def test_inherited_sockets(monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.delenv("LISTEN_FDS", raising=False)
    assert not _preflight.inherits_sockets()
    monkeypatch.setenv("LISTEN_FDS", "1")
    assert _preflight.inherits_sockets()
