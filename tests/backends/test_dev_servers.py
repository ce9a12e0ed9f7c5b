"""The development backends: runserver, runserver-plus (django-extensions) and daphne-runserver.

Their ARGS, their checks and the refusal to start while DEBUG is False. They really serve in
tests/integration/test_dev_servers.py.
"""

from __future__ import annotations

import socket
from io import StringIO
from pathlib import Path
from typing import Any

import pytest
from django.core.management import call_command
from django.core.management.base import CommandError

from django_prodserver.backends import werkzeug
from django_prodserver.backends._runserver import RunserverCommandBackend
from django_prodserver.backends.base import BaseDevServerBackend, BaseServerBackend
from django_prodserver.backends.daphne_runserver import DaphneRunserver
from django_prodserver.backends.django_runserver import DjangoRunserver
from django_prodserver.backends.werkzeug import RunserverPlus, WerkzeugRunserver
from django_prodserver.checks import check_production_processes
from django_prodserver.exceptions import ProdserverError

from .helpers import BackendUnderTest

SettingsWrapper = Any

RUNSERVER = BackendUnderTest(DjangoRunserver, "runserver", process="dev")
PLUS = BackendUnderTest(WerkzeugRunserver, "runserver-plus", process="dev")
DAPHNE = BackendUnderTest(DaphneRunserver, "daphne-runserver", process="dev")


def dry_run(command: str = "prodserver", name: str = "dev") -> str:
    out = StringIO()
    call_command(command, name, "--dry-run", stdout=out, no_color=True)
    return out.getvalue()


@pytest.mark.parametrize(
    "cls", [DjangoRunserver, WerkzeugRunserver, RunserverPlus, DaphneRunserver]
)
def test_each_is_a_development_server(cls: type[Any]) -> None:
    # 3.0's development backends were servers: code checking that keeps working.
    assert issubclass(cls, BaseDevServerBackend)
    assert issubclass(cls, BaseServerBackend)
    assert cls.kind == "dev"
    assert cls.settings_keys == frozenset({"ALLOW_IN_PRODUCTION"})


@pytest.mark.parametrize(
    ("args", "argv"),
    [
        ({"addrport": "127.0.0.1:8001", "noreload": True}, ["127.0.0.1:8001", "--noreload"]),
        ({"addrport": 8001, "nothreading": True, "ipv6": False}, ["8001", "--nothreading"]),
        ({"addrport": "[::1]:8001", "ipv6": True}, ["[::1]:8001", "--ipv6"]),
        ({"noreload": False, "nothreading": True}, ["--nothreading"]),
        ({"skip_checks": True}, ["--skip-checks"]),
        (["8001", "--noreload"], ["8001", "--noreload"]),
        (None, []),
    ],
)
def test_args_are_runservers_options_and_addrport_its_address(args: Any, argv: list[str]) -> None:
    assert RUNSERVER.checked_argv(args) == argv


@pytest.mark.parametrize(
    ("args", "message"),
    [
        (
            {"addrport": "localhost:http"},
            "Process 'dev': ARGS['addrport'] is 'localhost:http', which runserver rejects. Give a "
            "port or an address:port, such as '127.0.0.1:8000'.",
        ),
        (
            {"addrport": "127.0.0.1:70000"},
            "Process 'dev': ARGS['addrport'] is '127.0.0.1:70000', which runserver rejects: a port "
            "is a number from 0 to 65535, not 70000. Give a port or an address:port, such as "
            "'127.0.0.1:8000'.",
        ),
        (
            {"addrport": True},
            "Process 'dev': ARGS['addrport'] is True; it takes a port or an address:port, such as "
            "'127.0.0.1:8000'.",
        ),
        (
            {"noreolad": True},
            "Process 'dev': unknown runserver option 'noreolad' in ARGS. Did you mean 'noreload'?",
        ),
        (
            {"noreload": "yes"},
            "Process 'dev': invalid value 'yes' for runserver option 'noreload' in ARGS: ignored "
            "explicit argument 'yes'.",
        ),
        (
            {"settings": "other"},
            "Process 'dev': runserver option 'settings' cannot be set in ARGS: it is an option of "
            "manage.py itself and does nothing for runserver; give it to manage.py prodserver "
            "instead.",
        ),
    ],
)
def test_bad_args_are_one_line_naming_the_key(args: Any, message: str) -> None:
    assert RUNSERVER.error_for(args) == message


@pytest.mark.parametrize("value", ["yes", 1, None])
def test_allow_in_production_must_be_a_boolean(value: Any) -> None:
    backend = RUNSERVER.server(ALLOW_IN_PRODUCTION=value)
    with pytest.raises(Exception) as caught:
        backend.check_args(backend.prep_server_args())
    assert str(caught.value) == (
        f"Process 'dev': ALLOW_IN_PRODUCTION must be True or False, not {value!r}."
    )


@pytest.mark.parametrize("backend", ["runserver", "runserver-plus", "daphne-runserver"])
def test_it_refuses_to_start_while_debug_is_false(settings: SettingsWrapper, backend: str) -> None:
    settings.DEBUG = False
    settings.PRODUCTION_PROCESSES = {"dev": {"BACKEND": backend}}
    with pytest.raises(CommandError) as caught:
        dry_run()
    assert str(caught.value) == (
        f"Process 'dev': {backend!r} is a development server and DEBUG is False. Develop with "
        f"DEBUG = True, or set 'ALLOW_IN_PRODUCTION': True in its entry to start it anyway."
    )
    # Not a system check error: settings shared with production processes still pass check.
    assert check_production_processes() == []


def test_allow_in_production_starts_it_with_debug_false(settings: SettingsWrapper) -> None:
    settings.DEBUG = False
    settings.PRODUCTION_PROCESSES = {
        "dev": {"BACKEND": "runserver", "ALLOW_IN_PRODUCTION": True, "ARGS": {"addrport": 8001}}
    }
    assert dry_run() == (
        "Would start process 'dev' with backend 'runserver' (DjangoRunserver):\n"
        "manage.py runserver 8001\n"
    )


def test_with_debug_on_server_and_prodserver_start_it_and_worker_refuses(
    settings: SettingsWrapper,
) -> None:
    settings.DEBUG = True
    settings.PRODUCTION_PROCESSES = {"dev": {"BACKEND": "runserver", "ARGS": {"noreload": True}}}
    expected = (
        "Would start process 'dev' with backend 'runserver' (DjangoRunserver):\n"
        "manage.py runserver --noreload\n"
    )
    assert dry_run("prodserver") == expected
    assert dry_run("server") == expected
    with pytest.raises(CommandError) as caught:
        dry_run("worker")
    assert str(caught.value) == (
        "Process 'dev' runs a development server (backend 'runserver'), not a worker: start it "
        "with 'manage.py devserver dev' or 'manage.py prodserver dev'."
    )


def test_runserver_plus_takes_3_0s_names_for_its_repeatable_options(
    monkeypatch: pytest.MonkeyPatch,
) -> None:
    monkeypatch.setattr(werkzeug, "NORELOAD_BROKEN", False)
    args = {
        "addrport": "127.0.0.1:8002",
        "extra_files": ["a.txt", "b.txt"],
        "exclude_patterns": ["*.log"],
        "print_sql": True,
        "noreload": True,
    }
    assert PLUS.checked_argv(args) == [
        "127.0.0.1:8002",
        "--extra-file=a.txt",
        "--extra-file=b.txt",
        "--exclude-pattern=*.log",
        "--print-sql",
        "--noreload",
    ]


@pytest.mark.parametrize(("threaded", "argv"), [(False, ["--nothreading"]), (True, ["--threaded"])])
def test_runserver_plus_threaded_false_is_single_threaded_as_in_3_0(
    threaded: bool, argv: list[str]
) -> None:
    # runserver_plus is threaded by default; 3.0 ran "threaded": False single-threaded.
    assert PLUS.checked_argv({"threaded": threaded}) == argv


def test_runserver_plus_refuses_noreload_where_django_extensions_breaks_it(
    monkeypatch: pytest.MonkeyPatch,
) -> None:
    monkeypatch.setattr(werkzeug, "NORELOAD_BROKEN", True)
    assert PLUS.error_for({"noreload": True}) == (
        f"Process 'dev': runserver_plus cannot start with 'noreload': django-extensions "
        f"{werkzeug.DJANGO_EXTENSIONS_VERSION} then fails with Werkzeug "
        f"{werkzeug.WERKZEUG_VERSION} (django-extensions issue #1886). Remove 'noreload' from ARGS."
    )


@pytest.mark.parametrize("key", ["cert_file", "cert", "key-file"])
def test_runserver_plus_refuses_a_certificate_in_a_missing_directory(
    key: str, tmp_path: Path
) -> None:
    # runserver_plus creates a missing certificate where it is named: a traceback in a missing
    # directory.
    path = tmp_path / "missing" / "dev.crt"
    assert PLUS.error_for({key: str(path)}) == (
        f"Process 'dev': invalid value {str(path)!r} for runserver_plus option {key!r} in ARGS: "
        f"the directory {str(path.parent)!r} does not exist. Create it, or choose a path in an "
        f"existing directory."
    )
    assert PLUS.checked_argv({key: str(tmp_path / "dev.crt")}) == [
        f"--{key.replace('_', '-')}={tmp_path / 'dev.crt'}"
    ]


@pytest.mark.parametrize(("version", "broken"), [("4.1", True), ("3.2.3", True), ("4.2", False)])
def test_the_noreload_bug_is_known_up_to_django_extensions_4_1(version: str, broken: bool) -> None:
    assert (werkzeug._release(version) <= (4, 1)) is broken


def test_runserver_plus_is_loaded_without_django_extensions_in_installed_apps(
    settings: SettingsWrapper,
) -> None:
    assert "django_extensions" not in settings.INSTALLED_APPS
    assert PLUS.checked_argv({"nopin": True}) == ["--nopin"]
    assert PLUS.server().describe_start(["--nopin"]) == "manage.py runserver_plus --nopin"


def test_daphne_runserver_takes_daphnes_options(settings: SettingsWrapper) -> None:
    assert "daphne" not in settings.INSTALLED_APPS
    assert DAPHNE.checked_argv({"addrport": 8003, "http_timeout": 30}) == [
        "8003",
        "--http_timeout=30",
    ]


@pytest.mark.parametrize(
    ("asgi_application", "served"),
    [
        # A startproject project: no ASGI_APPLICATION, but mysite/asgi.py. Daphne's command
        # reads the setting, so the backend fills it in (the fixture undoes it afterwards).
        (None, "testsite.asgi.application"),
        ("testsite.asgi.other_application", "testsite.asgi.other_application"),
    ],
)
def test_daphne_runserver_serves_asgi_application_or_the_asgi_module_beside_wsgi(
    settings: SettingsWrapper,
    monkeypatch: pytest.MonkeyPatch,
    asgi_application: str | None,
    served: str,
) -> None:
    settings.WSGI_APPLICATION = "testsite.wsgi.application"
    if asgi_application:
        settings.ASGI_APPLICATION = asgi_application
    seen: list[str] = []
    monkeypatch.setattr(
        RunserverCommandBackend,
        "start_server",
        lambda self, *args: seen.append(settings.ASGI_APPLICATION),
    )
    DAPHNE.server().start_server()
    assert seen == [served]


def test_daphne_runserver_reports_a_missing_asgi_application(settings: SettingsWrapper) -> None:
    settings.WSGI_APPLICATION = "nowhere.wsgi.application"
    backend = DAPHNE.server()
    with pytest.raises(ProdserverError) as caught:
        backend.check_args(backend.prep_server_args())
    assert caught.value.message == (
        "No ASGI application: ASGI_APPLICATION is not set and there is no module 'nowhere.asgi' "
        "beside WSGI_APPLICATION. Set ASGI_APPLICATION, such as 'mysite.asgi.application'."
    )


@pytest.mark.parametrize("backend", [RUNSERVER, PLUS, DAPHNE])
def test_a_busy_port_is_one_line_before_the_command_runs(
    backend: BackendUnderTest, monkeypatch: pytest.MonkeyPatch, settings: SettingsWrapper
) -> None:
    from django_prodserver.backends import _management_command

    settings.ASGI_APPLICATION = "testsite.asgi.application"  # daphne-runserver would set it

    ran: list[object] = []
    monkeypatch.setattr(_management_command, "call_command", lambda *args: ran.append(args))
    with socket.socket() as occupant:
        occupant.bind(("127.0.0.1", 0))
        occupant.listen()
        port = occupant.getsockname()[1]
        server = backend.server({"addrport": f"127.0.0.1:{port}"})
        with pytest.raises(ProdserverError) as caught:
            server.start_server(*server.prep_server_args())
    assert str(caught.value) == (
        f"Process 'dev': cannot listen on 127.0.0.1:{port}: Address already in use. Is another "
        "server using it?"
    )
    assert ran == []


@pytest.mark.parametrize("variable", ["RUN_MAIN", "WERKZEUG_RUN_MAIN"])
def test_a_reloaders_child_serves_on_the_port_its_parent_holds(
    variable: str, monkeypatch: pytest.MonkeyPatch
) -> None:
    from django_prodserver.backends import _management_command

    ran: list[object] = []
    monkeypatch.setattr(_management_command, "call_command", lambda *args: ran.append(args))
    monkeypatch.setenv(variable, "true")
    with socket.socket() as parent_socket:
        parent_socket.bind(("127.0.0.1", 0))
        parent_socket.listen()
        server = RUNSERVER.server({"addrport": f"127.0.0.1:{parent_socket.getsockname()[1]}"})
        server.start_server(*server.prep_server_args())
    assert len(ran) == 1


@pytest.mark.parametrize(
    ("args", "addrport", "address"),
    [
        ([], None, ("127.0.0.1", 8000)),
        (["--ipv6"], None, ("::1", 8000)),
        ([], "9000", ("127.0.0.1", 9000)),
        ([], "0:9000", ("0.0.0.0", 9000)),
        ([], "[::1]:9000", ("::1", 9000)),
    ],
)
def test_the_address_checked_is_the_one_runserver_listens_on(
    args: list[str], addrport: str | None, address: tuple[str, int]
) -> None:
    server = RUNSERVER.server({} if addrport is None else {"addrport": addrport})
    assert server._listen_address(args) == address
