"""Granian's ARGS keys as django-prodserver 3.0 documented them: synonyms with a check warning."""

from __future__ import annotations

from io import StringIO
from pathlib import Path
from typing import Any

import pytest
from django.core.management import CommandError, call_command

from django_prodserver.backends.granian import (
    GRANIAN_PARAMETERS,
    GRANIAN_VERSION,
    GranianServer,
    GranianWSGIServer,
)
from django_prodserver.checks import check_production_processes
from django_prodserver.exceptions import InvalidBackendArgs

SettingsWrapper = Any

WSGI_3_0 = "django_prodserver.backends.servers.granian.GranianWSGIServer"
ASGI_3_0 = "django_prodserver.backends.servers.granian.GranianASGIServer"


def kwargs_for(args: dict[str, Any], cls: type[GranianServer] = GranianWSGIServer) -> Any:
    server = cls(process_name="web", BACKEND=WSGI_3_0, ARGS=args)
    return server.granian_call(server.prep_server_args()).kwargs


@pytest.mark.parametrize(
    ("upstream", "current", "value", "keyword", "expected"),
    [
        ("address", "host", "0.0.0.0", "address", "0.0.0.0"),
        ("websockets", "ws", False, "websockets", False),
        ("websockets", "ws", "true", "websockets", True),
        ("log_access", "access-log", True, "log_access", True),
        ("log-access", "access-log", "false", "log_access", False),
    ],
)
def test_each_3_0_key_sets_the_option_it_named(
    upstream: str, current: str, value: Any, keyword: str, expected: Any
) -> None:
    assert kwargs_for({upstream: value})[keyword] == expected
    assert kwargs_for({upstream: value}) == kwargs_for({current: value})


@pytest.mark.parametrize(
    ("cert_key", "key_key"), [("ssl_cert", "ssl_key"), ("ssl-cert", "ssl-key")]
)
def test_3_0s_ssl_keys_load_the_certificate(
    certificate: tuple[Path, Path], cert_key: str, key_key: str
) -> None:
    cert, key = certificate
    kwargs = kwargs_for({cert_key: str(cert), key_key: str(key)})
    # Paths, as Granian needs them (3.0 passed strings, which Granian could not load).
    assert (kwargs["ssl_cert"], kwargs["ssl_key"]) == (cert, key)


@pytest.mark.parametrize(
    "key", ["runtime_threads", "runtime-threads", "threads", "blocking_threads"]
)
def test_3_0s_thread_keys_are_accepted(key: str) -> None:
    kwargs = kwargs_for({key: "2"})
    # Granian 1.x called its runtime threads "threads".
    runtime = "runtime_threads" if "runtime_threads" in GRANIAN_PARAMETERS else "threads"
    assert kwargs[runtime if key.startswith("runtime") else "blocking_threads"] == 2


def test_both_spellings_of_one_option_are_one_option_set_twice() -> None:
    server = GranianWSGIServer(process_name="web", ARGS={"address": "0.0.0.0", "host": "::"})
    with pytest.raises(InvalidBackendArgs) as caught:
        server.prep_server_args()
    assert caught.value.message == (
        "Process 'web': ARGS['address'] and ARGS['host'] set the same Granian option --host; "
        "keep one."
    )


@pytest.mark.parametrize(
    ("key", "suggestion"),
    [
        ("adress", "'host'"),
        ("websocket", "'ws'"),
        ("log_acces", "'access-log' or 'no-access-log'"),
    ],
)
def test_a_typo_of_a_3_0_key_suggests_the_option_meant(key: str, suggestion: str) -> None:
    server = GranianWSGIServer(process_name="web", ARGS={key: "x"})
    with pytest.raises(InvalidBackendArgs) as caught:
        server.prep_server_args()
    assert caught.value.message == (
        f"Process 'web': ARGS[{key!r}] is not an option of Granian {GRANIAN_VERSION}. "
        f"Did you mean {suggestion}?"
    )


def test_check_warns_with_the_current_spelling_of_each_3_0_key(
    settings: SettingsWrapper,
) -> None:
    settings.PRODUCTION_PROCESSES = {
        "web": {
            "BACKEND": WSGI_3_0,
            "ARGS": {
                "address": "127.0.0.1",
                "port": "8000",
                "log_access": True,
                "websockets": True,
            },
        }
    }
    messages = check_production_processes()
    assert [(message.level, message.id) for message in messages] == [(30, "prodserver.W005")] * 3
    assert [message.msg for message in messages] == [
        "Process 'web': ARGS['address'] is django-prodserver 3.0's name for Granian's 'host' "
        "option; it still works, but write 'host'.",
        "Process 'web': ARGS['log_access'] is django-prodserver 3.0's name for Granian's "
        "'access-log' option; it still works, but write 'access_log'.",
        "Process 'web': ARGS['websockets'] is django-prodserver 3.0's name for Granian's 'ws' "
        "option; it still works, but write 'ws'.",
    ]


@pytest.mark.parametrize(
    "names",
    [
        # 3.0's names, then the current ones as the user writes names: underscores or dashes.
        ("ssl_cert", "ssl_key", "ssl_certificate", "ssl_keyfile"),
        ("ssl-cert", "ssl-key", "ssl-certificate", "ssl-keyfile"),
    ],
)
def test_check_warns_with_the_current_spelling_of_3_0s_ssl_and_log_keys(
    settings: SettingsWrapper, certificate: tuple[Path, Path], names: tuple[str, ...]
) -> None:
    cert_key, key_key, cert_now, key_now = names
    cert, key = certificate
    settings.PRODUCTION_PROCESSES = {
        "web": {
            "BACKEND": WSGI_3_0,
            "ARGS": {cert_key: str(cert), key_key: str(key), "log-access": "true"},
        }
    }
    assert [message.msg for message in check_production_processes()] == [
        f"Process 'web': ARGS[{cert_key!r}] is django-prodserver 3.0's name for Granian's "
        f"'ssl-certificate' option; it still works, but write {cert_now!r}.",
        f"Process 'web': ARGS[{key_key!r}] is django-prodserver 3.0's name for Granian's "
        f"'ssl-keyfile' option; it still works, but write {key_now!r}.",
        "Process 'web': ARGS['log-access'] is django-prodserver 3.0's name for Granian's "
        "'access-log' option; it still works, but write 'access-log'.",
    ]


def test_a_3_0_subclass_reads_and_replaces_args_as_server_config() -> None:
    # 3.0's GranianServerBase kept ARGS in server_config; its subclasses' __init__ used it.
    class Tuned(GranianWSGIServer):
        def __init__(self, **entry: Any) -> None:
            super().__init__(**entry)
            self.server_config = {**self.server_config, "workers": 3}

    server = Tuned(process_name="web", BACKEND=WSGI_3_0, ARGS={"port": 9000})
    assert server.server_config == {"port": 9000, "workers": 3}
    kwargs = server.granian_call(server.prep_server_args()).kwargs
    assert (kwargs["port"], kwargs["workers"]) == (9000, 3)


def test_current_spellings_give_no_warning(settings: SettingsWrapper) -> None:
    settings.PRODUCTION_PROCESSES = {
        "web": {"BACKEND": "granian-wsgi", "ARGS": {"host": "127.0.0.1", "access_log": True}}
    }
    assert check_production_processes() == []


def test_the_3_0_readme_example_dry_runs(settings: SettingsWrapper) -> None:
    settings.ASGI_APPLICATION = "testsite.asgi.application"
    settings.PRODUCTION_PROCESSES = {
        "web": {
            "BACKEND": ASGI_3_0,
            "ARGS": {"address": "0.0.0.0", "port": "8000", "workers": "4"},
        }
    }
    out = StringIO()
    call_command("prodserver", "web", "--dry-run", stdout=out)
    assert out.getvalue() == (
        f"Would start process 'web' with backend '{ASGI_3_0}' (GranianASGIServer):\n"
        "Granian('testsite.asgi:application', interface='asginl', address='0.0.0.0', "
        "port=8000, workers=4, respawn_failed_workers=True, "
        "workers_kill_timeout=30).serve(target_loader=load_application)\n"
        "Port: set by ARGS['port'].\n"
        "Workers: set by ARGS['workers'].\n"
    )


@pytest.mark.parametrize(
    ("key", "argument"),
    [("ssl_cert", "--ssl-certificate=\\x00"), ("address", "--host=\\x00")],
)
def test_a_nul_byte_in_a_3_0_key_is_one_line(
    settings: SettingsWrapper, key: str, argument: str
) -> None:
    # Granian's parser stats a path holding a NUL byte and fails with a traceback.
    settings.PRODUCTION_PROCESSES = {"web": {"BACKEND": WSGI_3_0, "ARGS": {key: "\x00"}}}
    with pytest.raises(CommandError) as caught:
        call_command("prodserver", "web", "--dry-run")
    assert str(caught.value) == (
        f"Process 'web': the argument '{argument}' built from ARGS holds a NUL byte, which no "
        f"command line can carry; remove it from ARGS."
    )


def test_args_written_as_granian_argv_give_no_warning() -> None:
    # A string or list ARGS is Granian's own command line: 3.0's key names cannot appear in it.
    assert (
        GranianWSGIServer(process_name="web", ARGS=["--host", "127.0.0.1"]).setting_warnings() == []
    )
