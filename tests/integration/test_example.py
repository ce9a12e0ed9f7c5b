"""README's first command, for real: ``scripts/example`` sets up the example project and serves
it where ``PORT`` says, on every interface as on a platform, until SIGTERM stops it."""

from __future__ import annotations

import contextlib
import fcntl
import os
import signal
import subprocess
import sys
import time
import urllib.request
from pathlib import Path

import pytest

from . import harness

pytestmark = pytest.mark.integration

REPO_DIR = Path(__file__).resolve().parents[2]
# The script migrates the example's SQLite file in the repository; CI's lanes run at once.
LOCK = Path("/tmp/django-prodserver-example.lock")


def get(port: int, path: str) -> str:
    url = f"http://127.0.0.1:{port}{path}"
    with urllib.request.urlopen(url, timeout=5) as response:
        return str(response.read().decode())


def test_scripts_example_serves_where_port_says_and_stops_on_sigterm(tmp_path: Path) -> None:
    port = harness.free_port()
    # A newcomer's shell: not the test run's Django settings.
    shell = {
        k: v for k, v in os.environ.items() if k not in ("DJANGO_SETTINGS_MODULE", "PYTHONPATH")
    }
    env = {
        **shell,
        "PORT": str(port),
        # This interpreter's environment, as the script names it: relative to the repository.
        "VENV": os.path.relpath(sys.prefix, REPO_DIR),
    }
    with LOCK.open("w") as lock, (tmp_path / "example.log").open("w+") as log:
        fcntl.flock(lock, fcntl.LOCK_EX)
        proc = subprocess.Popen(
            [str(REPO_DIR / "scripts" / "example")],
            cwd=REPO_DIR,
            env=env,
            stdout=log,
            stderr=subprocess.STDOUT,
            start_new_session=True,
        )
        try:
            deadline = time.monotonic() + 180  # the script installs into the environment first
            body = None
            while body is None and time.monotonic() < deadline:
                assert proc.poll() is None, Path(log.name).read_text()
                with contextlib.suppress(OSError):
                    body = get(port, "/")
                time.sleep(0.3)
            assert body == "Hello from django-prodserver's example project.\n", Path(
                log.name
            ).read_text()
            assert get(port, "/db/").strip()  # the script's migrate made the database
            assert harness.listening_addresses(port) == {"0.0.0.0"}

            proc.send_signal(signal.SIGTERM)
            assert proc.wait(timeout=30) == 0, Path(log.name).read_text()
        finally:
            with contextlib.suppress(ProcessLookupError):
                os.killpg(proc.pid, signal.SIGKILL)
            proc.wait(timeout=10)
    assert "Traceback" not in Path(log.name).read_text()
