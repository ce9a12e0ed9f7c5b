"""``manage.py prodserver --export``: the files, checked by the tools that read them.

- systemd units through ``systemd-analyze verify`` (Debian's ``systemd`` package);
- Kubernetes manifests against the API schemas ``kubernetes-validate`` bundles (offline);
- a Procfile run by honcho, whose web process answers a request.
"""

from __future__ import annotations

import os
import shutil
import signal
import subprocess
import sys
from pathlib import Path
from typing import Any

import pytest

from .harness import MANAGE_PY, PROJECT_DIR, ServerProcess, free_port, run_manage, write_settings

pytestmark = pytest.mark.integration

SYSTEMD_ANALYZE = shutil.which("systemd-analyze")
HONCHO = Path(sys.executable).parent / "honcho"
WORKER = {"BACKEND": "celery-worker", "APP": "testsite.celery_app.app", "ARGS": {"pool": "solo"}}


def export(tmp_path: Path, processes: dict[str, Any], *args: str) -> Path:
    """Export ``processes`` into a fresh folder; that folder."""
    write_settings(tmp_path, processes)
    output = tmp_path / "deploy"
    output.mkdir()
    result = run_manage(tmp_path, "prodserver", "--export", *args, "--output", str(output))
    assert result.returncode == 0, result.stderr
    return output


@pytest.mark.skipif(
    SYSTEMD_ANALYZE is None,
    reason="systemd-analyze is not installed (Debian package 'systemd'; .ci/run installs it)",
)
def test_systemd_units_pass_systemd_analyze_verify(tmp_path: Path) -> None:
    processes = {
        "web": {"BACKEND": "gunicorn", "ARGS": {"bind": "127.0.0.1:8000"}},
        "worker": WORKER,
    }
    output = export(tmp_path, processes, "systemd")
    units = sorted(output.iterdir())
    assert [unit.name for unit in units] == [
        "testsite-web.service",
        "testsite-worker.service",
    ]
    verified = subprocess.run(
        [str(SYSTEMD_ANALYZE), "verify", *map(str, units)],
        capture_output=True,
        text=True,
        timeout=60,
        check=False,
    )
    # Warnings (an unknown signal, a bad setting) leave the status 0: none may be printed.
    assert (verified.returncode, verified.stdout, verified.stderr) == (0, "", "")
    # The same tool refuses a unit whose command cannot run: the check above is a real one.
    broken = output / "broken.service"
    broken.write_text(units[0].read_text().replace(sys.executable, "/nonexistent/python"))
    refused = subprocess.run(
        [str(SYSTEMD_ANALYZE), "verify", str(broken)],
        capture_output=True,
        text=True,
        timeout=60,
        check=False,
    )
    assert refused.returncode != 0
    assert "/nonexistent/python" in refused.stderr


def test_kubernetes_manifests_match_the_api_schemas(tmp_path: Path) -> None:
    kubernetes_validate = pytest.importorskip("kubernetes_validate")
    yaml = pytest.importorskip("yaml")
    processes = {
        "web": {
            "BACKEND": "granian-wsgi",
            "HEALTHCHECK": "/",
            "ARGS": {"host": "0.0.0.0", "workers": 2},
        },
        "api": {"BACKEND": "uvicorn", "ARGS": {"host": "0.0.0.0", "port": 9000}},
        "worker": WORKER,
    }
    output = export(tmp_path, processes, "kubernetes", "--image", "registry.example.com/site:1")
    documents = {
        path.name: list(yaml.safe_load_all(path.read_text())) for path in sorted(output.iterdir())
    }
    kinds = {name: [doc["kind"] for doc in docs] for name, docs in documents.items()}
    assert kinds == {
        "testsite-api.yaml": ["Deployment", "Service"],
        "testsite-web.yaml": ["Deployment", "Service"],
        "testsite-worker.yaml": ["Deployment"],
    }
    version = kubernetes_validate.latest_version()
    for docs in documents.values():
        for document in docs:
            # strict: a misspelt or misplaced field is an error, not ignored.
            kubernetes_validate.validate(document, version, strict=True)
    web = documents["testsite-web.yaml"][0]["spec"]["template"]["spec"]
    [container] = web["containers"]
    assert container["readinessProbe"]["httpGet"]["path"] == "/"
    assert container["resources"]["requests"] == {"cpu": "500m", "memory": "192Mi"}
    # Granian's workers-kill-timeout is prodserver's 30 s default, then the pause and a margin.
    pause = container["lifecycle"]["preStop"]["sleep"]["seconds"]
    assert web["terminationGracePeriodSeconds"] > pause + 30
    api = documents["testsite-api.yaml"][0]["spec"]["template"]["spec"]
    assert api["containers"][0]["ports"] == [{"name": "http", "containerPort": 9000}]
    # A broken manifest is refused by the same validator.
    container["ports"][0]["containerPort"] = "http"
    with pytest.raises(kubernetes_validate.ValidationError):
        kubernetes_validate.validate(documents["testsite-web.yaml"][0], version, strict=True)


@pytest.mark.skipif(not HONCHO.exists(), reason="honcho is not installed (the test extra has it)")
def test_a_procfile_runs_under_honcho_and_its_web_process_answers(tmp_path: Path) -> None:
    port = free_port()
    processes = {
        "web": {"BACKEND": "gunicorn", "ARGS": {"bind": f"127.0.0.1:{port}"}},
        "worker": WORKER,
    }
    output = export(tmp_path, processes, "procfile")
    relative = os.path.relpath(MANAGE_PY, output)
    assert (output / "Procfile").read_text() == (
        f"web: exec python {relative} prodserver web\n"
        f"worker: exec python {relative} prodserver worker\n"
    )
    # What the platform provides: the settings, and the project's python first on PATH.
    (output / ".env").write_text(
        f"DJANGO_SETTINGS_MODULE=prodserver_test_settings\n"
        f"PYTHONPATH={tmp_path}{os.pathsep}{PROJECT_DIR}\n"
        f"PATH={Path(sys.executable).parent}{os.pathsep}{os.environ['PATH']}\n"
    )
    env = {key: value for key, value in os.environ.items() if key != "DJANGO_SETTINGS_MODULE"}
    honcho = ServerProcess.of_command(
        [str(HONCHO), "start", "--no-colour", "web"],
        cwd=output,
        env=env,
        port=port,
        log_path=tmp_path / "honcho.log",
    )
    try:
        response = honcho.wait_ready("/")
        assert (response.status, response.body) == (200, "Hello from testsite")
        assert honcho.stop(timeout=30) == 128 + signal.SIGTERM  # honcho's status for a SIGTERM
    finally:
        honcho.kill()
    output_text = (tmp_path / "honcho.log").read_text()
    assert "Starting process 'web' with backend 'gunicorn'." in output_text
    assert "web.1 stopped (rc=0)" in output_text  # the server drained and exited cleanly


def test_the_deploying_page_shows_what_the_example_project_exports() -> None:
    script = Path(__file__).resolve().parents[2] / "docs" / "gen_deploying.py"
    checked = subprocess.run(
        [sys.executable, str(script), "--check"],
        capture_output=True,
        text=True,
        timeout=300,
        check=False,
    )
    assert (checked.returncode, checked.stderr) == (0, "")
