"""``manage.py prodserver`` as a user runs it: a subprocess, real output, real exit codes."""

from __future__ import annotations

import signal
from pathlib import Path

import pytest

from .conftest import StartServer
from .harness import run_manage, write_settings

pytestmark = pytest.mark.integration

WSGIREF = {"BACKEND": "wsgiref", "ARGS": {"host": "127.0.0.1", "port": "{port}"}}
# For commands that start nothing.
WSGIREF_8123 = {"BACKEND": "wsgiref", "ARGS": {"host": "127.0.0.1", "port": 8123}}


def test_third_party_plugin_starts_by_its_alias_and_serves(start_server: StartServer) -> None:
    server = start_server({"web": WSGIREF}, extra_args=("-v", "2", "--no-color"))
    response = server.wait_ready("/")
    assert (response.status, response.body) == (200, "Hello from testsite")
    assert server.stop(signal.SIGTERM) == 0
    assert "Starting process 'web' with backend 'wsgiref'." in server.output


def test_a_broken_other_process_is_a_warning_when_one_starts(
    start_server: StartServer, tmp_path: Path
) -> None:
    processes = {"web": WSGIREF, "flower": {"BACKEND": "celery-flower", "ARGS": 5}}
    server = start_server(processes, extra_args=("--no-color",))
    response = server.wait_ready("/")
    assert (response.status, response.body) == (200, "Hello from testsite")
    assert server.stop(signal.SIGTERM) == 0
    assert (
        "WARNINGS:\n?: (prodserver.E006) Process 'flower': 'ARGS' must be a dict of options, a "
        "string or a list of strings, not int.\n\tHINT: It does not stop process 'web' from "
        "starting; 'manage.py check' reports it as an error.\n" in server.output
    )
    # The same settings still fail `manage.py check`.
    write_settings(tmp_path, processes)
    check = run_manage(tmp_path, "check")
    assert check.returncode == 1
    assert (
        "ERRORS:\n?: (prodserver.E006) Process 'flower': 'ARGS' must be a dict of options, a "
        "string or a list of strings, not int.\n" in check.stderr
    )


def test_list_backends_shows_the_installed_plugin(tmp_path: Path) -> None:
    write_settings(tmp_path, {"web": WSGIREF_8123})
    result = run_manage(tmp_path, "prodserver", "--list-backends", "--no-color")
    assert result.returncode == 0, result.stderr
    [row] = [line for line in result.stdout.splitlines() if line.startswith("wsgiref ")]
    assert row.split() == [
        "wsgiref",
        "server",
        "prodserver_wsgiref:WsgirefServer",
        "prodserver-wsgiref",
        "1.0.0",
        "ok",
    ]


@pytest.mark.parametrize(
    ("processes", "args", "message"),
    [
        (
            {"web": {"BACKEND": "wsgirf"}},
            ("web",),
            "Process 'web': BACKEND 'wsgirf' is not a known backend alias. Did you mean "
            "'wsgiref'? Known aliases: celery-beat, celery-flower, celery-worker, daphne, "
            "daphne-runserver, django-q2, django-tasks, granian-asgi, granian-wsgi, gunicorn, "
            "hypercorn, runserver, runserver-plus, uvicorn, uvicorn-wsgi, waitress, wsgiref. A "
            "dotted path to a backend class, such as "
            "'myproject.backends.MyServer', also works.",
        ),
        (
            {"web": WSGIREF_8123},
            ("wbe",),
            "There is no process 'wbe' in PRODUCTION_PROCESSES. Did you mean 'web'? "
            "Configured processes: web.",
        ),
        (
            {"web": {"BACKEND": "wsgiref", "ARGS": {"prot": 8000}}},
            ("web", "--dry-run"),
            "Process 'web': unknown wsgiref option 'prot' in ARGS. Did you mean 'port'?",
        ),
        (
            {"web": {"BACKEND": "prodserver_wsgiref.WsgirefServr"}},
            ("web",),
            "Process 'web': BACKEND 'prodserver_wsgiref.WsgirefServr' cannot be loaded: module "
            "'prodserver_wsgiref' has no attribute 'WsgirefServr'. Did you mean 'WsgirefServer'?",
        ),
    ],
)
def test_configuration_errors_are_one_line_without_traceback(
    tmp_path: Path, processes: dict[str, object], args: tuple[str, ...], message: str
) -> None:
    write_settings(tmp_path, processes)
    result = run_manage(tmp_path, "prodserver", *args, "--no-color")
    assert result.returncode == 1
    assert result.stderr == f"CommandError: {message}\n"
    assert result.stdout == ""


def test_traceback_option_shows_the_traceback(tmp_path: Path) -> None:
    write_settings(tmp_path, {"web": {"BACKEND": "wsgirf"}})
    result = run_manage(tmp_path, "prodserver", "web", "--traceback")
    assert result.returncode == 1
    assert "Traceback (most recent call last)" in result.stderr
    assert "BackendNotFound" in result.stderr


def test_help_and_list_work_with_a_broken_setting(tmp_path: Path) -> None:
    write_settings(tmp_path, {"web": "not a dict", "ok": WSGIREF_8123})
    help_result = run_manage(tmp_path, "prodserver", "--help")
    assert help_result.returncode == 0
    assert "--list-backends" in help_result.stdout
    listed = run_manage(tmp_path, "prodserver", "--list", "--no-color")
    assert listed.returncode == 0, listed.stderr
    assert listed.stdout.splitlines()[1:] == [
        "web      -        -       error: Process 'web': its entry in PRODUCTION_PROCESSES must "
        "be a dict with a 'BACKEND' key, not str.",
        "ok       wsgiref  server  ok",
    ]


def test_check_reports_the_same_problem_with_an_id(tmp_path: Path) -> None:
    write_settings(tmp_path, {"web": {"BACKEND": "wsgiref", "ARG": {}}})
    result = run_manage(tmp_path, "check")
    assert result.returncode == 1
    assert (
        "?: (prodserver.E007) Process 'web': unknown key 'ARG' in its entry. Did you mean "
        "'ARGS'? Backend 'wsgiref' reads: ARGS, BACKEND, HEALTHCHECK." in result.stderr
    )


def test_manage_py_help_and_check_scan_no_entry_points_for_dotted_paths(tmp_path: Path) -> None:
    write_settings(
        tmp_path,
        {"web": {"BACKEND": "prodserver_wsgiref.WsgirefServer"}},
        extra=(
            # Make any entry-point scan fail loudly in the subprocess.
            "import django_prodserver.entry_points as _entry_points\n"
            "def _no_scan():\n"
            "    raise SystemExit('entry points were scanned')\n"
            "_entry_points._distributions = _no_scan\n"
        ),
    )
    for args in (("help",), ("check",), ("prodserver", "--dry-run")):
        result = run_manage(tmp_path, *args)
        assert result.returncode == 0, (args, result.stderr)
        assert "entry points were scanned" not in result.stderr


def test_resolving_an_alias_imports_only_that_backend(tmp_path: Path) -> None:
    write_settings(
        tmp_path,
        {"web": WSGIREF_8123},
        extra=(
            "import atexit, sys\n"
            "atexit.register(lambda: print('loaded:', sorted(m for m in sys.modules if "
            "m.startswith('django_prodserver.backends.') or m in ('celery', 'gunicorn', "
            "'granian', 'uvicorn', 'waitress'))))\n"
        ),
    )
    result = run_manage(tmp_path, "prodserver", "--dry-run", "--skip-checks")
    assert result.returncode == 0, result.stderr
    # The plugin's own base modules, and no other backend or server package.
    assert result.stdout.splitlines()[-1] == (
        "loaded: ['django_prodserver.backends.base', 'django_prodserver.backends.command_line', "
        "'django_prodserver.backends.option_values', 'django_prodserver.backends.options', "
        "'django_prodserver.backends.parsing', 'django_prodserver.backends.preflight', "
        "'django_prodserver.backends.ranges']"
    )


def test_django_start_up_imports_no_backend_and_scans_nothing(tmp_path: Path) -> None:
    write_settings(tmp_path, {"web": WSGIREF_8123, "worker": {"BACKEND": "celery-worker"}})
    script = (
        "import sys; from django_prodserver import registry; "
        "print(registry.discover.cache_info().currsize, "
        "sorted(m for m in sys.modules if m.startswith('django_prodserver.backends')))"
    )
    result = run_manage(tmp_path, "shell", "-c", script)
    assert result.returncode == 0, result.stderr
    # Only this package's own base module; no backend, no server package, no metadata scan.
    assert result.stdout.splitlines()[-1] == (
        "0 ['django_prodserver.backends', 'django_prodserver.backends.base']"
    )
