"""The system checks (checks.py): every broken process reported, missing packages as warnings,
and the deployment checks."""

from __future__ import annotations

from pathlib import Path
from typing import Any

import pytest
from django.core import checks
from django.core.management import call_command
from django.core.management.base import SystemCheckError

from django_prodserver.checks import (
    check_debug_in_production,
    check_development_options,
    check_production_processes,
)

from .test_conf import WSGIREF

SettingsWrapper = Any  # pytest-django renamed its class across versions


def test_checks_report_every_broken_process_not_just_the_first(
    settings: SettingsWrapper,
) -> None:
    settings.PRODUCTION_PROCESSES = {
        "a": {"BACKEND": "wsgiref", "ARG": {}},
        "ok": WSGIREF,
        "b": "wsgiref",
    }
    assert [message.id for message in check_production_processes()] == [
        "prodserver.E007",
        "prodserver.E003",
    ]


def test_missing_server_package_is_a_warning_not_an_error(
    settings: SettingsWrapper, monkeypatch: pytest.MonkeyPatch, tmp_path: Path
) -> None:
    # The worker's image need not have the web server installed, and vice versa.
    (tmp_path / "fake_backend_needing_lib.py").write_text("import fake_server_lib\n")
    monkeypatch.syspath_prepend(str(tmp_path))
    settings.PRODUCTION_PROCESSES = {"web": {"BACKEND": "fake_backend_needing_lib.Server"}}
    messages = check_production_processes()
    assert messages == [
        checks.Warning(
            "Process 'web': BACKEND 'fake_backend_needing_lib.Server' needs the module "
            "'fake_server_lib', which is not installed. Install the package that provides it.",
            id="prodserver.W001",
        )
    ]


def test_check_command_fails_on_a_bad_process(settings: SettingsWrapper) -> None:
    settings.PRODUCTION_PROCESSES = {"web": {"BACKEND": "wsgiref", "ARG": {}}}
    with pytest.raises(SystemCheckError, match=r"prodserver\.E007"):
        call_command("check")


def test_deploy_check_warns_when_debug_is_on(settings: SettingsWrapper) -> None:
    settings.PRODUCTION_PROCESSES = {"web": WSGIREF}
    settings.DEBUG = True
    [warning] = check_debug_in_production()
    assert warning.id == "prodserver.W002"
    assert warning.msg == (
        "DEBUG is True while PRODUCTION_PROCESSES is set: production processes would serve "
        "debug pages and keep every SQL query in memory."
    )
    settings.DEBUG = False
    assert check_debug_in_production() == []


@pytest.mark.parametrize("value", [True, None, "true", "1"])
def test_deploy_check_warns_about_development_options(
    settings: SettingsWrapper, value: object
) -> None:
    settings.PRODUCTION_PROCESSES = {
        "web": {"BACKEND": "tests.fake_backends.RecordingServer", "ARGS": {"reload": value}},
        "plain": {"BACKEND": "tests.fake_backends.RecordingServer", "ARGS": "--reload"},
        "broken": {"BACKEND": "nope"},
    }
    assert check_development_options() == [
        checks.Warning(
            "Process 'web': ARGS['reload'] is a development option: it costs resources and "
            "restarts the server whenever a file changes.",
            hint="Remove 'reload' from the ARGS that production uses.",
            id="prodserver.W003",
        )
    ]


@pytest.mark.parametrize("value", [False, "false", "off"])
def test_development_option_turned_off_is_fine(settings: SettingsWrapper, value: object) -> None:
    settings.PRODUCTION_PROCESSES = {
        "web": {"BACKEND": "tests.fake_backends.RecordingServer", "ARGS": {"reload": value}}
    }
    assert check_development_options() == []


def test_development_options_check_skips_a_broken_setting(settings: SettingsWrapper) -> None:
    settings.PRODUCTION_PROCESSES = "broken"
    assert check_development_options() == []
    del settings.PRODUCTION_PROCESSES
    assert check_development_options() == []
