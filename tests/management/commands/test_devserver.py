"""``manage.py devserver`` in this process: which arguments are runserver's, and which name a
configured development server. The servers really run in tests/integration/test_dev_servers.py;
here runserver's ``inner_run`` (where it serves) records what it would serve instead."""

from __future__ import annotations

import os
from io import StringIO
from typing import Any, ClassVar

import pytest
from django.core.management import call_command, get_commands, load_command_class

from django_prodserver.backends.base import BaseDevServerBackend

SettingsWrapper = Any


class RecordingDevServer(BaseDevServerBackend):
    program = "recording-dev-server"
    started: ClassVar[list[tuple[str, ...]]] = []

    def start_server(self, *args: str) -> None:
        self.started.append(args)


RECORDING_DEV_SERVER = "tests.management.commands.test_devserver.RecordingDevServer"


@pytest.fixture
def served(monkeypatch: pytest.MonkeyPatch) -> list[tuple[str, str]]:
    """Where runserver would have served, one (address, port) per start."""
    runserver = type(load_command_class(get_commands()["runserver"], "runserver"))
    addresses: list[tuple[str, str]] = []
    monkeypatch.setattr(
        runserver,
        "inner_run",
        lambda self, *args, **options: addresses.append((self.addr, self.port)),
    )
    return addresses


def devserver(*args: str, **options: Any) -> str:
    out = StringIO()
    call_command("devserver", *args, stdout=out, no_color=True, **options)
    return out.getvalue()


@pytest.mark.parametrize(
    "processes",
    [
        {"web": {"BACKEND": "gunicorn"}},
        "a broken setting: the argument can only be an address",
        None,
    ],
)
def test_an_address_that_names_no_process_is_runservers(
    settings: SettingsWrapper, served: list[tuple[str, str]], processes: Any
) -> None:
    if processes is None:
        del settings.PRODUCTION_PROCESSES
    else:
        settings.PRODUCTION_PROCESSES = processes
    devserver("127.0.0.1:8123", use_reloader=False)
    devserver(use_reloader=False)
    assert served == [("127.0.0.1", "8123"), ("127.0.0.1", "8000")]


def test_a_configured_name_starts_its_development_server(
    settings: SettingsWrapper, served: list[tuple[str, str]]
) -> None:
    settings.DEBUG = True
    settings.PRODUCTION_PROCESSES = {"dev": {"BACKEND": RECORDING_DEV_SERVER, "ARGS": {"port": 1}}}
    RecordingDevServer.started.clear()
    assert devserver("dev") == (
        "Starting process 'dev' with backend "
        "'tests.management.commands.test_devserver.RecordingDevServer'.\n"
    )
    assert RecordingDevServer.started == [("--port=1",)]
    assert served == []


def test_the_process_a_reloader_restarts_does_not_announce_the_start_again(
    settings: SettingsWrapper, monkeypatch: pytest.MonkeyPatch
) -> None:
    settings.DEBUG = True
    settings.PRODUCTION_PROCESSES = {"dev": {"BACKEND": RECORDING_DEV_SERVER}}
    RecordingDevServer.started.clear()
    monkeypatch.setitem(os.environ, "RUN_MAIN", "true")  # set by Django's reloader
    assert devserver("dev") == ""
    assert RecordingDevServer.started == [()]
