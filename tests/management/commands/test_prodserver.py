"""The prodserver command in this process, with start_server() replaced where it would serve."""

from __future__ import annotations

import json
import sys
from collections.abc import Iterator
from io import StringIO
from typing import Any

import pytest
from django.core.management import call_command
from django.core.management.base import CommandError, SystemCheckError
from django.test.utils import isolate_apps

from django_prodserver import entry_points
from django_prodserver.backends.base import BaseServerBackend

SettingsWrapper = Any

WSGIREF = {"BACKEND": "wsgiref", "ARGS": {"host": "127.0.0.1", "port": 8123}}


class Started:
    """Records the start_server() call a backend would have made."""

    def __init__(self, monkeypatch: pytest.MonkeyPatch) -> None:
        self.calls: list[tuple[BaseServerBackend, tuple[str, ...]]] = []
        from prodserver_wsgiref import WsgirefServer

        def record(backend: BaseServerBackend, *args: str) -> None:
            self.calls.append((backend, args))

        monkeypatch.setattr(WsgirefServer, "start_server", record)


@pytest.fixture
def started(monkeypatch: pytest.MonkeyPatch) -> Started:
    return Started(monkeypatch)


def run(*args: str) -> str:
    out = StringIO()
    # call_command() skips system checks unless told otherwise; manage.py runs them.
    skip_checks = "--skip-checks" in args
    args = tuple(arg for arg in args if arg != "--skip-checks")
    call_command("prodserver", *args, stdout=out, no_color=True, skip_checks=skip_checks)
    return out.getvalue()


def test_starts_the_named_process_after_one_line(
    settings: SettingsWrapper, started: Started
) -> None:
    settings.PRODUCTION_PROCESSES = {
        "other": {"BACKEND": "wsgiref", "ARGS": ["--port", "1"]},
        "web": WSGIREF,
    }
    assert run("web") == "Starting process 'web' with backend 'wsgiref'.\n"
    [(backend, args)] = started.calls
    assert (backend.alias, backend.process_name) == ("wsgiref", "web")
    assert args == ("--host=127.0.0.1", "--port=8123")


def test_starts_the_first_process_without_a_name(
    settings: SettingsWrapper, started: Started
) -> None:
    settings.PRODUCTION_PROCESSES = {
        "web": WSGIREF,
        "other": {"BACKEND": "wsgiref", "ARGS": ["--port", "1"]},
    }
    assert run() == "Starting process 'web' with backend 'wsgiref'.\n"
    assert len(started.calls) == 1


def test_dotted_path_backend_starts_without_scanning_entry_points(
    settings: SettingsWrapper, started: Started, monkeypatch: pytest.MonkeyPatch
) -> None:
    def no_scan() -> None:
        raise AssertionError("a dotted path must not scan entry points")

    monkeypatch.setattr(entry_points, "_distributions", no_scan)
    settings.PRODUCTION_PROCESSES = {
        "web": {**WSGIREF, "BACKEND": "prodserver_wsgiref.WsgirefServer"}
    }
    assert run("web") == (
        "Starting process 'web' with backend 'prodserver_wsgiref.WsgirefServer'.\n"
    )
    [(backend, _)] = started.calls
    assert backend.alias is None


def test_dry_run_prints_the_exact_start_and_starts_nothing(
    settings: SettingsWrapper, started: Started
) -> None:
    settings.PRODUCTION_PROCESSES = {"web": WSGIREF}
    assert run("web", "--dry-run") == (
        "Would start process 'web' with backend 'wsgiref' (WsgirefServer):\n"
        "wsgiref --host=127.0.0.1 --port=8123\n"
    )
    assert started.calls == []


def test_configuration_errors_become_one_command_error(settings: SettingsWrapper) -> None:
    settings.PRODUCTION_PROCESSES = {"web": {"BACKEND": "wsgiref", "ARGS": {"prot": 1}}}
    with pytest.raises(CommandError) as excinfo:
        run("web")
    assert str(excinfo.value) == (
        "Process 'web': unknown wsgiref option 'prot' in ARGS. Did you mean 'port'?"
    )


def test_other_processes_problems_are_warnings_when_one_starts(
    settings: SettingsWrapper, started: Started, capsys: pytest.CaptureFixture[str]
) -> None:
    settings.PRODUCTION_PROCESSES = {
        "web": WSGIREF,
        "broken": {"BACKEND": "wsgiref", "ARG": 1},
        "flower": {"BACKEND": "wsgiref", "ARGS": 3},
    }
    assert run("web") == "Starting process 'web' with backend 'wsgiref'.\n"
    assert len(started.calls) == 1
    hint = (
        "HINT: It does not stop process 'web' from starting; 'manage.py check' reports it as an "
        "error."
    )
    assert capsys.readouterr().err == (
        "System check identified some issues:\n\n"
        "WARNINGS:\n"
        "?: (prodserver.E006) Process 'flower': 'ARGS' must be a dict of options, a string or a "
        "list of strings, not int.\n"
        f"\t{hint}\n"
        "?: (prodserver.E007) Process 'broken': unknown key 'ARG' in its entry. Did you mean "
        "'ARGS'? Backend 'wsgiref' reads: ARGS, BACKEND, HEALTHCHECK.\n"
        f"\t{hint}\n"
    )
    # `manage.py check` still fails on them, and so does a check run outside the start.
    with pytest.raises(SystemCheckError) as failed:
        call_command("check")
    assert "ERRORS:" in str(failed.value)
    assert "?: (prodserver.E007) Process 'broken'" in str(failed.value)
    assert "?: (prodserver.E006) Process 'flower'" in str(failed.value)


def test_other_checks_errors_still_stop_the_start(
    settings: SettingsWrapper, started: Started
) -> None:
    from django.core import checks

    settings.PRODUCTION_PROCESSES = {"web": WSGIREF}

    def failing(**kwargs: Any) -> list[checks.CheckMessage]:
        return [checks.Error("the project is broken", id="project.E001")]

    checks.register(failing, "project")
    try:
        with pytest.raises(SystemCheckError, match=r"project\.E001"):
            run("web")
    finally:
        checks.registry.registry.registered_checks.discard(failing)
    assert started.calls == []
    # --skip-checks is honoured: only the process being started must be valid.
    assert run("web", "--skip-checks").startswith("Starting process 'web'")


class Preparations:
    """Counts, per process, the backends built and the ARGS turned into arguments and checked."""

    def __init__(self, monkeypatch: pytest.MonkeyPatch) -> None:
        from prodserver_wsgiref import WsgirefServer

        self.counts: dict[str, list[str]] = {}
        for method in ("__init__", "prep_server_args", "check_args"):
            monkeypatch.setattr(WsgirefServer, method, self._counting(method, WsgirefServer))

    def _counting(self, method: str, cls: type[BaseServerBackend]) -> Any:
        original = getattr(cls, method)

        def counted(backend: BaseServerBackend, *args: Any, **kwargs: Any) -> Any:
            result = original(backend, *args, **kwargs)
            self.counts.setdefault(backend.process_name, []).append(method)
            return result

        return counted


def test_a_start_prepares_each_process_once_for_the_command_and_its_checks(
    settings: SettingsWrapper, started: Started, monkeypatch: pytest.MonkeyPatch
) -> None:
    settings.PRODUCTION_PROCESSES = {"web": WSGIREF, "other": {"BACKEND": "wsgiref"}}
    preparations = Preparations(monkeypatch)

    assert run("web") == "Starting process 'web' with backend 'wsgiref'.\n"

    # The system checks ran (only they prepare "other"), but "web" was prepared once.
    once = ["__init__", "prep_server_args", "check_args"]
    assert preparations.counts == {"web": once, "other": once}
    assert len(started.calls) == 1


def test_the_checks_check_the_process_as_it_starts_with_its_overrides(
    settings: SettingsWrapper, started: Started, monkeypatch: pytest.MonkeyPatch
) -> None:
    settings.PRODUCTION_PROCESSES = {"web": WSGIREF}
    preparations = Preparations(monkeypatch)

    run("web", "--set", "port=8124")

    # The command starts the overridden ARGS, and the checks check that same backend.
    assert preparations.counts == {"web": ["__init__", "prep_server_args", "check_args"]}
    [(_, args)] = started.calls
    assert args == ("--host=127.0.0.1", "--port=8124")


def test_each_run_prepares_afresh(
    settings: SettingsWrapper, started: Started, monkeypatch: pytest.MonkeyPatch
) -> None:
    settings.PRODUCTION_PROCESSES = {"web": WSGIREF}
    preparations = Preparations(monkeypatch)

    run("web", "--skip-checks")
    settings.PRODUCTION_PROCESSES = {"web": {**WSGIREF, "ARGS": {"port": 8125}}}
    run("web", "--skip-checks")

    assert preparations.counts == {"web": ["__init__", "prep_server_args", "check_args"] * 2}
    assert [args for _, args in started.calls] == [
        ("--host=127.0.0.1", "--port=8123"),
        ("--port=8125",),
    ]


def test_a_check_that_crashes_is_reported_in_one_line(
    settings: SettingsWrapper, started: Started
) -> None:
    settings.PRODUCTION_PROCESSES = {"web": WSGIREF}
    settings.ROOT_URLCONF = "tests.urls_that_do_not_exist"
    with pytest.raises(CommandError) as excinfo:
        run("web")
    assert str(excinfo.value) == (
        "System checks could not run: ModuleNotFoundError: No module named "
        "'tests.urls_that_do_not_exist'"
    )
    assert started.calls == []


def test_list_shows_processes_and_errors_without_failing(settings: SettingsWrapper) -> None:
    settings.PRODUCTION_PROCESSES = {
        "web": WSGIREF,
        "typo": {"BACKEND": "wsgirf"},
        "bad": [],
    }
    lines = run("--list").splitlines()
    assert lines[0].split() == ["PROCESS", "BACKEND", "KIND", "STATUS"]
    assert lines[1].split() == ["web", "wsgiref", "server", "ok"]
    assert lines[2].startswith(
        "typo     wsgirf   -       error: Process 'typo': BACKEND 'wsgirf' is not a known backend "
        "alias. Did you mean 'wsgiref'?"
    )
    assert lines[3] == (
        "bad      -        -       error: Process 'bad': its entry in PRODUCTION_PROCESSES must "
        "be a dict with a 'BACKEND' key, not list."
    )


def test_list_as_json(settings: SettingsWrapper) -> None:
    settings.PRODUCTION_PROCESSES = {"web": WSGIREF}
    assert json.loads(run("--list", "--json")) == [
        {"name": "web", "backend": "wsgiref", "kind": "server", "status": "ok", "detail": ""}
    ]


def test_list_with_a_setting_that_is_not_a_mapping(settings: SettingsWrapper) -> None:
    settings.PRODUCTION_PROCESSES = "web"
    with pytest.raises(CommandError) as excinfo:
        run("--list")
    assert str(excinfo.value) == (
        "PRODUCTION_PROCESSES must be a dict of process names to settings, not str."
    )


def test_list_backends_shows_every_backend(settings: SettingsWrapper) -> None:
    settings.PRODUCTION_PROCESSES = "even a broken setting does not matter here"
    lines = run("--list-backends").splitlines()
    assert lines[0].split() == ["ALIAS", "KIND", "TARGET", "DISTRIBUTION", "STATUS"]
    wsgiref = next(line for line in lines if line.startswith("wsgiref"))
    assert wsgiref.split() == [
        "wsgiref",
        "server",
        "prodserver_wsgiref:WsgirefServer",
        "prodserver-wsgiref",
        "1.0.0",
        "ok",
    ]
    aliases = [line.split()[0] for line in lines[1:]]
    assert aliases == sorted(aliases)


def test_list_backends_as_json() -> None:
    rows = json.loads(run("--list-backends", "--json"))
    wsgiref = next(row for row in rows if row["alias"] == "wsgiref")
    assert wsgiref == {
        "alias": "wsgiref",
        "kind": "server",
        "target": "prodserver_wsgiref:WsgirefServer",
        "distribution": "prodserver-wsgiref",
        "version": "1.0.0",
        "status": "ok",
        "detail": "",
    }


def test_list_backends_shows_what_is_wrong(monkeypatch: pytest.MonkeyPatch) -> None:
    # A distribution whose backend needs a module that is not installed.
    monkeypatch.setitem(sys.modules, "wsgiref.simple_server", None)
    monkeypatch.delitem(sys.modules, "prodserver_wsgiref", raising=False)
    rows = json.loads(run("--list-backends", "--json"))
    wsgiref = next(row for row in rows if row["alias"] == "wsgiref")
    assert wsgiref["status"] == "missing dependency"
    assert wsgiref["detail"] == (
        "BACKEND 'wsgiref' needs the module 'wsgiref.simple_server', which is not installed. "
        "Install the package that provides it."
    )


@isolate_apps("django_prodserver")
def test_devserver_is_runserver_under_another_name() -> None:
    from django.core.management import get_commands, load_command_class

    devserver = load_command_class("django_prodserver", "devserver")
    runserver = load_command_class(get_commands()["runserver"], "runserver")
    assert isinstance(devserver, type(runserver))
    assert devserver.help == (
        "Start a development server: the process NAME of PRODUCTION_PROCESSES when it has a "
        "development backend, otherwise Django's runserver (the argument is then its address)."
    )


SERVER = {"BACKEND": "tests.fake_backends.RecordingServer", "ARGS": {"workers": 2}}
WORKER = {"BACKEND": "tests.fake_backends.RecordingWorker"}


@pytest.fixture
def recorded() -> Iterator[None]:
    from tests.fake_backends import RecordingServer, RecordingWorker

    RecordingServer.started.clear()
    RecordingWorker.started.clear()
    yield
    RecordingServer.started.clear()
    RecordingWorker.started.clear()


def started_processes() -> list[tuple[str | None, tuple[str, ...]]]:
    from tests.fake_backends import RecordingServer, RecordingWorker

    return RecordingServer.started + RecordingWorker.started


def call(command: str, *args: str) -> str:
    out = StringIO()
    call_command(command, *args, stdout=out, no_color=True)
    return out.getvalue()


def test_server_and_worker_start_the_first_process_of_their_kind(
    settings: SettingsWrapper, recorded: object
) -> None:
    settings.PRODUCTION_PROCESSES = {"worker": WORKER, "web": SERVER}
    assert call("server") == (
        "Starting process 'web' with backend 'tests.fake_backends.RecordingServer'.\n"
    )
    assert call("worker") == (
        "Starting process 'worker' with backend 'tests.fake_backends.RecordingWorker'.\n"
    )
    assert started_processes() == [("web", ("--workers=2",)), ("worker", ())]


def test_asking_for_the_other_kind_names_the_right_command(
    settings: SettingsWrapper, recorded: object
) -> None:
    settings.PRODUCTION_PROCESSES = {"worker": WORKER, "web": SERVER}
    with pytest.raises(CommandError) as excinfo:
        call("server", "worker")
    assert str(excinfo.value) == (
        "Process 'worker' runs a worker (backend 'tests.fake_backends.RecordingWorker'), not a "
        "server: start it with 'manage.py worker worker' or 'manage.py prodserver worker'."
    )
    with pytest.raises(CommandError) as excinfo:
        call("worker", "web")
    assert str(excinfo.value) == (
        "Process 'web' runs a server (backend 'tests.fake_backends.RecordingServer'), not a "
        "worker: start it with 'manage.py server web' or 'manage.py prodserver web'."
    )
    assert started_processes() == []


def test_a_3_0_command_on_base_process_command_starts_its_backends_kind(
    settings: SettingsWrapper, recorded: object
) -> None:
    from django_prodserver.backends.base import BaseWorkerBackend
    from django_prodserver.management.base import BaseProcessCommand

    class WorkerCommand(BaseProcessCommand):  # as a project wrote one for django-prodserver 3.0
        process_label = "worker"
        backend_base_class = BaseWorkerBackend

    settings.PRODUCTION_PROCESSES = {"web": SERVER, "worker": WORKER}
    out = StringIO()
    call_command(WorkerCommand(), stdout=out, no_color=True)
    assert out.getvalue() == (
        "Starting process 'worker' with backend 'tests.fake_backends.RecordingWorker'.\n"
    )
    with pytest.raises(CommandError) as excinfo:
        call_command(WorkerCommand(), "web")
    assert str(excinfo.value) == (
        "Process 'web' runs a server (backend 'tests.fake_backends.RecordingServer'), not a "
        "worker: start it with 'manage.py server web' or 'manage.py prodserver web'."
    )
    assert BaseProcessCommand.kind is None  # the base itself starts any process
    assert started_processes() == [("worker", ())]


def test_no_process_of_the_kind(settings: SettingsWrapper) -> None:
    settings.PRODUCTION_PROCESSES = {"web": SERVER, "broken": {"BACKEND": "nope"}}
    with pytest.raises(CommandError) as excinfo:
        call("worker")
    assert str(excinfo.value) == (
        "No process in PRODUCTION_PROCESSES has a worker backend that can be loaded. Run "
        "'manage.py prodserver --list' to see each process and its backend."
    )


def test_each_command_lists_its_own_kind(settings: SettingsWrapper) -> None:
    settings.PRODUCTION_PROCESSES = {"worker": WORKER, "web": SERVER, "bad": {"BACKEND": "nope"}}
    assert [line.split()[0] for line in call("server", "--list").splitlines()[1:]] == [
        "web",
        "bad",
    ]
    assert [line.split()[0] for line in call("worker", "--list").splitlines()[1:]] == [
        "worker",
        "bad",
    ]
    assert [line.split()[0] for line in call("prodserver", "--list").splitlines()[1:]] == [
        "worker",
        "web",
        "bad",
    ]


def test_set_overrides_one_option_for_one_run(settings: SettingsWrapper, recorded: object) -> None:
    settings.PRODUCTION_PROCESSES = {
        "web": {**SERVER, "ARGS": {"workers": 2, "max_requests": 10, "bind": "127.0.0.1:1"}}
    }
    call(
        "prodserver",
        "--set",
        "workers=8",
        "--set",
        "max-requests=none",
        "--set",
        "preload=true",
        "--set",
        "daemon=False",
        "--set",
        "bind=127.0.0.1:2",
        "--set",
        "bind=[::1]:2",
    )
    assert started_processes() == [
        (
            "web",
            (
                "--workers=8",
                "--max-requests",
                "--preload",
                "--bind=127.0.0.1:2",
                "--bind=[::1]:2",
            ),
        )
    ]
    # The setting itself is untouched.
    assert settings.PRODUCTION_PROCESSES["web"]["ARGS"]["workers"] == 2


@pytest.mark.parametrize(
    ("args", "override", "message"),
    [
        (
            {"workers": 2},
            "workers",
            "Process 'web': --set 'workers' is not OPTION=VALUE, such as --set workers=8.",
        ),
        (
            {"workers": 2},
            "=8",
            "Process 'web': --set '=8' is not OPTION=VALUE, such as --set workers=8.",
        ),
        (
            "--workers=2",
            "workers=8",
            "Process 'web': --set needs ARGS to be a dict, but it is a str. Write ARGS as a dict "
            "of options to override them.",
        ),
    ],
)
def test_bad_overrides(
    settings: SettingsWrapper, args: object, override: str, message: str
) -> None:
    settings.PRODUCTION_PROCESSES = {"web": {**SERVER, "ARGS": args}}
    with pytest.raises(CommandError) as excinfo:
        call("prodserver", "--set", override)
    assert str(excinfo.value) == message


def test_overrides_are_validated_like_args(settings: SettingsWrapper) -> None:
    settings.PRODUCTION_PROCESSES = {"web": WSGIREF}
    with pytest.raises(CommandError) as excinfo:
        call("prodserver", "--set", "port=eighty")
    assert str(excinfo.value) == (
        "Process 'web': invalid value 'eighty' for wsgiref option 'port' in ARGS: invalid int "
        "value: 'eighty'."
    )


def test_where_the_port_comes_from_does_not_make_the_checks_prepare_again(
    settings: SettingsWrapper, monkeypatch: pytest.MonkeyPatch
) -> None:
    from prodserver_wsgiref import WsgirefServer

    from django_prodserver.environment import PlatformOptions

    options = PlatformOptions("port", frozenset({"--port"}), "host", frozenset({"--host"}))
    monkeypatch.setattr(WsgirefServer, "platform_options", options)
    started = Started(monkeypatch)
    settings.PRODUCTION_PROCESSES = {"web": WSGIREF}
    preparations = Preparations(monkeypatch)

    run("web")

    assert preparations.counts == {"web": ["__init__", "prep_server_args", "check_args"]}
    assert len(started.calls) == 1


@pytest.mark.parametrize(
    ("given", "partner"),
    [
        (("--json",), "--list or --list-backends"),
        (("--output", "/tmp"), "--export"),
        (("--image", "example/site:1"), "--export"),
    ],
)
def test_an_option_that_goes_with_another_is_refused_alone(
    settings: SettingsWrapper, started: Started, given: tuple[str, ...], partner: str
) -> None:
    # `prodserver web --json` used to start the server, ignoring --json.
    settings.PRODUCTION_PROCESSES = {"web": WSGIREF}
    with pytest.raises(CommandError) as caught:
        run("web", *given)
    assert str(caught.value) == (
        f"{given[0]} goes with {partner}, and does nothing without: add {partner}, or leave "
        f"out {given[0]}."
    )
    assert started.calls == []


@pytest.mark.parametrize(
    ("setting", "value", "backend", "message"),
    [
        (
            "ASGI_APPLICATION",
            "testsite.wsgi.application",  # the WSGI handler, as ASGI
            "uvicorn",
            "Process 'web': the application 'testsite.wsgi:application' cannot be served: it is "
            "a WSGI application, and this server calls an ASGI one. Set ASGI_APPLICATION to your "
            "project's ASGI application, such as 'mysite.asgi.application'.",
        ),
        (
            "WSGI_APPLICATION",
            None,
            "tests.fake_backends.WSGIServer",
            "Process 'web': WSGI_APPLICATION is not set; set it to your project's WSGI "
            "application, such as 'mysite.wsgi.application'.",
        ),
    ],
)
def test_dry_run_imports_the_application_and_refuses_one_the_server_cannot_call(
    settings: SettingsWrapper, setting: str, value: str | None, backend: str, message: str
) -> None:
    setattr(settings, setting, value)
    settings.PRODUCTION_PROCESSES = {"web": {"BACKEND": backend}}
    with pytest.raises(CommandError) as caught:
        run("web", "--dry-run")
    assert str(caught.value) == message


def test_dry_run_of_several_names_each_application_it_cannot_serve(
    settings: SettingsWrapper, capsys: pytest.CaptureFixture[str]
) -> None:
    settings.ASGI_APPLICATION = "testsite.wsgi.application"
    settings.PRODUCTION_PROCESSES = {
        "web": {"BACKEND": "uvicorn", "ARGS": {"port": 8001}},
        "asgi": {"BACKEND": "daphne", "ARGS": {"port": 8002}},
        "wsgi": {"BACKEND": "waitress", "ARGS": {"port": 8003}},
    }
    with pytest.raises(CommandError) as caught:
        run("--all", "--dry-run")
    assert str(caught.value) == "2 of 3 processes cannot start; none started."
    problem = (
        "the application 'testsite.wsgi:application' cannot be served: it is a WSGI "
        "application, and this server calls an ASGI one. Set ASGI_APPLICATION to your "
        "project's ASGI application, such as 'mysite.asgi.application'."
    )
    assert capsys.readouterr().err == (f"Process 'web': {problem}\nProcess 'asgi': {problem}\n")
