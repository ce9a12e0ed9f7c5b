"""backends/base.py: the base classes (3.0's hierarchy and argument list, backends written against
3.0) and the ARGS-to-argv rule every command-line-style backend shares."""

from __future__ import annotations

from io import StringIO
from pathlib import Path
from typing import Any

import pytest
from django.core.management import call_command

from django_prodserver.backends.base import (
    BaseProcessBackend,
    BaseServerBackend,
    BaseWorkerBackend,
    args_to_argv,
)
from django_prodserver.checks import check_production_processes
from django_prodserver.exceptions import InvalidArgsType, InvalidBackendArgs

SettingsWrapper = Any

UPSTREAM = "testsite.upstream_backends."


def run(*args: str) -> str:
    out = StringIO()
    call_command("prodserver", *args, stdout=out, no_color=True)
    return out.getvalue()


class Server(BaseServerBackend):
    pass


class Worker(BaseWorkerBackend):
    pass


def test_servers_and_workers_share_one_root_but_not_each_other() -> None:
    assert issubclass(Server, BaseProcessBackend)
    assert issubclass(Worker, BaseProcessBackend)
    assert not issubclass(Worker, BaseServerBackend)
    assert not issubclass(Server, BaseWorkerBackend)
    assert (Server.kind, Worker.kind, BaseProcessBackend.kind) == ("server", "worker", "process")


def test_args_is_the_argument_list_and_args_setting_what_settings_hold() -> None:
    backend = Server(ARGS={"bind": "127.0.0.1:8000", "workers": 2, "preload": True})
    assert backend.args_setting == {"bind": "127.0.0.1:8000", "workers": 2, "preload": True}
    assert backend.args == ["--bind=127.0.0.1:8000", "--workers=2", "--preload"]
    assert backend.prep_server_args() == backend.args


def test_extending_what_prep_server_args_returns_leaves_self_args_alone() -> None:
    backend = Server(ARGS={"workers": 2})
    backend.prep_server_args().append("--extra")
    assert backend.prep_server_args() == ["--workers=2"]


def test_a_backend_may_set_self_args_itself() -> None:
    backend = Server(ARGS={"workers": 2})
    backend.args = ["--fixed"]
    assert backend.prep_server_args() == ["--fixed"]


@pytest.mark.parametrize(
    ("setting", "argv"),
    [
        ({"bind": "0.0.0.0:8111", "preload": None}, ["--bind=0.0.0.0:8111", "--preload"]),
        ({"reload": True, "daemon": False}, ["--reload"]),
        ({"bind": ["127.0.0.1:1", "127.0.0.1:2"]}, ["--bind=127.0.0.1:1", "--bind=127.0.0.1:2"]),
        ({"workers": 4, "timeout": 2.5}, ["--workers=4", "--timeout=2.5"]),
        ({"-w": 4}, ["-w", "4"]),
        ("--workers=2", ["--workers=2"]),
        (["--workers", "2"], ["--workers", "2"]),
        ({}, []),
    ],
)
def test_format_server_args_from_dict_applies_the_one_args_rule(
    setting: Any, argv: list[str]
) -> None:
    assert Server()._format_server_args_from_dict(setting) == argv


def test_format_server_args_from_dict_uses_the_backends_negation() -> None:
    class Negating(BaseServerBackend):
        def negated_flag(self, flag: str) -> str | None:
            return "--no-" + flag[2:]

    assert Negating()._format_server_args_from_dict({"access-log": False}) == ["--no-access-log"]


def test_a_bad_value_is_reported_when_the_arguments_are_built() -> None:
    backend = Server(process_name="web", ARGS={"workers": {"a": 1}})
    with pytest.raises(InvalidBackendArgs) as caught:
        backend.prep_server_args()
    assert caught.value.message == (
        "Process 'web': ARGS['workers'] is {'a': 1} (dict); a value must be a string, a number, "
        "a path, True, False, None or a list of those."
    )


def test_a_3_0_backend_extending_self_args_starts_with_the_argv_expected(
    settings: SettingsWrapper, capsys: pytest.CaptureFixture[str]
) -> None:
    settings.PRODUCTION_PROCESSES = {
        "web": {
            "BACKEND": UPSTREAM + "ExtendingServer",
            "ARGS": {"bind": "127.0.0.1:8000", "workers": 2},
        }
    }
    assert run("web") == f"Starting process 'web' with backend '{UPSTREAM}ExtendingServer'.\n"
    assert capsys.readouterr().out == (
        'ExtendingServer started with ["testsite.asgi:application", "--interface=asgi3", '
        '"--bind=127.0.0.1:8000", "--workers=2"]\n'
    )


def test_a_3_0_backend_appending_the_application_shows_it_in_dry_run(
    settings: SettingsWrapper,
) -> None:
    settings.PRODUCTION_PROCESSES = {
        "web": {"BACKEND": UPSTREAM + "AppendingServer", "ARGS": {"port": 8080}}
    }
    assert run("web", "--dry-run") == (
        f"Would start process 'web' with backend '{UPSTREAM}AppendingServer' (AppendingServer):\n"
        "AppendingServer waitress --port=8080 testsite.wsgi:application\n"
    )


def test_a_3_0_backend_reading_an_undeclared_key_gets_it_and_a_warning(
    settings: SettingsWrapper, capsys: pytest.CaptureFixture[str]
) -> None:
    settings.PRODUCTION_PROCESSES = {
        "jobs": {
            "BACKEND": UPSTREAM + "OptionsWorker",
            "OPTIONS": {"queue": ["a", "b"], "verbose": True},
            "ARGS": {"concurrency": 2},
        }
    }
    run("jobs")
    assert capsys.readouterr().out == (
        'OptionsWorker started with ["--queue=a", "--queue=b", "--verbose", "--concurrency=2"]\n'
    )
    [warning] = check_production_processes()
    assert (warning.level, warning.id) == (30, "prodserver.W004")
    assert warning.msg == (
        f"Process 'jobs': backend '{UPSTREAM}OptionsWorker' does not declare settings_keys, so "
        "its key 'OPTIONS' cannot be checked. If the backend reads it, add settings_keys = "
        "frozenset({'OPTIONS'}) to OptionsWorker; otherwise remove the key."
    )


def test_a_typo_in_an_undeclared_backends_entry_is_a_warning_with_the_suggestion(
    settings: SettingsWrapper,
) -> None:
    settings.PRODUCTION_PROCESSES = {"web": {"BACKEND": UPSTREAM + "ExtendingServer", "ARG": {}}}
    [warning] = check_production_processes()
    assert warning.msg == (
        f"Process 'web': backend '{UPSTREAM}ExtendingServer' does not declare settings_keys, so "
        "its key 'ARG' cannot be checked. Did you mean 'ARGS'? If the backend reads it, add "
        "settings_keys = frozenset({'ARG'}) to ExtendingServer; otherwise remove the key."
    )


def test_a_3_0_worker_importing_app_before_the_base_init_starts(
    settings: SettingsWrapper, capsys: pytest.CaptureFixture[str]
) -> None:
    settings.PRODUCTION_PROCESSES = {
        "worker": {
            "BACKEND": UPSTREAM + "AppWorker",
            "APP": "testsite.celery_app.app",
            "ARGS": {"loglevel": "info"},
        }
    }
    run("worker")
    assert capsys.readouterr().out == 'AppWorker(testsite) started with ["--loglevel=info"]\n'
    assert [message.id for message in check_production_processes()] == ["prodserver.W004"]


def test_a_built_in_backend_still_rejects_an_unknown_key(settings: SettingsWrapper) -> None:
    settings.PRODUCTION_PROCESSES = {"web": {"BACKEND": "gunicorn", "ARG": {}}}
    [error] = check_production_processes()
    assert (error.level, error.id) == (40, "prodserver.E007")
    assert error.msg == (
        "Process 'web': unknown key 'ARG' in its entry. Did you mean 'ARGS'? Backend 'gunicorn' "
        "reads: ARGS, BACKEND, HEALTHCHECK."
    )


@pytest.mark.parametrize("command", ["server", "worker"])
def test_each_command_keeps_to_its_kind_for_3_0_backends(
    settings: SettingsWrapper, command: str
) -> None:
    settings.PRODUCTION_PROCESSES = {
        "web": {"BACKEND": UPSTREAM + "ExtendingServer"},
        "jobs": {"BACKEND": UPSTREAM + "OptionsWorker"},
    }
    other = {"server": "jobs", "worker": "web"}[command]
    out = StringIO()
    with pytest.raises(Exception) as caught:
        call_command(command, other, "--dry-run", stdout=out)
    kind = {"server": "worker", "worker": "server"}[command]
    backend = {"jobs": "OptionsWorker", "web": "ExtendingServer"}[other]
    assert str(caught.value) == (
        f"Process {other!r} runs a {kind} (backend '{UPSTREAM}{backend}'), not a {command}: "
        f"start it with 'manage.py {kind} {other}' or 'manage.py prodserver {other}'."
    )


def test_a_backend_on_the_root_class_is_started_by_prodserver_only(
    settings: SettingsWrapper,
) -> None:
    settings.PRODUCTION_PROCESSES = {"proc": {"BACKEND": "tests.backends.test_base.Process"}}
    assert run("proc", "--dry-run").endswith("\nProcess\n")
    with pytest.raises(Exception) as caught:
        call_command("server", "proc", "--dry-run", stdout=StringIO())
    assert str(caught.value) == (
        "Process 'proc' runs a process (backend 'tests.backends.test_base.Process'), not a "
        "server: start it with 'manage.py prodserver proc'."
    )


class Process(BaseProcessBackend):
    def start_server(self, *args: str) -> None:
        raise AssertionError("not started by these tests")


# The ARGS-to-argv rule.


@pytest.mark.parametrize(
    ("args", "argv"),
    [
        ({"bind": "127.0.0.1:8000", "workers": 2}, ["--bind=127.0.0.1:8000", "--workers=2"]),
        ({"timeout": 2.5}, ["--timeout=2.5"]),
        ({"max_requests": 100}, ["--max-requests=100"]),
        ({"preload": True, "daemon": None}, ["--preload", "--daemon"]),
        ({"reload": False}, []),
        ({"bind": ["127.0.0.1:1", "[::1]:2"]}, ["--bind=127.0.0.1:1", "--bind=[::1]:2"]),
        ({"queues": ("a", "b")}, ["--queues=a", "--queues=b"]),
        ({"-w": 4}, ["-w", "4"]),
        ({"--log-level": "debug"}, ["--log-level=debug"]),
        ({"config": Path("/etc/app.conf")}, ["--config=/etc/app.conf"]),
        ({"flag": [True, True]}, ["--flag", "--flag"]),
        ({}, []),
        (None, []),
        ("--bind=127.0.0.1:8000 --workers=2", ["--bind=127.0.0.1:8000 --workers=2"]),
        (["--bind", "127.0.0.1:8000"], ["--bind", "127.0.0.1:8000"]),
        (("-w", "2"), ["-w", "2"]),
    ],
)
def test_args_to_argv(args: Any, argv: list[str]) -> None:
    assert args_to_argv(args) == argv


def test_false_uses_the_programs_negated_form_where_it_has_one() -> None:
    def negate(flag: str) -> str | None:
        return "--no-" + flag[2:] if flag == "--access-log" else None

    assert args_to_argv({"access_log": False, "reload": False}, negate=negate) == [
        "--no-access-log"
    ]


@pytest.mark.parametrize(
    ("args", "error", "message"),
    [
        (
            42,
            InvalidArgsType,
            "Process 'web': ARGS must be a dict of options, a string or a list of strings, "
            "not int.",
        ),
        (
            ["--workers", 2],
            InvalidArgsType,
            "Process 'web': ARGS given as a list must hold only strings; 2 is int. Use a dict "
            "to give typed values.",
        ),
        (
            {"workers": {"min": 1}},
            InvalidBackendArgs,
            "Process 'web': ARGS['workers'] is {'min': 1} (dict); a value must be a string, a "
            "number, a path, True, False, None or a list of those.",
        ),
        (
            {"bind": [["nested"]]},
            InvalidBackendArgs,
            "Process 'web': ARGS['bind'] is ['nested'] (list); a value must be a string, a "
            "number, a path, True, False, None or a list of those.",
        ),
        (
            {"": 1},
            InvalidBackendArgs,
            "Process 'web': ARGS has the key ''; keys must be option names.",
        ),
        (
            {3: 1},
            InvalidBackendArgs,
            "Process 'web': ARGS has the key 3; keys must be option names.",
        ),
    ],
)
def test_bad_args(args: Any, error: type[Exception], message: str) -> None:
    with pytest.raises(error) as excinfo:
        args_to_argv(args, process="web")
    assert str(excinfo.value) == message


def test_errors_without_a_process_name_say_so_plainly() -> None:
    with pytest.raises(InvalidArgsType) as excinfo:
        args_to_argv(3.5)
    assert str(excinfo.value) == (
        "ARGS must be a dict of options, a string or a list of strings, not float."
    )


def test_backend_keeps_alias_process_and_config() -> None:
    backend = BaseServerBackend(
        alias="fake", process_name="web", BACKEND="fake", ARGS={"workers": 2}
    )
    assert (backend.alias, backend.process_name, backend.kind) == ("fake", "web", "server")
    assert backend.entry == {"BACKEND": "fake", "ARGS": {"workers": 2}}
    assert backend.backend_name == "fake"
    assert BaseServerBackend(alias="fast").backend_name == "fast"
    assert BaseServerBackend().backend_name == "BaseServerBackend"
    assert backend.application_interface() is None
    backend.check_application()  # serves no application of the project: nothing to import
    assert backend.prep_server_args() == ["--workers=2"]
    backend.check_args(["--anything"])  # the base class accepts what it cannot judge
    assert backend.describe_start(["--workers=2", "a b"]) == "BaseServerBackend --workers=2 'a b'"
    with pytest.raises(NotImplementedError):
        backend.start_server()


def test_older_style_construction_still_works() -> None:
    # Third-party backends written for the older package call cls(**entry).
    backend = BaseWorkerBackend(BACKEND="x.Y", ARGS="--concurrency=2")
    assert backend.kind == "worker"
    assert backend.prep_server_args() == ["--concurrency=2"]
    assert str(backend.error("bad")) == "bad"
