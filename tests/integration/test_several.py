"""Several processes at once, for real: ``manage.py prodserver --all`` and ``prodserver web
worker`` with a Granian web process and a django-tasks worker executing real tasks.

Each process is its own ``manage.py prodserver NAME`` child; the tests send the stop signal to
the parent only, as a container runtime or systemd would, and watch every child stop.
"""

from __future__ import annotations

import os
import pty
import re
import signal
import subprocess
import time
from importlib import metadata
from pathlib import Path

import pytest

from django_prodserver.backends.granian import DJANGO_WSGI_BLOCKING_THREADS

from . import harness
from .conftest import StartServer
from .test_web_servers import HELLO, IN_FLIGHT, answered, stop_during_slow_requests
from .test_workers import DJANGO_TASKS_WORKER, enqueue, migrated, tasks_settings, wait_for

pytestmark = pytest.mark.integration

# No port in ARGS: the port comes from $PORT, as on a platform. The host keeps it on loopback.
WEB = {
    "BACKEND": "granian-wsgi",
    "ARGS": {"host": "127.0.0.1", "workers": 2, "workers_kill_timeout": 20},
}
PROCESSES = {"web": WEB, "worker": DJANGO_TASKS_WORKER}
TASK_SECONDS = 4


def started_pid(server: harness.ServerProcess, name: str) -> int:
    found = re.search(rf"^prodserver \| {name} started \(pid (\d+)\)$", server.output, re.M)
    assert found, server.output
    return int(found.group(1))


def start_all(
    start_server: StartServer, tmp_path: Path, name: str = "--all"
) -> harness.ServerProcess:
    server = start_server(PROCESSES, name, tasks_settings(tmp_path), env={"PORT": "{port}"})
    first = server.wait_ready()
    assert (first.status, first.body) == (200, HELLO), server.output
    return server


@pytest.mark.skipif(
    int(metadata.version("granian").split(".")[0]) < 2,
    reason="Granian 1.x cuts requests in flight at SIGTERM (its own CLI too), and a WSGI worker "
    "with one in flight does not exit until workers-kill-timeout",
)
def test_sigterm_lets_requests_and_the_task_in_flight_finish_and_exits_0(
    start_server: StartServer, tmp_path: Path
) -> None:
    migrated(tmp_path, PROCESSES, tasks_settings(tmp_path))
    server = start_all(start_server, tmp_path)
    enqueue(
        tmp_path,
        f"from testsite.tasks import slow_write_file; "
        f"slow_write_file.enqueue({str(tmp_path)!r}, {TASK_SECONDS})",
    )
    wait_for((tmp_path / "started").exists, server, 30)

    status, elapsed, responses = stop_during_slow_requests(server, signal.SIGTERM)

    assert answered(responses) == IN_FLIGHT, (responses, server.output)
    assert (tmp_path / "finished").read_text() == "finished", server.output
    assert status == 0, server.output
    assert elapsed < 15
    lines = server.output.splitlines()
    for line in [
        "prodserver | stopping web: SIGTERM, then up to 20 s to finish",
        "prodserver | stopping worker: SIGTERM, then up to 30 s to finish",
        "prodserver | web exited with status 0",
        "prodserver | worker exited with status 0",
        "web        | Starting process 'web' with backend 'granian-wsgi'.",
        "worker     | Starting process 'worker' with backend 'django-tasks'.",
    ]:
        assert line in lines, server.output
    # Every line is a child's or the supervisor's, prefixed and aligned; no colour on a file.
    assert all(re.match(r"(prodserver|web       |worker    ) \| ", line) for line in lines), lines
    assert "\033[" not in server.output


def test_a_child_killed_stops_the_others_with_that_child_s_status(
    start_server: StartServer, tmp_path: Path
) -> None:
    migrated(tmp_path, PROCESSES, tasks_settings(tmp_path))
    server = start_all(start_server, tmp_path, name="web worker")
    web_pid = started_pid(server, "web")
    granian_workers = harness.child_processes(web_pid)
    assert len(granian_workers) == 2, server.output

    os.kill(started_pid(server, "worker"), signal.SIGKILL)

    assert server.proc.wait(timeout=30) == 137, server.output
    lines = server.output.splitlines()
    assert "prodserver | worker exited with status 137 (signal SIGKILL)" in lines
    assert "prodserver | stopping web: SIGTERM, then up to 20 s to finish" in lines
    assert "prodserver | web exited with status 0" in lines
    for pid in [web_pid, *granian_workers]:
        assert not Path(f"/proc/{pid}").exists(), f"process {pid} is still running"
    assert harness.listening_addresses(server.port) == set()


def test_several_names_start_only_those_processes(
    start_server: StartServer, tmp_path: Path
) -> None:
    # "unused" would take the same port: only the named processes run.
    processes = {**PROCESSES, "unused": {"BACKEND": "waitress"}}
    migrated(tmp_path, processes, tasks_settings(tmp_path))
    server = start_server(processes, "worker web", tasks_settings(tmp_path), env={"PORT": "{port}"})
    server.wait_ready()
    target = tmp_path / "written"
    enqueue(
        tmp_path,
        f"from testsite.tasks import write_file; write_file.enqueue({str(target)!r}, 'hello')",
    )
    wait_for(target.exists, server, 30)

    assert server.stop(signal.SIGINT, timeout=40) == 0, server.output
    assert "unused" not in server.output
    # Setting order, whatever the order on the command line.
    assert server.output.index("web started") < server.output.index("worker started")


def run_in_a_terminal(directory: Path, *args: str, timeout: float = 60) -> tuple[int, str]:
    """Run a management command with its output on a pseudo-terminal, as on a developer's
    screen; return its exit status and what it printed."""
    primary, secondary = pty.openpty()
    proc = subprocess.Popen(
        harness.manage_command(directory, *args),
        cwd=harness.PROJECT_DIR,
        env=harness.subprocess_env(),
        stdin=subprocess.DEVNULL,
        stdout=secondary,
        stderr=secondary,
    )
    os.close(secondary)
    output = b""
    deadline = time.monotonic() + timeout
    try:
        while time.monotonic() < deadline:
            try:
                chunk = os.read(primary, 4096)
            except OSError:  # EIO: every writer has closed the terminal
                break
            if not chunk:
                break
            output += chunk
        return proc.wait(timeout=max(1, deadline - time.monotonic())), output.decode()
    finally:
        proc.kill()
        os.close(primary)


def test_prefixes_are_coloured_on_a_terminal_unless_no_color(tmp_path: Path) -> None:
    # A one-shot worker (--batch: the queue is empty, so it exits at once, status 0).
    processes = {"worker": {"BACKEND": "django-tasks", "ARGS": {"batch": True}}}
    migrated(tmp_path, processes, tasks_settings(tmp_path))

    status, coloured = run_in_a_terminal(tmp_path, "prodserver", "--all")
    assert status == 0, coloured
    assert re.search(r"^\033\[\d+mworker +\| \033\[0m", coloured, re.M), coloured
    assert "\033[0mStarting process 'worker' with backend 'django-tasks'." in coloured

    status, plain = run_in_a_terminal(tmp_path, "prodserver", "--all", "--no-color")
    assert status == 0, plain
    assert "\033[" not in plain
    assert "worker     | Starting process 'worker' with backend 'django-tasks'." in plain


def test_a_bad_process_among_several_starts_nothing(tmp_path: Path) -> None:
    port = harness.free_port()
    harness.write_settings(
        tmp_path,
        {
            "web": {**WEB, "ARGS": {"host": "127.0.0.1", "port": port}},
            "worker": {"BACKEND": "django-tasks", "ARGS": {"interval": "soon"}},
            "beat": {"BACKEND": "celery-beat"},
        },
        tasks_settings(tmp_path),
    )
    started = time.monotonic()

    result = harness.run_manage(tmp_path, "prodserver", "--all")

    assert result.returncode == 1
    assert result.stdout == ""
    assert result.stderr.splitlines() == [
        "Process 'worker': invalid value 'soon' for db_worker option 'interval' in ARGS: "
        "invalid valid_interval value: 'soon'.",
        "Process 'beat': backend 'celery-beat' needs 'APP', the dotted path to your Celery "
        "application, such as 'proj.celery.app'.",
        "CommandError: 2 of 3 processes cannot start; none started.",
    ]
    assert time.monotonic() - started < 30
    assert harness.listening_addresses(port) == set()


def test_an_invalid_port_for_all_is_one_line_and_starts_nothing(tmp_path: Path) -> None:
    harness.write_settings(tmp_path, PROCESSES, tasks_settings(tmp_path))
    result = subprocess_run(tmp_path, {"PORT": "70000"})
    assert (result.returncode, result.stdout) == (1, "")
    assert result.stderr.splitlines() == [
        "Process 'web': the environment variable PORT is '70000'; it must be a port number from "
        "1 to 65535, such as PORT=8000. Correct or unset PORT, or set the port in ARGS.",
        "CommandError: 1 of 2 processes cannot start; none started.",
    ]


def subprocess_run(tmp_path: Path, env: dict[str, str]) -> harness.subprocess.CompletedProcess[str]:
    return harness.subprocess.run(
        harness.manage_command(tmp_path, "prodserver", "--all"),
        cwd=harness.PROJECT_DIR,
        env={**harness.subprocess_env(), **env},
        capture_output=True,
        text=True,
        timeout=60,
        check=False,
    )


def test_dry_run_shows_each_process_and_its_port(tmp_path: Path) -> None:
    harness.write_settings(tmp_path, PROCESSES, tasks_settings(tmp_path))
    result = harness.run_manage(tmp_path, "prodserver", "--all", "--dry-run")
    assert (result.returncode, result.stderr) == (0, "")
    assert result.stdout.splitlines() == [
        "Would start process 'web' with backend 'granian-wsgi' (GranianServer):",
        "Granian('testsite.wsgi:application', interface='wsgi', address='127.0.0.1', port=5000, "
        f"workers=2, blocking_threads={DJANGO_WSGI_BLOCKING_THREADS}, respawn_failed_workers=True, "
        f"workers_kill_timeout=20)"
        ".serve(target_loader=load_application)",
        "Port: 5000, assigned by --all: 5000, PORT being unset; the host is set by ARGS['host'].",
        "Workers: set by ARGS['workers'].",
        "Would start process 'worker' with backend 'django-tasks' (DjangoTasksWorker):",
        "manage.py db_worker --interval=0.2",
    ]
