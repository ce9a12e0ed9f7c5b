"""Granian's production defaults and the checks of ``backends/granian/checks.py``, without a server.

What Granian itself does with each of these values (a worker panic, a crash loop, a silent
default) is shown for real in tests/integration/test_granian_hostile.py.
"""

from __future__ import annotations

from pathlib import Path
from typing import Any

import pytest

from django_prodserver.backends.granian import GRANIAN_VERSION, versions

from .test_granian import GRANIAN, Served, error_for, kwargs_for, make, served, since, start

__all__ = ["served"]  # the fixture, used by name

PASSWORD = "s3cret"


# -- respawn-failed-workers, on unless ARGS turns it off ----------------------------------------


@pytest.mark.parametrize("alias", ["granian-wsgi", "granian-asgi"])
def test_a_failed_worker_is_respawned_by_default(alias: str) -> None:
    assert kwargs_for({}, alias)["respawn_failed_workers"] is True


@pytest.mark.parametrize(
    ("args", "respawn"),
    [
        ({"respawn-failed-workers": False}, False),
        ({"respawn_failed_workers": "off"}, False),
        ({"no-respawn-failed-workers": True}, False),
        ("--no-respawn-failed-workers", False),
        (["--no-respawn-failed-workers"], False),
        ({"respawn-failed-workers": True}, True),
        ({"respawn-failed-workers": None}, True),
    ],
)
def test_args_decide_respawning(args: Any, respawn: bool) -> None:
    assert kwargs_for(args)["respawn_failed_workers"] is respawn


def test_respawning_reaches_granian(served: Served) -> None:
    start(make("granian-wsgi", {"port": 0}))
    assert served.server.respawn_failed_workers is True
    start(make("granian-wsgi", {"port": 0, "respawn-failed-workers": False}))
    assert served.server.respawn_failed_workers is False


def test_none_leaves_an_option_that_takes_a_value_at_granians_default() -> None:
    server = make("granian-wsgi", {"workers": None, "backlog": 256})
    assert server.prep_server_args() == ["--backlog=256"]
    assert "workers" not in kwargs_for({"workers": None})


# -- numbers too large ---------------------------------------------------------------------------

# (ARGS, the value as the message names it, the accepted range: the shared one, from Granian's
# own lower bound where it has one)
OUT_OF_RANGE = [
    ({"workers": 10**6}, "ARGS['workers'] is 1000000", "1 to 10000"),
    ({"threads": 20000}, "ARGS['threads'] is 20000", "1 to 10000"),
    ({"backlog": 10**12}, "ARGS['backlog'] is 1000000000000", "128 to 65535"),
    ("--backlog=70000", "ARGS['--backlog'] is 70000", "128 to 65535"),
    ({"backpressure": 10**7}, "ARGS['backpressure'] is 10000000", "1 to 1000000"),
    ({"respawn-interval": 1e20}, "ARGS['respawn-interval'] is 1e+20", "0 to 604800"),
    (
        {"workers-lifetime": 10**20},
        "ARGS['workers-lifetime'] is 100000000000000000000",
        "60 to 604800",
    ),
    (
        {"http1-buffer-size": 10**20},
        "ARGS['http1-buffer-size'] is 100000000000000000000",
        "8192 to 2147483647",
    ),
    ({"respawn-interval": -1}, "ARGS['respawn-interval'] is -1.0", "0 to 604800"),
    ({"respawn-interval": "nan"}, "ARGS['respawn-interval'] is nan", "0 to 604800"),
    ({"respawn-interval": "inf"}, "ARGS['respawn-interval'] is inf", "0 to 604800"),
    since((2, 7), {"metrics-port": 70000}, "ARGS['metrics-port'] is 70000", "0 to 65535"),
]


@pytest.mark.parametrize(("args", "value", "accepted"), OUT_OF_RANGE)
def test_a_number_out_of_range_is_refused(args: Any, value: str, accepted: str) -> None:
    assert error_for(args) == (
        f"Process 'web': {value}, which is out of range: it must be from {accepted}."
    )


@pytest.mark.parametrize(
    "args",
    [
        {"workers": 10000, "backlog": 65535, "threads": 10000},
        {"respawn-interval": 604800, "workers-lifetime": 604800},
        {"http1-buffer-size": 2**31 - 1},
    ],
)
def test_the_largest_accepted_numbers_pass(args: dict[str, Any]) -> None:
    kwargs = kwargs_for(args)
    for key, value in args.items():
        name = "blocking_threads" if key == "threads" else key.replace("-", "_")
        found = (
            kwargs["http1_settings"].max_buffer_size if name.startswith("http1") else kwargs[name]
        )
        assert found == value


@pytest.mark.skipif(GRANIAN < (2, 3), reason="static files need Granian 2.3")
def test_a_static_cache_lifetime_may_be_a_year() -> None:
    assert kwargs_for({"static-path-expires": 31536000})["static_path_expires"] == 31536000
    assert error_for({"static-path-expires": 31536001}) == (
        "Process 'web': ARGS['static-path-expires'] is 31536001, which is out of range: it must "
        "be from 0 to 31536000."
    )


def test_a_port_out_of_range_is_refused_before_the_start() -> None:
    # In the words of every backend's port check, so --dry-run and `check` refuse it too.
    assert error_for({"port": 70000}) == (
        "Process 'web': ARGS['port'] is 70000, which is out of range: a port is a number from 0 "
        "to 65535, not 70000."
    )
    assert kwargs_for({"port": 65535})["port"] == 65535


# -- a Unix socket in a missing directory --------------------------------------------------------

needs_uds = pytest.mark.skipif(GRANIAN < (2, 5), reason="Unix sockets need Granian 2.5")


@needs_uds
@pytest.mark.parametrize("written", ["dict", "string"])
def test_a_unix_socket_in_a_missing_directory_is_refused(tmp_path: Path, written: str) -> None:
    socket_path = tmp_path / "missing" / "web.sock"
    args = {"uds": socket_path} if written == "dict" else f"--uds {socket_path}"
    assert error_for(args) == (
        f"Process 'web': cannot listen on the Unix socket '{socket_path}': the directory "
        f"'{socket_path.parent}' does not exist. Create it, or choose a path in an existing "
        f"directory."
    )


@needs_uds
def test_a_unix_socket_in_an_existing_directory_passes(tmp_path: Path) -> None:
    assert kwargs_for({"uds": tmp_path / "web.sock"})["uds"] == tmp_path / "web.sock"


# -- a password-protected key --------------------------------------------------------------------


def _key_files(certificate: tuple[Path, Path], form: str) -> tuple[Path, Path]:
    from cryptography.hazmat.primitives import serialization

    cert, plain = certificate
    key = serialization.load_pem_private_key(plain.read_bytes(), password=None)
    formats = {
        "pkcs8": (serialization.PrivateFormat.PKCS8, True),
        "traditional": (serialization.PrivateFormat.TraditionalOpenSSL, True),
        "unencrypted": (serialization.PrivateFormat.PKCS8, False),
    }
    private_format, encrypted = formats[form]
    encryption = (
        serialization.BestAvailableEncryption(PASSWORD.encode())
        if encrypted
        else serialization.NoEncryption()
    )
    path = plain.with_name(f"{form}.pem")
    path.write_bytes(key.private_bytes(serialization.Encoding.PEM, private_format, encryption))
    return cert, path


def _with_password(cert: Path, key: Path) -> dict[str, Any]:
    return {"ssl-certificate": cert, "ssl-keyfile": key, "ssl-keyfile-password": PASSWORD}


def test_a_pkcs8_key_with_its_password_is_refused_where_granian_cannot_read_it(
    certificate: tuple[Path, Path], monkeypatch: pytest.MonkeyPatch
) -> None:
    monkeypatch.setattr(versions, "READS_ENCRYPTED_KEYS", False)  # as on Granian 2.8
    cert, key = _key_files(certificate, "pkcs8")
    assert error_for(_with_password(cert, key)) == (
        f"Process 'web': Granian {GRANIAN_VERSION} cannot read a password-protected key: each "
        f"worker would fail with 'Invalid key'. Remove the password (openssl pkey -in {key} "
        f"-out NEW_KEY) and ARGS['ssl-keyfile-password'], or install 'granian<2.8'."
    )


def test_a_pkcs8_key_with_its_password_passes_where_granian_reads_it(
    certificate: tuple[Path, Path], monkeypatch: pytest.MonkeyPatch
) -> None:
    monkeypatch.setattr(versions, "READS_ENCRYPTED_KEYS", True)  # as on Granian 1.x to 2.7
    cert, key = _key_files(certificate, "pkcs8")
    kwargs = kwargs_for(_with_password(cert, key))
    assert (kwargs["ssl_key"], kwargs["ssl_key_password"]) == (key, PASSWORD)


def test_the_installed_granian_reads_encrypted_keys_up_to_2_7() -> None:
    assert versions.READS_ENCRYPTED_KEYS is (GRANIAN < (2, 8))


def test_an_encrypted_traditional_key_is_refused(certificate: tuple[Path, Path]) -> None:
    cert, key = _key_files(certificate, "traditional")
    assert error_for(_with_password(cert, key)) == (
        f"Process 'web': Granian reads a password-protected key only as PKCS#8 ('BEGIN "
        f"ENCRYPTED PRIVATE KEY'), and '{key}' is not. Convert it: openssl pkcs8 -topk8 -in "
        f"{key} -out NEW_KEY"
    )


def test_a_password_for_a_key_without_one_is_refused(certificate: tuple[Path, Path]) -> None:
    cert, key = _key_files(certificate, "unencrypted")
    args = {"ssl-certificate": cert, "ssl-keyfile": key, "ssl_keyfile_password": PASSWORD}
    assert error_for(args) == (
        f"Process 'web': ARGS['ssl_keyfile_password'] is '***', but the key '{key}' has no "
        f"password, and Granian would fail to read it. Remove ARGS['ssl_keyfile_password']."
    )


def test_a_wrong_password_is_refused(certificate: tuple[Path, Path]) -> None:
    cert, key = _key_files(certificate, "pkcs8")
    args = {**_with_password(cert, key), "ssl-keyfile-password": "wrong"}
    assert error_for(args).startswith(
        f"Process 'web': the certificate '{cert}' and key '{key}' cannot be loaded: "
    )


# -- GRANIAN_* variables ---------------------------------------------------------------------


def test_granian_variables_are_warned_about(monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setenv("GRANIAN_WORKERS", "4")
    monkeypatch.setenv("GRANIAN_APP", "mysite.wsgi:application")
    monkeypatch.setenv("GRANIAN_NOT_AN_OPTION", "1")  # Granian reads no such variable either
    ignored = "is set, but only the granian command reads it; prodserver starts Granian with "
    assert make("granian-wsgi").setting_warnings() == [
        f"Process 'web': GRANIAN_APP {ignored}the options of ARGS, so it has no effect: the "
        f"application comes from WSGI_APPLICATION or ASGI_APPLICATION, and unset GRANIAN_APP.",
        f"Process 'web': GRANIAN_WORKERS {ignored}the options of ARGS, so it has no effect: set "
        f"'workers' in ARGS instead, and unset GRANIAN_WORKERS.",
    ]
    # They do not change what Granian is given.
    assert kwargs_for({})["respawn_failed_workers"] is True
    assert "workers" not in kwargs_for({})


def test_granian_variables_are_warned_about_beside_3_0_spellings(
    monkeypatch: pytest.MonkeyPatch,
) -> None:
    monkeypatch.setenv("GRANIAN_HOST", "0.0.0.0")
    server = make("granian-wsgi", {"address": "127.0.0.1"})
    warnings = [warning.removeprefix("Process 'web': ") for warning in server.setting_warnings()]
    assert [warning.split(" ", 1)[0] for warning in warnings] == ["GRANIAN_HOST", "ARGS['address']"]
    assert warnings[0].endswith("set 'host' in ARGS instead, and unset GRANIAN_HOST.")


def test_no_variables_no_warnings() -> None:
    assert make("granian-wsgi", "--workers 2").setting_warnings() == []


def test_dry_run_shows_the_variables_it_would_not_apply(monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setenv("GRANIAN_BACKLOG", "4096")
    server = make("granian-asgi", {"workers": 2})
    call, ignored = server.describe_start(server.prep_server_args()).splitlines()
    assert call == (
        "Granian('testsite.asgi:application', interface='asginl', workers=2, "
        "respawn_failed_workers=True, "
        "workers_kill_timeout=30).serve(target_loader=load_application)"
    )
    assert ignored == (
        "Process 'web': GRANIAN_BACKLOG is set, but only the granian command reads it; "
        "prodserver starts Granian with the options of ARGS, so it has no effect: set 'backlog' "
        "in ARGS instead, and unset GRANIAN_BACKLOG."
    )
