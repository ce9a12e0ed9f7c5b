"""``manage.py prodserver --export FORMAT``, in this process: the files and every refusal.

tests/integration/test_export.py runs the files with the real tools (systemd-analyze, a
Kubernetes schema validator, honcho).
"""

from __future__ import annotations

import os
import signal
import sys
from io import StringIO
from pathlib import Path
from typing import Any

import pytest
from django.core.management import call_command
from django.core.management.base import CommandError

from django_prodserver.export import kubernetes

SettingsWrapper = Any
PROJECT_DIR = Path(__file__).resolve().parent / "fixtures" / "project"
MANAGE_PY = PROJECT_DIR / "manage.py"
WORKER = {"BACKEND": "tests.fake_backends.RecordingWorker"}
GUNICORN = {"BACKEND": "gunicorn", "ARGS": {"workers": 3, "bind": "0.0.0.0:8000"}}


@pytest.fixture(autouse=True)
def project(settings: SettingsWrapper, monkeypatch: pytest.MonkeyPatch) -> None:
    settings.BASE_DIR = PROJECT_DIR  # where manage.py is found when not run through it
    settings.PRODUCTION_PROCESSES = {"web": GUNICORN, "worker": WORKER}
    monkeypatch.delenv("PORT", raising=False)


def export(*args: str) -> str:
    out = StringIO()
    call_command("prodserver", "--export", *args, stdout=out)
    return out.getvalue()


def error(*args: str) -> str:
    with pytest.raises(CommandError) as caught:
        export(*args)
    return str(caught.value)


def test_procfile_names_manage_py_relative_to_the_folder_it_is_written_in(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    monkeypatch.chdir(PROJECT_DIR)
    assert export("procfile") == (
        "web: exec python manage.py prodserver web\n"
        "worker: exec python manage.py prodserver worker\n"
    )
    assert export("procfile", "--output", str(tmp_path)) == f"Wrote {tmp_path / 'Procfile'}\n"
    relative = os.path.relpath(MANAGE_PY, tmp_path)
    assert (tmp_path / "Procfile").read_text() == (
        f"web: exec python {relative} prodserver web\n"
        f"worker: exec python {relative} prodserver worker\n"
    )


def test_one_named_process_is_exported_alone(monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.chdir(PROJECT_DIR)
    assert export("procfile", "worker") == "worker: exec python manage.py prodserver worker\n"


def test_systemd_unit_runs_this_interpreter_on_manage_py_and_stops_within_the_drain() -> None:
    out = export("systemd", "web")
    assert out == "\n".join(
        [
            "[Unit]",
            "Description=testsite web (web server, gunicorn)",
            "After=network-online.target",
            "Wants=network-online.target",
            "",
            "[Service]",
            "Type=exec",
            "# User=www-data: the account that runs the site; root is systemd's default.",
            f"WorkingDirectory={PROJECT_DIR}",
            "Environment=DJANGO_SETTINGS_MODULE=tests.settings",
            "Environment=PYTHONUNBUFFERED=1",
            f"ExecStart={os.path.abspath(sys.executable)} {MANAGE_PY} prodserver web",
            "KillSignal=SIGTERM",
            "KillMode=mixed",
            "TimeoutStopSec=35",
            "Restart=on-failure",
            "RestartSec=2",
            "",
            "[Install]",
            "WantedBy=multi-user.target",
            "",
        ]
    )


def test_several_files_on_standard_output_each_under_a_comment_with_its_name() -> None:
    out = export("systemd")
    assert out.startswith("# testsite-web.service\n[Unit]\n")
    assert "WantedBy=multi-user.target\n\n# testsite-worker.service\n[Unit]\n" in out


def test_systemd_quotes_paths_with_spaces_and_escapes_specifiers(
    tmp_path: Path, settings: SettingsWrapper
) -> None:
    folder = tmp_path / "my site 100%"
    folder.mkdir()
    (folder / "manage.py").write_text("")
    settings.BASE_DIR = folder
    out = export("systemd", "worker")
    assert f'WorkingDirectory="{tmp_path}/my site 100%%"\n' in out
    assert f' "{tmp_path}/my site 100%%/manage.py" prodserver worker\n' in out


def test_files_are_written_into_the_output_folder(tmp_path: Path) -> None:
    out = export("systemd", "--output", str(tmp_path))
    assert out == (
        f"Wrote {tmp_path / 'testsite-web.service'}\nWrote {tmp_path / 'testsite-worker.service'}\n"
    )
    assert sorted(path.name for path in tmp_path.iterdir()) == [
        "testsite-web.service",
        "testsite-worker.service",
    ]


def test_kubernetes_server_deployment_with_service_probes_grace_and_requests(
    settings: SettingsWrapper,
) -> None:
    settings.PRODUCTION_PROCESSES = {"web": {**GUNICORN, "HEALTHCHECK": "/healthz/"}}
    out = export("kubernetes", "--image", "registry.example.com/site:1.0")
    assert out == (
        """apiVersion: apps/v1
kind: Deployment
metadata:
  name: testsite-web
  labels:
    app.kubernetes.io/name: testsite
    app.kubernetes.io/component: web
spec:
  replicas: 1
  selector:
    matchLabels:
      app.kubernetes.io/name: testsite
      app.kubernetes.io/component: web
  template:
    metadata:
      labels:
        app.kubernetes.io/name: testsite
        app.kubernetes.io/component: web
    spec:
      terminationGracePeriodSeconds: 40
      containers:
        - name: testsite-web
          image: "registry.example.com/site:1.0"
          command:
            - python
            - manage.py
            - prodserver
            - web
          env:
            - name: DJANGO_SETTINGS_MODULE
              value: tests.settings
            - name: PORT
              value: "8000"
          ports:
            - name: http
              containerPort: 8000
          startupProbe:
            httpGet:
              path: /healthz/
              port: http
              httpHeaders:
                - name: Host
                  value: "127.0.0.1"
            periodSeconds: 2
            failureThreshold: 30
          readinessProbe:
            httpGet:
              path: /healthz/
              port: http
              httpHeaders:
                - name: Host
                  value: "127.0.0.1"
            periodSeconds: 5
            failureThreshold: 2
          livenessProbe:
            httpGet:
              path: /healthz/
              port: http
              httpHeaders:
                - name: Host
                  value: "127.0.0.1"
            periodSeconds: 10
            failureThreshold: 3
          lifecycle:
            preStop:
              sleep:
                seconds: 5
          resources:
            requests:
              cpu: "750m"
              memory: "256Mi"
---
apiVersion: v1
kind: Service
metadata:
  name: testsite-web
  labels:
    app.kubernetes.io/name: testsite
    app.kubernetes.io/component: web
spec:
  selector:
    app.kubernetes.io/name: testsite
    app.kubernetes.io/component: web
  ports:
    - name: http
      port: 80
      targetPort: http
"""
    )


def test_kubernetes_server_without_healthcheck_is_probed_on_its_port() -> None:
    out = export("kubernetes", "web", "--image", "site")
    assert out.count("tcpSocket:\n              port: http\n") == 3
    assert "httpGet" not in out


def test_kubernetes_worker_has_no_service_no_probes_and_the_drain_as_grace() -> None:
    out = export("kubernetes", "worker", "--image", "site")
    assert "kind: Service" not in out
    assert "Probe" not in out
    assert "preStop" not in out
    assert "terminationGracePeriodSeconds: 35\n" in out
    assert 'cpu: "250m"\n              memory: "128Mi"\n' in out


def test_kubernetes_takes_the_port_args_set(settings: SettingsWrapper) -> None:
    settings.PRODUCTION_PROCESSES = {
        "web": {"BACKEND": "gunicorn", "ARGS": {"bind": "0.0.0.0:9000"}}
    }
    out = export("kubernetes", "--image", "site")
    assert "containerPort: 9000\n" in out
    assert '- name: PORT\n              value: "9000"\n' in out


@pytest.mark.parametrize(
    ("args", "message"),
    [
        (
            [],
            "--export kubernetes needs --image, the container image that holds the project, "
            "such as --image registry.example.com/mysite:1.0.",
        ),
        (
            ["--image", "my image"],
            "--export kubernetes needs --image, the container image that holds the project "
            "('my image' is not an image name), such as --image registry.example.com/mysite:1.0.",
        ),
    ],
)
def test_kubernetes_without_a_usable_image_is_one_line(args: list[str], message: str) -> None:
    assert error("kubernetes", *args) == message


@pytest.mark.parametrize(
    ("args", "message"),
    [
        (
            {"bind": "127.0.0.1:8000"},
            "Process 'web' listens on 127.0.0.1:8000, inside its pod only: neither the Service "
            "nor the probes can reach it. Leave the address out of ARGS (the server then "
            "listens on 0.0.0.0:$PORT), or set the host to 0.0.0.0.",
        ),
        (
            {"bind": "unix:/run/site.sock"},
            "Process 'web' listens on no TCP port (a Unix socket or an inherited descriptor), "
            "so a Service cannot reach it; set a TCP address in its ARGS.",
        ),
    ],
)
def test_kubernetes_refuses_a_server_its_service_cannot_reach(
    settings: SettingsWrapper, args: dict[str, str], message: str
) -> None:
    settings.PRODUCTION_PROCESSES = {"web": {"BACKEND": "gunicorn", "ARGS": args}}
    assert error("kubernetes", "--image", "site") == message


def test_an_unknown_format_suggests_the_closest() -> None:
    assert error("systemdd") == (
        "--export 'systemdd' is not a format. Did you mean 'systemd'? Formats: procfile, "
        "systemd, kubernetes."
    )
    assert error("nomad") == (
        "--export 'nomad' is not a format. Formats: procfile, systemd, kubernetes."
    )


def test_a_missing_output_folder_is_not_created(tmp_path: Path) -> None:
    missing = tmp_path / "deploy"
    assert error("systemd", "--output", str(missing)) == (
        f"--output {str(missing)!r} does not exist; create the folder first, or leave --output "
        f"out to print the files."
    )
    assert not missing.exists()


def test_an_output_that_is_a_file_is_refused(tmp_path: Path) -> None:
    file = tmp_path / "Procfile"
    file.write_text("kept\n")
    assert error("procfile", "--output", str(file)) == (
        f"--output {str(file)!r} is not a folder; create the folder first, or leave --output "
        f"out to print the files."
    )
    assert file.read_text() == "kept\n"


@pytest.mark.skipif(os.geteuid() == 0, reason="root writes into any folder")
def test_an_unwritable_output_folder_is_refused(tmp_path: Path) -> None:
    tmp_path.chmod(0o500)
    try:
        assert error("systemd", "--output", str(tmp_path)) == (
            f"--output {str(tmp_path)!r} cannot be written to by this user; choose another "
            f"folder, or leave --output out to print the files."
        )
    finally:
        tmp_path.chmod(0o700)


def test_an_unwritable_output_folder_is_refused_as_root_too(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    # root passes os.access(); a folder it cannot write to anyway is a read-only mount.
    monkeypatch.setattr(os, "access", lambda path, mode: False)
    assert error("systemd", "--output", str(tmp_path)) == (
        f"--output {str(tmp_path)!r} cannot be written to by this user; choose another "
        f"folder, or leave --output out to print the files."
    )


def test_a_file_that_cannot_be_written_is_one_line(tmp_path: Path) -> None:
    (tmp_path / "testsite-web.service").mkdir()  # a folder where the unit would go
    assert error("systemd", "web", "--output", str(tmp_path)) == (
        f"Cannot write {str(tmp_path / 'testsite-web.service')!r}: Is a directory."
    )


def test_every_bad_process_is_one_line_and_nothing_is_written(
    settings: SettingsWrapper, tmp_path: Path
) -> None:
    settings.PRODUCTION_PROCESSES = {
        "web": {"BACKEND": "gunicorn", "ARGS": {"workers": 0}},
        "worker": WORKER,
        "beat": {"BACKEND": "no-such-backend"},
    }
    message = error("systemd", "--output", str(tmp_path))
    assert message.splitlines() == [
        "Process 'web': invalid value 0 for gunicorn option 'workers' in ARGS: at least 1 "
        "worker is needed.",
        message.splitlines()[1],
    ]
    assert message.splitlines()[1].startswith("Process 'beat': ")
    assert list(tmp_path.iterdir()) == []


def test_several_unknown_names_are_one_line_each_in_one_error(tmp_path: Path) -> None:
    message = error("procfile", "web", "wbe", "nope", "--output", str(tmp_path))
    assert message == (
        "There is no process 'wbe' in PRODUCTION_PROCESSES. Did you mean 'web'? Configured "
        "processes: web, worker.\n"
        "There is no process 'nope' in PRODUCTION_PROCESSES. Configured processes: web, worker."
    )
    assert list(tmp_path.iterdir()) == []


@pytest.mark.parametrize(
    ("name", "message"),
    [
        (
            "web worker",
            "Process 'web worker': its name gives 'testsite-web worker', which is not a unit or "
            "Kubernetes name (names are lowercased, and '_' and '.' become '-'; the result must "
            "hold only lowercase letters, digits and '-', at most 63 characters with the prefix "
            "'testsite-'). Rename the process, such as 'web-worker'.",
        ),
        (
            "w" * 60,
            f"Process {'w' * 60!r}: its name gives {'testsite-' + 'w' * 60!r}, which is not a "
            "unit or Kubernetes name (names are lowercased, and '_' and '.' become '-'; the "
            "result must hold only lowercase letters, digits and '-', at most 63 characters "
            f"with the prefix 'testsite-'). Rename the process, such as {'w' * 20!r}.",
        ),
        (
            "web\x00",
            "Process 'web\\x00': its name gives 'testsite-web\\x00', which is not a unit or "
            "Kubernetes name (names are lowercased, and '_' and '.' become '-'; the result must "
            "hold only lowercase letters, digits and '-', at most 63 characters with the prefix "
            "'testsite-'). Rename the process, such as 'web'.",
        ),
    ],
)
def test_a_name_that_cannot_be_converted_is_refused(
    settings: SettingsWrapper, name: str, message: str
) -> None:
    settings.PRODUCTION_PROCESSES = {name: WORKER}
    assert error("systemd") == message


def test_names_are_converted_one_way_for_units_and_kubernetes(
    settings: SettingsWrapper,
) -> None:
    settings.PRODUCTION_PROCESSES = {"Celery_Beat.v2": WORKER}
    assert export("systemd").startswith("[Unit]\nDescription=testsite Celery_Beat.v2 (worker")
    assert "prodserver Celery_Beat.v2\n" in export("systemd")
    assert export("systemd", "--output", "/tmp") == "Wrote /tmp/testsite-celery-beat-v2.service\n"
    assert "  name: testsite-celery-beat-v2\n" in export("kubernetes", "--image", "site")


def test_two_names_that_convert_alike_are_refused(settings: SettingsWrapper) -> None:
    settings.PRODUCTION_PROCESSES = {"celery_beat": WORKER, "celery-beat": WORKER}
    assert error("systemd") == (
        "Processes 'celery_beat' and 'celery-beat' both become 'testsite-celery-beat' (names "
        "are lowercased, and '_' and '.' become '-'); rename one of them."
    )


def test_a_procfile_refuses_a_name_its_platforms_cannot_start(
    settings: SettingsWrapper,
) -> None:
    settings.PRODUCTION_PROCESSES = {"celery.beat": WORKER, "web": GUNICORN}
    assert error("procfile") == (
        "Process 'celery.beat': a Procfile names a process with letters, digits, '-' and '_' "
        "only. Rename the process, such as 'celery-beat'."
    )


def test_without_manage_py_the_export_says_how_to_run_it(settings: SettingsWrapper) -> None:
    settings.BASE_DIR = PROJECT_DIR / "testsite"
    assert error("procfile") == (
        "--export writes commands that run the project's manage.py, which was not found: run "
        "it as 'python manage.py prodserver --export ...', or set BASE_DIR to the folder that "
        "holds manage.py."
    )


def test_manage_py_run_as_the_command_is_the_one_exported(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    (tmp_path / "manage.py").write_text("")
    monkeypatch.setattr(sys, "argv", [str(tmp_path / "manage.py"), "prodserver"])
    assert f" {tmp_path / 'manage.py'} prodserver web\n" in export("systemd", "web")


def test_a_project_package_that_gives_no_name_is_refused(settings: SettingsWrapper) -> None:
    settings.WSGI_APPLICATION = "9site.wsgi.application"
    assert error("procfile") == (
        "The project's package '9site' (from WSGI_APPLICATION or the settings module) gives no "
        "usable prefix for unit and Kubernetes names: names are lowercased, and '_' and '.' "
        "become '-', and the result must start with a letter and hold only letters, digits "
        "and '-'."
    )


def test_yaml_quotes_what_would_read_as_another_type() -> None:
    assert kubernetes.to_yaml({"a": "yes", "b": "8000", "c": True, "d": [], "e": {}}) == (
        'a: "yes"\nb: "8000"\nc: true\nd: []\ne: {}\n'
    )
    assert kubernetes.to_yaml({"list": [["x"]]}) == "list:\n  - - x\n"


def test_stop_times_follow_the_servers_own_graceful_timeout(settings: SettingsWrapper) -> None:
    settings.PRODUCTION_PROCESSES = {
        "web": {"BACKEND": "gunicorn", "ARGS": {"bind": "0.0.0.0:8000", "graceful_timeout": 90}}
    }
    assert "\nTimeoutStopSec=95\n" in export("systemd")
    # Kubernetes counts the preStop pause in the grace period too.
    assert "terminationGracePeriodSeconds: 100\n" in export("kubernetes", "--image", "site")


def test_kubernetes_works_out_the_port_under_the_containers_port_and_restores_the_shell(
    settings: SettingsWrapper, monkeypatch: pytest.MonkeyPatch
) -> None:
    monkeypatch.setenv("PORT", "5000")
    settings.PRODUCTION_PROCESSES = {
        "web": {"BACKEND": "uvicorn", "ARGS": {"host": "localhost", "port": 9000}}
    }
    assert error("kubernetes", "--image", "site") == (
        "Process 'web' listens on localhost:9000, inside its pod only: neither the Service nor "
        "the probes can reach it. Leave the address out of ARGS (the server then listens on "
        "0.0.0.0:$PORT), or set the host to 0.0.0.0."
    )
    assert os.environ["PORT"] == "5000"


def test_a_path_a_unit_cannot_hold_is_refused(tmp_path: Path, settings: SettingsWrapper) -> None:
    folder = tmp_path / "line\nbreak"
    folder.mkdir()
    (folder / "manage.py").write_text("")
    settings.BASE_DIR = folder
    assert error("systemd", "worker") == (
        f"{str(folder)!r} holds a line break or NUL byte, which a systemd unit cannot hold; move "
        f"the project or its virtual environment to a plain path."
    )


def test_yaml_writes_false_and_plain_words() -> None:
    assert kubernetes.to_yaml({"a": False, "b": "http", "c": ["x", 1]}) == (
        "a: false\nb: http\nc:\n  - x\n  - 1\n"
    )


def test_a_development_server_is_not_exported(settings: SettingsWrapper) -> None:
    settings.PRODUCTION_PROCESSES = {"dev": {"BACKEND": "runserver"}, "worker": WORKER}
    assert error("systemd") == (
        "Process 'dev' is a development server (backend 'runserver'), which is not exported: "
        "export the server and worker processes only."
    )


def test_kubernetes_serves_on_a_host_name(settings: SettingsWrapper) -> None:
    settings.PRODUCTION_PROCESSES = {
        "web": {"BACKEND": "uvicorn", "ARGS": {"host": "web.internal", "port": 9000}}
    }
    assert "containerPort: 9000\n" in export("kubernetes", "--image", "site")


def test_an_output_with_a_nul_byte_is_refused() -> None:
    assert error("procfile", "--output", "deploy\x00") == (
        "--output 'deploy\\x00' holds a NUL byte; name a folder."
    )


def test_kubernetes_says_when_a_process_stops_on_another_signal(
    settings: SettingsWrapper,
) -> None:
    settings.PRODUCTION_PROCESSES = {"worker": {"BACKEND": "tests.test_export.StopsOnSigint"}}
    out, err = StringIO(), StringIO()
    call_command("prodserver", "--export", "kubernetes", "--image", "x", stdout=out, stderr=err)
    assert err.getvalue() == (
        "Process 'worker' stops gracefully on SIGINT, but Kubernetes sends SIGTERM unless the "
        "image says otherwise: build its image with 'STOPSIGNAL SIGINT'.\n"
    )
    assert "kind: Deployment\n" in out.getvalue()
    # systemd sends the backend's own signal.
    assert "\nKillSignal=SIGINT\n" in export("systemd")


from django_prodserver.backends.base import BaseWorkerBackend  # noqa: E402


class StopsOnSigint(BaseWorkerBackend):
    stop_signal = signal.SIGINT

    def start_server(self, *args: str) -> None:
        pass
