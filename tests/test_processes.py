"""The process handler (processes.py): a command run builds each process's backend and its
arguments once, whatever asks for them: the start, its system checks, ``--list``, ``--dry-run``,
``--all``, several names and ``--export``."""

from __future__ import annotations

from collections.abc import Iterator
from io import StringIO
from pathlib import Path
from typing import Any

import pytest
from django.core.management import call_command
from django.core.management.base import CommandError

from django_prodserver import processes, supervisor
from django_prodserver.exceptions import InvalidArgsType

from .fake_backends import Counting, CountingServer

SettingsWrapper = Any
ONCE = ["__init__", "prep_server_args", "check_args"]
PROJECT_DIR = Path(__file__).resolve().parent / "fixtures" / "project"


@pytest.fixture(autouse=True)
def counted(settings: SettingsWrapper, monkeypatch: pytest.MonkeyPatch) -> Iterator[None]:
    settings.PRODUCTION_PROCESSES = {
        "web": {"BACKEND": "tests.fake_backends.CountingServer", "ARGS": {"host": "0.0.0.0"}},
        "worker": {"BACKEND": "tests.fake_backends.CountingWorker"},
    }
    settings.BASE_DIR = PROJECT_DIR  # where --export finds manage.py
    # The platform's variables change the web process's ARGS at a start: what the checks
    # see must still be the backend that starts.
    monkeypatch.setenv("PORT", "9000")
    monkeypatch.setenv("WEB_CONCURRENCY", "3")
    Counting.counts.clear()
    CountingServer.started.clear()
    yield
    Counting.counts.clear()
    CountingServer.started.clear()


def run(command: str, *args: str, checks: bool = True) -> str:
    out = StringIO()
    call_command(command, *args, stdout=out, stderr=StringIO(), skip_checks=not checks)
    return out.getvalue()


def test_a_start_and_its_checks_build_each_process_once() -> None:
    assert run("prodserver", "web") == (
        "Starting process 'web' with backend 'tests.fake_backends.CountingServer'.\n"
    )
    # The start built "web" with $PORT and $WEB_CONCURRENCY applied; the checks checked that
    # backend, and built "worker", which only they look at, once.
    assert Counting.counts == {"web": ONCE, "worker": ONCE}
    assert CountingServer.started == [("web", ("--host=0.0.0.0", "--port=9000", "--workers=3"))]


def test_a_start_by_kind_builds_only_what_it_starts_and_checks() -> None:
    # `manage.py worker` finds the first worker by its backend's kind, without building a
    # backend to learn it.
    run("worker")
    assert Counting.counts == {"web": ONCE, "worker": ONCE}
    run("server", checks=False)
    assert Counting.counts == {"web": ONCE * 2, "worker": ONCE}  # a second run builds anew


def test_dry_run_builds_the_process_once() -> None:
    out = run("prodserver", "web", "--dry-run")
    assert out.startswith(
        "Would start process 'web' with backend 'tests.fake_backends.CountingServer' "
        "(CountingServer):\nrecording-server --host=0.0.0.0 --port=9000 --workers=3\n"
    )
    assert Counting.counts == {"web": ONCE}


@pytest.mark.parametrize("as_json", [(), ("--json",)])
def test_list_builds_each_process_once(as_json: tuple[str, ...]) -> None:
    run("prodserver", "--list", *as_json)
    assert Counting.counts == {"web": ONCE, "worker": ONCE}


@pytest.mark.parametrize("names", [("--all",), ("web", "worker")])
def test_several_processes_and_their_checks_build_each_once(
    names: tuple[str, ...], monkeypatch: pytest.MonkeyPatch
) -> None:
    ran: list[list[str]] = []
    monkeypatch.setattr(
        supervisor.Supervisor,
        "run",
        lambda self: ran.append([child.name for child in self.children]) or 0,
    )
    run("prodserver", *names)
    assert ran == [["web", "worker"]]
    assert Counting.counts == {"web": ONCE, "worker": ONCE}

    run("prodserver", *names, "--dry-run")
    assert Counting.counts == {"web": ONCE * 2, "worker": ONCE * 2}


@pytest.mark.parametrize(
    "export", [("procfile",), ("systemd",), ("kubernetes", "--image", "example/mysite:1")]
)
def test_export_builds_each_process_once(export: tuple[str, ...]) -> None:
    run("prodserver", "--export", *export)
    assert Counting.counts == {"web": ONCE, "worker": ONCE}


def test_the_checks_share_one_handler_within_a_run() -> None:
    with processes.for_this_run():
        call_command("check", "--deploy", stdout=StringIO(), stderr=StringIO())
    # check_production_processes prepared both; the deploy check reused their backends.
    assert Counting.counts == {"web": ONCE, "worker": ONCE}


def test_a_failure_is_kept_and_raised_again_without_building_again(
    settings: SettingsWrapper,
) -> None:
    settings.PRODUCTION_PROCESSES["web"]["ARGS"] = {"host": ["a", 1j]}
    handler = processes.ProcessHandler()
    with pytest.raises(Exception) as first:
        handler["web"]
    with pytest.raises(Exception) as second:
        handler["web"]
    assert first.value is second.value
    assert str(first.value) == (
        "Process 'web': ARGS['host'] is 1j (complex); a value must be a string, a number, a "
        "path, True, False, None or a list of those."
    )
    assert Counting.counts == {"web": ["__init__", "prep_server_args"]}


def test_an_entry_error_is_kept_too(settings: SettingsWrapper) -> None:
    settings.PRODUCTION_PROCESSES["worker"]["ARGS"] = 3
    handler = processes.ProcessHandler()
    with pytest.raises(InvalidArgsType) as first:
        handler.config("worker")
    with pytest.raises(InvalidArgsType) as second:
        handler["worker"]
    assert first.value is second.value
    assert handler.kind("worker") is None


def test_outside_a_run_each_caller_has_a_handler_of_its_own() -> None:
    assert processes.current() is not processes.current()
    with processes.for_this_run() as handler:
        assert processes.current() is handler
    assert processes.current() is not handler


def test_a_kind_no_process_has_is_one_error(settings: SettingsWrapper) -> None:
    settings.PRODUCTION_PROCESSES = {"web": settings.PRODUCTION_PROCESSES["web"]}
    with pytest.raises(CommandError) as caught:
        run("worker")
    assert str(caught.value) == (
        "No process in PRODUCTION_PROCESSES has a worker backend that can be loaded. "
        "Run 'manage.py prodserver --list' to see each process and its backend."
    )


@pytest.mark.parametrize("backend", ["uvicorn", "granian-asgi"])
def test_an_application_setting_error_is_worded_for_the_process(
    settings: SettingsWrapper, backend: str
) -> None:
    settings.ASGI_APPLICATION = "nowhere.asgi.application"
    settings.PRODUCTION_PROCESSES = {"web": {"BACKEND": backend}}
    with pytest.raises(CommandError) as caught:
        run("prodserver", "web", "--dry-run")
    assert str(caught.value) == (
        "Process 'web': ASGI_APPLICATION = 'nowhere.asgi.application', but there is no module "
        "'nowhere.asgi'. Set it to your project's application, such as 'mysite.wsgi.application'."
    )


def test_an_application_error_already_worded_for_the_process_is_kept(
    monkeypatch: pytest.MonkeyPatch,
) -> None:
    from django_prodserver.exceptions import InvalidApplication

    def refuse(backend: Counting, args: object) -> None:
        raise InvalidApplication(f"Process {backend.process_name!r}: the application is 42.")

    monkeypatch.setattr(Counting, "check_args", refuse)
    with pytest.raises(CommandError) as caught:
        run("prodserver", "web", "--dry-run")
    assert str(caught.value) == "Process 'web': the application is 42."
