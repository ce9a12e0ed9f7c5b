"""Several processes at once (supervisor.py and ``prodserver --all``): what is validated before
anything starts, and how the children are run and stopped.

The supervisor runs real child processes here: small Python programs that print, exit, or
ignore a signal, standing in for servers so that each rule is seen in a second or two. Real
servers and a real task worker under ``--all`` are in tests/integration/test_several.py.
"""

from __future__ import annotations

import io
import os
import signal
import sys
import textwrap
import threading
import time
from typing import Any, ClassVar

import pytest
from django.core.management import call_command
from django.core.management.base import CommandError

from django_prodserver import conf, processes, supervisor
from django_prodserver.backends.base import BaseProcessBackend, BaseServerBackend

from .backends.test_gunicorn import CTL  # [] on a gunicorn without a control socket

SettingsWrapper = Any


class Quick(BaseServerBackend):
    """A backend that gives its process one second to drain."""

    def graceful_timeout(self) -> float:
        return 1.0


class StopsOnSigint(Quick):
    stop_signal: ClassVar[signal.Signals] = signal.SIGINT


class PlainProcess(BaseProcessBackend):
    """A backend of no particular kind, as a 3.0 plugin may derive it from the root class."""

    def start_server(self, *args: str) -> None:
        pass


class Patient(BaseServerBackend):
    """A backend that gives its process a minute to drain."""

    def graceful_timeout(self) -> float:
        return 60.0


def python_child(
    name: str, code: str, backend: BaseServerBackend | None = None
) -> supervisor.Child:
    planned = processes.PlannedProcess(
        conf.ProcessConfig(name, "quick", {}), backend or Quick(), [], dict(os.environ)
    )
    return supervisor.Child(name, [sys.executable, "-c", textwrap.dedent(code)], planned)


SERVES = """
    import signal, sys, time
    def stop(signum, frame):
        print("stopping on", signal.Signals(signum).name, flush=True)
        sys.exit(0)
    signal.signal(signal.SIGTERM, stop)
    signal.signal(signal.SIGINT, stop)
    print("serving", flush=True)
    while True:
        time.sleep(0.05)
"""
IGNORES_SIGTERM = """
    import signal, time
    signal.signal(signal.SIGTERM, signal.SIG_IGN)
    print("ignoring SIGTERM", flush=True)
    while True:
        time.sleep(0.05)
"""


def run(
    children: list[supervisor.Child],
    colour: bool = False,
    signals: tuple[int, ...] = (),
    once: tuple[str, ...] = (),
) -> tuple[int, list[str]]:
    """Run the supervisor; send this process ``signals`` once every line of ``once`` (what
    the children print when their handlers are installed) has been printed."""
    output = io.StringIO()
    if signals:
        threading.Thread(target=signal_self, args=(output, signals, once), daemon=True).start()
    status = supervisor.Supervisor(children, output, colour).run()
    return status, output.getvalue().splitlines()


def signal_self(output: io.StringIO, signals: tuple[int, ...], once: tuple[str, ...]) -> None:
    deadline = time.monotonic() + 10
    while not all(line in output.getvalue() for line in once) and time.monotonic() < deadline:
        time.sleep(0.02)
    for sig in signals:
        os.kill(os.getpid(), sig)
        time.sleep(0.5)


def test_one_child_exiting_stops_the_others_and_gives_its_status() -> None:
    web = python_child("web", SERVES)
    status, lines = run([web, python_child("worker", "import time; time.sleep(2); exit(3)")])
    assert status == 3
    assert "prodserver | worker exited with status 3" in lines
    assert "prodserver | stopping web: SIGTERM, then up to 1 s to finish" in lines
    assert "web        | stopping on SIGTERM" in lines
    assert "prodserver | web exited with status 0" in lines
    # Every line is prefixed with its process's name, aligned to the longest name.
    assert all(line[:13] in ("prodserver | ", "web        | ", "worker     | ") for line in lines)


def test_a_child_that_exits_cleanly_on_its_own_still_ends_the_run_with_its_status() -> None:
    status, lines = run([python_child("web", SERVES), python_child("once", "print('done')")])
    assert status == 0
    assert "once       | done" in lines
    assert "prodserver | stopping web: SIGTERM, then up to 1 s to finish" in lines


def test_a_signal_without_a_name_is_shown_by_its_number() -> None:
    code = "import os, signal, time; time.sleep(0.3); os.kill(os.getpid(), signal.SIGRTMIN + 1)"
    status, lines = run([python_child("worker", code)])
    number = signal.SIGRTMIN + 1
    assert status == 128 + number
    assert f"prodserver | worker exited with status {128 + number} (signal {number})" in lines


def test_a_child_killed_by_a_signal_gives_128_plus_the_signal() -> None:
    code = "import os, signal, time; time.sleep(0.3); os.kill(os.getpid(), signal.SIGKILL)"
    status, lines = run([python_child("web", SERVES), python_child("worker", code)])
    assert status == 137
    assert "prodserver | worker exited with status 137 (signal SIGKILL)" in lines


def test_sigterm_is_forwarded_as_each_backend_s_stop_signal_and_a_clean_stop_exits_0() -> None:
    children = [python_child("web", SERVES), python_child("q", SERVES, StopsOnSigint())]
    status, lines = run(
        children, signals=(signal.SIGTERM,), once=("web        | serving", "q          | serving")
    )
    assert status == 0
    assert "web        | stopping on SIGTERM" in lines
    assert "q          | stopping on SIGINT" in lines
    assert "prodserver | stopping q: SIGINT, then up to 1 s to finish" in lines


def test_sigint_stops_them_too() -> None:
    status, lines = run(
        [python_child("web", SERVES)], signals=(signal.SIGINT,), once=("web        | serving",)
    )
    assert (status, lines[-1]) == (0, "prodserver | web exited with status 0")


def test_a_stop_requested_while_a_child_is_still_starting_is_a_clean_stop() -> None:
    # The child has no handler yet (Django still loading): the stop signal ends it, which is
    # the stop asked for, with nothing in flight; a platform must not see a failure (143).
    starting = "import time; print('loading', flush=True); time.sleep(30)"
    status, lines = run(
        [python_child("web", SERVES), python_child("late", starting)],
        signals=(signal.SIGTERM,),
        once=("web        | serving", "late       | loading"),
    )
    assert status == 0
    assert "prodserver | late exited with status 143 (signal SIGTERM)" in lines


def test_a_child_that_does_not_drain_in_time_is_killed_and_the_status_says_so() -> None:
    started = time.monotonic()
    status, lines = run(
        [python_child("web", SERVES), python_child("stuck", IGNORES_SIGTERM)],
        signals=(signal.SIGTERM,),
        once=("web        | serving", "stuck      | ignoring SIGTERM"),
    )
    assert status == 137
    assert "prodserver | killing stuck after its graceful timeout" in lines
    assert time.monotonic() - started < 5  # one second of grace, not the default thirty


def test_a_second_stop_signal_kills_at_once() -> None:
    slow = python_child("stuck", IGNORES_SIGTERM, Patient())
    started = time.monotonic()
    status, lines = run(
        [slow], signals=(signal.SIGTERM, signal.SIGTERM), once=("stuck      | ignoring SIGTERM",)
    )
    assert status == 137
    assert "prodserver | killing stuck after a second stop signal" in lines
    assert time.monotonic() - started < 10


def test_the_signal_handlers_are_put_back() -> None:
    before = signal.getsignal(signal.SIGTERM)
    run([python_child("once", "pass")])
    assert signal.getsignal(signal.SIGTERM) is before


def test_prefixes_are_coloured_only_when_asked() -> None:
    _, plain = run([python_child("web", "print('hi')")])
    assert "web        | hi" in plain
    _, coloured = run([python_child("web", "print('hi')")], colour=True)
    assert "\033[36mweb        | \033[0mhi" in coloured
    # The supervisor's own lines stay plain.
    assert any(line.startswith("prodserver | web started (pid ") for line in coloured)


def test_undecodable_output_is_relayed_with_replacement_characters() -> None:
    code = "import sys; sys.stdout.buffer.write(b'caf\\xe9\\r\\n'); sys.stdout.flush()"
    _, lines = run([python_child("web", code)])
    assert "web        | caf\ufffd" in lines


def test_the_child_command_is_this_manage_py_with_the_same_interpreter(
    monkeypatch: pytest.MonkeyPatch, tmp_path: Any
) -> None:
    manage = tmp_path / "manage.py"
    manage.write_text("")
    monkeypatch.setattr(sys, "argv", [str(manage), "prodserver", "--all"])
    assert supervisor.child_command("web", ["--settings=s"]) == [
        sys.executable,
        str(manage),
        "prodserver",
        "web",
        "--settings=s",
    ]
    main = os.path.join(os.path.dirname(__import__("django").__file__), "__main__.py")
    monkeypatch.setattr(sys, "argv", [main, "prodserver", "--all"])
    assert supervisor.child_command("web", []) == [
        sys.executable,
        "-m",
        "django",
        "prodserver",
        "web",
    ]


# Validation of every process, before any starts.

WSGIREF = {"BACKEND": "wsgiref", "ARGS": {"host": "127.0.0.1", "port": 8123}}
WORKER = {"BACKEND": "celery-worker", "APP": "testsite.celery_app.app"}


def call(*args: str) -> str:
    out = io.StringIO()
    call_command("prodserver", *args, stdout=out, stderr=out, no_color=True, skip_checks=True)
    return out.getvalue()


def test_every_bad_process_is_named_and_nothing_starts(
    settings: SettingsWrapper, monkeypatch: pytest.MonkeyPatch
) -> None:
    settings.PRODUCTION_PROCESSES = {
        "web": WSGIREF,
        "broken": {"BACKEND": "wsgiref", "ARGS": {"prot": 1}},
        "worker": WORKER,
        "typo": {"BACKEND": "mysite.backends.Nope"},
    }
    monkeypatch.setattr(supervisor.Supervisor, "run", lambda self: pytest.fail("started"))
    out = io.StringIO()
    with pytest.raises(CommandError) as caught:
        call_command("prodserver", "--all", stdout=out, stderr=out, no_color=True)
    assert out.getvalue().splitlines() == [
        "Process 'broken': unknown wsgiref option 'prot' in ARGS. Did you mean 'port'?",
        "Process 'typo': BACKEND 'mysite.backends.Nope' cannot be imported: there is no module "
        "named 'mysite.backends'. Check the spelling, or use a backend alias (manage.py "
        "prodserver --list-backends).",
    ]
    assert str(caught.value) == "2 of 4 processes cannot start; none started."


def test_names_the_setting_lacks_are_reported_with_the_rest(settings: SettingsWrapper) -> None:
    settings.PRODUCTION_PROCESSES = {"web": WSGIREF, "worker": WORKER}
    result = processes.plan(["wrker", "web"])
    assert [p.config.name for p in result.processes] == ["web"]
    assert [e.message for e in result.errors] == [
        "There is no process 'wrker' in PRODUCTION_PROCESSES. Did you mean 'worker'? "
        "Configured processes: web, worker."
    ]


def test_processes_start_in_setting_order_whatever_order_they_are_named_in(
    settings: SettingsWrapper,
) -> None:
    settings.PRODUCTION_PROCESSES = {"web": WSGIREF, "worker": WORKER, "other": WSGIREF}
    result = processes.plan(["other", "web", "web"])
    assert [p.config.name for p in result.processes] == ["web", "other"]


def test_each_server_gets_its_own_port_and_the_child_finds_it_in_port(
    settings: SettingsWrapper,
) -> None:
    settings.PRODUCTION_PROCESSES = {
        "web": {"BACKEND": "gunicorn"},
        "worker": WORKER,
        "api": {"BACKEND": "uvicorn", "ARGS": {"port": 9000}},
        "flower": {"BACKEND": "celery-flower", "APP": "testsite.celery_app.app"},
    }
    result = processes.plan([], environ={"PORT": "8000"})
    assert result.errors == []
    by_name = {p.config.name: p for p in result.processes}
    assert by_name["web"].args == [*CTL, "--bind=0.0.0.0:8000"]
    assert by_name["web"].environ["PORT"] == "8000"
    assert by_name["api"].args == ["--port=9000"]
    assert by_name["api"].environ["PORT"] == "8000"  # its own: not used
    assert by_name["flower"].args == ["--port=8200", "--address=0.0.0.0"]
    assert by_name["flower"].environ["PORT"] == "8200"
    assert by_name["flower"].config.sources[0] == (
        "Port: 8200 on 0.0.0.0, assigned by --all: PORT (8000) + 200."
    )
    assert "PORT" not in by_name["worker"].config.sources


def test_a_port_the_environment_cannot_give_is_one_line_per_server_that_needs_it(
    settings: SettingsWrapper,
) -> None:
    settings.PRODUCTION_PROCESSES = {
        "web": {"BACKEND": "gunicorn"},
        "worker": WORKER,
        "api": {"BACKEND": "uvicorn", "ARGS": {"port": 9000}},
        "flower": {"BACKEND": "celery-flower", "APP": "testsite.celery_app.app"},
    }
    result = processes.plan([], environ={"PORT": "abc"})
    assert [e.message for e in result.errors] == [
        f"Process {name!r}: the environment variable PORT is 'abc'; it must be a port number "
        f"from 1 to 65535, such as PORT=8000. Correct or unset PORT, or set the port in ARGS."
        for name in ("web", "flower")
    ]


def test_an_assigned_port_out_of_range_stops_everything(settings: SettingsWrapper) -> None:
    settings.PRODUCTION_PROCESSES = {"web": {"BACKEND": "gunicorn"}, "api": {"BACKEND": "uvicorn"}}
    result = processes.plan([], environ={"PORT": "65500"})
    assert [e.message for e in result.errors] == [
        "Process 'api': --all gives it port 65600 (base port 65500 + 100), above 65535. Set a "
        "lower PORT, or set the port in the process's ARGS."
    ]


def test_server_all_starts_the_servers_and_names_a_wrong_kind(settings: SettingsWrapper) -> None:
    settings.PRODUCTION_PROCESSES = {"web": WSGIREF, "worker": WORKER, "typo": {"BACKEND": "x"}}
    every = processes.plan([], kinds=("server", "dev"))
    assert [p.config.name for p in every.processes] == ["web"]
    assert [e.message.split(":")[0] for e in every.errors] == ["Process 'typo'"]
    named = processes.plan(["web", "worker"], kinds=("server", "dev"))
    assert [e.message for e in named.errors] == [
        "Process 'worker' runs a worker (backend 'celery-worker'), not a server."
    ]


def test_worker_all_without_workers_is_one_line(settings: SettingsWrapper) -> None:
    settings.PRODUCTION_PROCESSES = {"web": WSGIREF}
    with pytest.raises(CommandError) as caught:
        call_command("worker", "--all", skip_checks=True)
    assert str(caught.value) == "No process in PRODUCTION_PROCESSES runs a worker."


def test_all_with_names_is_refused(settings: SettingsWrapper) -> None:
    settings.PRODUCTION_PROCESSES = {"web": WSGIREF}
    with pytest.raises(CommandError) as caught:
        call("--all", "web")
    assert str(caught.value) == (
        "--all starts every process: give no process names with it, or leave out --all."
    )


def test_set_with_several_processes_is_refused(settings: SettingsWrapper) -> None:
    settings.PRODUCTION_PROCESSES = {"web": WSGIREF, "other": WSGIREF}
    with pytest.raises(CommandError) as caught:
        call("web", "other", "--set", "port=1")
    assert str(caught.value) == (
        "--set overrides the ARGS of one process: start that process alone to use it."
    )


def test_dry_run_shows_every_process_and_starts_nothing(
    settings: SettingsWrapper, monkeypatch: pytest.MonkeyPatch
) -> None:
    settings.PRODUCTION_PROCESSES = {"web": {"BACKEND": "hypercorn"}, "worker": WORKER}
    monkeypatch.setenv("PORT", "7000")
    monkeypatch.setenv("WEB_CONCURRENCY", "2")
    monkeypatch.setattr(supervisor.Supervisor, "run", lambda self: pytest.fail("started"))
    assert call("--all", "--dry-run").splitlines() == [
        "Would start process 'web' with backend 'hypercorn' (HypercornServer):",
        "hypercorn django_prodserver.backends.hypercorn_asgi:application --bind=0.0.0.0:7000 "
        "--workers=2",
        "Port: 7000 on 0.0.0.0, from the environment variable PORT.",
        "Workers: 2, from the environment variable WEB_CONCURRENCY.",
        "Would start process 'worker' with backend 'celery-worker' (CeleryWorker):",
        "celery --app=testsite.celery_app.app --skip-checks worker",
    ]


def test_the_command_runs_the_children_and_exits_with_the_status(
    settings: SettingsWrapper, monkeypatch: pytest.MonkeyPatch
) -> None:
    settings.PRODUCTION_PROCESSES = {"web": WSGIREF, "other": WSGIREF}
    seen: dict[str, Any] = {}

    def run_children(self: supervisor.Supervisor) -> int:
        seen["commands"] = [child.command for child in self.children]
        seen["colour"] = self.colour
        return 3

    monkeypatch.setattr(supervisor.Supervisor, "run", run_children)
    monkeypatch.setattr(sys, "argv", ["/srv/manage.py", "prodserver", "web", "other"])
    with pytest.raises(SystemExit) as caught:
        call_command(
            "prodserver",
            "web",
            "other",
            settings="s",
            pythonpath="/p",
            traceback=True,
            skip_checks=True,
        )
    assert caught.value.code == 3
    options = ["--settings=s", "--pythonpath=/p", "--traceback", "--skip-checks"]
    assert seen == {
        "commands": [
            [sys.executable, "/srv/manage.py", "prodserver", name, *options]
            for name in ("web", "other")
        ],
        "colour": False,
    }


def test_all_leaves_out_the_development_servers_and_a_named_one_must_be_allowed(
    settings: SettingsWrapper,
) -> None:
    settings.DEBUG = False
    settings.PRODUCTION_PROCESSES = {"web": WSGIREF, "dev": {"BACKEND": "runserver"}}
    every = processes.plan([])
    assert ([p.config.name for p in every.processes], every.errors) == (["web"], [])
    named = processes.plan(["web", "dev"])
    assert [e.message for e in named.errors] == [
        "Process 'dev': 'runserver' is a development server and DEBUG is False. Develop with "
        "DEBUG = True, or set 'ALLOW_IN_PRODUCTION': True in its entry to start it anyway."
    ]


def test_all_starts_a_backend_of_any_other_kind(settings: SettingsWrapper) -> None:
    settings.PRODUCTION_PROCESSES = {
        "web": WSGIREF,
        "custom": {"BACKEND": "tests.test_supervisor.PlainProcess"},
    }
    every = processes.plan([])
    assert [(p.config.name, p.backend.kind) for p in every.processes] == [
        ("web", "server"),
        ("custom", "process"),
    ]


def test_the_other_processes_problems_are_warnings_when_several_start(
    settings: SettingsWrapper, monkeypatch: pytest.MonkeyPatch, capsys: pytest.CaptureFixture[str]
) -> None:
    settings.PRODUCTION_PROCESSES = {
        "web": WSGIREF,
        "other": WSGIREF,
        "flower": {"BACKEND": "wsgiref", "ARGS": 3},
    }
    monkeypatch.setattr(supervisor.Supervisor, "run", lambda self: 0)
    call_command("prodserver", "web", "other", stdout=io.StringIO(), skip_checks=False)
    assert capsys.readouterr().err == (
        "System check identified some issues:\n\n"
        "WARNINGS:\n"
        "?: (prodserver.E006) Process 'flower': 'ARGS' must be a dict of options, a string or a "
        "list of strings, not int.\n"
        "\tHINT: It does not stop processes 'web', 'other' from starting; 'manage.py check' "
        "reports it as an error.\n"
    )
